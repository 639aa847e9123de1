using Akka.Actor;
using Akka.Event;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Kernel;

/// <summary>The ledger did not answer a channel's escrow requests after every attempt; it tries again when the channel is woken.</summary>
public sealed record EscrowUnanswered(ChannelId ChannelId, EscrowId Escrow, int Attempts) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: the ledger did not answer the requests for {Escrow} after {Attempts} attempts";
}

/// <summary>The channel watch list did not answer a channel's request to be listed after every attempt; it asks again when the channel is woken.</summary>
public sealed record WatchListUnanswered(ChannelId ChannelId, int Attempts) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: the channel watch list did not answer after {Attempts} attempts";
}

/// <summary>
/// What a channel entity asks of the ledger for its escrow, and who waits for it: locks, refunds and releases. The
/// entity says what the ledger still owes it (derived from its durable state); the client sends it, and sends it
/// again after <see cref="EnergySettings.AskTimeout"/> until the entity has what it needs, at most
/// <see cref="EnergySettings.MaxEscrowAttempts"/> times in a row (then it waits to be woken). Every request is
/// idempotent on the ledger, so sending again is always safe. Before it asks the ledger for anything, and before a
/// close that opens a challenge window is answered, the channel is listed in the channel watch list (so that it is
/// woken after a restart); once it waits on nothing it is unlisted. It keeps the bounded waiters of the opening and
/// of the settlement, the settlement's span, the channel's place in the count of open channels, and the timer of the
/// challenge window. A ledger answer that does not fit the channel is raised as an alert, never acted on.
/// </summary>
public sealed class EscrowClient
{
    private const string RetryTimer = "escrow-retry";
    private const string ChallengeTimer = "challenge-deadline";

    private readonly IActorContext _context;
    private readonly IWithTimers _owner;
    private readonly ChannelId _channel;
    private readonly string _kind;
    private readonly string _settleSpanName;
    private readonly IActorRef _ledger;
    private readonly EnergySettings _settings;
    private readonly Func<IReadOnlyList<ILedgerCommand>> _owed;
    private readonly Func<EscrowId?> _escrow;
    private readonly Func<ChannelPhase> _phase;
    private readonly ChannelListing _listing;
    private readonly OpenChannelCount _openCount;
    private System.Diagnostics.Activity? _settleSpan;
    private int _attempts;

    /// <param name="owner">The entity whose timers retry (they are given to it only once it is constructed).</param>
    /// <param name="duplex">Whether the channel is a duplex channel (else a streaming one): named so in logs, spans and refusals.</param>
    /// <param name="watchList">The channel watch list's region.</param>
    public EscrowClient(IActorContext context, IWithTimers owner, ChannelId channel, bool duplex, IActorRef ledger, IActorRef watchList, EnergySettings settings,
        Func<IReadOnlyList<ILedgerCommand>> owed, Func<EscrowId?> escrow, Func<ChannelPhase> phase)
    {
        _context = context;
        _owner = owner;
        _channel = channel;
        _kind = duplex ? "duplex channel" : "channel";
        _settleSpanName = duplex ? "duplex.settle" : "channel.settle";
        _ledger = ledger;
        _settings = settings;
        _owed = owed;
        _escrow = escrow;
        _phase = phase;
        _listing = new ChannelListing(watchList, new WatchedChannel(duplex ? ChannelKind.Duplex : ChannelKind.Streaming, channel), settings.LedgerShardCount,
            settings.MaxChannelWaiters);
        _openCount = new OpenChannelCount(duplex);
        Opening = new Waiters(_kind + " " + channel.Value, settings.MaxChannelWaiters);
        Settling = new Waiters(_kind + " " + channel.Value, settings.MaxChannelWaiters);
    }

    /// <summary>Who waits for the escrow to be locked (or the opening refused).</summary>
    public Waiters Opening { get; }

    /// <summary>Who waits for the escrow to be released.</summary>
    public Waiters Settling { get; }

    /// <summary>The client stopped after <see cref="EnergySettings.MaxEscrowAttempts"/> unanswered attempts.</summary>
    public bool GaveUp => _attempts >= _settings.MaxEscrowAttempts;

    /// <summary>The state changed: sends what is owed now, with a fresh count of attempts.</summary>
    public void Send()
    {
        _attempts = 0;
        SendOwed();
    }

    /// <summary>
    /// The channel was woken: sends again what is owed if the client had given up. A channel that waits on nothing is
    /// unlisted again (a lost unlisting is mended; unlisting a channel the list does not hold writes nothing).
    /// </summary>
    public void Wake()
    {
        if (!Waits())
        {
            _listing.Forget();
            Settled();
        }
        else if (GaveUp) Send();
    }

    /// <summary>Whether the watch list holds the channel.</summary>
    public bool IsListed => _listing.IsListed;

    /// <summary>A close is being written: the channel waits on it (and stays listed) until it is durable.</summary>
    public bool CloseWriting { get; set; }

    /// <summary>The retry timer fired: sends what is still owed, or once every attempt is spent, raises it and waits to be woken.</summary>
    public void RetryDue()
    {
        if (_escrow() is not { } escrow) return;
        if (!GaveUp) SendOwed();
        else if (!_listing.IsListed) Alert(new WatchListUnanswered(_channel, _attempts));
        else Alert(new EscrowUnanswered(_channel, escrow, _attempts));
    }

    /// <summary>Runs <paramref name="then"/> once the watch list holds the channel (at once if it does): a close that opens a window is answered so.</summary>
    public void WhenListed(Action then)
    {
        if (!ListedOr(then)) return;
        then();
    }

    /// <summary>
    /// True when the watch list holds the channel; else the list is asked, and <paramref name="then"/> runs once it holds
    /// it (a step that makes the channel wait is decided then). At most <see cref="EnergySettings.MaxChannelWaiters"/> wait;
    /// past that a step is dropped, and its caller asks again.
    /// </summary>
    public bool ListedOr(Action then)
    {
        if (_listing.IsListed) return true;
        _listing.Wait(then);
        Send();
        return false;
    }

    /// <summary>The watch list answered: it holds the channel (or is full, and the channel goes on without it); what waited for it goes on.</summary>
    public void ListAnswered(ChannelWatched answer)
    {
        if (_listing.Answered(answer) is not { } waited) return;
        foreach (var then in waited) then();
        Send();
    }

    /// <summary>The escrow is locked and the channel open: no retry is pending, and the opening's waiters hear <paramref name="opened"/>.</summary>
    public void Opened(ChannelPhase phase, object opened)
    {
        Settled();
        _openCount.Update(phase);
        Opening.AnswerAll(opened);
    }

    /// <summary>
    /// The split is decided: the ledger is asked to release the escrow (again until it confirms). The settlement's
    /// span runs until the release is durable; its parent is what decided it (a close, a final state), when one did.
    /// </summary>
    public void Settle(string? traceParent)
    {
        _settleSpan ??= EnergyTracing.StartHandling(_settleSpanName, traceParent);
        Send();
    }

    /// <summary>The release is durable: no retry is pending, the span ends and the settlement's waiters hear <paramref name="settlement"/>.</summary>
    public void Released(ChannelPhase phase, object settlement)
    {
        Settled();
        _openCount.Update(phase);
        EnergyTracing.End(_settleSpan);
        _settleSpan = null;
        Settling.AnswerAll(settlement);
    }

    /// <summary>The ledger owes nothing more: no retry is pending, and a channel that waits on nothing else is unlisted.</summary>
    public void Settled()
    {
        _owner.Timers.Cancel(RetryTimer);
        _attempts = 0;
        if (_listing.KnownUnlisted || Waits()) return;
        _listing.Unlist();
    }

    /// <summary>
    /// The entity recovered in <paramref name="phase"/>: it counts as open or not, and what is owed is sent (a closed channel
    /// settles). A channel with no opening was never listed; any other is listed or unlisted as it waits or not.
    /// </summary>
    public void Resumed(ChannelPhase phase)
    {
        _openCount.Update(phase);
        if (phase == ChannelPhase.None) _listing.NeverListed();
        if (phase == ChannelPhase.Closed) Settle(traceParent: null);
        else Send();
    }

    /// <summary>The entity stops: it counts as open here no more, and an unfinished settlement's span ends.</summary>
    public void Stopped()
    {
        _openCount.Stopped();
        EnergyTracing.End(_settleSpan, "stopped before the ledger confirmed");
    }

    /// <summary>Wakes the entity with <see cref="ChallengeDeadlineReached"/> when the challenge window may have ended.</summary>
    public void WatchChallenge(Timestamp deadline) =>
        Deadlines.Schedule(_owner.Timers, ChallengeTimer, ChallengeDeadlineReached.Instance, deadline, _settings.Clock.Now);

    /// <summary>The ledger refused a request the channel cannot be refused (a release): logged loudly, and retried.</summary>
    public void RefusedUnexpectedly(Refusal refusal) =>
        _context.GetLogger().Error("{0} {1}: the ledger refused {2}: {3}", _kind, _channel, refusal.Code, refusal.Message);

    /// <summary>A ledger answer that does not fit the channel: logged and shown to the network's operators, and otherwise ignored.</summary>
    public void Alert(ProtocolError error)
    {
        _context.GetLogger().Error("channel {0}: {1}", _channel, error);
        Activity.ActivityFeed.Get(_context.System).Publish(new Activity.ChannelEscrowAlert(_channel, error.Code, error.Describe(), _settings.Clock.Now));
    }

    // The channel waits on the ledger, on its challenge window, on a close being written, or has a step waiting to be listed.
    private bool Waits() => _owed().Count > 0 || _phase() == ChannelPhase.Closing || CloseWriting || _listing.HasWaiting;

    private void SendOwed()
    {
        if (Waits() && !_listing.IsListed)
        {
            // Listed before it waits: a restart before the ledger's answer, or before the window's end, still wakes it.
            _listing.Ask(_context.Self);
            _attempts++;
            _owner.Timers.StartSingleTimer(RetryTimer, EscrowRetryDue.Instance, _settings.AskTimeout);
            return;
        }
        var owed = _owed();
        if (owed.Count == 0) { Settled(); return; }
        var traceParent = EnergyTracing.TraceParentOf(_settleSpan);
        foreach (var request in owed) _ledger.Tell(traceParent is not null && request is ITraced traced ? traced.WithTraceParent(traceParent) : request);
        _attempts++;
        _owner.Timers.StartSingleTimer(RetryTimer, EscrowRetryDue.Instance, _settings.AskTimeout);
    }
}

/// <summary>The escrow client's retry timer fired.</summary>
public sealed record EscrowRetryDue
{
    public static readonly EscrowRetryDue Instance = new();
}

/// <summary>A channel's challenge window may have ended: the entity asks its rules whether it has.</summary>
public sealed record ChallengeDeadlineReached
{
    public static readonly ChallengeDeadlineReached Instance = new();
}
