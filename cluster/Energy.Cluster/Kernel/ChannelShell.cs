using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Kernel;

/// <summary>
/// What every channel entity does around its escrow, a streaming channel as a duplex one. An opening taken is written
/// and its lock asked of the ledger while its sender waits; the ledger's lock opens the channel (or the ledger is asked
/// for what is still owed), its refusal is written and told to the opening's waiters, and its release settles the
/// channel. A close that opens a challenge window is answered with the window and watched; one that closes the channel
/// at once, or the window's end, asks the ledger to release. The entity decides each step with its lifecycle and hands
/// the decision here; every event is written before anyone hears of it, and the entity's state changes only once it is
/// durable (<see cref="IEscrowedChannel.Durable"/>). The <see cref="EscrowClient"/> sends and retries the requests.
/// </summary>
public sealed class ChannelShell
{
    private readonly IActorContext _context;
    private readonly IEscrowedChannel _channel;
    private readonly Action<object, Action<object>> _write;
    private readonly Action<object, Action<object>> _writeClose;
    private readonly EscrowClient _escrow;

    /// <param name="write">Writes an event of the escrow (an opening, a lock, a refusal, a release): the entity's <c>Persist</c>.</param>
    /// <param name="writeClose">Writes a close or a window's end, after whatever the entity took before it.</param>
    public ChannelShell(IActorContext context, IEscrowedChannel channel, ChannelId id, bool duplex, EscrowPeers peers, EnergySettings settings,
        Action<object, Action<object>> write, Action<object, Action<object>> writeClose)
    {
        _context = context;
        _channel = channel;
        _write = write;
        _writeClose = writeClose;
        _escrow = new EscrowClient(context, channel, id, duplex, peers.Ledger, peers.WatchList, settings, channel.OwedByLedger, () => channel.Escrow,
            () => channel.Phase);
    }

    // Opening

    /// <summary>Tells <paramref name="sender"/> what the channel answers an opening it already holds, or has it wait; false when it holds none.</summary>
    public bool AnswerKnownOpening(KnownAnswer? known, IActorRef sender) => _escrow.Opening.AnswerOrAdd(known, sender);

    /// <summary>An opening decided: refused, or written and its lock asked of the ledger, <paramref name="sender"/> waiting for it.</summary>
    public void Open<TStarted>(Result<TStarted> started, IActorRef sender) where TStarted : class
    {
        if (!started.IsOk) { sender.Tell(Refusal.From(started.Error)); return; }
        _write(started.Value, e => { _channel.Durable(e); _escrow.Opening.Add(sender); _escrow.Send(); });
    }

    /// <summary>
    /// A lock the channel awaited, as its core judged it: written, then the opening's waiters hear the channel open, or the
    /// ledger is asked for what is still owed (another deposit, or a refund after a refusal). A lock that does not fit is raised.
    /// </summary>
    public void Locked<TLocked>(Result<TLocked> judged) where TLocked : class
    {
        if (_escrow.Confirmed(judged) is not { } confirmed) return;
        _write(confirmed, e =>
        {
            _channel.Durable(e);
            if (_channel.Opened() is { } opened) _escrow.Opened(_channel.Phase, opened);
            else _escrow.Send();
        });
    }

    /// <summary>
    /// The ledger's refusal, as the core judged it: a refused opening is written, its waiters hear <paramref name="refusal"/>, and
    /// what was locked for it is paid back. Only a lock can be refused for good; any other refusal is logged loudly, and retried.
    /// </summary>
    public void Refused<TRefused>(Result<TRefused> judged, Refusal refusal) where TRefused : class
    {
        if (!judged.IsOk) { _escrow.RefusedUnexpectedly(refusal); return; }
        _write(judged.Value, e => { _channel.Durable(e); _escrow.Opening.AnswerAll(refusal); _escrow.Send(); });
    }

    // Closing and settlement

    /// <summary>Tells <paramref name="sender"/> what the channel answers a close without deciding, or has it wait for the settlement; false when the close is to be decided.</summary>
    public bool AnswerKnownClose(KnownAnswer? known, IActorRef sender)
    {
        // The running window is told only while the watch list holds the channel (after a restart it lists itself again).
        if (known?.Reply is ChannelClosing window && !_escrow.IsListed) { _escrow.WhenListed(() => sender.Tell(window)); return true; }
        return _escrow.Settling.AnswerOrAdd(known, sender);
    }

    /// <summary>
    /// True when the watch list holds the channel, so that a step that makes it wait (a close) may be written; else the list
    /// is asked and <paramref name="decideAgain"/> runs once it holds it.
    /// </summary>
    public bool Listed(Action decideAgain) => _escrow.ListedOr(decideAgain);

    /// <summary>
    /// A close decided and to be written. Once durable, a close that opens a challenge window is published as
    /// <paramref name="dispute"/> (when the channel names one), and once the watch list holds the channel its closer hears
    /// <paramref name="window"/> and the window is watched; a close that closes the channel at once (no window) waits with
    /// its closer for the ledger's release.
    /// </summary>
    public void Close(object closed, ChannelClosing? window, IActorRef sender, string? traceParent, Activity.NetworkActivity? dispute)
    {
        _escrow.CloseWriting = true;
        _writeClose(closed, e =>
        {
            _escrow.CloseWriting = false;
            _channel.Durable(e);
            if (window is null) { Settle(sender, traceParent); return; }
            if (dispute is not null) Activity.ActivityFeed.Get(_context.System).Publish(dispute);
            _escrow.WhenListed(() => { sender.Tell(window); WatchChallenge(window.ChallengeDeadline); });
        });
    }

    /// <summary>The challenge window ended: its end is written, then the ledger is asked to release the escrow.</summary>
    public void EndChallenge(object ended) => _writeClose(ended, e => { _channel.Durable(e); _escrow.Settle(traceParent: null); });

    /// <summary>The split is decided and durable: <paramref name="sender"/> waits for the settlement, and the ledger is asked to release.</summary>
    public void Settle(IActorRef sender, string? traceParent)
    {
        _escrow.Settling.Add(sender);
        _escrow.Settle(traceParent);
    }

    /// <summary>The watch list answered the channel's request to be listed.</summary>
    public void ListAnswered(ChannelWatched answer) => _escrow.ListAnswered(answer);

    /// <summary>Wakes the channel with <see cref="ChallengeDeadlineReached"/> when its challenge window may have ended.</summary>
    public void WatchChallenge(Timestamp deadline) => _escrow.WatchChallenge(deadline);

    /// <summary>
    /// A release the channel awaited, as its core judged it: written, then what is still owed is sent (the other escrow's
    /// release or refund), and once every escrow is released the settlement's waiters hear it. A release that does not fit is raised.
    /// </summary>
    public void Released<TReleased>(Result<TReleased> judged) where TReleased : class
    {
        if (_escrow.Confirmed(judged) is not { } confirmed) return;
        _write(confirmed, e =>
        {
            _channel.Durable(e);
            _escrow.Send();
            // A refused opening answers no one on its refunds: its waiters were told of the refusal.
            if (_channel.Settlement is { } settlement) _escrow.Released(_channel.Phase, settlement);
        });
    }

    // The entity's life

    /// <summary>The entity recovered: what is owed is sent (a closed channel settles), and a running window (ending at <paramref name="challengeDeadline"/>) is watched.</summary>
    public void Resumed(Timestamp? challengeDeadline)
    {
        var phase = _channel.Phase;
        _escrow.Resumed(phase);
        if (phase == ChannelPhase.Closing) WatchChallenge(challengeDeadline!.Value);
    }

    /// <summary>The channel was woken: sends again what is owed if the client had given up.</summary>
    public void Wake() => _escrow.Wake();

    /// <summary>The retry timer fired: sends what is still owed.</summary>
    public void RetryDue() => _escrow.RetryDue();

    /// <summary>The entity stops: it counts as open here no more.</summary>
    public void Stopped() => _escrow.Stopped();
}

/// <summary>Who a channel entity asks for its escrow: the ledger's region, and the channel watch list's.</summary>
public sealed record EscrowPeers(IActorRef Ledger, IActorRef WatchList);
