using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>
/// An operator's statement, like a certificate: "this key belongs to my device, in this role". Signed
/// with the operator's key.
/// </summary>
public sealed record Endorsement(NetworkId Network, OperatorId Operator, DeviceId Device, DeviceRole Role, DevicePublicKey DeviceKey)
    : ISignable<Endorsement>
{
    public static ObjectKind Kind => ObjectKind.Endorsement;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Operator.Value);
        writer.WriteParty(PartyId.From(Device));
        writer.WriteByte((byte)Role);
        writer.WriteBytes(DeviceKey.Raw);
    }

    public static Endorsement Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var operatorId = reader.ReadIdentifier("operator");
        var device = reader.ReadDevice("device");
        var role = reader.ReadByte();
        var key = reader.ReadBytes(Ed25519Signatures.PublicKeyBytes);
        if (reader.Failed) return null!;
        if (!DeviceRoles.IsDefined(role))
        {
            reader.Fail(new NonCanonicalEncoding(Kind, "role", $"role byte {role} is not defined"));
            return null!;
        }
        var publicKey = DevicePublicKey.FromRaw(key);
        if (!publicKey.IsOk) { reader.Fail(publicKey.Error); return null!; }
        return new Endorsement(network, new OperatorId(operatorId), device, (DeviceRole)role, publicKey.Value);
    }
}

/// <summary>A device's identity: its public key and its operator's endorsement of that key and role.</summary>
public sealed record DeviceIdentity(Signed<Endorsement> Endorsement)
{
    public DeviceId Device => Endorsement.Payload.Device;
    public OperatorId Operator => Endorsement.Payload.Operator;
    public DeviceRole Role => Endorsement.Payload.Role;
    public DevicePublicKey Key => Endorsement.Payload.DeviceKey;

    public static DeviceIdentity Endorse(NetworkId network, OperatorId operatorId, DeviceKeyPair operatorKey, DeviceId device, DeviceRole role, DevicePublicKey deviceKey) =>
        new(Signed<Endorsement>.Sign(new Endorsement(network, operatorId, device, role, deviceKey), operatorKey));

    /// <summary>Checks that the endorsement is for this network and operator and is signed by the operator's key.</summary>
    public static Result<DeviceIdentity> Verify(Signed<Endorsement> endorsement, NetworkId network, OperatorId operatorId, DevicePublicKey operatorKey)
    {
        var payload = endorsement.Payload;
        if (payload.Network != network) return new WrongNetwork(ChannelId.None, network, payload.Network);
        if (payload.Operator != operatorId)
            return new EndorsementMismatch(payload.Device, "operator", operatorId.Value, payload.Operator.Value);
        if (!endorsement.IsSignedBy(operatorKey))
            return new InvalidSignature(ChannelId.None, ObjectKind.Endorsement, operatorId.Value);
        return new DeviceIdentity(endorsement);
    }
}
