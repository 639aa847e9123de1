using Akka.Actor;
using Akka.Event;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Channels;

/// <summary>The ledger did not answer a channel's escrow requests after every attempt; it tries again when the channel is woken.</summary>
public sealed record EscrowUnanswered(ChannelId ChannelId, EscrowId Escrow, int Attempts) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: the ledger did not answer the requests for {Escrow} after {Attempts} attempts";
}

/// <summary>
/// What a channel entity asks of the ledger for its escrow: locks, refunds and releases. The entity says
/// what the ledger still owes it (derived from its durable state); the client sends it, and sends it again
/// after <c>retryAfter</c> until the entity has what it needs, at most <c>maxAttempts</c> times in a row.
/// Every request is idempotent on the ledger, so sending again is always safe. Answers are checked against
/// the channel's own escrow: a lock or release of anything else is raised as an alert, never acted on.
/// </summary>
public sealed class EscrowClient
{
    private const string RetryTimer = "escrow-retry";

    private readonly ChannelId _channel;
    private readonly IActorRef _ledger;
    private readonly IWithTimers _owner;
    private readonly EnergySettings _settings;
    private readonly Func<IReadOnlyList<ILedgerCommand>> _owed;
    private int _attempts;

    /// <param name="owner">The entity whose timers retry (they are given to it only once it is constructed).</param>
    public EscrowClient(ChannelId channel, IActorRef ledger, IWithTimers owner, EnergySettings settings, Func<IReadOnlyList<ILedgerCommand>> owed)
    {
        _channel = channel;
        _ledger = ledger;
        _owner = owner;
        _settings = settings;
        _owed = owed;
    }

    /// <summary>The span of the settlement these requests serve, carried to the ledger with each release; null for none.</summary>
    public string? TraceParent { get; set; }

    /// <summary>The client stopped after <see cref="EnergySettings.MaxEscrowAttempts"/> unanswered attempts.</summary>
    public bool GaveUp => _attempts >= _settings.MaxEscrowAttempts;

    /// <summary>The state changed (or the channel woke): sends what is owed now, with a fresh count of attempts.</summary>
    public void Send()
    {
        _attempts = 0;
        SendOwed();
    }

    /// <summary>
    /// The retry timer fired: sends what is still owed, unless every attempt is spent; then the error is
    /// returned to raise, and the client waits for <see cref="Send"/>.
    /// </summary>
    public ProtocolError? Retry(EscrowId escrow)
    {
        if (!GaveUp) { SendOwed(); return null; }
        return new EscrowUnanswered(_channel, escrow, _attempts);
    }

    /// <summary>The ledger owes nothing more: no retry is pending.</summary>
    public void Settled()
    {
        _owner.Timers.Cancel(RetryTimer);
        _attempts = 0;
    }

    private void SendOwed()
    {
        var owed = _owed();
        if (owed.Count == 0) { Settled(); return; }
        foreach (var request in owed) _ledger.Tell(TraceParent is { } traceParent && request is ITraced traced ? traced.WithTraceParent(traceParent) : request);
        _attempts++;
        _owner.Timers.StartSingleTimer(RetryTimer, EscrowRetryDue.Instance, _settings.AskTimeout);
    }

    /// <summary>A ledger answer that does not fit the channel: logged and shown to the network's operators, and otherwise ignored.</summary>
    public static void Alert(IActorContext context, EnergySettings settings, ChannelId channel, ProtocolError error)
    {
        context.GetLogger().Error("channel {0}: {1}", channel, error);
        Activity.ActivityFeed.Get(context.System).Publish(new Activity.ChannelEscrowAlert(channel, error.Code, error.Describe(), settings.Clock.Now));
    }
}

/// <summary>The escrow client's retry timer fired.</summary>
public sealed record EscrowRetryDue
{
    public static readonly EscrowRetryDue Instance = new();
}
