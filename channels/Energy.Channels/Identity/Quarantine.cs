using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>
/// An operator's signed order to quarantine a device it suspects is cloned or hijacked (payments in its
/// name are refused), or to release it. Unlike a revocation it can be undone.
/// </summary>
public sealed record Quarantine(NetworkId Network, OperatorId Operator, DeviceId Device, bool Quarantined, Timestamp At) : ISignable<Quarantine>
{
    public static ObjectKind Kind => ObjectKind.Quarantine;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Operator.Value);
        writer.WriteIdentifier(Device.Value);
        writer.WriteBoolean(Quarantined);
        writer.WriteInt64(At.UnixMilliseconds);
    }

    public static Quarantine Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var op = reader.ReadIdentifier("operator");
        var device = reader.ReadIdentifier("device");
        var quarantined = reader.ReadBoolean("quarantined");
        var at = reader.ReadInt64();
        return reader.Failed ? null! : new Quarantine(network, new OperatorId(op), new DeviceId(device), quarantined, new Timestamp(at));
    }
}
