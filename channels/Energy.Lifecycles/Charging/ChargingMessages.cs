using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Charging;

/// <summary>
/// A command for one charging session. Commands that come from a device carry the device the gateway
/// authenticated (never a name taken from the frame) and the path of its connection, so that the session
/// can push events back to it.
/// </summary>
public interface ISessionCommand : IEnergyMessage, IWithEntityId
{
    SessionId Session { get; }
    string IWithEntityId.EntityId => Session.Value;
}

/// <summary>The charger starts a session for a plugged-in vehicle, with its signed start reading and its price.</summary>
[Manifest("session.start.v1")]
public sealed record StartSession(SessionId Session, DeviceId Charger, DeviceId Vehicle, Money PricePerKwh, Money Credit, byte[] Reading, string? Connection) : ISessionCommand
{
    /// <summary>The grid zone the charger's site is in, as its operator configured the charger (for energy flow per zone).</summary>
    public SegmentId? Zone { get; init; }
}

/// <summary>The vehicle accepts the session and names the streaming channel it pays on.</summary>
[Manifest("session.accept.v1")]
public sealed record AcceptSession(SessionId Session, DeviceId Vehicle, ChannelId Channel, string? Connection) : ISessionCommand;

/// <summary>A signed meter reading from the charger.</summary>
[Manifest("session.reading.v1")]
public sealed record SubmitSessionReading(SessionId Session, DeviceId Charger, byte[] Reading, string? Connection) : ISessionCommand;

/// <summary>The vehicle's cumulative voucher on the session's channel, naming this session as its purpose.</summary>
[Manifest("session.pay.v1")]
public sealed record PayForSession(SessionId Session, DeviceId Vehicle, byte[] Voucher, string? Connection) : ISessionCommand, ITraced
{
    public string? TraceParent { get; init; }

    public ITraced WithTraceParent(string traceParent) => this with { TraceParent = traceParent };
}

/// <summary>The charger ends the session with its signed end reading.</summary>
[Manifest("session.stop.v1")]
public sealed record StopSession(SessionId Session, DeviceId Charger, byte[] Reading, string? Connection) : ISessionCommand;

/// <summary>An OCPP charge point started a transaction: the network witnesses its meter and signs the readings.</summary>
[Manifest("session.witnessed-start.v1")]
public sealed record StartWitnessedSession(SessionId Session, DeviceId Charger, DeviceId Vehicle, long MeterStartWh) : ISessionCommand;

[Manifest("session.witnessed-reading.v1")]
public sealed record WitnessedReading(SessionId Session, long RegisterWh, bool Final) : ISessionCommand;

[Manifest("session.get.v1")]
public sealed record GetSession(SessionId Session) : ISessionCommand;

/// <summary>The end of a session: what was delivered, what it cost, what was paid, and the signed evidence.</summary>
[Manifest("session.charge-record.v1")]
public sealed record ChargeRecord(
    SessionId Session,
    DeviceId Charger,
    DeviceId Vehicle,
    ChannelId? Channel,
    byte[] StartReading,
    byte[] EndReading,
    long EnergyWh,
    Money PricePerKwh,
    Money Cost,
    Money Paid,
    Money Outstanding,
    byte[]? FinalVoucher,
    int Suspensions,
    Timestamp StartedAt,
    Timestamp EndedAt) : IEnergyMessage;

[Manifest("session.view.v1")]
public sealed record SessionView(
    SessionId Session,
    SessionStatus Status,
    DeviceId Charger,
    DeviceId Vehicle,
    ChannelId? Channel,
    Money PricePerKwh,
    Money Credit,
    long EnergyWh,
    Money Owed,
    Money Paid,
    int Suspensions,
    ChargeRecord? Record) : IEnergyMessage;

/// <summary>
/// The answer to a reading or a payment: where the session stands, without the terms and the record a
/// <see cref="SessionView"/> repeats. The charger learns from it what is paid while its readings flow.
/// </summary>
[Manifest("session.progress.v1")]
public sealed record SessionProgress(SessionId Session, SessionStatus Status, long EnergyWh, Money Owed, Money Paid) : IEnergyMessage;

// Events

[Manifest("session.event.started.v1")]
public sealed record SessionStarted(
    DeviceId Charger,
    DeviceId Vehicle,
    PartyId Payee,
    string MeterKeyHex,
    bool Witnessed,
    Money PricePerKwh,
    Money Credit,
    byte[] StartReading,
    Timestamp At) : IEnergyMessage
{
    public SegmentId? Zone { get; init; }
}

/// <summary>The vehicle's channel for the session, and its cumulative then (for the record: payments are counted by the purpose they name).</summary>
[Manifest("session.event.channel-bound.v1")]
public sealed record SessionChannelBound(ChannelId Channel, Money BaseCumulative) : IEnergyMessage;

/// <summary>
/// The newest reading, the newest acknowledged voucher that names the session, and what the vouchers that
/// name it paid in all; only the newest is persisted per flush.
/// </summary>
[Manifest("session.event.progressed.v2")]
public sealed record SessionProgressed(byte[]? Reading, byte[]? Voucher, Money Paid) : IEnergyMessage;

[Manifest("session.event.suspended.v1")]
public sealed record SessionSuspended(Money Owed, Money Paid, Timestamp At) : IEnergyMessage;

[Manifest("session.event.resumed.v1")]
public sealed record SessionResumed(Money Owed, Money Paid, Timestamp At) : IEnergyMessage;

[Manifest("session.event.stop-requested.v1")]
public sealed record SessionStopRequested(byte[] EndReading, Timestamp At) : IEnergyMessage;

[Manifest("session.event.completed.v1")]
public sealed record SessionCompleted(ChargeRecord Record) : IEnergyMessage;

/// <summary>The vehicle did not accept the session within the bound: nothing of it is billed.</summary>
[Manifest("session.event.consent-expired.v1")]
public sealed record SessionConsentExpired(Timestamp At) : IEnergyMessage;

/// <summary>
/// The vehicle did not consent to the transaction's session in time: the charger is told to stop it. The session
/// decides it, so it is declared with the session's messages; the charge point carries it out.
/// </summary>
[Manifest("ocpp.stop-unconsented.v1")]
public sealed record StopUnconsentedTransaction(string ChargePoint, int TransactionId) : IEnergyMessage, IWithEntityId
{
    public string EntityId => ChargePoint;
}
