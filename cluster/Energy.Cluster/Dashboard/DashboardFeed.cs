using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Dashboard;

/// <summary>
/// Something that happened, as the dashboard shows it: a completed charging session, a toll pass or
/// violation, an energy trade, a settlement block, an alert. <see cref="Operators"/> are the operators
/// who may see it (a grid operator sees everything); <see cref="Links"/> name what a click drills into
/// ("device:{id}", "channel:{id}", "block:{shard}:{height}").
/// </summary>
[Manifest("dashboard.item.v1")]
public sealed record DashboardItem(
    string Kind,
    string Id,
    string Title,
    IReadOnlyList<string> Operators,
    long ValueMinorUnits,
    long EnergyWh,
    string? Zone,
    Timestamp At,
    IReadOnlyList<string> Links) : IEnergyMessage
{
    /// <summary>Value settled per operator account in a block (only for blocks).</summary>
    public IReadOnlyDictionary<string, long>? SettledTo { get; init; }
}

/// <summary>What one node saw in the last tenth of a second, sent to every dashboard node.</summary>
[Manifest("dashboard.batch.v1")]
public sealed record DashboardBatch(string Node, IReadOnlyList<DashboardItem> Items, long Payments, Timestamp OldestAt) : IEnergyMessage;

/// <summary>
/// The node-local way in to the dashboard: entities publish items here (a local message, nothing per
/// payment: payments are only counted), and the node's <see cref="DashboardCollector"/> sends them on
/// in batches, ten a second, to every node's dashboard state.
/// </summary>
public sealed class DashboardFeed : IExtension
{
    public const string Topic = "energy-dashboard";

    private long _payments;
    private IActorRef _collector = ActorRefs.Nobody;

    public static DashboardFeed Get(ActorSystem system) => system.WithExtension<DashboardFeed, DashboardFeedProvider>();

    public void Publish(DashboardItem item) => _collector.Tell(item);

    public void CountPayment() => Interlocked.Increment(ref _payments);

    public long TakePayments() => Interlocked.Exchange(ref _payments, 0);

    internal void Attach(IActorRef collector) => _collector = collector;
}

public sealed class DashboardFeedProvider : ExtensionIdProvider<DashboardFeed>
{
    public override DashboardFeed CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>Gathers this node's items and sends them on as one batch every tenth of a second (bounded).</summary>
public sealed class DashboardCollector : ReceiveActor, IWithTimers
{
    public const int MaxItemsPerBatch = 5_000;
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly IClock _clock;
    private readonly DashboardFeed _feed;
    private readonly IActorRef _mediator;
    private readonly string _node;
    private List<DashboardItem> _pending = [];
    private Timestamp? _oldest;
    private long _dropped;

    public DashboardCollector(IClock clock)
    {
        _clock = clock;
        _feed = DashboardFeed.Get(Context.System);
        _feed.Attach(Self);
        _mediator = DistributedPubSub.Get(Context.System).Mediator;
        _node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        Receive<DashboardItem>(item =>
        {
            _oldest ??= _clock.Now;
            // Bounded: past the bound, the oldest stay and the rest are only counted.
            if (_pending.Count < MaxItemsPerBatch) _pending.Add(item);
            else _dropped++;
        });
        Receive<Flush>(_ =>
        {
            var payments = _feed.TakePayments();
            if (_pending.Count == 0 && payments == 0) return;
            _mediator.Tell(new Publish(DashboardFeed.Topic, new DashboardBatch(_node, _pending, payments, _oldest ?? _clock.Now)));
            _pending = [];
            _oldest = null;
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IClock clock) => Akka.Actor.Props.Create(() => new DashboardCollector(clock));

    protected override void PreStart() => Timers.StartPeriodicTimer("flush", Flush.Instance, Interval);

    private sealed record Flush
    {
        public static readonly Flush Instance = new();
    }
}
