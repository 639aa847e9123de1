using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Energy.Channels.Primitives;
using Energy.Cluster;
using Energy.Cluster.Activity;

namespace Energy.Dashboard;

/// <summary>Who is looking: a grid operator sees everything; any other operator only what names it.</summary>
public sealed record Viewer(string Operator, bool SeesEverything)
{
    public bool May(DashboardItem item) => SeesEverything || item.Operators.Contains(Operator);
}

/// <summary>
/// The zone figures, per zone and per operator whose devices made them: a charging session counts for the
/// charge point operator, a pass or violation for the toll operator. The grid operator reads the sums over
/// every operator; any other operator only its own rows, so no operator sees another's energy or tolls.
/// Bounded: <see cref="MaxZones"/> zones and <see cref="MaxRows"/> rows; past either, an item still counts
/// in the totals and feeds but not here (<see cref="Dropped"/> counts them).
/// </summary>
public sealed class ZoneTable
{
    public const int MaxZones = 1_000;
    public const int MaxRows = 20_000;

    private readonly Dictionary<string, DashboardState.ZoneTotals> _sums = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Zone, string Operator), DashboardState.ZoneTotals> _rows = [];

    public long Dropped { get; private set; }

    public int ZoneCount => _sums.Count;

    public int RowCount => _rows.Count;

    public void Add(DashboardItem item)
    {
        if (item.Zone is not { } zone || item.Kind is not ("session" or "pass" or "violation")) return;
        var newRows = item.Operators.Distinct().Count(op => !_rows.ContainsKey((zone, op)));
        if ((!_sums.ContainsKey(zone) && _sums.Count >= MaxZones) || _rows.Count + newRows > MaxRows)
        {
            Dropped++;
            return;
        }
        _sums[zone] = Count(_sums.GetValueOrDefault(zone) ?? new DashboardState.ZoneTotals(zone, 0, 0, 0), item);
        foreach (var op in item.Operators.Distinct())
            _rows[(zone, op)] = Count(_rows.GetValueOrDefault((zone, op)) ?? new DashboardState.ZoneTotals(zone, 0, 0, 0), item);
    }

    /// <summary>The rows the viewer may see, by zone: every zone's sums for the grid operator, the viewer's own figures for anyone else.</summary>
    public IReadOnlyList<DashboardState.ZoneTotals> For(Viewer viewer) => viewer.SeesEverything
        ? _sums.Values.OrderBy(z => z.Zone, StringComparer.Ordinal).ToList()
        : _rows.Where(r => r.Key.Operator == viewer.Operator).Select(r => r.Value).OrderBy(z => z.Zone, StringComparer.Ordinal).ToList();

    private static DashboardState.ZoneTotals Count(DashboardState.ZoneTotals z, DashboardItem item) => item.Kind switch
    {
        "session" => z with { EnergyWh = z.EnergyWh + item.EnergyWh, Sessions = z.Sessions + 1 },
        "pass" => z with { Passes = z.Passes + 1, TollMinorUnits = z.TollMinorUnits + item.ValueMinorUnits },
        _ => z with { Passes = z.Passes + 1, Violations = z.Violations + 1 },
    };
}

/// <summary>
/// The dashboard's picture of the whole network, built from every node's batches: totals, per-operator
/// totals, the latest items of each kind, zone counts and one sample a second for the charts. Bounded:
/// <see cref="FeedLength"/> items per kind, <see cref="SeriesLength"/> samples, <see cref="MaxOperators"/>
/// operators' totals, and the <see cref="ZoneTable"/>'s own bounds. Read by the hub under a lock.
/// </summary>
public sealed class DashboardState
{
    public const int FeedLength = 100;
    public const int SeriesLength = 300;
    public const int MaxOperators = 100_000;
    public static readonly string[] Kinds = ["session", "trade", "market", "pass", "violation", "block", "alert"];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedList<DashboardItem>> _feeds = Kinds.ToDictionary(k => k, _ => new LinkedList<DashboardItem>());
    private readonly Dictionary<string, OperatorTotals> _byOperator = new(StringComparer.Ordinal);
    private readonly ZoneTable _zones = new();
    private readonly MarketBoard _markets = new();
    private readonly LinkedList<Sample> _series = new();
    private OperatorTotals _all = new();
    private long _payments;
    private long _paymentsThisSecond;
    private long _secondStartedAt;
    private long _version;
    private long _oldestUnsentAt;

    public sealed record OperatorTotals
    {
        public long SettledMinorUnits { get; init; }
        public long EnergyWh { get; init; }
        public long Sessions { get; init; }
        public long Passes { get; init; }
        public long Violations { get; init; }
        public long TradedMinorUnits { get; init; }
        public long Blocks { get; init; }
        public long Alerts { get; init; }
    }

    public sealed record ZoneTotals(string Zone, long Passes, long Violations, long TollMinorUnits)
    {
        /// <summary>Energy delivered by chargers in the zone, in Wh.</summary>
        public long EnergyWh { get; init; }

        public long Sessions { get; init; }
    }

    public sealed record Sample(long At, double PaymentsPerSecond, long SettledMinorUnits, long EnergyWh);

    /// <summary>What one viewer is shown: everything it may see, as of <see cref="Version"/>.</summary>
    public sealed record View(
        long Version,
        long OldestEventAt,
        OperatorTotals Totals,
        long Payments,
        double PaymentsPerSecond,
        IReadOnlyDictionary<string, IReadOnlyList<DashboardItem>> Feeds,
        IReadOnlyList<ZoneTotals> Zones,
        IReadOnlyList<Sample> Series)
    {
        /// <summary>When the node sent this update (Unix milliseconds): the pace of updates is the server's, whatever the network does to it.</summary>
        public long SentAtMs { get; init; }

        /// <summary>The zones' markets: a grid operator's only.</summary>
        public MarketBoard.View Markets { get; init; } = MarketBoard.View.Nothing;
    }

    public long Version => Volatile.Read(ref _version);

    public void Apply(DashboardBatch batch, long nowMs)
    {
        lock (_gate)
        {
            foreach (var item in batch.Items) Apply(item);
            foreach (var happened in batch.Markets) _markets.Apply(happened);
            _payments += batch.Payments;
            _paymentsThisSecond += batch.Payments;
            if (_oldestUnsentAt == 0 || batch.OldestAt.UnixMilliseconds < _oldestUnsentAt) _oldestUnsentAt = batch.OldestAt.UnixMilliseconds;
            TakeSample(nowMs);
            _version++;
        }
    }

    /// <summary>Closes the chart's second when it is over, even without traffic.</summary>
    public void Tick(long nowMs)
    {
        lock (_gate)
        {
            if (TakeSample(nowMs)) _version++;
        }
    }

    private bool TakeSample(long nowMs)
    {
        if (_secondStartedAt == 0) _secondStartedAt = nowMs;
        if (nowMs - _secondStartedAt < 1_000) return false;
        var seconds = (nowMs - _secondStartedAt) / 1000.0;
        _series.AddLast(new Sample(nowMs, Math.Round(_paymentsThisSecond / seconds, 1), _all.SettledMinorUnits, _all.EnergyWh));
        if (_series.Count > SeriesLength) _series.RemoveFirst();
        _paymentsThisSecond = 0;
        _secondStartedAt = nowMs;
        return true;
    }

    private void Apply(DashboardItem item)
    {
        var feed = _feeds.GetValueOrDefault(item.Kind);
        if (feed is null) return;
        feed.AddFirst(item);
        if (feed.Count > FeedLength) feed.RemoveLast();
        _all = Add(_all, item, item.ValueMinorUnits);
        foreach (var op in item.Operators)
            if (Tabulates(op)) _byOperator[op] = Add(_byOperator.GetValueOrDefault(op) ?? new OperatorTotals(), item, item.ValueMinorUnits);
        if (item.SettledTo is { } settled)
        {
            // Value settled to operators' accounts; devices' accounts are not an operator's figures.
            foreach (var (account, amount) in settled)
            {
                if (!PartyId.Parse(account).TryGet(out var party, out _) || !party.IsOperator || !Tabulates(party.Name)) continue;
                var totals = _byOperator.GetValueOrDefault(party.Name) ?? new OperatorTotals();
                _byOperator[party.Name] = totals with { SettledMinorUnits = totals.SettledMinorUnits + amount };
            }
        }
        _zones.Add(item);
    }

    private bool Tabulates(string op) => _byOperator.ContainsKey(op) || _byOperator.Count < MaxOperators;

    private static OperatorTotals Add(OperatorTotals t, DashboardItem item, long value) => item.Kind switch
    {
        "session" => t with { Sessions = t.Sessions + 1, EnergyWh = t.EnergyWh + item.EnergyWh },
        "pass" => t with { Passes = t.Passes + 1 },
        "violation" => t with { Violations = t.Violations + 1 },
        "trade" => t with { TradedMinorUnits = t.TradedMinorUnits + value, EnergyWh = t.EnergyWh + item.EnergyWh },
        "block" => t with { Blocks = t.Blocks + 1, SettledMinorUnits = t.SettledMinorUnits + value },
        "alert" => t with { Alerts = t.Alerts + 1 },
        _ => t,
    };

    /// <summary>The view for one viewer; and marks everything so far as sent (for the delay figure).</summary>
    public View ViewFor(Viewer viewer)
    {
        lock (_gate)
        {
            var feeds = _feeds.ToDictionary(f => f.Key, f => (IReadOnlyList<DashboardItem>)f.Value.Where(viewer.May).Take(30).ToList());
            var totals = viewer.SeesEverything ? _all : _byOperator.GetValueOrDefault(viewer.Operator) ?? new OperatorTotals();
            var zones = _zones.For(viewer);
            var series = viewer.SeesEverything ? _series.ToList() : [];
            var rate = _series.Last?.Value.PaymentsPerSecond ?? 0;
            return new View(_version, _oldestUnsentAt, totals, viewer.SeesEverything ? _payments : 0, viewer.SeesEverything ? rate : 0, feeds, zones, series)
            {
                Markets = _markets.For(viewer),
            };
        }
    }

    /// <summary>The latest items that concern <paramref name="link"/> and that the viewer may see, newest first.</summary>
    public IReadOnlyList<DashboardItem> HistoryOf(string link, Viewer viewer)
    {
        lock (_gate)
        {
            return _feeds.Values.SelectMany(f => f).Where(i => i.Links.Contains(link) && viewer.May(i)).OrderByDescending(i => i.At.UnixMilliseconds).Take(50).ToList();
        }
    }

    /// <summary>Forgets the oldest unsent event time once every viewer has been sent the current version.</summary>
    public void MarkSent(long version)
    {
        lock (_gate)
        {
            if (_version == version) _oldestUnsentAt = 0;
        }
    }
}

/// <summary>Applies every node's activity, as the dashboard shows it, to this node's <see cref="DashboardState"/>.</summary>
public sealed class DashboardSubscriber : ReceiveActor, IWithTimers
{
    public DashboardSubscriber(DashboardState state, IClock clock)
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(ActivityFeed.Topic, Self));
        Receive<SubscribeAck>(_ => { });
        Receive<ActivityBatch>(batch => state.Apply(DashboardProjection.Of(batch), clock.Now.UnixMilliseconds));
        Receive<Tick>(_ => state.Tick(clock.Now.UnixMilliseconds));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(DashboardState state, IClock clock) => Akka.Actor.Props.Create(() => new DashboardSubscriber(state, clock));

    protected override void PreStart() => Timers.StartPeriodicTimer("tick", Tick.Instance, TimeSpan.FromMilliseconds(250));

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }
}
