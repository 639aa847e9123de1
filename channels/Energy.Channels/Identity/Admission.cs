using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>What an operator may do in the network. Stable bit values: they are signed inside admissions.</summary>
[Flags]
public enum OperatorRoles : byte
{
    None = 0,

    /// <summary>Sees everything, quarantines any device, runs the zone markets.</summary>
    GridOperator = 1,
    ChargePointOperator = 2,
    TollOperator = 4,
    FleetOwner = 8,

    /// <summary>The only issuer of money, within the issuance limit of its admission.</summary>
    SettlementBank = 16,
}

public static class OperatorRoleSet
{
    public const byte All = 0b1_1111;

    public static bool IsDefined(byte value) => value != 0 && (value & ~All) == 0;
}

/// <summary>
/// The network authority's statement that an operator is a member: its id, its roles, its key and, for a
/// settlement bank, how much money it may issue in all. A higher version replaces a lower one (a rotated
/// key, changed roles); the key of the replaced version stops working at once.
/// </summary>
public sealed record Admission(
    NetworkId Network,
    OperatorId Operator,
    OperatorRoles Roles,
    DevicePublicKey OperatorKey,
    ulong Version,
    Money IssuanceLimit,
    Timestamp AdmittedAt) : ISignable<Admission>
{
    public static ObjectKind Kind => ObjectKind.Admission;

    /// <summary>Admissions are signed by the authority's keys: see <see cref="AuthorityApproved{T}"/>.</summary>
    public static int SignatureCount => 0;

    public bool Has(OperatorRoles role) => (Roles & role) == role;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteParty(PartyId.From(Operator));
        writer.WriteByte((byte)Roles);
        writer.WriteBytes(OperatorKey.Raw);
        writer.WriteUInt64(Version);
        writer.WriteMoney(IssuanceLimit);
        writer.WriteInt64(AdmittedAt.UnixMilliseconds);
    }

    public static Admission Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var party = reader.ReadParty("operator");
        var roles = reader.ReadByte();
        var key = reader.ReadBytes(Ed25519Signatures.PublicKeyBytes);
        var version = reader.ReadUInt64();
        var limit = reader.ReadMoney("issuanceLimit");
        var at = reader.ReadInt64();
        if (reader.Failed) return null!;
        if (!party.IsOperator) { reader.Fail(new NonCanonicalEncoding(Kind, "operator", $"{party} is not an operator")); return null!; }
        if (!OperatorRoleSet.IsDefined(roles)) { reader.Fail(new NonCanonicalEncoding(Kind, "roles", $"role bits 0x{roles:x2} are not a set of defined roles")); return null!; }
        if (version == 0) { reader.Fail(new NonCanonicalEncoding(Kind, "version", "versions start at 1")); return null!; }
        if (limit.MinorUnits < 0) { reader.Fail(new NonCanonicalEncoding(Kind, "issuanceLimit", "a limit is not negative")); return null!; }
        if (limit.MinorUnits > 0 && (roles & (byte)OperatorRoles.SettlementBank) == 0)
        {
            reader.Fail(new NonCanonicalEncoding(Kind, "issuanceLimit", "only a settlement bank has an issuance limit"));
            return null!;
        }
        var publicKey = DevicePublicKey.FromRaw(key);
        if (!publicKey.IsOk) { reader.Fail(publicKey.Error); return null!; }
        return new Admission(network, party.AsOperator(), (OperatorRoles)roles, publicKey.Value, version, limit, new Timestamp(at));
    }
}
