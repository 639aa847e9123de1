using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Ledger;

/// <summary>
/// What a ledger node signs for each settlement block: its place in the shard's chain, the hash of the
/// block before, and the hash of its entries. Changing any entry, or any block, breaks the chain.
/// </summary>
public sealed record SettlementBlockHeader(NetworkId Network, string Shard, ulong Height, byte[] PreviousHash, byte[] EntriesHash, Timestamp CommittedAt)
    : ISignable<SettlementBlockHeader>
{
    public const int HashBytes = 32;

    public bool Equals(SettlementBlockHeader? other) =>
        other is not null && Network == other.Network && Shard == other.Shard && Height == other.Height && CommittedAt == other.CommittedAt
        && PreviousHash.AsSpan().SequenceEqual(other.PreviousHash) && EntriesHash.AsSpan().SequenceEqual(other.EntriesHash);

    public override int GetHashCode() => HashCode.Combine(Network, Shard, Height, CommittedAt);

    public static ObjectKind Kind => ObjectKind.SettlementBlock;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        if (PreviousHash.Length != HashBytes || EntriesHash.Length != HashBytes) throw new ArgumentException($"hashes have {HashBytes} bytes");
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Shard);
        writer.WriteUInt64(Height);
        writer.WriteBytes(PreviousHash);
        writer.WriteBytes(EntriesHash);
        writer.WriteInt64(CommittedAt.UnixMilliseconds);
    }

    public static SettlementBlockHeader Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var shard = reader.ReadIdentifier("shard");
        var height = reader.ReadUInt64();
        var previous = reader.ReadBytes(HashBytes).ToArray();
        var entries = reader.ReadBytes(HashBytes).ToArray();
        var committedAt = reader.ReadInt64();
        return reader.Failed ? null! : new SettlementBlockHeader(network, shard, height, previous, entries, new Timestamp(committedAt));
    }
}
