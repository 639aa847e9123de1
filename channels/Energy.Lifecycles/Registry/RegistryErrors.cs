using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Registry;

public sealed record OperatorNotFound(OperatorId Operator) : ProtocolError
{
    public override string Describe() => $"operator {Operator} is not registered";
}

public sealed record OperatorAlreadyRegistered(OperatorId Operator) : ProtocolError
{
    public override string Describe() => $"operator {Operator} is already registered with another key";
}

public sealed record DeviceNotFound(DeviceId Device) : ProtocolError
{
    public override string Describe() => $"device {Device} is not registered";
}

public sealed record DeviceIsRevoked(DeviceId Device, Timestamp RevokedAt) : ProtocolError
{
    public override string Describe() => $"device {Device} was revoked at {RevokedAt}";
}

public sealed record DeviceIdMismatch(DeviceId Expected, DeviceId Actual) : ProtocolError
{
    public override string Describe() => $"the signed object names device {Actual}, the request names {Expected}";
}

public sealed record AdmissionSuperseded(OperatorId Operator, ulong Offered, ulong Current) : ProtocolError
{
    public override string Describe() => $"operator {Operator}: admission version {Offered} is not above the current {Current}";
}

public sealed record AdmissionMismatch(OperatorId Expected, OperatorId Actual) : ProtocolError
{
    public override string Describe() => $"the admission names operator {Actual}, the request names {Expected}";
}

/// <summary>An id already taken by the other kind of party: an operator and a device never share one.</summary>
public sealed record PartyKindConflict(string Id, PartyKind Existing) : ProtocolError
{
    public override string Describe() => $"{Id} is already the id of {(Existing == PartyKind.Operator ? "an operator" : "a device")}";
}

public sealed record RoleNotHeld(OperatorId Operator, OperatorRoles Required, string Action) : ProtocolError
{
    public override string Describe() => $"operator {Operator} may not {Action}: that needs the role {Required}";
}

public sealed record NotASettlementBank(OperatorId Operator) : ProtocolError
{
    public override string Describe() => $"operator {Operator} is not a settlement bank: only a settlement bank issues money";
}

public sealed record IssuanceLimitExceeded(OperatorId Operator, long LimitMinorUnits, long IssuedMinorUnits, long RequestedMinorUnits) : ProtocolError
{
    public override string Describe() => $"settlement bank {Operator}: issuing {RequestedMinorUnits} more would pass its limit of {LimitMinorUnits} ({IssuedMinorUnits} issued)";
}

public sealed record NotPermitted(string Actor, string Action, string Reason) : ProtocolError
{
    public override string Describe() => $"{Actor} may not {Action}: {Reason}";
}

public sealed record StaleOrder(string Subject, ulong OfferedVersion, ulong LastVersion, Timestamp SignedAt, Timestamp Now) : ProtocolError
{
    public override string Describe() => $"{Subject}: order version {OfferedVersion} signed at {SignedAt} is stale (last version {LastVersion}, now {Now})";
}

public sealed record OperatorIdMismatch(OperatorId Expected, OperatorId Actual, string What) : ProtocolError
{
    public override string Describe() => $"the {What} names operator {Actual}, the request names {Expected}";
}

/// <summary>The operator's own key offered as a viewer key: that key never goes into a browser.</summary>
public sealed record ViewerKeyIsOperatorKey(OperatorId Operator) : ProtocolError
{
    public override string Describe() => $"operator {Operator}: a viewer key must be another key than the operator's own";
}

public sealed record ViewerKeyExpired(OperatorId Operator, string KeyHex, Timestamp ExpiresAt, Timestamp Now) : ProtocolError
{
    public override string Describe() => $"viewer key {KeyHex} of operator {Operator} expired at {ExpiresAt} (now {Now})";
}

public sealed record ViewerKeyLifetimeTooLong(OperatorId Operator, Timestamp ExpiresAt, DurationMs MaxLifetime) : ProtocolError
{
    public override string Describe() => $"operator {Operator}: a viewer key lives at most {MaxLifetime.Milliseconds / 86_400_000} days; {ExpiresAt} is later";
}

/// <summary>A key that is not a live viewer key of the operator: never endorsed, dropped, or endorsed under a replaced admission.</summary>
public sealed record ViewerKeyUnknown(OperatorId Operator, string KeyHex) : ProtocolError
{
    public override string Describe() => $"{KeyHex} is not a viewer key of operator {Operator} under its current admission";
}

public sealed record TooManyViewerKeys(OperatorId Operator, int Max) : ProtocolError
{
    public override string Describe() => $"operator {Operator} already has {Max} live viewer keys; let one expire first";
}

public sealed record TooManyLedgerNodes(int Max) : ProtocolError
{
    public override string Describe() => $"the network already holds statements about {Max} ledger node keys";
}

public sealed record LedgerNodeKeyMismatch(string Expected, string Actual) : ProtocolError
{
    public override string Describe() => $"the statement names ledger node key {Actual}, the request names {Expected}";
}
