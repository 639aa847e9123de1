using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>
/// A signed order to quarantine a device suspected to be cloned or hijacked (payments in its name are
/// refused), or to release it. Unlike a revocation it can be undone. Issued by the device's own operator
/// or by the grid operator. Every order carries its time and a version: a device takes only an order with
/// a higher version than the last it took, issued recently, so an old order cannot be replayed.
/// </summary>
public sealed record Quarantine(NetworkId Network, OperatorId Operator, DeviceId Device, bool Quarantined, ulong Version, Timestamp At)
    : ISignable<Quarantine>
{
    public static ObjectKind Kind => ObjectKind.Quarantine;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Operator.Value);
        writer.WriteParty(PartyId.From(Device));
        writer.WriteBoolean(Quarantined);
        writer.WriteUInt64(Version);
        writer.WriteInt64(At.UnixMilliseconds);
    }

    public static Quarantine Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var op = reader.ReadIdentifier("operator");
        var device = reader.ReadDevice("device");
        var quarantined = reader.ReadBoolean("quarantined");
        var version = reader.ReadUInt64();
        var at = reader.ReadInt64();
        return reader.Failed ? null! : new Quarantine(network, new OperatorId(op), device, quarantined, version, new Timestamp(at));
    }
}
