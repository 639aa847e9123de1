using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Kernel;

/// <summary>
/// A channel entity as its <see cref="ChannelShell"/> sees it: where its durable state stands, what the ledger still
/// owes it, what its opening hears once it is open, and the one way its state changes.
/// </summary>
public interface IEscrowedChannel : IWithTimers
{
    /// <summary>The channel's phase in its durable state.</summary>
    ChannelPhase Phase { get; }

    /// <summary>The channel's escrow, once an opening is durable.</summary>
    EscrowId? Escrow { get; }

    /// <summary>What the ledger paid out once it released every escrow of the channel; null before.</summary>
    ChannelSettled? Settlement { get; }

    /// <summary>What the ledger still owes the channel, derived from its durable state.</summary>
    IReadOnlyList<ILedgerCommand> OwedByLedger();

    /// <summary>What the opening's waiters hear once the channel is open; null while it is not.</summary>
    object? Opened();

    /// <summary>An event is durable: the state evolves with it, live as in recovery.</summary>
    void Durable(object e);
}
