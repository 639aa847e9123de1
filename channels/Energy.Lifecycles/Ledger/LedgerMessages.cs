using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Ledger;

/// <summary>An operator funds an account. Idempotent by <paramref name="RequestId"/>.</summary>
[Manifest("ledger.mint.v1")]
public sealed record Mint(string Shard, string RequestId, PartyId Account, Money Amount, OperatorId Issuer) : ILedgerCommand;

/// <summary>Money leaves the network. Idempotent by <paramref name="RequestId"/>.</summary>
[Manifest("ledger.withdraw.v1")]
public sealed record Withdraw(string Shard, string RequestId, PartyId Account, Money Amount) : ILedgerCommand;

/// <summary>A payout crossing shards. Delivered at least once, applied once and in order per source shard.</summary>
[Manifest("ledger.credit.v1")]
public sealed record Credit(string Shard, string SourceShard, ulong Sequence, PartyId Account, Money Amount, ChannelId ChannelId) : ILedgerCommand;

/// <summary>The destination has durably applied the credit (sent to the source shard).</summary>
[Manifest("ledger.credit-ack.v1")]
public sealed record CreditAcknowledged(string Shard, string DestinationShard, ulong Sequence) : ILedgerCommand;

[Manifest("ledger.get-account.v1")]
public sealed record GetAccount(string Shard, PartyId Account) : ILedgerCommand;

[Manifest("ledger.get-totals.v1")]
public sealed record GetShardTotals(string Shard) : ILedgerCommand;

/// <summary>Which escrows this shard holds (at most <paramref name="Max"/>): the channels that still have work to finish.</summary>
[Manifest("ledger.get-escrowed-channels.v1")]
public sealed record GetEscrowedChannels(string Shard, int Max) : ILedgerCommand;

[Manifest("ledger.escrowed-channels.v2")]
public sealed record EscrowedChannels(string Shard, IReadOnlyList<EscrowId> Escrows, int Max) : IEnergyMessage;

/// <summary>Sent to itself on a timer: resend credits that have not been acknowledged.</summary>
public sealed record RedeliverCredits : IEnergyMessage
{
    public static readonly RedeliverCredits Instance = new();
}

// Replies

/// <summary>The command is durable in block <paramref name="BlockHeight"/> of <paramref name="Shard"/>.</summary>
[Manifest("ledger.committed.v1")]
public sealed record LedgerCommitted(string Shard, string Key, ulong BlockHeight) : IEnergyMessage;

[Manifest("ledger.account.v1")]
public sealed record AccountView(PartyId Account, Money Balance, Money Escrowed, string Shard) : IEnergyMessage;

/// <summary>A shard's sums. Balances and escrows are 128-bit: exact however large, never an overflow.</summary>
[Manifest("ledger.totals.v2")]
public sealed record ShardTotals(
    string Shard,
    Int128 BalancesMinorUnits,
    Int128 EscrowsMinorUnits,
    long MintedMinorUnits,
    long WithdrawnMinorUnits,
    IReadOnlyList<OutboundCredit> Outbox,
    IReadOnlyDictionary<string, ulong> AppliedFrom,
    ulong Height,
    int Accounts) : IEnergyMessage
{
    /// <summary>What each settlement bank minted into this shard.</summary>
    public IReadOnlyDictionary<string, long> MintedByIssuer { get; init; } = new Dictionary<string, long>();
}

[Manifest("ledger.block-list.v1")]
public sealed record BlockList(string Shard, IReadOnlyList<SettlementBlock> Blocks) : IEnergyMessage;

/// <summary>A credit owed to another shard, kept until that shard acknowledges it.</summary>
public sealed record OutboundCredit(string DestinationShard, ulong Sequence, PartyId Account, long AmountMinorUnits, ChannelId ChannelId, ulong BlockHeight);
