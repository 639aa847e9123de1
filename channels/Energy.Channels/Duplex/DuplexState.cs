using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Duplex;

/// <summary>
/// A co-signed split of a duplex channel's deposits at some version. Signed by party A, then party B
/// (two signatures on the wire). A state marked final is the one both sign to close cooperatively.
/// </summary>
public sealed record DuplexState(NetworkId Network, ChannelId ChannelId, ulong Version, Money BalanceA, Money BalanceB, bool IsFinal)
    : ISignable<DuplexState>
{
    public static ObjectKind Kind => ObjectKind.DuplexState;
    public static int SignatureCount => 2;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(ChannelId.Value);
        writer.WriteUInt64(Version);
        writer.WriteMoney(BalanceA);
        writer.WriteMoney(BalanceB);
        writer.WriteBoolean(IsFinal);
    }

    public static DuplexState Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var channel = reader.ReadIdentifier("channel");
        var version = reader.ReadUInt64();
        var balanceA = reader.ReadMoney("balanceA");
        var balanceB = reader.ReadMoney("balanceB");
        var isFinal = reader.ReadBoolean("isFinal");
        return reader.Failed ? null! : new DuplexState(network, new ChannelId(channel), version, balanceA, balanceB, isFinal);
    }
}
