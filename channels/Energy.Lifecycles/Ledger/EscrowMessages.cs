using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Ledger;

// The ledger's escrow contract with the entities that hold deposits (channels, sessions, markets): the
// commands that lock and release an escrow, and the answers a holder checks against its own escrow.

/// <summary>A command for one ledger shard.</summary>
public interface ILedgerCommand : IEnergyMessage, IWithEntityId
{
    string Shard { get; }
    string IWithEntityId.EntityId => Shard;
}

/// <summary>
/// Moves a deposit from an account into one escrow. A retry of the same lock (escrow, account, amount) is
/// answered as the first was; a lock of an escrow that was released is refused (EscrowAlreadyReleased).
/// </summary>
[Manifest("ledger.lock-escrow.v2")]
public sealed record LockEscrow(string Shard, EscrowId Escrow, PartyId Account, Money Amount) : ILedgerCommand;

/// <summary>Pays one escrow out to the parties. Idempotent by escrow and holder: the first answer is the answer.</summary>
[Manifest("ledger.release-escrow.v2")]
public sealed record ReleaseEscrow(string Shard, EscrowId Escrow, PartyId Holder, IReadOnlyList<Payout> Payouts) : ILedgerCommand, ITraced
{
    public string? TraceParent { get; init; }

    public ITraced WithTraceParent(string traceParent) => this with { TraceParent = traceParent };
}

public sealed record Payout(PartyId Account, Money Amount);

/// <summary>The deposit is in the escrow, durable in block <paramref name="BlockHeight"/> (or, for a retry, by then).</summary>
[Manifest("ledger.escrow-locked.v1")]
public sealed record EscrowLocked(EscrowId Escrow, PartyId Account, Money Amount, string Shard, ulong BlockHeight) : IEnergyMessage;

/// <summary>Exactly this escrow's release from this holder: the payouts of its own release entry, never another escrow's.</summary>
[Manifest("ledger.released.v2")]
public sealed record EscrowReleased(EscrowId Escrow, PartyId Holder, IReadOnlyList<Payout> Payouts, string Shard, ulong BlockHeight) : IEnergyMessage;
