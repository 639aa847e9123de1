using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Kernel;

/// <summary>
/// A channel entity's durable state and its conversation with the ledger, a streaming channel as a duplex one, judged by
/// the channel's core (<typeparamref name="TLifecycle"/>): a lock or a release the channel awaits goes to the
/// <see cref="ChannelShell"/> as the core judged it (one it no longer awaits is dropped), so does the ledger's refusal, and
/// the retry timer sends what is still owed. The state changes only with a durable event, live as in recovery.
/// </summary>
public sealed class EscrowedChannel<TLifecycle, TState> : IEscrowedChannel
    where TLifecycle : IChannelLifecycle<TState> where TState : class, IChannelState
{
    private readonly IWithTimers _owner;
    private readonly ChannelId _id;
    private readonly int _ledgerShardCount;
    private readonly Action _durable;

    /// <param name="owner">The entity, whose timers retry and watch the challenge window.</param>
    /// <param name="write">Writes an event of the escrow (an opening, a lock, a refusal, a release): the entity's <c>Persist</c>.</param>
    /// <param name="writeClose">Writes a close or a window's end, after whatever the entity took before it.</param>
    /// <param name="durable">Runs once an event the shell wrote has evolved the state (a snapshot may be due).</param>
    public EscrowedChannel(IActorContext context, IWithTimers owner, ChannelId id, bool duplex, EscrowPeers peers, EnergySettings settings,
        Action<object, Action<object>> write, Action<object, Action<object>> writeClose, Action? durable = null)
    {
        (_owner, _id, _ledgerShardCount, _durable) = (owner, id, settings.LedgerShardCount, durable ?? (() => { }));
        Shell = new ChannelShell(context, this, id, duplex, peers, settings, write, writeClose);
    }

    /// <summary>What is durable.</summary>
    public TState State { get; private set; } = TLifecycle.Empty;

    /// <summary>What the channel does around its escrow, for the steps the entity decides itself (openings, closes, the window's end).</summary>
    public ChannelShell Shell { get; }

    /// <summary>The one way the state changes: a durable event, live or in recovery.</summary>
    public void Evolve(object e) => State = TLifecycle.Evolve(State, e);

    /// <summary>Recovery starts from a snapshot: the state it stands for, before the events after it.</summary>
    public void Restore(TState snapshot) => State = snapshot;

    /// <summary>
    /// Takes what every channel answers alike: the ledger's lock, release and refusal, the watch list's answer, and the escrow's retry timer. False
    /// for any other message, so that the entity registers this after its own handlers.
    /// </summary>
    public bool Answer(object message)
    {
        switch (message)
        {
            case EscrowLocked locked:
                if (TLifecycle.AwaitsLock(State, locked)) Shell.Locked(TLifecycle.ConfirmLock(State, _id, locked));
                return true;
            case EscrowReleased released:
                if (TLifecycle.AwaitsRelease(State, released)) Shell.Released(TLifecycle.ConfirmRelease(State, _id, released));
                return true;
            case Refusal refusal:
                Shell.Refused(TLifecycle.Refuse(State, _id, refusal), refusal);
                return true;
            case EscrowRetryDue:
                Shell.RetryDue();
                return true;
            case ChannelWatched watched:
                Shell.ListAnswered(watched);
                return true;
            default:
                return false;
        }
    }

    // What the shell reads of the durable state, and how an event it wrote becomes the state.

    ITimerScheduler IWithTimers.Timers { get => _owner.Timers; set => _owner.Timers = value; }
    ChannelPhase IEscrowedChannel.Phase => State.Phase;
    EscrowId? IEscrowedChannel.Escrow => State.Escrow;
    ChannelSettled? IEscrowedChannel.Settlement => State.Settlement;
    IReadOnlyList<ILedgerCommand> IEscrowedChannel.OwedByLedger() => TLifecycle.OwedByLedger(State, _ledgerShardCount);
    object? IEscrowedChannel.Opened() => TLifecycle.Opened(State, _id);
    void IEscrowedChannel.Durable(object e) { Evolve(e); _durable(); }
}
