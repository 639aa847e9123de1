using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Charging;

public sealed record InvalidSessionId(string Session) : ProtocolError
{
    public override string Describe() => $"session id '{Session}' is not 1 to 64 of [a-z0-9._:-]";
}

public sealed record SessionNotFound(SessionId Session) : ProtocolError
{
    public override string Describe() => $"session {Session} has not been started";
}

public sealed record SessionAlreadyStarted(SessionId Session) : ProtocolError
{
    public override string Describe() => $"session {Session} was started with other terms";
}

public sealed record NotSessionParty(SessionId Session, DeviceId Device, string Role) : ProtocolError
{
    public override string Describe() => $"session {Session}: {Device} is not its {Role}";
}

public sealed record SessionEnded(SessionId Session, SessionStatus Status) : ProtocolError
{
    public override string Describe() => $"session {Session} is {Status.ToWire()}; it takes no more readings or payments";
}

public sealed record SessionNotAccepted(SessionId Session) : ProtocolError
{
    public override string Describe() => $"session {Session} has no channel yet: the vehicle has not accepted it";
}

public sealed record DeviceRoleRefused(DeviceId Device, string Role, string Expected) : ProtocolError
{
    public override string Describe() => $"{Device} is registered as a {Role}; a {Expected} is expected";
}

public sealed record InvalidSessionTerms(SessionId Session, string Reason) : ProtocolError
{
    public override string Describe() => $"session {Session}: {Reason}";
}

public sealed record ChannelNotUsable(SessionId Session, ChannelId Channel, string Reason) : ProtocolError
{
    public override string Describe() => $"session {Session}: channel {Channel} {Reason}";
}

public sealed record PaymentAboveOwed(SessionId Session, long PaidMinorUnits, long OwedMinorUnits) : ProtocolError
{
    public override string Describe() => $"session {Session}: a voucher paying {PaidMinorUnits} is above the {OwedMinorUnits} owed";
}

public sealed record VoucherForAnotherPurpose(SessionId Session, string Purpose) : ProtocolError
{
    public override string Describe() => $"session {Session}: the voucher pays for {Purpose}, not for this session";
}
