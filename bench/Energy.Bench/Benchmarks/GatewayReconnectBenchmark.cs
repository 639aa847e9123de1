using System.Diagnostics;
using Energy.Agents;
using Energy.Bench.Storms;
using static Energy.Bench.Storms.StormFormat;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// Reconnect storms on the device gateway of a node process. The devices are vehicles, endorsed by their fleet, each
/// with a funded payment channel to a charge point operator; each connects on a WebSocket of its own, authenticates
/// (hello, signed challenge, welcome) and makes its first call: it reads its channel. Each round restarts the node
/// (SIGTERM, then started again over the same folder and port) and then
/// A: the known devices (each connected once before) reconnect at 1,000 per second on a schedule;
/// W: the same devices reconnect again at the same rate to the node now warm, without a restart: the baseline;
/// B: as many devices never connected before (enrolled, channel open) arrive at the same rate.
/// Measured: errors, the time from the start of the upgrade to the welcome and to the first call's answer (p99 over
/// every device: one that never got there counts as never), and the time until every device was served. The gateway's "busy, retry" answers (503 with Retry-After, GatewayBusy
/// to a hello) are honoured and counted apart from errors.
/// </summary>
public sealed class GatewayReconnectBenchmark : IBenchmark
{
    private const double ArrivalsPerSecond = 1_000;
    private const double TargetP99Ms = 1_000;
    private const double TargetAllServedSeconds = 15;

    public string Name => "gateway-reconnect";
    public string Description => "10,000 devices reconnecting to the device gateway at 1,000/s after a node restart, and 10,000 new ones: authenticated and first answer p99, all served";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        ThreadPool.SetMinThreads(64, 64);
        var count = options.Quick ? 2_000 : 10_000;
        var rounds = options.Quick ? 2 : 3;
        await using var node = await NodeProcessHost.StartAsync(progress);
        var known = Devices("known", count);
        var fresh = Enumerable.Range(1, rounds).Select(r => Devices($"new{r}", count)).ToArray();
        try
        {
            await EnrolAsync(node, known.Concat(fresh.SelectMany(f => f)).ToArray(), progress);

            // The known devices connect once: their twins and channels are awake and have events. This also warms the
            // client's code (and checks it works); the node's is cold again after every restart, which is what is measured.
            await FirstConnectionAsync(node.Url, known, progress);

            var phaseA = new List<StormFigures>();
            var phaseW = new List<StormFigures>();
            var phaseB = new List<StormFigures>();
            var restarts = new List<double>();
            var killed = 0;
            for (var round = 1; round <= rounds; round++)
            {
                var (stopped, wasKilled) = await node.RestartAsync(TimeSpan.FromSeconds(30));
                restarts.Add(stopped.TotalSeconds);
                killed += wasKilled ? 1 : 0;
                foreach (var device in known.Concat(fresh.SelectMany(f => f))) device.Drop();
                progress.Report($"round {round}/{rounds}: node stopped in {stopped.TotalSeconds:0.0} s{(wasKilled ? " (killed: SIGTERM not obeyed in 30 s)" : "")} and started again");
                phaseA.Add(await StormAsync(node.Url, known, progress, $"round {round}/{rounds} A, known devices after the restart"));
                await CloseAllAsync(known);
                phaseW.Add(await StormAsync(node.Url, known, progress, $"round {round}/{rounds} W, known devices again, node warm (baseline)"));
                await CloseAllAsync(known);
                phaseB.Add(await StormAsync(node.Url, fresh[round - 1], progress, $"round {round}/{rounds} B, new devices"));
            }
            return Verdict(count, rounds, phaseA, phaseW, phaseB, restarts, killed);
        }
        finally
        {
            foreach (var device in known.Concat(fresh.SelectMany(f => f)))
                device.Drop();
        }
    }

    private static GatewayDevice[] Devices(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => new GatewayDevice(DeviceId.Of($"{prefix}-{i:D5}"), ChannelId.Of($"ch-{prefix}-{i:D5}"))).ToArray();

    /// <summary>
    /// One storm: arrivals at <see cref="ArrivalsPerSecond"/> on a schedule; each device connects, authenticates and makes
    /// its first call. The devices' keys are opened before the first arrival and closed after the last answer.
    /// </summary>
    private static async Task<StormFigures> StormAsync(Uri node, GatewayDevice[] devices, Progress progress, string name)
    {
        foreach (var device in devices) device.OpenKeyAhead();
        try { return await MeasureStormAsync(node, devices, progress, name); }
        finally { foreach (var device in devices) device.CloseKey(); }
    }

    private static async Task<StormFigures> MeasureStormAsync(Uri node, GatewayDevice[] devices, Progress progress, string name)
    {
        var recorder = new StormRecorder(devices.Length);
        var clock = Stopwatch.StartNew();
        var served = 0;
        using var report = new Timer(_ => progress.Report($"{name}: {Volatile.Read(ref served):N0}/{devices.Length:N0} served at {clock.Elapsed.TotalSeconds:0} s"),
            null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        var arrivals = await OpenLoop.ArrivalsAsync(devices.Length, ArrivalsPerSecond, clock, recorder, async i =>
        {
            if (await devices[i].WakeAsync(node, i, recorder, clock)) Interlocked.Increment(ref served);
        });
        await Task.WhenAll(arrivals);
        var figures = recorder.Summarize(GatewayDevice.Authenticated, GatewayDevice.FirstAnswer);
        progress.Report($"{name}: {figures.Served:N0}/{figures.Clients:N0} served, all by {Seconds(figures.AllServedSeconds)}; " +
            $"authenticated p50 {figures.Percentile(GatewayDevice.Authenticated, 50):0.0} ms, p99 {figures.Percentile(GatewayDevice.Authenticated, 99):0.0} ms; " +
            $"first answer p50 {figures.Percentile(GatewayDevice.FirstAnswer, 50):0.0} ms, p99 {figures.Percentile(GatewayDevice.FirstAnswer, 99):0.0} ms, max {figures.Percentile(GatewayDevice.FirstAnswer, 100):0.0} ms; " +
            $"errors {figures.Errors} ({figures.DescribeErrors()}); asked to retry {figures.Retries} ({figures.DescribeRetries()}); arrivals at most {figures.ArrivalLagMaxMs:0} ms late");
        return figures;
    }

    /// <summary>
    /// Every known device connects once, a few at a time (not a storm: it is the set-up), trying again when refused,
    /// so that its twin and channel are awake and have events before the first restart.
    /// </summary>
    private static async Task FirstConnectionAsync(Uri node, GatewayDevice[] devices, Progress progress)
    {
        const int attempts = 3;
        var recorder = new StormRecorder(devices.Length);
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, devices.Length), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            for (var attempt = 0; attempt < attempts; attempt++)
                if (await devices[i].WakeAsync(node, i, recorder, clock)) return;
        });
        var figures = recorder.Summarize();
        progress.Report($"first connection, 32 at a time (not counted): {figures.Served:N0}/{devices.Length:N0} served in {clock.Elapsed.TotalSeconds:0.0} s, " +
            $"first answer p50 {figures.Percentile(GatewayDevice.FirstAnswer, 50):0.0} ms, p99 {figures.Percentile(GatewayDevice.FirstAnswer, 99):0.0} ms; refusals on the way {figures.Errors} ({figures.DescribeErrors()})");
    }

    private static async Task CloseAllAsync(GatewayDevice[] devices) =>
        await Parallel.ForEachAsync(devices, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (device, _) => await device.CloseAsync());

    private static BenchResult Verdict(int count, int rounds, List<StormFigures> a, List<StormFigures> w, List<StormFigures> b, List<double> restarts, int killed)
    {
        var checks = new List<string>();
        void Check(bool met, string failure) { if (!met) checks.Add(failure); }
        foreach (var (phase, storms) in new[] { ("A", a), ("B", b) })
        {
            for (var r = 0; r < storms.Count; r++)
            {
                var s = storms[r];
                Check(s.Errors == 0, $"{phase}{r + 1}: {s.Errors} errors");
                Check(s.Percentile(GatewayDevice.Authenticated, 99) < TargetP99Ms, $"{phase}{r + 1}: authenticated p99 {s.Percentile(GatewayDevice.Authenticated, 99):0} ms");
                Check(s.Percentile(GatewayDevice.FirstAnswer, 99) < TargetP99Ms, $"{phase}{r + 1}: first answer p99 {s.Percentile(GatewayDevice.FirstAnswer, 99):0} ms");
                Check(s.AllServedSeconds < TargetAllServedSeconds, $"{phase}{r + 1}: all served by {Seconds(s.AllServedSeconds)}");
            }
        }
        for (var r = 0; r < w.Count; r++) Check(w[r].Errors == 0, $"W{r + 1}: {w[r].Errors} errors");
        var pass = checks.Count == 0;

        List<BenchRow> rows = [];
        var figures = new Dictionary<string, object> { ["devices"] = count, ["rounds"] = rounds, ["arrivals_per_s"] = ArrivalsPerSecond };
        foreach (var (phase, storms, label) in new[] { ("a", a, "A known after restart"), ("w", w, "W known, warm (baseline)"), ("b", b, "B new") })
        {
            var authenticated = storms.Select(s => s.Percentile(GatewayDevice.Authenticated, 99)).ToList();
            var answered = storms.Select(s => s.Percentile(GatewayDevice.FirstAnswer, 99)).ToList();
            var served = storms.Select(s => s.AllServedSeconds).ToList();
            var errors = storms.Select(s => (double)s.Errors).ToList();
            var retries = storms.Select(s => (double)s.Retries).ToList();
            rows.Add(new($"{label}: authenticated p99", Measure.Median(authenticated), "ms", authenticated));
            rows.Add(new($"{label}: first answer p99", Measure.Median(answered), "ms", answered));
            rows.Add(new($"{label}: all served by", Measure.Median(served), "s", served));
            rows.Add(new($"{label}: errors", Measure.Median(errors), "errors", errors));
            rows.Add(new($"{label}: asked to retry", Measure.Median(retries), "retries", retries));
            figures[$"{phase}_authenticated_p50_ms"] = Finite(Measure.Median(storms.Select(s => s.Percentile(GatewayDevice.Authenticated, 50)).ToList()), 1);
            figures[$"{phase}_authenticated_p99_ms"] = Finite(Measure.Median(authenticated), 1);
            figures[$"{phase}_first_answer_p50_ms"] = Finite(Measure.Median(storms.Select(s => s.Percentile(GatewayDevice.FirstAnswer, 50)).ToList()), 1);
            figures[$"{phase}_first_answer_p99_ms"] = Finite(Measure.Median(answered), 1);
            figures[$"{phase}_all_served_s"] = Finite(Measure.Median(served), 2);
            figures[$"{phase}_errors"] = storms.Sum(s => s.Errors);
            figures[$"{phase}_retries"] = storms.Sum(s => s.Retries);
            figures[$"{phase}_error_kinds"] = storms.SelectMany(s => s.ErrorKinds).GroupBy(k => k.Key).ToDictionary(g => g.Key, g => g.Sum(k => k.Value));
        }
        var ratios = a.Zip(w, (cold, warm) => cold.Percentile(GatewayDevice.FirstAnswer, 99) / warm.Percentile(GatewayDevice.FirstAnswer, 99)).ToList();
        rows.Add(new("A / W: first answer p99 ratio", Measure.Median(ratios), "x", ratios));
        rows.Add(new("node stop (SIGTERM) took", Measure.Median(restarts), "s", restarts));
        figures["restart_over_warm_first_answer_p99_ratio"] = Finite(Measure.Median(ratios), 2);
        figures["node_stop_s"] = Finite(Measure.Median(restarts), 1);
        figures["node_stops_killed"] = killed;
        figures["target_p99_ms"] = TargetP99Ms;
        figures["target_all_served_s"] = TargetAllServedSeconds;
        figures["failed_checks"] = checks;
        var verdict = $"{(pass ? "PASS" : "FAIL")}: {count:N0} devices, {rounds} rounds; after a restart first answer p99 {Measure.Median(a.Select(s => s.Percentile(GatewayDevice.FirstAnswer, 99)).ToList()):0} ms " +
            $"({Measure.Median(ratios):0.0} times the warm node's), all served by {Seconds(Measure.Median(a.Select(s => s.AllServedSeconds).ToList()))}; " +
            $"new ones p99 {Measure.Median(b.Select(s => s.Percentile(GatewayDevice.FirstAnswer, 99)).ToList()):0} ms, all served by {Seconds(Measure.Median(b.Select(s => s.AllServedSeconds).ToList()))} " +
            $"(targets: 0 errors, p99 < {TargetP99Ms:0} ms, all served < {TargetAllServedSeconds:0} s)" + (pass ? "" : $"; missed: {string.Join("; ", checks.Take(8))}");
        return new BenchResult(rows, figures, verdict);
    }

    /// <summary>
    /// A fleet owner (also the settlement bank that issues deposits) endorses every vehicle, funds it and opens its
    /// channel to a charge point operator: what a vehicle reads first when it comes back.
    /// </summary>
    private static async Task EnrolAsync(NodeProcessHost node, GatewayDevice[] devices, Progress progress)
    {
        var clock = Stopwatch.StartNew();
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(60) };
        var client = new NodeClient(http);
        using var authority = NetworkAuthorityAgent.FromKeyFile(client, BenchNode.Network, Currency.Eur, Path.Combine(node.DataDirectory, "authority.key"));
        using var fleet = new OperatorAgent(client, BenchNode.Network, OperatorId.Of("fleet-gateway-reconnect"));
        using var cpo = new OperatorAgent(client, BenchNode.Network, OperatorId.Of("cpo-gateway-reconnect"));
        await fleet.AdmitAsync(authority, OperatorRoles.FleetOwner | OperatorRoles.SettlementBank, new Money(1_000_000_000_000, Currency.Eur));
        await cpo.AdmitAsync(authority, OperatorRoles.ChargePointOperator);
        var deposit = new Money(10_000, Currency.Eur);
        var enrolled = 0;
        await Parallel.ForEachAsync(devices, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (device, _) =>
        {
            var party = PartyId.From(device.Id);
            await fleet.EndorseAsync(device.Id, DeviceRole.Vehicle, device.PublicKey);
            await fleet.FundAsync(party, deposit, $"fund-{device.Id.Value}");
            using var key = device.OpenKey();
            await client.OpenChannelAsync(device.Channel.Value, Signed<StreamingOpening>.Sign(
                new StreamingOpening(BenchNode.Network, device.Channel, party, cpo.Party, deposit, DurationMs.FromSeconds(60)), key).ToArray());
            if (Interlocked.Increment(ref enrolled) % 5_000 == 0) progress.Report($"{enrolled:N0}/{devices.Length:N0} devices enrolled ({clock.Elapsed.TotalSeconds:0} s)");
        });
        progress.Report($"{devices.Length:N0} vehicles endorsed, funded and given an open channel in {clock.Elapsed.TotalSeconds:0.0} s");
    }
}
