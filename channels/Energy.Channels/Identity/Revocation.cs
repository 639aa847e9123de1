using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>
/// An operator's signed withdrawal of its endorsement of a device's key (a stolen, hijacked or retired
/// device). The device is written as a party of kind device, so a revocation never names an operator.
/// </summary>
public sealed record Revocation(NetworkId Network, OperatorId Operator, DeviceId Device, Timestamp RevokedAt) : ISignable<Revocation>
{
    public static ObjectKind Kind => ObjectKind.Revocation;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Operator.Value);
        writer.WriteParty(PartyId.From(Device));
        writer.WriteInt64(RevokedAt.UnixMilliseconds);
    }

    public static Revocation Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var operatorId = reader.ReadIdentifier("operator");
        var device = reader.ReadDevice("device");
        var revokedAt = reader.ReadInt64();
        return reader.Failed ? null! : new Revocation(network, new OperatorId(operatorId), device, new Timestamp(revokedAt));
    }
}
