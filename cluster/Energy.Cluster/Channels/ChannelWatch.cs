using Akka.Actor;
using Akka.Event;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Channels;

/// <summary>
/// Keeps the watchtower awake. Entities start lazily and passivate when idle, and a timer dies with its actor; yet a
/// channel whose opening waits for the ledger's lock, whose challenge window runs, or whose settlement the ledger has
/// not confirmed must go on after a restart. Such a channel lists itself in the <see cref="ChannelWatchListEntity"/>
/// before it waits; every interval this reads the list and wakes each channel it names: a woken channel recovers,
/// finalizes a window that has ended, and retries what the ledger owes it. An open, idle channel is not listed and not
/// woken, so it passivates. Each look also starts every ledger shard, so that its undelivered credits go out again.
/// A part of the list that was never filled (the network ran before the list existed) is filled once from the ledger's
/// escrows: every escrowed channel is woken and lists itself if it waits on something, and the part is marked filled
/// a full interval after the last of them was woken.
/// The wakes go out a few at a time, every <see cref="Step"/>: after a restart every device reconnects at once too, and
/// its calls come first. While the node holds a backlog of device calls (<c>devicesWaiting</c>) only
/// <see cref="WakesPerStepWhileDevicesWait"/> go out a step, else <see cref="WakesPerStep"/>: a window that ended while
/// the node was down is finalized a little later, which costs nobody anything (its challenges were the channel's to
/// answer when a close arrived, not the watch's), and the watch never stops altogether, however long devices keep the
/// node busy.
/// </summary>
public sealed class ChannelWatch : Kernel.PeriodicWatch
{
    /// <summary>Channels a ledger shard names in one answer when a part of the watch list is filled from it, at most.</summary>
    public const int MaxChannelsPerShard = 100_000;

    /// <summary>How often a few channels are woken.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);

    /// <summary>Channels woken a step (500 a second) while no backlog of device calls waits.</summary>
    public const int WakesPerStep = 50;

    /// <summary>Channels woken a step (50 a second) while the node holds a backlog of device calls.</summary>
    public const int WakesPerStepWhileDevicesWait = 5;

    private readonly IActorRef _watchList;
    private readonly IActorRef _ledger;
    private readonly IActorRef _channels;
    private readonly IActorRef _duplexChannels;
    private readonly int _ledgerShardCount;
    private readonly Func<bool> _devicesWaiting;
    private readonly TimeSpan _step;

    // Channels to wake, each once however many looks name it before its turn.
    private readonly Queue<WatchedChannel> _due = new();
    private readonly HashSet<WatchedChannel> _queued = [];

    // Filling the parts of the list that were never filled: which are, and which ledger shards answered.
    private readonly HashSet<string> _unseeded = [];
    private readonly HashSet<string> _seedAnswered = [];
    private Seeding _seeding = Seeding.None;

    private enum Seeding { None, Listing, Waking, Woken, OneLookSinceWoken }

    /// <summary>
    /// Reads <paramref name="watchList"/> and wakes the channels it names in <paramref name="channels"/> and
    /// <paramref name="duplexChannels"/>, fewer while <paramref name="devicesWaiting"/> says the node holds a backlog of
    /// device calls; starts <paramref name="ledger"/>'s shards. <paramref name="step"/> is <see cref="Step"/> but in tests.
    /// </summary>
    public ChannelWatch(IActorRef watchList, IActorRef ledger, IActorRef channels, IActorRef duplexChannels, int ledgerShardCount, TimeSpan interval,
        Func<bool>? devicesWaiting = null, TimeSpan? step = null) : base(interval)
    {
        _watchList = watchList;
        _ledger = ledger;
        _channels = channels;
        _duplexChannels = duplexChannels;
        _ledgerShardCount = ledgerShardCount;
        _devicesWaiting = devicesWaiting ?? (() => false);
        _step = step ?? Step;
        Receive<WatchedChannels>(listed =>
        {
            Enqueue(listed.Channels);
            if (listed.Seeded || !_unseeded.Add(listed.List) || _seeding != Seeding.None) return;
            _seeding = Seeding.Listing;
            _seedAnswered.Clear();
            AskLedger(MaxChannelsPerShard);
        });
        Receive<EscrowedChannels>(escrowed =>
        {
            Enqueue([.. escrowed.Escrows.Select(e => new WatchedChannel(e.Kind, e.Channel))]);
            if (escrowed.Escrows.Count >= MaxChannelsPerShard)
                Context.GetLogger().Warning("{0} holds escrow for more than {1} channels; only the first are woken to list themselves", escrowed.Shard, MaxChannelsPerShard);
            // Only answers to a listing of every escrow count towards the filling (a look's start asks for none).
            if (_seeding == Seeding.Listing && escrowed.Max > 0 && _seedAnswered.Add(escrowed.Shard) && _seedAnswered.Count == _ledgerShardCount)
                _seeding = _due.Count > 0 ? Seeding.Waking : Seeding.Woken;
        });
        Receive<WakeSome>(_ => WakeNext());
    }

    public static Props Props(IActorRef watchList, IActorRef ledger, IActorRef channels, IActorRef duplexChannels, int ledgerShardCount, TimeSpan interval,
        Func<bool>? devicesWaiting = null, TimeSpan? step = null) =>
        Akka.Actor.Props.Create(() => new ChannelWatch(watchList, ledger, channels, duplexChannels, ledgerShardCount, interval, devicesWaiting, step));

    /// <summary>
    /// Reads every part of the watch list, and starts every ledger shard (asking it for no escrows, unless a part is being
    /// filled from them). A part filled from the ledger is marked so at the second look after its channels were all woken.
    /// </summary>
    protected override void Look()
    {
        if (_seeding == Seeding.Woken) _seeding = Seeding.OneLookSinceWoken;
        else if (_seeding == Seeding.OneLookSinceWoken)
        {
            foreach (var list in _unseeded) _watchList.Tell(new MarkWatchListSeeded(list));
            _unseeded.Clear();
            _seeding = Seeding.None;
        }
        foreach (var list in ChannelWatchListRules.All(_ledgerShardCount))
            _watchList.Tell(new GetWatchedChannels(list, ChannelWatchListState.MaxChannels));
        AskLedger(_seeding == Seeding.Listing ? MaxChannelsPerShard : 0);
    }

    private void AskLedger(int max)
    {
        foreach (var shard in LedgerShards.All(_ledgerShardCount))
            _ledger.Tell(new GetEscrowedChannels(shard, max));
    }

    private void Enqueue(IReadOnlyList<WatchedChannel> channels)
    {
        foreach (var channel in channels)
            if (_queued.Add(channel)) _due.Enqueue(channel);
        if (_due.Count > 0 && !Timers.IsTimerActive("wake")) Timers.StartPeriodicTimer("wake", WakeSome.Instance, TimeSpan.Zero, _step);
    }

    private void WakeNext()
    {
        var wakes = _devicesWaiting() ? WakesPerStepWhileDevicesWait : WakesPerStep;
        for (var woken = 0; woken < wakes && _due.TryDequeue(out var due); woken++)
        {
            _queued.Remove(due);
            if (due.Kind == ChannelKind.Streaming) _channels.Tell(new WakeChannel(due.Channel));
            else _duplexChannels.Tell(new WakeDuplexChannel(due.Channel));
        }
        if (_due.Count > 0) return;
        Timers.Cancel("wake");
        if (_seeding == Seeding.Waking) _seeding = Seeding.Woken;
    }

    private sealed record WakeSome
    {
        public static readonly WakeSome Instance = new();
    }
}
