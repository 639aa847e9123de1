using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Ledger;

/// <summary>One change to a ledger shard. Amounts are minor units of the block's currency.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(MintEntry), "mint")]
[JsonDerivedType(typeof(WithdrawalEntry), "withdrawal")]
[JsonDerivedType(typeof(EscrowLockEntry), "escrow-lock")]
[JsonDerivedType(typeof(EscrowReleaseEntry), "escrow-release")]
[JsonDerivedType(typeof(CreditEntry), "credit")]
public abstract record LedgerEntry;

/// <summary>Money issued by a settlement bank into an account.</summary>
public sealed record MintEntry(string RequestId, PartyId Account, long Amount, OperatorId Issuer) : LedgerEntry;

public sealed record WithdrawalEntry(string RequestId, PartyId Account, long Amount) : LedgerEntry;

public sealed record EscrowLockEntry(EscrowId Escrow, PartyId Account, long Amount) : LedgerEntry;

/// <summary>A payout line; a destination shard and sequence when the account lives in another shard.</summary>
public sealed record PayoutLine(PartyId Account, long Amount, string? DestinationShard, ulong Sequence);

public sealed record EscrowReleaseEntry(EscrowId Escrow, PartyId Holder, long Escrowed, IReadOnlyList<PayoutLine> Payouts) : LedgerEntry;

public sealed record CreditEntry(string SourceShard, ulong Sequence, PartyId Account, long Amount, ChannelId ChannelId) : LedgerEntry;

/// <summary>
/// A block of ledger entries, chained by hash to the block before and signed by the node that
/// committed it. It is the only event a ledger shard persists.
/// </summary>
[Manifest("ledger.block.v2")]
public sealed record SettlementBlock(
    NetworkId Network,
    string Shard,
    ulong Height,
    string PreviousHash,
    Timestamp CommittedAt,
    Currency Currency,
    IReadOnlyList<LedgerEntry> Entries,
    string EntriesHash,
    string Signer,
    string Signature) : IEnergyMessage
{
    public static readonly string GenesisHash = Convert.ToHexStringLower(new byte[SettlementBlockHeader.HashBytes]);

    public SettlementBlockHeader Header() =>
        new(Network, Shard, Height, Convert.FromHexString(PreviousHash), Convert.FromHexString(EntriesHash), CommittedAt);

    /// <summary>The hash the next block links to: SHA-256 of the canonical header.</summary>
    public string BlockHash() => Convert.ToHexStringLower(SHA256.HashData(Signed<SettlementBlockHeader>.EncodeBody(Header())));

    public static SettlementBlock Commit(NetworkId network, string shard, ulong height, string previousHash, Timestamp now,
        Currency currency, IReadOnlyList<LedgerEntry> entries, DeviceKeyPair nodeKey)
    {
        var entriesHash = HashEntries(currency, entries);
        var header = new SettlementBlockHeader(network, shard, height, Convert.FromHexString(previousHash), entriesHash, now);
        var signed = Signed<SettlementBlockHeader>.Sign(header, nodeKey);
        return new SettlementBlock(network, shard, height, previousHash, now, currency, entries,
            Convert.ToHexStringLower(entriesHash), nodeKey.PublicKey.Hex, Convert.ToHexStringLower(signed.SignatureAt(0)));
    }

    /// <summary>SHA-256 over a canonical binary form of the entries: independent of how the journal stores them.</summary>
    public static byte[] HashEntries(Currency currency, IReadOnlyList<LedgerEntry> entries)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var number = new byte[8];
        void Text(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            BinaryPrimitives.WriteInt32BigEndian(number, bytes.Length);
            hash.AppendData(number[..4]);
            hash.AppendData(bytes);
        }
        void Number(long value)
        {
            BinaryPrimitives.WriteInt64BigEndian(number, value);
            hash.AppendData(number);
        }
        Text(currency.Code);
        Number(entries.Count);
        foreach (var entry in entries)
        {
            switch (entry)
            {
                case MintEntry e: Text("mint"); Text(e.RequestId); Text(e.Account.Value); Number(e.Amount); Text(e.Issuer.Value); break;
                case WithdrawalEntry e: Text("withdrawal"); Text(e.RequestId); Text(e.Account.Value); Number(e.Amount); break;
                // The escrow's whole identity (kind, channel, opening hash) is hashed: which escrow moved is part of the record.
                case EscrowLockEntry e: Text("escrow-lock"); Text(e.Escrow.ToString()); Text(e.Account.Value); Number(e.Amount); break;
                case EscrowReleaseEntry e:
                    Text("escrow-release"); Text(e.Escrow.ToString()); Text(e.Holder.Value); Number(e.Escrowed); Number(e.Payouts.Count);
                    foreach (var line in e.Payouts)
                    {
                        Text(line.Account.Value); Number(line.Amount); Text(line.DestinationShard ?? ""); Number((long)line.Sequence);
                    }
                    break;
                case CreditEntry e: Text("credit"); Text(e.SourceShard); Number((long)e.Sequence); Text(e.Account.Value); Number(e.Amount); Text(e.ChannelId.Value); break;
                default: throw new InvalidOperationException($"unknown ledger entry {entry.GetType().Name}");
            }
        }
        return hash.GetHashAndReset();
    }
}
