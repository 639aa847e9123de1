using Energy.Channels.Primitives;

namespace Energy.Wire;

/// <summary>The body of one pushed event: the record names the event, so a body cannot be pushed under another's name.</summary>
public interface IGatewayEvent
{
    static abstract string Name { get; }
}

// The bodies of the events the network pushes to devices. Money is in minor units of the body's currency
// (the network's, where the body does not say); signed objects travel as their wire bytes (base64 in JSON).

/// <summary>To a vehicle: a charger offers a session; the vehicle verifies the start reading with the meter's key before it consents.</summary>
public sealed record SessionOfferEvent(SessionId Session, DeviceId Charger, PartyId Payee, string MeterKey, bool Witnessed, long PricePerKwh, long Credit,
    Currency Currency, byte[] StartReading) : IGatewayEvent
{
    public static string Name => GatewayEvents.SessionOffer;
}

/// <summary>To a charger: the vehicle consented and pays on this channel.</summary>
public sealed record SessionAcceptedEvent(SessionId Session, ChannelId Channel) : IGatewayEvent
{
    public static string Name => GatewayEvents.SessionAccepted;
}

/// <summary>To a vehicle: a signed reading to verify and pay; the final one ends the session.</summary>
public sealed record SessionReadingEvent(SessionId Session, byte[] Reading, long EnergyWh, long Owed, long Paid, bool Final) : IGatewayEvent
{
    public static string Name => GatewayEvents.SessionReading;
}

/// <summary>To a charger: what the vehicle has paid so far.</summary>
public sealed record SessionPaidEvent(SessionId Session, long Owed, long Paid) : IGatewayEvent
{
    public static string Name => GatewayEvents.SessionPaid;
}

/// <summary>To a charger: payment fell behind by more than the credit; deliver no more until resumed.</summary>
public sealed record SessionSuspendEvent(SessionId Session, long Owed, long Paid, long Credit) : IGatewayEvent
{
    public static string Name => GatewayEvents.SessionSuspend;
}

public sealed record SessionResumeEvent(SessionId Session, long Owed, long Paid) : IGatewayEvent
{
    public static string Name => GatewayEvents.SessionResume;
}

/// <summary>
/// To both: the session's charge record, in the network's JSON (money as {minorUnits, currency}, times in
/// Unix milliseconds; a session that never bound a channel has none, nor a final voucher).
/// </summary>
public sealed record SessionCompletedEvent(SessionId Session, DeviceId Charger, DeviceId Vehicle, ChannelId? Channel, byte[] StartReading, byte[] EndReading,
    long EnergyWh, MoneyBody PricePerKwh, MoneyBody Cost, MoneyBody Paid, MoneyBody Outstanding, byte[]? FinalVoucher, int Suspensions,
    long StartedAt, long EndedAt) : IGatewayEvent
{
    public static string Name => GatewayEvents.SessionCompleted;
}

/// <summary>To a vehicle: a gantry's signed toll request, to verify with the gantry's key and pay on the channel to the payee.</summary>
public sealed record TollRequestEvent(PassId Pass, byte[] Request, string GantryKey, PartyId Payee, long Price, Currency Currency) : IGatewayEvent
{
    public static string Name => GatewayEvents.TollRequest;
}

/// <summary>To a gantry: its price moved (time band, congestion in its zone).</summary>
public sealed record TollPriceEvent(DeviceId Gantry, long Price, Currency Currency, int VehiclesInZone) : IGatewayEvent
{
    public static string Name => GatewayEvents.TollPrice;
}

public sealed record TollConfirmedEvent(PassId Pass, DeviceId Vehicle, long Paid, long PassedAt) : IGatewayEvent
{
    public static string Name => GatewayEvents.TollConfirmed;
}

/// <summary>To a gantry: no valid payment for a pass; the cause in camelCase (late, noChannel, ...).</summary>
public sealed record TollViolationEvent(PassId Pass, DeviceId Vehicle, string Cause, string Detail) : IGatewayEvent
{
    public static string Name => GatewayEvents.TollViolation;
}
