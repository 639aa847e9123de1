using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>
/// The network authority's statement that a node's key signs ledger blocks for the network (or, with
/// <see cref="Admitted"/> false, no longer does): the settlement blocks it signs audit as intact on every
/// node. Each statement about a key carries a version and its time: a node takes only a higher version than
/// the last it holds for that key, signed recently, so an old statement cannot be replayed.
/// </summary>
public sealed record LedgerNodeAdmission(NetworkId Network, DevicePublicKey NodeKey, bool Admitted, ulong Version, Timestamp At)
    : ISignable<LedgerNodeAdmission>
{
    public static ObjectKind Kind => ObjectKind.LedgerNodeAdmission;

    /// <summary>Signed by the authority's keys: see <see cref="AuthorityApproved{T}"/>.</summary>
    public static int SignatureCount => 0;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteBytes(NodeKey.Raw);
        writer.WriteBoolean(Admitted);
        writer.WriteUInt64(Version);
        writer.WriteInt64(At.UnixMilliseconds);
    }

    public static LedgerNodeAdmission Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var key = reader.ReadBytes(Ed25519Signatures.PublicKeyBytes);
        var admitted = reader.ReadBoolean("admitted");
        var version = reader.ReadUInt64();
        var at = reader.ReadInt64();
        if (reader.Failed) return null!;
        if (version == 0) { reader.Fail(new NonCanonicalEncoding(Kind, "version", "versions start at 1")); return null!; }
        var publicKey = DevicePublicKey.FromRaw(key);
        if (!publicKey.IsOk) { reader.Fail(publicKey.Error); return null!; }
        return new LedgerNodeAdmission(network, publicKey.Value, admitted, version, new Timestamp(at));
    }
}
