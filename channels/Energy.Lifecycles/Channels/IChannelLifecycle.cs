using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;

namespace Energy.Lifecycles.Channels;

/// <summary>Where a channel's durable state stands with its escrow, a streaming channel's as a duplex one's.</summary>
public interface IChannelState
{
    /// <summary>Where the channel is in its life.</summary>
    ChannelPhase Phase { get; }

    /// <summary>The channel's escrow, once an opening is durable.</summary>
    EscrowId? Escrow { get; }

    /// <summary>What the ledger paid out once it released every escrow of the channel; null before.</summary>
    ChannelSettled? Settlement { get; }
}

/// <summary>
/// What every channel's core says about its escrow, a streaming channel's as a duplex one's, for the shell that talks
/// with the ledger: whether a lock or a release is awaited, what an answer of the ledger comes to (the event to write,
/// or the named error to raise), what the ledger still owes, what the opening hears once the channel is open, and the
/// one evolve of the state. The cores are static: a shell names its channel's lifecycle as a type argument.
/// </summary>
public interface IChannelLifecycle<TState> where TState : class, IChannelState
{
    /// <summary>The state before any event.</summary>
    static abstract TState Empty { get; }

    /// <summary>The state after a durable event, the same live and in recovery.</summary>
    static abstract TState Evolve(TState state, object e);

    /// <summary>Whether the channel waits for this lock; one it does not wait for is dropped.</summary>
    static abstract bool AwaitsLock(TState state, EscrowLocked locked);

    /// <summary>The event a lock the channel awaits comes to, or the mismatch to raise.</summary>
    static abstract Result<object> ConfirmLock(TState state, ChannelId channel, EscrowLocked locked);

    /// <summary>Whether the channel waits for this release; one it does not wait for is dropped.</summary>
    static abstract bool AwaitsRelease(TState state, EscrowReleased released);

    /// <summary>The event a release the channel awaits comes to, or the mismatch to raise.</summary>
    static abstract Result<object> ConfirmRelease(TState state, ChannelId channel, EscrowReleased released);

    /// <summary>The event the ledger's refusal of the opening's lock comes to; an error while the channel is not opening.</summary>
    static abstract Result<object> Refuse(TState state, ChannelId channel, Refusal refusal);

    /// <summary>What the ledger still owes the channel, derived from its durable state.</summary>
    static abstract IReadOnlyList<ILedgerCommand> OwedByLedger(TState state, int ledgerShardCount);

    /// <summary>What the opening's waiters hear once the channel is open; null while it is not.</summary>
    static abstract object? Opened(TState state, ChannelId channel);
}
