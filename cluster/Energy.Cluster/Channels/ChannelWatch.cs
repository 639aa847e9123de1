using Akka.Actor;
using Akka.Event;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Channels;

/// <summary>
/// Keeps the watchtower awake. Entities start lazily and passivate when idle, and a timer dies with its
/// actor; yet a channel in its challenge window, or closed and waiting for the ledger, must go on
/// after a restart. Every interval, this asks each ledger shard (starting it, so that its undelivered
/// credits go out again) which channels still hold escrow, and wakes them: a woken channel recovers,
/// finalizes a window that has ended, and retries its settlement. The wakes go out a few at a time, every
/// <see cref="Step"/>: after a restart every device reconnects at once too, and its calls come first. While the node
/// holds a backlog of device calls (<c>devicesWaiting</c>) only <see cref="WakesPerStepWhileDevicesWait"/> go out a step,
/// else <see cref="WakesPerStep"/>: a window that ended while the node was down is finalized a little later, which
/// costs nobody anything (its challenges were the channel's to answer when a close arrived, not the watch's), and the
/// watch never stops altogether, however long devices keep the node busy.
/// </summary>
public sealed class ChannelWatch : Kernel.PeriodicWatch
{
    public const int MaxChannelsPerShard = 100_000;

    /// <summary>How often a few channels are woken.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);

    /// <summary>Channels woken a step (500 a second) while no backlog of device calls waits.</summary>
    public const int WakesPerStep = 50;

    /// <summary>Channels woken a step (50 a second) while the node holds a backlog of device calls.</summary>
    public const int WakesPerStepWhileDevicesWait = 5;

    private readonly IActorRef _ledger;
    private readonly IActorRef _channels;
    private readonly IActorRef _duplexChannels;
    private readonly int _ledgerShardCount;
    private readonly Func<bool> _devicesWaiting;
    private readonly TimeSpan _step;

    // Channels to wake, each once however many looks name it before its turn.
    private readonly Queue<(ChannelKind Kind, ChannelId Channel)> _due = new();
    private readonly HashSet<ChannelId> _queued = [];

    /// <summary>
    /// Watches the escrows of <paramref name="ledger"/>'s shards and wakes their channels in <paramref name="channels"/>
    /// and <paramref name="duplexChannels"/>, fewer while <paramref name="devicesWaiting"/> says the node holds a backlog
    /// of device calls. <paramref name="step"/> is <see cref="Step"/> but in tests.
    /// </summary>
    public ChannelWatch(IActorRef ledger, IActorRef channels, IActorRef duplexChannels, int ledgerShardCount, TimeSpan interval, Func<bool>? devicesWaiting = null,
        TimeSpan? step = null) : base(interval)
    {
        _ledger = ledger;
        _channels = channels;
        _duplexChannels = duplexChannels;
        _ledgerShardCount = ledgerShardCount;
        _devicesWaiting = devicesWaiting ?? (() => false);
        _step = step ?? Step;
        Receive<EscrowedChannels>(escrowed =>
        {
            foreach (var escrow in escrowed.Escrows)
                if (_queued.Add(escrow.Channel)) _due.Enqueue((escrow.Kind, escrow.Channel));
            if (_due.Count > 0 && !Timers.IsTimerActive("wake")) Timers.StartPeriodicTimer("wake", WakeSome.Instance, TimeSpan.Zero, _step);
            if (escrowed.Escrows.Count >= MaxChannelsPerShard)
                Context.GetLogger().Warning("{0} holds escrow for more than {1} channels; only the first are watched", escrowed.Shard, MaxChannelsPerShard);
        });
        Receive<WakeSome>(_ => WakeNext());
    }

    public static Props Props(IActorRef ledger, IActorRef channels, IActorRef duplexChannels, int ledgerShardCount, TimeSpan interval, Func<bool>? devicesWaiting = null,
        TimeSpan? step = null) =>
        Akka.Actor.Props.Create(() => new ChannelWatch(ledger, channels, duplexChannels, ledgerShardCount, interval, devicesWaiting, step));

    /// <summary>
    /// Asks every ledger shard for its escrowed channels. While the channels of the last look are still being woken, a
    /// shard is asked for none: it is started all the same (so that its undelivered credits go out again), but does not
    /// list up to <see cref="MaxChannelsPerShard"/> escrows that would only name channels already queued.
    /// </summary>
    protected override void Look()
    {
        var max = _due.Count > 0 ? 0 : MaxChannelsPerShard;
        foreach (var shard in LedgerShards.All(_ledgerShardCount))
            _ledger.Tell(new GetEscrowedChannels(shard, max));
    }

    private void WakeNext()
    {
        var wakes = _devicesWaiting() ? WakesPerStepWhileDevicesWait : WakesPerStep;
        for (var woken = 0; woken < wakes && _due.TryDequeue(out var due); woken++)
        {
            _queued.Remove(due.Channel);
            // An escrow names its channel's kind, so only the channel that holds it is woken.
            if (due.Kind == ChannelKind.Streaming) _channels.Tell(new WakeChannel(due.Channel));
            else _duplexChannels.Tell(new WakeDuplexChannel(due.Channel));
        }
        if (_due.Count == 0) Timers.Cancel("wake");
    }

    private sealed record WakeSome
    {
        public static readonly WakeSome Instance = new();
    }
}
