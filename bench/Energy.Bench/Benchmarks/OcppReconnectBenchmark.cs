using System.Diagnostics;
using Energy.Agents;
using Energy.Bench.Storms;
using static Energy.Bench.Storms.StormFormat;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Ocpp;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// Reconnect storms of OCPP 1.6J charge points (HTTP Basic with keys their operator generated) against a node
/// process. Each round restarts the node (SIGTERM, then started again over the same folder and port) and then
/// A: the known charge points (each connected once before, so their entities exist and have events) reconnect at
/// 1,000 per second on a schedule, boot, and send MeterValues on their transaction every 10 s;
/// B: as many charge points never seen before (enrolled, never connected) arrive at the same rate, boot, start a
/// transaction and send MeterValues every 10 s.
/// Then C, the steady state: the last round's new charge points, all awake, send MeterValues at 1,000 calls per
/// second, compared with a bare OCPP server without persistence (bench/ocpp-baseline, ocpp-rpc in strict mode)
/// driven by the same client in the same run. "Busy, retry" answers (503 with Retry-After at the upgrade, a boot
/// Pending with an interval) are honoured and counted apart from errors.
/// </summary>
public sealed class OcppReconnectBenchmark : IBenchmark
{
    private const double ArrivalsPerSecond = 1_000;
    private const double TargetP99Ms = 1_000;
    private const double TargetAllBootedSeconds = 15;
    private const double TargetSteadyRatio = 5;
    private static readonly TimeSpan MeterPeriod = TimeSpan.FromSeconds(10);

    /// <summary>MeterValues periods each storm goes on for after its last arrival.</summary>
    private const int PeriodsAfterArrivals = 2;

    /// <summary>
    /// The fleet's password: a key its operator generated, as a central system sets each charger's AuthorizationKey.
    /// One key serves every charge point: the bench measures the node, not the operator's tooling.
    /// </summary>
    private static readonly string Key = ChargePointPassword.GenerateKey();

    /// <summary>A password a person chose, for the PBKDF2 floor reported beside the figures.</summary>
    private const string ChosenPassword = "an operator's chosen password";

    public string Name => "ocpp-reconnect";
    public string Description => "10,000 OCPP charge points reconnecting at 1,000/s after a node restart, 10,000 new ones, then the steady state against a bare OCPP server";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        ThreadPool.SetMinThreads(64, 64);
        var count = options.Quick ? 2_000 : 10_000;
        var rounds = options.Quick ? 2 : 3;
        await using var node = await NodeProcessHost.StartAsync(progress);
        var known = Enumerable.Range(0, count).Select(i => new OcppChargePoint($"known-{i:D5}", Key)).ToArray();
        var fresh = Enumerable.Range(1, rounds).Select(r => Enumerable.Range(0, count).Select(i => new OcppChargePoint($"new{r}-{i:D5}", Key)).ToArray()).ToArray();
        await EnrolAsync(node, known.Concat(fresh.SelectMany(f => f)).Select(p => p.Id).ToArray(), progress);

        // The known charge points connect once, a few at a time (the set-up, not a storm), boot and start a transaction:
        // their entities exist and have events. This also warms the client's code (and checks it works); the node's is
        // cold again after every restart, which is what is measured.
        var checksPerSecond = PasswordCheckRate(progress);
        var first = await WakeTheRestAsync(node.Url, known, progress);
        progress.Report($"first connection, a few at a time (not counted): {first.Length:N0}/{known.Length:N0} booted with a transaction");

        var phaseA = new List<StormFigures>();
        var phaseB = new List<StormFigures>();
        var restarts = new List<double>();
        var killed = 0;
        for (var round = 1; round <= rounds; round++)
        {
            // The chargers stay connected while the node stops: they see it go, as they would.
            var (stopped, wasKilled) = await node.RestartAsync(TimeSpan.FromSeconds(30));
            restarts.Add(stopped.TotalSeconds);
            killed += wasKilled ? 1 : 0;
            foreach (var point in known.Concat(fresh.SelectMany(f => f))) point.Drop();
            progress.Report($"round {round}/{rounds}: node stopped in {stopped.TotalSeconds:0.0} s{(wasKilled ? " (killed: SIGTERM not obeyed in 30 s)" : "")} and started again");
            phaseA.Add(await StormAsync(node.Url, known, progress, $"round {round}/{rounds} A, known chargers after the restart"));
            await CloseAllAsync(known);
            // The new ones stay connected: the next restart finds them there, and the last round's go on into C.
            phaseB.Add(await StormAsync(node.Url, fresh[round - 1], progress, $"round {round}/{rounds} B, new chargers"));
        }

        // The steady state is measured on charge points that are all awake: those of the last round that the storm left
        // without a boot come back now, a few at a time and unmeasured, as a charger tries again after a refusal.
        var awake = await WakeTheRestAsync(node.Url, fresh[^1], progress);
        var (nodeSteady, nodeSteadyErrors) = await SteadyAsync(awake, rounds, progress, "C, node");
        await CloseAllAsync(fresh[^1]);
        List<double> bareSteady;
        StormFigures bareStorm;
        await using (var bare = await BareOcppServer.StartAsync(progress))
        {
            var barePoints = Enumerable.Range(0, count).Select(i => new OcppChargePoint($"bare-{i:D5}", password: null)).ToArray();
            bareStorm = await StormAsync(bare.Url, barePoints, progress, "bare server, new chargers (reference)");
            // The same number of charge points as the node's steady state ran over.
            (bareSteady, _) = await SteadyAsync(barePoints.Where(p => p.IsOpen).Take(awake.Length).ToArray(), rounds, progress, "C, bare server");
            await CloseAllAsync(barePoints);
        }
        return Verdict(count, rounds, phaseA, phaseB, awake.Length, nodeSteady, nodeSteadyErrors, bareSteady, bareStorm, restarts, killed, checksPerSecond);
    }

    /// <summary>
    /// The machine's floor for first contacts: PBKDF2 checks of the chargers' password object per second on every core,
    /// measured here (after a warm-up) in this process. New chargers cannot all be admitted sooner than their number over it.
    /// </summary>
    private static double PasswordCheckRate(Progress progress)
    {
        var password = ChargePointPassword.For(BenchNode.Network, OperatorId.Of("bench-floor"), DeviceId.Of("cp-floor"), ChosenPassword, false, 1,
            Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), ChargePointPassword.MinIterations);
        long Run(TimeSpan span)
        {
            long checks = 0;
            var clock = Stopwatch.StartNew();
            Parallel.For(0, Environment.ProcessorCount, _ =>
            {
                while (clock.Elapsed < span)
                {
                    if (!password.Matches(ChosenPassword)) throw new InvalidOperationException("the floor's password did not match");
                    Interlocked.Increment(ref checks);
                }
            });
            return checks;
        }
        Run(TimeSpan.FromMilliseconds(500));
        var span = TimeSpan.FromSeconds(2);
        var rate = Run(span) / span.TotalSeconds;
        progress.Report($"PBKDF2 checks ({ChargePointPassword.MinIterations:N0} iterations) on all {Environment.ProcessorCount} cores: {rate:N0}/s");
        return rate;
    }

    /// <summary>
    /// One storm: arrivals at <see cref="ArrivalsPerSecond"/> on a schedule; each charge point wakes (upgrade, boot,
    /// a transaction if it has none), then sends MeterValues every <see cref="MeterPeriod"/> from its arrival until
    /// <see cref="PeriodsAfterArrivals"/> periods after the last arrival.
    /// </summary>
    private static async Task<StormFigures> StormAsync(Uri server, OcppChargePoint[] points, Progress progress, string name)
    {
        var recorder = new StormRecorder(points.Length);
        var clock = Stopwatch.StartNew();
        var end = TimeSpan.FromSeconds(points.Length / ArrivalsPerSecond) + MeterPeriod * PeriodsAfterArrivals;
        var booted = 0;
        using var report = new Timer(_ => progress.Report($"{name}: {Volatile.Read(ref booted):N0}/{points.Length:N0} booted at {clock.Elapsed.TotalSeconds:0} s"),
            null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        var arrivals = await OpenLoop.ArrivalsAsync(points.Length, ArrivalsPerSecond, clock, recorder, async i =>
        {
            var arrived = clock.Elapsed;
            var point = points[i];
            if (!await point.WakeAsync(server, i, recorder, clock)) return;
            Interlocked.Increment(ref booted);
            for (var due = arrived + MeterPeriod; due < end; due += MeterPeriod)
            {
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero) await Task.Delay(wait);
                if (!await point.MeterValuesAsync(recorder)) return;
            }
        });
        await Task.WhenAll(arrivals);
        var figures = recorder.Summarize();
        progress.Report($"{name}: {figures.Served:N0}/{figures.Clients:N0} booted, all by {Seconds(figures.AllServedSeconds)}; {figures.Count(StormRecorder.Answers):N0} answers, " +
            $"p50 {figures.Percentile(StormRecorder.Answers, 50):0.0} ms, p99 {figures.Percentile(StormRecorder.Answers, 99):0.0} ms, max {figures.Percentile(StormRecorder.Answers, 100):0.0} ms; " +
            $"errors {figures.Errors} ({figures.DescribeErrors()}); asked to retry {figures.Retries} ({figures.DescribeRetries()}); arrivals at most {figures.ArrivalLagMaxMs:0} ms late");
        return figures;
    }

    /// <summary>
    /// The steady state: one unmeasured round, then <paramref name="rounds"/> measured ones, each one MeterValues from
    /// every charge point, spread evenly over the period (1,000 calls per second for 10,000), open-loop. Returns each
    /// round's p99 and the errors of all of them.
    /// </summary>
    private static async Task<(List<double> P99s, int Errors)> SteadyAsync(OcppChargePoint[] points, int rounds, Progress progress, string name)
    {
        var p99s = new List<double>();
        var errors = 0;
        var period = TimeSpan.FromSeconds(points.Length / ArrivalsPerSecond);
        for (var round = 0; round <= rounds; round++)
        {
            var recorder = new StormRecorder(points.Length);
            var clock = Stopwatch.StartNew();
            var calls = await OpenLoop.ArrivalsAsync(points.Length, ArrivalsPerSecond, clock, recorder, async i =>
            {
                if (points[i].IsOpen) await points[i].MeterValuesAsync(recorder);
                else recorder.Error("MeterValues: not connected");
            });
            await Task.WhenAll(calls);
            var figures = recorder.Summarize();
            errors += figures.Errors;
            var p99 = figures.Percentile(StormRecorder.Answers, 99);
            progress.Report($"{name}, {(round == 0 ? "warm-up round (not counted)" : $"round {round}/{rounds}")}: {figures.Count(StormRecorder.Answers):N0} answers in {clock.Elapsed.TotalSeconds:0.0} s " +
                $"(period {period.TotalSeconds:0} s), p50 {figures.Percentile(StormRecorder.Answers, 50):0.0} ms, p99 {p99:0.0} ms, errors {figures.Errors} ({figures.DescribeErrors()})");
            if (round > 0) p99s.Add(p99);
        }
        return (p99s, errors);
    }

    /// <summary>Connects and boots, 16 at a time, every charge point that is not connected (three tries each); returns those awake.</summary>
    private static async Task<OcppChargePoint[]> WakeTheRestAsync(Uri server, OcppChargePoint[] points, Progress progress)
    {
        const int attempts = 3;
        var asleep = points.Where(p => !p.IsOpen).ToArray();
        var recorder = new StormRecorder(points.Length);
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(asleep, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (point, _) =>
        {
            for (var attempt = 0; attempt < attempts && !point.IsOpen; attempt++)
                if (!await point.WakeAsync(server, Array.IndexOf(points, point), recorder, clock)) point.Drop();
        });
        var awake = points.Where(p => p.IsOpen && p.TransactionId is not null).ToArray();
        if (asleep.Length > 0)
            progress.Report($"{asleep.Length:N0} charge points connected and booted 16 at a time in {clock.Elapsed.TotalSeconds:0.0} s (not counted; refusals on the way: " +
                $"{recorder.Summarize().DescribeErrors()}); {awake.Length:N0}/{points.Length:N0} awake");
        return awake;
    }

    private static async Task CloseAllAsync(OcppChargePoint[] points)
    {
        await Parallel.ForEachAsync(points, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (point, _) => await point.CloseAsync());
    }

    private static BenchResult Verdict(int count, int rounds, List<StormFigures> a, List<StormFigures> b, int steadyPoints, List<double> nodeSteady, int nodeSteadyErrors,
        List<double> bareSteady, StormFigures bareStorm, List<double> restarts, int killed, double checksPerSecond)
    {
        var ratios = nodeSteady.Zip(bareSteady, (n, s) => n / s).ToList();
        var checks = new List<string>();
        void Check(bool met, string failure) { if (!met) checks.Add(failure); }
        foreach (var (phase, storms) in new[] { ("A", a), ("B", b) })
        {
            for (var r = 0; r < storms.Count; r++)
            {
                var s = storms[r];
                Check(s.Errors == 0, $"{phase}{r + 1}: {s.Errors} errors");
                Check(s.Percentile(StormRecorder.Answers, 99) < TargetP99Ms, $"{phase}{r + 1}: p99 {s.Percentile(StormRecorder.Answers, 99):0} ms");
                Check(s.AllServedSeconds < TargetAllBootedSeconds, $"{phase}{r + 1}: all booted by {Seconds(s.AllServedSeconds)}");
            }
        }
        Check(steadyPoints == count, $"C: {steadyPoints}/{count} charge points awake");
        Check(nodeSteadyErrors == 0, $"C: {nodeSteadyErrors} errors");
        for (var r = 0; r < ratios.Count; r++) Check(ratios[r] <= TargetSteadyRatio, $"C{r + 1}: p99 {ratios[r]:0.0} times the bare server's");
        var ratio = Measure.Median(ratios);
        var pass = checks.Count == 0;

        List<BenchRow> rows = [];
        var figures = new Dictionary<string, object> { ["charge_points"] = count, ["rounds"] = rounds, ["arrivals_per_s"] = ArrivalsPerSecond };
        foreach (var (phase, storms, label) in new[] { ("a", a, "A known after restart"), ("b", b, "B new") })
        {
            var p99 = storms.Select(s => s.Percentile(StormRecorder.Answers, 99)).ToList();
            var booted = storms.Select(s => s.AllServedSeconds).ToList();
            var errors = storms.Select(s => (double)s.Errors).ToList();
            var retries = storms.Select(s => (double)s.Retries).ToList();
            rows.Add(new($"{label}: answer p99", Measure.Median(p99), "ms", p99));
            rows.Add(new($"{label}: all booted by", Measure.Median(booted), "s", booted));
            rows.Add(new($"{label}: errors", Measure.Median(errors), "errors", errors));
            rows.Add(new($"{label}: asked to retry", Measure.Median(retries), "retries", retries));
            figures[$"{phase}_p99_ms"] = Finite(Measure.Median(p99), 1);
            figures[$"{phase}_p50_ms"] = Finite(Measure.Median(storms.Select(s => s.Percentile(StormRecorder.Answers, 50)).ToList()), 1);
            figures[$"{phase}_all_booted_s"] = Finite(Measure.Median(booted), 2);
            figures[$"{phase}_errors"] = storms.Sum(s => s.Errors);
            figures[$"{phase}_retries"] = storms.Sum(s => s.Retries);
            figures[$"{phase}_error_kinds"] = storms.SelectMany(s => s.ErrorKinds).GroupBy(k => k.Key).ToDictionary(g => g.Key, g => g.Sum(k => k.Value));
        }
        // Not this fleet's floor: how long as many chargers with passwords people chose would need at least, for comparison.
        var floor = count / checksPerSecond;
        rows.Add(new("chosen passwords instead: PBKDF2 floor (all cores, no other work)", floor, "s", [floor]));
        figures["password_checks_per_s"] = Math.Round(checksPerSecond);
        figures["chosen_passwords_pbkdf2_floor_s"] = Finite(floor, 2);
        rows.Add(new("C steady: node MeterValues p99", Measure.Median(nodeSteady), "ms", nodeSteady));
        rows.Add(new("C steady: bare server p99", Measure.Median(bareSteady), "ms", bareSteady));
        rows.Add(new("C steady: ratio node / bare", ratio, "x", ratios));
        rows.Add(new("bare server: new chargers' storm p99", bareStorm.Percentile(StormRecorder.Answers, 99), "ms", [bareStorm.Percentile(StormRecorder.Answers, 99)]));
        rows.Add(new("node stop (SIGTERM) took", Measure.Median(restarts), "s", restarts));
        figures["c_node_p99_ms"] = Finite(Measure.Median(nodeSteady), 1);
        figures["c_bare_p99_ms"] = Finite(Measure.Median(bareSteady), 1);
        figures["c_ratio"] = Finite(ratio, 2);
        figures["c_errors"] = nodeSteadyErrors;
        figures["c_charge_points"] = steadyPoints;
        figures["bare_storm_p99_ms"] = Finite(bareStorm.Percentile(StormRecorder.Answers, 99), 1);
        figures["bare_storm_all_booted_s"] = Finite(bareStorm.AllServedSeconds, 2);
        figures["node_stop_s"] = Finite(Measure.Median(restarts), 1);
        figures["node_stops_killed"] = killed;
        figures["calls_from_central_system"] = OcppChargePoint.CallsFromCentralSystem;
        figures["target_p99_ms"] = TargetP99Ms;
        figures["target_all_booted_s"] = TargetAllBootedSeconds;
        figures["target_steady_ratio"] = TargetSteadyRatio;
        figures["failed_checks"] = checks;
        var verdict = $"{(pass ? "PASS" : "FAIL")}: {count:N0} charge points, {rounds} rounds; after a restart p99 {Measure.Median(a.Select(s => s.Percentile(StormRecorder.Answers, 99)).ToList()):0} ms, " +
            $"all booted by {Seconds(Measure.Median(a.Select(s => s.AllServedSeconds).ToList()))}; new ones p99 {Measure.Median(b.Select(s => s.Percentile(StormRecorder.Answers, 99)).ToList()):0} ms, " +
            $"all booted by {Seconds(Measure.Median(b.Select(s => s.AllServedSeconds).ToList()))}; steady p99 {ratio:0.0} times the bare server's " +
            $"(targets: 0 errors, p99 < {TargetP99Ms:0} ms, all booted < {TargetAllBootedSeconds:0} s, steady <= {TargetSteadyRatio:0} times)" +
            (pass ? "" : $"; missed: {string.Join("; ", checks.Take(8))}");
        return new BenchResult(rows, figures, verdict);
    }

    /// <summary>
    /// The chargers' operator, admitted by the node's own authority, endorses every charge point and sets its
    /// password. One salt and hash serve them all: the bench measures the node, not the operator's hashing.
    /// </summary>
    private static async Task EnrolAsync(NodeProcessHost node, string[] ids, Progress progress)
    {
        var clock = Stopwatch.StartNew();
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(60) };
        var client = new NodeClient(http);
        using var authority = NetworkAuthorityAgent.FromKeyFile(client, BenchNode.Network, Currency.Eur, Path.Combine(node.DataDirectory, "authority.key"));
        using var cpo = new OperatorAgent(client, BenchNode.Network, OperatorId.Of("cpo-ocpp-reconnect"));
        await cpo.AdmitAsync(authority, OperatorRoles.ChargePointOperator);
        // A password order is refused as stale some minutes after it was signed: the shared one is signed again every minute.
        var shared = cpo.PasswordFor(DeviceId.Of(ids[0]), Key, iterations: ChargePointPassword.KeyIterations);
        var signed = Stopwatch.StartNew();
        var renewal = new Lock();
        var enrolled = 0;
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (chargePoint, _) =>
        {
            var id = DeviceId.Of(chargePoint);
            using var key = DeviceKeyPair.Generate();
            await cpo.EndorseAsync(id, DeviceRole.Charger, key.PublicKey);
            ChargePointPassword order;
            lock (renewal)
            {
                if (signed.Elapsed > TimeSpan.FromMinutes(1))
                {
                    shared = cpo.PasswordFor(DeviceId.Of(ids[0]), Key, iterations: ChargePointPassword.KeyIterations);
                    signed.Restart();
                }
                order = shared with { ChargePoint = id };
            }
            await cpo.Node.SetChargePointPasswordAsync(id.Value, cpo.Sign(order).ToArray());
            if (Interlocked.Increment(ref enrolled) % 5_000 == 0) progress.Report($"{enrolled:N0}/{ids.Length:N0} charge points enrolled ({clock.Elapsed.TotalSeconds:0} s)");
        });
        progress.Report($"{ids.Length:N0} charge points endorsed and given a password in {clock.Elapsed.TotalSeconds:0.0} s");
    }
}
