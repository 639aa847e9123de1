using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Ocpp;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// Concurrent OCPP 1.6J connections held by one node process: every charge point authenticates (HTTP Basic,
/// security profile 1, with the fewest PBKDF2 iterations an operator may choose), boots, starts a
/// transaction, then sends MeterValues every 10 s (their phases spread evenly over the 10 s), and the
/// time from sending a MeterValues CALL to reading its CALLRESULT is recorded. Each MeterValues is
/// persisted before it is answered.
/// </summary>
public sealed class OcppConnectionsBenchmark : IBenchmark
{
    private const double TargetP99Ms = 100;
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    public string Name => "ocpp-connections";
    public string Description => "10,000 OCPP connections (Basic authentication), MeterValues every 10 s each: answer time p50/p99";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        var connections = options.Quick ? 1_000 : 10_000;
        var rounds = options.Quick ? 2 : options.Runs;
        await using var node = await NodeProcessHost.StartAsync(progress);
        await EnrolAsync(node, connections, progress);
        var points = new ChargePoint[connections];
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, connections), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            points[i] = await ChargePoint.ConnectAsync(node.Url, ChargePointId(i));
            var opened = Interlocked.Increment(ref _opened);
            if (opened % 1_000 == 0) progress.Report($"{opened:N0}/{connections:N0} connected, booted and charging ({clock.Elapsed.TotalSeconds:0} s)");
        });
        progress.Report($"{connections:N0} charge points connected in {clock.Elapsed.TotalSeconds:0.0} s; {rounds} rounds of MeterValues every {Period.TotalSeconds} s each");

        // One round before measuring: the first MeterValues of every connection runs code paths (and wakes
        // buffers) the steady state has warm; its answers are checked but not timed.
        var (warm, warmFailures) = await RoundAsync(points);
        progress.Report($"warm-up round: {warm.Length:N0} answers, {warmFailures} failures, p99 {Measure.Percentile(warm, 99):0.0} ms (not counted)");

        var p50s = new List<double>();
        var p99s = new List<double>();
        var all = new List<double>();
        var failures = warmFailures;
        for (var round = 1; round <= rounds; round++)
        {
            var start = Stopwatch.StartNew();
            var (sorted, failed) = await RoundAsync(points);
            failures += failed;
            all.AddRange(sorted);
            p50s.Add(Measure.Percentile(sorted, 50));
            p99s.Add(Measure.Percentile(sorted, 99));
            progress.Report($"round {round}/{rounds}: {sorted.Length:N0} answers in {start.Elapsed.TotalSeconds:0.0} s, p50 {p50s[^1]:0.0} ms, p99 {p99s[^1]:0.0} ms, max {sorted[^1]:0.0} ms");
        }
        foreach (var point in points) await point.DisposeAsync();
        var overall = all.Order().ToArray();
        var p99 = Measure.Percentile(overall, 99);
        var pass = p99 < TargetP99Ms && failures == 0;
        return new BenchResult(
            [
                new("MeterValues answer p50", Measure.Median(p50s), "ms", p50s),
                new("MeterValues answer p99", Measure.Median(p99s), "ms", p99s),
                new("connections held", connections, "connections", [connections]),
            ],
            new Dictionary<string, object>
            {
                ["connections"] = connections,
                ["p50_ms"] = Math.Round(Measure.Percentile(overall, 50), 1),
                ["p99_ms"] = Math.Round(p99, 1),
                ["p999_ms"] = Math.Round(Measure.Percentile(overall, 99.9), 1),
                ["max_ms"] = Math.Round(overall[^1], 1),
                ["answers"] = overall.Length,
                ["failures"] = failures,
                ["target_p99_ms"] = TargetP99Ms,
            },
            $"{(pass ? "PASS" : "FAIL")}: {connections:N0} connections, MeterValues answered with p99 {p99:0.0} ms (target < {TargetP99Ms} ms), {failures} failures");
    }

    /// <summary>
    /// One MeterValues from every charge point, open-loop: each is sent at its own moment of the period
    /// (spread evenly, as their clocks would be), whatever the answers before it took.
    /// </summary>
    private static async Task<(double[] Sorted, int Failures)> RoundAsync(ChargePoint[] points)
    {
        var latencies = new double[points.Length];
        var failures = 0;
        var start = Stopwatch.StartNew();
        await Task.WhenAll(points.Select(async (point, i) =>
        {
            var due = Period * i / points.Length;
            var wait = due - start.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            try { latencies[i] = await point.MeterValuesAsync(); }
            catch (Exception e) when (e is WebSocketException or InvalidOperationException or OperationCanceledException)
            {
                Interlocked.Increment(ref failures);
                latencies[i] = double.NaN;
            }
        }));
        return (latencies.Where(l => !double.IsNaN(l)).Order().ToArray(), failures);
    }

    private static int _opened;

    private const string Password = "bench charge point key";

    private static string ChargePointId(int i) => $"cp-{i:D5}";

    /// <summary>
    /// The chargers' operator, admitted by the node's own authority, endorses every charge point and sets its
    /// password. One salt and hash serve them all: the bench measures the node, not the operator's hashing.
    /// </summary>
    private static async Task EnrolAsync(NodeProcessHost node, int connections, Progress progress)
    {
        var clock = Stopwatch.StartNew();
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(60) };
        var client = new NodeClient(http);
        using var authority = NetworkAuthorityAgent.FromKeyFile(client, BenchNode.Network, Currency.Eur, Path.Combine(node.DataDirectory, "authority.key"));
        using var cpo = new OperatorAgent(client, BenchNode.Network, OperatorId.Of("cpo-ocpp-bench"));
        await cpo.AdmitAsync(authority, OperatorRoles.ChargePointOperator);
        var shared = cpo.PasswordFor(DeviceId.Of(ChargePointId(0)), Password, iterations: ChargePointPassword.MinIterations);
        await Parallel.ForEachAsync(Enumerable.Range(0, connections), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            var id = DeviceId.Of(ChargePointId(i));
            using var key = DeviceKeyPair.Generate();
            await cpo.EndorseAsync(id, DeviceRole.Charger, key.PublicKey);
            await cpo.Node.SetChargePointPasswordAsync(id.Value, cpo.Sign(shared with { ChargePoint = id }).ToArray());
        });
        progress.Report($"{connections:N0} charge points endorsed and given a password in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>One simulated charge point: a WebSocket with the ocpp1.6 subprotocol and one open transaction.</summary>
    private sealed class ChargePoint : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private readonly byte[] _buffer = new byte[4_096];
        private int _transactionId;
        private long _register = 1_000;
        private int _next;

        public static async Task<ChargePoint> ConnectAsync(Uri node, string id)
        {
            var point = new ChargePoint();
            point._socket.Options.AddSubProtocol("ocpp1.6");
            point._socket.Options.KeepAliveInterval = TimeSpan.Zero;
            point._socket.Options.SetRequestHeader("Authorization", OcppBasicAuthentication.Header(id, Password));
            await point._socket.ConnectAsync(new Uri($"ws://{node.Host}:{node.Port}/ocpp/{id}"), CancellationToken.None);
            await point.CallAsync("BootNotification", new { chargePointVendor = "Bench", chargePointModel = "Load" });
            var started = await point.CallAsync("StartTransaction", new { connectorId = 1, idTag = "fleet-card", meterStart = 1_000, timestamp = "2026-11-25T08:00:00Z" });
            point._transactionId = started.GetProperty("transactionId").GetInt32();
            return point;
        }

        public async Task<double> MeterValuesAsync()
        {
            _register += 250;
            var clock = Stopwatch.StartNew();
            await CallAsync("MeterValues", new
            {
                connectorId = 1,
                transactionId = _transactionId,
                meterValue = new[] { new { timestamp = "2026-11-25T08:00:00Z", sampledValue = new[] { new { value = _register.ToString(System.Globalization.CultureInfo.InvariantCulture), measurand = "Energy.Active.Import.Register", unit = "Wh" } } } },
            });
            return clock.Elapsed.TotalMilliseconds;
        }

        private async Task<JsonElement> CallAsync(string action, object payload)
        {
            var id = (++_next).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new object[] { 2, id, action, payload }), WebSocketMessageType.Text, true, CancellationToken.None);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var result = await _socket.ReceiveAsync(_buffer, timeout.Token);
            var frame = JsonDocument.Parse(_buffer.AsMemory(0, result.Count)).RootElement;
            if (frame[0].GetInt32() != 3) throw new InvalidOperationException($"{action}: {Encoding.UTF8.GetString(_buffer, 0, result.Count)}");
            return frame[2].Clone();
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
            _socket.Dispose();
        }
    }
}
