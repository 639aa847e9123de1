using System.Diagnostics;
using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using NSec.Cryptography;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// Pay-as-you-charge end to end: chargers sign readings, the network checks them and passes them on,
/// vehicles verify them and pay each with a voucher the network verifies and persists before it is
/// acknowledged; all through the device gateway of a node process on SQLite. Each payment costs two
/// signatures and three verifications. The baseline is one raw Ed25519 sign plus one verify on one
/// core (and, for reference, on all cores), measured in the same run.
/// </summary>
public sealed class ChargingBenchmark : IBenchmark
{
    private const double TargetRatio = 0.4;

    public string Name => "charging";
    public string Description => "pay-as-you-charge payments/s through the gateway vs all-core raw sign+verify/s";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        var pairs = options.Quick ? 40 : 200;
        var readings = options.Quick ? 40 : 100;
        await using var node = await NodeProcessHost.StartAsync(progress, "--Energy:SessionSettleSeconds=5");
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(60) };
        var client = new NodeClient(http);
        var run = Guid.NewGuid().ToString("N")[..6];
        using var cpo = new OperatorAgent(client, BenchNode.Network, OperatorId.Of($"cpo-{run}"));
        using var fleet = new OperatorAgent(client, BenchNode.Network, OperatorId.Of($"fleet-{run}"));
        using var authority = NetworkAuthorityAgent.FromKeyFile(client, BenchNode.Network, Currency.Eur, Path.Combine(node.DataDirectory, "authority.key"));
        await cpo.AdmitAsync(authority, OperatorRoles.ChargePointOperator);
        // The fleet owner is also the settlement bank that issues the deposits.
        await fleet.AdmitAsync(authority, OperatorRoles.FleetOwner | OperatorRoles.SettlementBank, new Money(1_000_000_000_000, Currency.Eur));
        var chargers = Enumerable.Range(0, pairs).Select(i => new ChargerAgent(BenchNode.Network, DeviceId.Of($"charger-{run}-{i}"), Currency.Eur)).ToArray();
        var vehicles = Enumerable.Range(0, pairs).Select(i => new VehicleAgent(BenchNode.Network, DeviceId.Of($"vehicle-{run}-{i}"))).ToArray();
        var connections = new List<GatewayClient>();
        try
        {
            var deposit = new Money(1_000_000, Currency.Eur);
            await Parallel.ForEachAsync(Enumerable.Range(0, pairs), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            {
                await cpo.EndorseAsync(chargers[i].Id, DeviceRole.Charger, chargers[i].PublicKey);
                await fleet.EndorseAsync(vehicles[i].Id, DeviceRole.Vehicle, vehicles[i].PublicKey);
                await fleet.FundAsync(vehicles[i].Party, deposit, $"fund-{i}");
                await vehicles[i].OpenChannelAsync(client, ChannelId.Of($"ch-{run}-{i}"), cpo.Party, deposit, DurationMs.FromSeconds(60));
            });
            foreach (var group in chargers.Chunk(10))
            {
                var gateway = await GatewayClient.ConnectAsync(node.Url);
                connections.Add(gateway);
                foreach (var charger in group) await charger.ConnectAsync(gateway);
            }
            foreach (var group in vehicles.Chunk(50))
            {
                var gateway = await GatewayClient.ConnectAsync(node.Url);
                connections.Add(gateway);
                foreach (var vehicle in group) await vehicle.ConnectAsync(gateway);
            }
            // Each vehicle is plugged into its charger: it consents to that charger's sessions only.
            for (var i = 0; i < pairs; i++) vehicles[i].PlugInto(chargers[i].Id);
            progress.Report($"{pairs} chargers and {pairs} vehicles registered, funded and authenticated on {connections.Count} gateway connections");

            // One run first, not counted: the node's and the agents' code is compiled (tiered compilation
            // settles) and their caches filled before the measured runs.
            var warmUp = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, pairs).Select(i =>
                chargers[i].ChargeAsync(SessionId.Of($"warm-{i}-{run}"), vehicles[i].Id, readings, whPerReading: 100, pricePerKwh: 35, credit: 10_000, TimeSpan.Zero)));
            progress.Report($"warm-up: {pairs} sessions of {readings} readings in {warmUp.Elapsed.TotalSeconds:0.00} s (not counted)");

            var payments = new List<double>();
            var baseline = new List<double>();
            var allCores = new List<double>();
            var nodeCpu = new List<double>();
            var agentCpu = new List<double>();
            using var self = Process.GetCurrentProcess();
            for (var r = 1; r <= options.Runs; r++)
            {
                baseline.Add(SignVerifyRate(options.RunDuration, 1));
                allCores.Add(SignVerifyRate(options.RunDuration, Environment.ProcessorCount));
                var before = vehicles.Sum(v => v.Payments);
                self.Refresh();
                var (nodeBefore, agentsBefore) = (node.ProcessorTime, self.TotalProcessorTime);
                var clock = Stopwatch.StartNew();
                var records = await Task.WhenAll(Enumerable.Range(0, pairs).Select(i =>
                    chargers[i].ChargeAsync(SessionId.Of($"run{r}-{i}-{run}"), vehicles[i].Id, readings, whPerReading: 100, pricePerKwh: 35, credit: 10_000, TimeSpan.Zero)));
                var elapsed = clock.Elapsed.TotalSeconds;
                self.Refresh();
                var (nodeAfter, agentsAfter) = (node.ProcessorTime, self.TotalProcessorTime);
                var paid = vehicles.Sum(v => v.Payments) - before;
                var unpaid = records.Count(rec => rec.GetProperty("outstanding").GetProperty("minorUnits").GetInt64() != 0);
                var refusals = vehicles.Sum(v => v.Refusals.Count) + chargers.Sum(c => c.Refusals.Count);
                if (unpaid > 0 || refusals > 0)
                {
                    var codes = vehicles.SelectMany(v => v.Refusals).Concat(chargers.SelectMany(c => c.Refusals)).CountBy(c => c).Select(c => $"{c.Key} x{c.Value}");
                    throw new InvalidOperationException($"{unpaid} sessions left unpaid, {refusals} refusals: {string.Join(", ", codes)}");
                }
                payments.Add(paid / elapsed);
                nodeCpu.Add((nodeAfter - nodeBefore).TotalMicroseconds / paid);
                agentCpu.Add((agentsAfter - agentsBefore).TotalMicroseconds / paid);
                progress.Report($"run {r}/{options.Runs}: {paid:N0} payments in {elapsed:0.00} s = {payments[^1]:N0}/s; raw sign+verify {baseline[^1]:N0}/s on one core, {allCores[^1]:N0}/s on all; " +
                    $"processor time per payment: node {nodeCpu[^1]:0} µs, agents {agentCpu[^1]:0} µs, machine busy {(nodeAfter - nodeBefore + agentsAfter - agentsBefore).TotalSeconds / elapsed / Environment.ProcessorCount:P0}");
            }
            var ratios = payments.Zip(baseline, (p, b) => p / b).ToArray();
            var ratio = Measure.Median(ratios);
            var allCoreRatios = payments.Zip(allCores, (p, b) => p / b).ToArray();
            return new BenchResult(
                [
                    new("payments end to end", Measure.Median(payments), "payments/s", payments),
                    new("raw sign+verify, one core", Measure.Median(baseline), "pairs/s", baseline),
                    new($"raw sign+verify, {Environment.ProcessorCount} cores", Measure.Median(allCores), "pairs/s", allCores),
                    new("ratio payments / sign+verify (one core)", ratio, "x", ratios),
                    new($"ratio payments / sign+verify ({Environment.ProcessorCount} cores)", Measure.Median(allCoreRatios), "x", allCoreRatios),
                    new("node processor time per payment", Measure.Median(nodeCpu), "µs", nodeCpu),
                    new("agents' processor time per payment", Measure.Median(agentCpu), "µs", agentCpu),
                    new("raw sign+verify pair, one core", 1e6 / Measure.Median(baseline), "µs", baseline.Select(b => 1e6 / b).ToArray()),
                ],
                new Dictionary<string, object>
                {
                    ["payments_per_s"] = Math.Round(Measure.Median(payments)),
                    ["sign_verify_one_core_per_s"] = Math.Round(Measure.Median(baseline)),
                    ["sign_verify_all_cores_per_s"] = Math.Round(Measure.Median(allCores)),
                    ["ratio"] = Math.Round(ratio, 3),
                    ["ratio_all_cores"] = Math.Round(Measure.Median(allCoreRatios), 3),
                    ["node_cpu_us_per_payment"] = Math.Round(Measure.Median(nodeCpu)),
                    ["agents_cpu_us_per_payment"] = Math.Round(Measure.Median(agentCpu)),
                    ["target_ratio"] = TargetRatio,
                    ["sessions_per_run"] = pairs,
                    ["readings_per_session"] = readings,
                    ["cores"] = Environment.ProcessorCount,
                    ["runs"] = options.Runs,
                },
                $"{(ratio >= TargetRatio ? "PASS" : "FAIL")}: payments through the gateway run at {ratio:0.00} of the one-core raw sign+verify rate (target >= {TargetRatio}), " +
                $"{Measure.Median(allCoreRatios):0.00} of the all-core rate; each payment costs 2 signatures and 3 verifications, agents and node sharing the machine");
        }
        finally
        {
            foreach (var connection in connections) await connection.DisposeAsync();
            foreach (var charger in chargers) charger.Dispose();
            foreach (var vehicle in vehicles) vehicle.Dispose();
        }
    }

    /// <summary>Raw NSec Ed25519 sign-then-verify pairs per second on <paramref name="threads"/> threads.</summary>
    public static double SignVerifyRate(TimeSpan duration, int threads)
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519);
        var publicKey = key.PublicKey;
        var total = 0L;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, worker =>
        {
            var message = new byte[96];
            message[0] = (byte)worker;
            var count = 0L;
            while (clock.Elapsed < duration)
            {
                for (var i = 0; i < 16; i++)
                {
                    message[1] = (byte)i;
                    var signature = SignatureAlgorithm.Ed25519.Sign(key, message);
                    if (!SignatureAlgorithm.Ed25519.Verify(publicKey, message, signature)) throw new InvalidOperationException("verify failed");
                }
                count += 16;
            }
            Interlocked.Add(ref total, count);
        });
        return total / clock.Elapsed.TotalSeconds;
    }
}
