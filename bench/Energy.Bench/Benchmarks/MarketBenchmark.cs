using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using Energy.Agents;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Cluster;
using Energy.Cluster.Hosting;
using Energy.Cluster.Market;
using Energy.Lifecycles.Market;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// The zone market: one interval of 10,000 orders cleared by the pure core (and the same orders merely sorted, for
/// scale), 1,000 zones on one node clearing one interval each, from the tick to every clearing durable, and 1,000 homes
/// trading through a node process as the city's homes do, from their signed orders to every interval settled and paid
/// over their channels with the grid operator (reported: the time it took, and whether value was conserved).
/// </summary>
public sealed class MarketBenchmark : IBenchmark
{
    private const double ClearTargetMs = 10;
    private const double ZonesTargetMs = 1_000;
    private const int Orders = 10_000;

    public string Name => "market";
    public string Description => "one zone clearing 10,000 orders (pure core), 1,000 zones on one node clearing an interval each (SQLite), and 1,000 homes from orders to settled payments";

    /// <summary>The homes' market intervals: long enough for a thousand homes' orders and readings on this machine.</summary>
    private static readonly DurationMs HomesInterval = DurationMs.FromSeconds(15);
    private static readonly DurationMs HomesGateClosure = DurationMs.FromSeconds(3);

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        var (clearMs, sortMs) = MeasureClearing(options, progress);
        var zones = options.Quick ? 200 : 1_000;
        var zoneMs = await MeasureZonesAsync(options, zones, progress);
        var homes = await MeasureHomesAsync(options.Quick ? 200 : 1_000, options.Quick ? 2 : 3, progress);
        var clear = Measure.Median(clearMs);
        var sort = Measure.Median(sortMs);
        var zone = Measure.Median(zoneMs);
        var homesClean = homes.Outcome.Errors == 0 && homes.Outcome.Conserved && homes.Outcome.Intervals > 0;
        var passed = clear < ClearTargetMs && zone < ZonesTargetMs && homesClean;
        return new BenchResult(
            [
                new($"clear {Orders:N0} orders", clear, "ms", clearMs),
                new($"sort the same {Orders:N0} orders", sort, "ms", sortMs),
                new("clearing / sorting", clear / sort, "x", clearMs.Zip(sortMs, (c, s) => c / s).ToList()),
                new($"{zones:N0} zones: tick to every clearing durable", zone, "ms", zoneMs),
                new($"{homes.Homes:N0} homes: set-up (endorsed, funded, channel open)", homes.SetUp.TotalSeconds, "s", [homes.SetUp.TotalSeconds]),
                new($"{homes.Homes:N0} homes: orders placed to {homes.Outcome.Intervals} settlements paid", homes.Trading.TotalSeconds, "s", [homes.Trading.TotalSeconds]),
            ],
            new Dictionary<string, object>
            {
                ["clear_10000_orders_ms"] = Math.Round(clear, 3),
                ["sort_10000_orders_ms"] = Math.Round(sort, 3),
                ["clear_to_sort_ratio"] = Math.Round(clear / sort, 2),
                ["zones"] = zones,
                ["zones_cleared_ms"] = Math.Round(zone, 1),
                ["clear_target_ms"] = ClearTargetMs,
                ["zones_target_ms"] = ZonesTargetMs,
                ["runs"] = clearMs.Count,
                ["homes"] = homes.Homes,
                ["homes_intervals_settled"] = homes.Outcome.Intervals,
                ["homes_fills"] = homes.Outcome.Fills,
                ["homes_traded_wh"] = homes.Outcome.TradedWh,
                ["homes_buyers_paid_minor"] = homes.Outcome.BuyersPaidMinorUnits,
                ["homes_sellers_received_minor"] = homes.Outcome.SellersReceivedMinorUnits,
                ["homes_errors"] = homes.Outcome.Errors,
                ["homes_conserved"] = homes.Outcome.Conserved,
                ["homes_setup_s"] = Math.Round(homes.SetUp.TotalSeconds, 1),
                ["homes_trading_s"] = Math.Round(homes.Trading.TotalSeconds, 1),
                ["homes_interval_ms"] = HomesInterval.Milliseconds,
            },
            $"{(passed ? "PASS" : "FAIL")}: {Orders:N0} orders cleared in {clear:0.###} ms (target < {ClearTargetMs} ms, {clear / sort:0.##}x a sort of them); "
            + $"{zones:N0} zones cleared and durable in {zone:N0} ms (target < {ZonesTargetMs:N0} ms); "
            + $"{homes.Homes:N0} homes: {homes.Outcome.Describe(Currency.Eur)}, {homes.Outcome.Errors} errors, orders to paid settlements in {homes.Trading.TotalSeconds:0.0} s "
            + $"({homes.Outcome.Intervals} intervals of {HomesInterval.Milliseconds / 1000} s)");
    }

    private sealed record HomesFigures(int Homes, TimeSpan SetUp, TimeSpan Trading, ZoneMarketTrading.Outcome Outcome);

    /// <summary>
    /// Homes in ten zones (half of them selling) trading through a node process as the city's homes do: each endorsed as
    /// a meter, funded and given a channel with the grid operator; then each signs an order for every interval, and per
    /// interval the grid operator settles on the homes' signed readings and the money moves over the channels.
    /// </summary>
    private static async Task<HomesFigures> MeasureHomesAsync(int homes, int intervals, Progress progress)
    {
        await using var node = await NodeProcessHost.StartAsync(progress, $"--Energy:Market:IntervalMs={HomesInterval.Milliseconds}",
            $"--Energy:Market:GateClosureMs={HomesGateClosure.Milliseconds}");
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(60) };
        var client = new NodeClient(http);
        using var authority = NetworkAuthorityAgent.FromKeyFile(client, BenchNode.Network, Currency.Eur, Path.Combine(node.DataDirectory, "authority.key"));
        using var grid = new OperatorAgent(client, BenchNode.Network, OperatorId.Of("grid-market-bench"));
        using var bank = new OperatorAgent(client, BenchNode.Network, OperatorId.Of("bank-market-bench"));
        await grid.AdmitAsync(authority, OperatorRoles.GridOperator);
        await bank.AdmitAsync(authority, OperatorRoles.SettlementBank, new Money(1_000_000_000_000, Currency.Eur));
        var clock = Stopwatch.StartNew();
        TimeSpan setUp = default;
        var trading = new ZoneMarketTrading(client, BenchNode.Network, Currency.Eur, line =>
        {
            // The first line is said once every order is placed: the set-up ends there.
            if (setUp == default && line.Contains("placed their orders", StringComparison.Ordinal)) setUp = clock.Elapsed;
            progress.Report(line.Trim());
        });
        const int zones = 10;
        var outcome = await trading.RunAsync("bench", new ZoneMarketTrading.Options(zones, homes / zones, intervals, HomesInterval, HomesGateClosure),
            grid, bank, CancellationToken.None);
        var total = clock.Elapsed;
        progress.Report($"{homes:N0} homes: {outcome.Describe(Currency.Eur)}; {outcome.Errors} errors; {total.TotalSeconds:0.0} s in all");
        return new HomesFigures(homes, setUp, total - setUp, outcome);
    }

    /// <summary>A book of 10,000 orders (half bids, half offers, overlapping prices) cleared by <see cref="MarketBooks.DecideClearing"/>, median after warm-up.</summary>
    private static (List<double> ClearMs, List<double> SortMs) MeasureClearing(BenchOptions options, Progress progress)
    {
        var zone = ZoneId.Of("zone-bench");
        var rules = MarketRules.Default with { MaxOrdersPerInterval = Orders };
        var book = MarketBooks.Create(BenchNode.Network, zone, Currency.Eur, rules).Unwrap();
        var interval = MarketInterval.Numbered(zone, 6_000_001, rules.IntervalLength);
        var random = new Random(17);
        var orders = ImmutableList.CreateBuilder<AcceptedOrder>();
        for (var i = 0; i < Orders; i++)
        {
            var side = i % 2 == 0 ? MarketSide.Bid : MarketSide.Offer;
            var price = side == MarketSide.Bid ? random.Next(80, 220) : random.Next(40, 180);
            var order = new MarketOrder(BenchNode.Network, interval, DeviceId.Of($"meter-{i / 8}"), side, (ulong)(i % 8) + 1, new EnergyWh(random.Next(1, 5_000)),
                new EnergyPrice(price, Currency.Eur));
            orders.Add(new AcceptedOrder(order, (ulong)i + 1));
        }
        var placed = orders.ToImmutable();
        book = book with
        {
            Open = book.Open.SetItem(interval.Number, IntervalOrders.Empty(interval) with { Orders = placed }),
            NextSequence = Orders + 1,
        };
        var now = new Timestamp(interval.Start.UnixMilliseconds);
        var runs = options.Quick ? 5 : 21;
        // Warm-up: the first clearings compile and fill caches.
        for (var i = 0; i < 5; i++) _ = MarketBooks.DecideClearing(book, interval, now).Unwrap();
        var clearMs = new List<double>();
        var sortMs = new List<double>();
        long volume = 0;
        for (var run = 0; run < runs; run++)
        {
            var clock = Stopwatch.StartNew();
            var cleared = MarketBooks.DecideClearing(book, interval, now).Unwrap();
            clearMs.Add(clock.Elapsed.TotalMilliseconds);
            volume = cleared.Result.Volume.WattHours;
            // The same orders taken from the book and sorted as plain 64-bit keys (side and price, then time): the least
            // any clearing must do, with the runtime's fastest sort.
            clock.Restart();
            var keys = new long[placed.Count];
            var k = 0;
            foreach (var accepted in placed)
            {
                var limit = accepted.Order.LimitPrice.MinorUnitsPerKwh;
                var rank = accepted.Order.Side == MarketSide.Bid ? EnergyPrice.MaxMinorUnitsPerKwh - limit : EnergyPrice.MaxMinorUnitsPerKwh + 1 + limit;
                keys[k++] = (rank << 24) | (long)accepted.Sequence;
            }
            Array.Sort(keys);
            sortMs.Add(clock.Elapsed.TotalMilliseconds);
        }
        progress.Report($"{Orders:N0} orders: cleared {volume:N0} Wh in {Measure.Median(clearMs):0.###} ms (median of {runs}), sorted in {Measure.Median(sortMs):0.###} ms");
        return (clearMs, sortMs);
    }

    /// <summary>
    /// Zones with a few orders each on one node; the clock passes their gate, every zone is told to clear, and the
    /// time runs until every zone has answered, which it does once its clearing is durable.
    /// </summary>
    private static async Task<List<double>> MeasureZonesAsync(BenchOptions options, int zones, Progress progress)
    {
        using var nodeKey = DeviceKeyPair.Generate();
        using var gridKey = DeviceKeyPair.Generate();
        // From now: the operator's admission is signed now and must not look stale to the node.
        var clock = new BenchClock(Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow));
        var settings = new EnergySettings(BenchNode.Network, Currency.Eur, 8, nodeKey, clock)
        {
            AskTimeout = TimeSpan.FromSeconds(30),
            Authority = NetworkAuthority.Create([BenchNode.AuthorityKey.PublicKey], 1).Unwrap(),
            // The benchmark ticks the markets itself; their own timer must not clear first.
            MarketClearCheckInterval = TimeSpan.FromHours(1),
        };
        var (system, regions) = await LocalNode.StartAsync(BenchNode.FreshSqlite(), settings);
        try
        {
            var grid = OperatorId.Of("grid-bench");
            await regions.Operators.Ask<object>(BenchNode.Admit(grid, gridKey.PublicKey, OperatorRoles.GridOperator), TimeSpan.FromSeconds(30));
            var meters = Enumerable.Range(0, 4).Select(i => (Id: DeviceId.Of($"meter-bench-{i}"), Key: DeviceKeyPair.Generate())).ToArray();
            foreach (var (id, key) in meters)
            {
                var answer = await regions.Devices.Ask<object>(new EndorseDevice(id, DeviceIdentity.Endorse(BenchNode.Network, grid, gridKey, id, DeviceRole.Meter, key.PublicKey)
                    .Endorsement.ToArray()), TimeSpan.FromSeconds(30));
                if (answer is not DeviceView) throw new InvalidOperationException($"endorsing {id}: {answer}");
            }
            var zoneIds = Enumerable.Range(0, zones).Select(i => ZoneId.Of($"zone-{i}")).ToArray();
            var runs = options.Quick ? 2 : 4;
            var times = new List<double>();
            for (var run = 0; run < runs; run++)
            {
                var length = settings.MarketRules.IntervalLength;
                var current = MarketInterval.Containing(zoneIds[0], clock.Now, length).Number;
                var orders = new List<object>(zones * meters.Length);
                foreach (var zone in zoneIds)
                {
                    var interval = MarketInterval.Numbered(zone, current + 1, length);
                    for (var m = 0; m < meters.Length; m++)
                    {
                        var side = m < 2 ? MarketSide.Offer : MarketSide.Bid;
                        var order = new MarketOrder(BenchNode.Network, interval, meters[m].Id, side, 1, new EnergyWh(1_000 + 100 * m), new EnergyPrice(side == MarketSide.Offer ? 90 + m : 120 + m, Currency.Eur));
                        orders.Add(new SubmitMarketOrder(zone, Signed<MarketOrder>.Sign(order, meters[m].Key).ToArray()));
                    }
                }
                var setup = await PipelineAsync(system, regions.Markets, orders, 1_000);
                if (setup.FirstOrDefault(a => a is not MarketOrderAccepted) is { } refused) throw new InvalidOperationException($"order refused: {refused}");
                var start = MarketInterval.Numbered(zoneIds[0], current + 1, length).Start;
                clock.Set(new Timestamp(start.UnixMilliseconds - settings.MarketRules.GateClosure.Milliseconds));
                var stopwatch = Stopwatch.StartNew();
                var cleared = await PipelineAsync(system, regions.Markets, zoneIds.Select(z => (object)new ClearDue(z)).ToList(), zones);
                var elapsed = stopwatch.Elapsed.TotalMilliseconds;
                if (cleared.FirstOrDefault(a => a is not MarketCleared { Intervals.Count: 1 }) is { } wrong) throw new InvalidOperationException($"a zone did not clear one interval: {wrong}");
                // The warm-up run also wakes every zone's market; it is not counted.
                if (run > 0) times.Add(elapsed);
                progress.Report($"run {run + 1}/{runs}{(run == 0 ? " (warm-up)" : "")}: {zones:N0} zones cleared and durable in {elapsed:N0} ms");
                clock.Set(new Timestamp(start.UnixMilliseconds + length.Milliseconds));
            }
            foreach (var (_, key) in meters) key.Dispose();
            return times;
        }
        finally
        {
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    private static Task<IReadOnlyList<object>> PipelineAsync(ActorSystem system, IActorRef region, IReadOnlyList<object> messages, int window)
    {
        var done = new TaskCompletionSource<IReadOnlyList<object>>(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(Props.Create(() => new Pipeline(region, messages, window, done)));
        return done.Task;
    }

    private sealed class Pipeline : ReceiveActor
    {
        public Pipeline(IActorRef region, IReadOnlyList<object> messages, int window, TaskCompletionSource<IReadOnlyList<object>> done)
        {
            var answers = new List<object>(messages.Count);
            var next = 0;
            ReceiveAny(answer =>
            {
                answers.Add(answer);
                if (next < messages.Count) region.Tell(messages[next++], Self);
                if (answers.Count < messages.Count) return;
                done.TrySetResult(answers);
                Context.Stop(Self);
            });
            while (next < Math.Min(window, messages.Count)) region.Tell(messages[next++], Self);
        }
    }

    /// <summary>A clock the benchmark sets: the gate closes when it says so, not after five real minutes.</summary>
    private sealed class BenchClock(Timestamp start) : IClock
    {
        private long _now = start.UnixMilliseconds;
        public Timestamp Now => new(Interlocked.Read(ref _now));
        public void Set(Timestamp at) => Interlocked.Exchange(ref _now, at.UnixMilliseconds);
    }
}
