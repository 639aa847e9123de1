using System.Collections.Concurrent;
using System.Diagnostics;
using Energy.Agents;
using Energy.Channels.Primitives;
using Energy.Tests;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// Several nodes against one: payments per second through one node process and through three (on this same
/// machine, over one PostgreSQL server), with open-loop arrivals after a warm-up, the median of several runs; then a
/// node of the three killed with SIGKILL again and again under payments: how long until the survivors serve the
/// channels it ran, whether any acknowledged payment was lost, and whether value was conserved.
/// </summary>
public sealed class ClusterBenchmark : IBenchmark
{
    /// <summary>A failover's time from the kill until every channel the node ran is served again: the median of the kills.</summary>
    private const double TargetFailoverSeconds = 10;

    public string Name => "cluster";
    public string Description => "payments/s on one node and on three (ratio), and 20 SIGKILL failovers: time to serve again, lost acknowledged payments, conservation";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        var vehicles = options.Quick ? 40 : 200;
        var seconds = options.Quick ? 3 : 10;
        var kills = options.Quick ? 2 : 20;

        // The offered rate is set from what one node does when every vehicle pays back to back, and the same rate is
        // offered to the three nodes: both see the same open-loop arrivals, one node saturated.
        double offered;
        List<Run> one, three;
        await using (var single = await NodeCluster.StartAsync(1, BenchNode.Network, 8))
        {
            progress.Report("one node over PostgreSQL: ready");
            using var fleet = await FleetAsync(single, vehicles);
            // The first seconds warm the node and this process up; the second closed loop is the one that counts.
            await ClosedLoopRateAsync(fleet, TimeSpan.FromSeconds(options.Quick ? 2 : 5));
            var capacity = await ClosedLoopRateAsync(fleet, TimeSpan.FromSeconds(options.Quick ? 2 : 5));
            offered = Math.Max(50, Math.Round(capacity * 1.5));
            progress.Report($"one node pays {capacity:N0}/s back to back; offering {offered:N0} payments/s open-loop to both");
            one = await RunsAsync(fleet, offered, seconds, options, progress, "one node");
        }
        Failovers failovers;
        await using (var cluster = await NodeCluster.StartAsync(3, BenchNode.Network, 8))
        {
            progress.Report("three nodes over PostgreSQL: one cluster");
            using (var fleet = await FleetAsync(cluster, vehicles))
            {
                three = await RunsAsync(fleet, offered, seconds, options, progress, "three nodes");
                // Its channels are settled, so that the failovers' fleet alone holds escrow when the ledger is checked.
                await fleet.CloseAllAsync(0);
            }
            failovers = await FailoversAsync(cluster, kills, progress);
        }

        var oneRate = Measure.Median(one.Select(r => r.Rate).ToList());
        var threeRate = Measure.Median(three.Select(r => r.Rate).ToList());
        var served = failovers.Served.Order().ToList();
        var pass = failovers.Lost == 0 && failovers.Conserved && served.Count == kills && Measure.Median(served) < TargetFailoverSeconds;
        return new BenchResult(
            [
                new("payments, one node", oneRate, "payments/s", one.Select(r => r.Rate).ToList()),
                new("payments, three nodes", threeRate, "payments/s", three.Select(r => r.Rate).ToList()),
                new("ratio three / one", threeRate / oneRate, "x", one.Zip(three, (a, b) => b.Rate / a.Rate).ToList()),
                new("latency p99, one node", Measure.Median(one.Select(r => r.P99Ms).ToList()), "ms", one.Select(r => r.P99Ms).ToList()),
                new("latency p99, three nodes", Measure.Median(three.Select(r => r.P99Ms).ToList()), "ms", three.Select(r => r.P99Ms).ToList()),
                new("failover, kill to served again", Measure.Median(served), "s", served),
            ],
            new Dictionary<string, object>
            {
                ["offered_per_s"] = offered,
                ["one_node_per_s"] = Math.Round(oneRate),
                ["three_nodes_per_s"] = Math.Round(threeRate),
                ["ratio"] = Math.Round(threeRate / oneRate, 2),
                ["failovers"] = served.Count,
                ["failover_median_s"] = Math.Round(Measure.Median(served), 1),
                ["failover_max_s"] = Math.Round(served.Max(), 1),
                ["lost_acknowledged"] = failovers.Lost,
                ["conserved"] = failovers.Conserved,
                ["acknowledged_during_failovers"] = failovers.Acknowledged,
                ["vehicles"] = vehicles,
                ["seconds_per_run"] = seconds,
                ["runs"] = options.Runs,
                ["cores"] = Environment.ProcessorCount,
            },
            $"{(pass ? "PASS" : "FAIL")}: three nodes pay {threeRate:N0}/s, one node {oneRate:N0}/s ({threeRate / oneRate:0.00}x, same machine); "
            + $"{served.Count} failovers served again after {Measure.Median(served):0.0} s median (target < {TargetFailoverSeconds} s), {served.Max():0.0} s max; "
            + $"{failovers.Lost} acknowledged payments lost (target 0); value {(failovers.Conserved ? "conserved" : "NOT conserved")}");
    }

    private sealed record Run(double Rate, double P50Ms, double P99Ms);

    private sealed record Failovers(List<double> Served, int Lost, bool Conserved, long Acknowledged);

    private static async Task<FleetPayments> FleetAsync(NodeCluster cluster, int vehicles)
    {
        using var authority = cluster.Authority(0);
        return await FleetPayments.StartAsync(cluster.Urls, authority, BenchNode.Network, Currency.Eur, vehicles, Guid.NewGuid().ToString("N")[..6],
            depositMinorUnits: 100_000_000);
    }

    /// <summary>Every vehicle pays back to back for a while: the rate one cluster reaches when nothing waits between payments.</summary>
    private static async Task<double> ClosedLoopRateAsync(FleetPayments fleet, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        var paid = 0L;
        await Task.WhenAll(Enumerable.Range(0, fleet.Vehicles).Select(async vehicle =>
        {
            while (clock.Elapsed < duration)
            {
                await fleet.PayAsync(vehicle, CancellationToken.None);
                Interlocked.Increment(ref paid);
            }
        }));
        return paid / clock.Elapsed.TotalSeconds;
    }

    /// <summary>A warm-up, then the measured runs: arrivals open-loop at <paramref name="rate"/>, each timed from its scheduled arrival.</summary>
    private static async Task<List<Run>> RunsAsync(FleetPayments fleet, double rate, int seconds, BenchOptions options, Progress progress, string what)
    {
        await OpenLoopAsync(fleet, rate, Math.Max(1, seconds / 2));
        var runs = new List<Run>();
        for (var r = 1; r <= options.Runs; r++)
        {
            var run = await OpenLoopAsync(fleet, rate, seconds);
            runs.Add(run);
            progress.Report($"{what}, run {r}/{options.Runs}: {run.Rate:N0} payments/s, p50 {run.P50Ms:0} ms, p99 {run.P99Ms:0} ms");
        }
        return runs;
    }

    /// <summary>
    /// Schedules payments at a fixed rate whatever the answers do (open loop), each by the next vehicle in turn; a vehicle
    /// pays one at a time, so an arrival for a vehicle still waiting queues behind it. The rate is what was acknowledged
    /// per second until the last answer.
    /// </summary>
    private static async Task<Run> OpenLoopAsync(FleetPayments fleet, double rate, int seconds)
    {
        var total = (int)(rate * seconds);
        var latencies = new ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>(total);
        for (var k = 0; k < total; k++)
        {
            var due = TimeSpan.FromSeconds(k / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait);
            var vehicle = k % fleet.Vehicles;
            inFlight.Add(Task.Run(async () =>
            {
                await fleet.PayAsync(vehicle, CancellationToken.None);
                latencies.Add((clock.Elapsed - due).TotalMilliseconds);
            }));
        }
        await Task.WhenAll(inFlight);
        var sorted = latencies.Order().ToList();
        return new Run(sorted.Count / clock.Elapsed.TotalSeconds, Measure.Percentile(sorted, 50), Measure.Percentile(sorted, 99));
    }

    /// <summary>Kills a node (first the oldest, then the one running the most channels) again and again while a fleet pays, and settles at the end.</summary>
    private static async Task<Failovers> FailoversAsync(NodeCluster cluster, int kills, Progress progress)
    {
        using var fleet = await FleetAsync(cluster, 24);
        using var stop = new CancellationTokenSource();
        var paying = Task.WhenAll(Enumerable.Range(0, fleet.Vehicles).Select(async vehicle =>
        {
            while (!stop.IsCancellationRequested)
            {
                await fleet.PayAsync(vehicle, CancellationToken.None);
                await Task.Delay(100); // the pace of one vehicle's payments
            }
        }));
        await NodeCluster.PaidSinceAsync(fleet, Enumerable.Range(0, fleet.Vehicles).ToList(), Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(60));
        var served = new List<double>();
        var victim = 0;
        for (var kill = 1; kill <= kills; kill++)
        {
            var failover = await cluster.KillAndRestartAsync(victim, fleet, TimeSpan.FromSeconds(120));
            served.Add(failover.Served.TotalSeconds);
            progress.Report($"kill {kill}/{kills}: node {victim} ran {failover.Stranded} of {fleet.Vehicles} channels; served again after "
                + $"{failover.Served.TotalSeconds:0.0} s; back as a member after {failover.Rejoined.TotalSeconds:0.0} s");
            victim = await cluster.BusiestNodeAsync(victim);
        }
        await stop.CancelAsync();
        await paying;
        var lost = 0;
        for (var node = 0; node < cluster.Nodes.Length; node++) lost = Math.Max(lost, (await fleet.LostAcknowledgedAsync(node)).Count);
        var totals = await NodeCluster.SettleAsync(fleet, 0, TimeSpan.FromSeconds(120));
        return new Failovers(served, lost, totals.GetProperty("conserved").GetBoolean(), fleet.Acknowledged);
    }
}
