using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Registry;

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

public sealed record DeviceAlreadyEndorsed(DeviceId Device, string KeyHex) : ProtocolError
{
    public override string Describe() => $"device {Device} is already endorsed with key {KeyHex}";
}

public sealed record DeviceIsRevoked(DeviceId Device, Timestamp RevokedAt) : ProtocolError
{
    public override string Describe() => $"device {Device} was revoked at {RevokedAt}";
}

public sealed record DeviceIdMismatch(DeviceId Expected, DeviceId Actual) : ProtocolError
{
    public override string Describe() => $"the signed object names device {Actual}, the request names {Expected}";
}
