using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Activity;

/// <summary>What one node saw in the last tenth of a second, sent to every node that watches the network.</summary>
[Manifest("activity.batch.v1")]
public sealed record ActivityBatch(string Node, IReadOnlyList<NetworkActivity> Events, long Payments, Timestamp OldestAt) : IEnergyMessage;

/// <summary>
/// The node-local way out of the entities for what operators watch: entities publish their
/// <see cref="NetworkActivity"/>s here (a local message; nothing per payment: payments are only counted), and the
/// node's <see cref="ActivityCollector"/> sends them on in batches, ten a second, on the <see cref="Topic"/> every
/// node may subscribe to. The entities know nothing of who reads it.
/// </summary>
public sealed class ActivityFeed : IExtension
{
    public const string Topic = "energy-activity";

    private long _payments;
    private IActorRef _collector = ActorRefs.Nobody;

    public static ActivityFeed Get(ActorSystem system) => system.WithExtension<ActivityFeed, ActivityFeedProvider>();

    public void Publish(NetworkActivity happened) => _collector.Tell(happened);

    public void CountPayment() => Interlocked.Increment(ref _payments);

    public long TakePayments() => Interlocked.Exchange(ref _payments, 0);

    internal void Attach(IActorRef collector) => _collector = collector;
}

public sealed class ActivityFeedProvider : ExtensionIdProvider<ActivityFeed>
{
    public override ActivityFeed CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>Gathers this node's events and sends them on as one batch every tenth of a second (bounded).</summary>
public sealed class ActivityCollector : ReceiveActor, IWithTimers
{
    public const int MaxEventsPerBatch = 5_000;
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly IClock _clock;
    private readonly ActivityFeed _feed;
    private readonly IActorRef _mediator;
    private readonly string _node;
    private List<NetworkActivity> _pending = [];
    private Timestamp? _oldest;
    private long _dropped;

    public ActivityCollector(IClock clock)
    {
        _clock = clock;
        _feed = ActivityFeed.Get(Context.System);
        _feed.Attach(Self);
        _mediator = DistributedPubSub.Get(Context.System).Mediator;
        _node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        Receive<NetworkActivity>(happened =>
        {
            _oldest ??= _clock.Now;
            // Bounded: past the bound, the oldest stay and the rest are only counted.
            if (_pending.Count < MaxEventsPerBatch) _pending.Add(happened);
            else _dropped++;
        });
        Receive<Flush>(_ =>
        {
            var payments = _feed.TakePayments();
            if (_pending.Count == 0 && payments == 0) return;
            _mediator.Tell(new Publish(ActivityFeed.Topic, new ActivityBatch(_node, _pending, payments, _oldest ?? _clock.Now)));
            _pending = [];
            _oldest = null;
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IClock clock) => Akka.Actor.Props.Create(() => new ActivityCollector(clock));

    protected override void PreStart() => Timers.StartPeriodicTimer("flush", Flush.Instance, Interval);

    private sealed record Flush
    {
        public static readonly Flush Instance = new();
    }
}
