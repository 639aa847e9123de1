using System.Diagnostics;
using System.Text.Json;
using Energy.Channels.Identity;
using Energy.Lifecycles.ChargePoints;
using Energy.Cluster.Gateway;
using Energy.Cluster.Hosting;
using Energy.Ocpp;
using Energy.Tests;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// How fast a node wakes persistent entities: after a restart every charge point reconnects at once, and each
/// one's entity must recover (read its events) before it answers. Measured on charge points with a few events
/// each, woken all together after a restart, and on charge points never seen before, whose entities find nothing
/// and write their first event. Entities per second from the first request until the last answer; and the managed heap
/// the woken entities hold, per entity, after a full collection.
/// </summary>
public sealed class ActivationBenchmark : IBenchmark
{
    private const double Target = 5_000;
    private const int EventsEach = 3;

    public string Name => "activation";
    public string Description => "entities woken per second: known charge points recovering after a restart, and new ones (SQLite, then PostgreSQL when configured)";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        var count = options.Quick ? 2_000 : 10_000;
        var stores = new List<(string Name, Func<NodeOptions> Fresh)> { ("SQLite", BenchNode.FreshSqlite) };
        var databases = new List<string>();
        if (PostgresReachable()) stores.Add(("PostgreSQL", (Func<NodeOptions>)(() =>
        {
            var (database, connection) = PostgreSql.FreshDatabase();
            databases.Add(database);
            return new NodeOptions { Store = JournalStore.PostgreSql, ConnectionString = connection };
        })));
        else progress.Report($"PostgreSQL at {PostgreSql.Server} does not answer: only SQLite is measured (tests/setup/postgres.sh starts one)");
        try
        {
            return await MeasureAsync(options, progress, count, stores);
        }
        finally
        {
            foreach (var database in databases) PostgreSql.DropDatabase(database);
        }
    }

    private static async Task<BenchResult> MeasureAsync(BenchOptions options, Progress progress, int count, List<(string Name, Func<NodeOptions> Fresh)> stores)
    {
        var rows = new List<BenchRow>();
        var figures = new Dictionary<string, object> { ["entities"] = count, ["events_each"] = EventsEach, ["target_per_s"] = Target, ["runs"] = options.Runs };
        var failed = new List<string>();
        foreach (var (storeName, fresh) in stores)
        {
            var recovered = new List<double>();
            var created = new List<double>();
            var heap = new List<double>();
            using var nodeKey = DeviceKeyPair.Generate();
            // Warm-up: a node of its own wakes and writes a few thousand entities, so the measured runs meet warm code.
            await using (var warm = await BenchNode.StartAsync(fresh(), nodeKey))
                await BootAll(warm, Ids("warm", 0, 2_000));
            for (var run = 1; run <= options.Runs; run++)
            {
                var store = fresh();
                var known = Ids("known", run, count);
                await using (var node = await BenchNode.StartAsync(store, nodeKey))
                {
                    for (var e = 0; e < EventsEach; e++) await BootAll(node, known);
                    // New charge points: each entity recovers nothing, then writes its first event before it answers.
                    var clock = Stopwatch.StartNew();
                    await BootAll(node, Ids("new", run, count));
                    created.Add(count / clock.Elapsed.TotalSeconds);
                }
                await using (var node = await BenchNode.StartAsync(store, nodeKey))
                {
                    var idle = GC.GetTotalMemory(forceFullCollection: true);
                    recovered.Add(await RecoverAllAsync(node, known));
                    // What the awake entities hold (they stay awake until idle for minutes), after a full collection.
                    heap.Add((GC.GetTotalMemory(forceFullCollection: true) - idle) / (double)count);
                }
                progress.Report($"{storeName} run {run}/{options.Runs}: {recovered[^1]:N0} recovered/s, {created[^1]:N0} created/s, {heap[^1]:N0} bytes of heap an awake entity");
            }
            rows.Add(new($"{storeName}: known entities recovered", Measure.Median(recovered), "per s", recovered));
            rows.Add(new($"{storeName}: new entities created", Measure.Median(created), "per s", created));
            rows.Add(new($"{storeName}: heap an awake entity holds", Measure.Median(heap), "bytes", heap));
            var key = storeName.ToLowerInvariant();
            figures[$"{key}_recovered_per_s"] = Math.Round(Measure.Median(recovered));
            figures[$"{key}_created_per_s"] = Math.Round(Measure.Median(created));
            figures[$"{key}_heap_bytes_per_entity"] = Math.Round(Measure.Median(heap));
            if (storeName == "SQLite" && Measure.Median(recovered) < Target) failed.Add($"recovered {Measure.Median(recovered):N0}/s");
            if (storeName == "SQLite" && Measure.Median(created) < Target) failed.Add($"created {Measure.Median(created):N0}/s");
        }
        var verdict = failed.Count == 0
            ? $"PASS: SQLite wakes at least {Target:N0} entities/s, recovering and creating"
            : $"FAIL: SQLite {string.Join(", ", failed)} (target >= {Target:N0}/s)";
        return new BenchResult(rows, figures, verdict);
    }

    /// <summary>Wakes every known charge point at once by a lookup each; entities woken a second, once all answered.</summary>
    private static async Task<double> RecoverAllAsync(BenchNode node, string[] known)
    {
        var clock = Stopwatch.StartNew();
        var answers = await node.PipelineAsync(node.Regions.ChargePoints, known.Select(id => (object)new GetChargingTransaction(id, 1)).ToList(), window: known.Length);
        var rate = known.Length / clock.Elapsed.TotalSeconds;
        if (answers.Any(a => a is not ChargingTransactionView)) throw new InvalidOperationException($"unexpected answer {answers.First(a => a is not ChargingTransactionView)}");
        return rate;
    }

    private static bool PostgresReachable()
    {
        try
        {
            using var connection = new Npgsql.NpgsqlConnection(PostgreSql.Server);
            connection.Open();
            return true;
        }
        catch (Npgsql.NpgsqlException)
        {
            return false;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static string[] Ids(string kind, int run, int count) => Enumerable.Range(0, count).Select(i => $"cp-{kind}-{run}-{i}").ToArray();

    /// <summary>A BootNotification for every charge point at once, as after a restart; each is answered once its event is durable.</summary>
    private static Task BootAll(BenchNode node, string[] chargePoints)
    {
        var boot = Ocpp16Json.ToElement(new { chargePointVendor = "bench", chargePointModel = "wallbox" });
        return node.Expect<ChargePointResponse>(node.Regions.ChargePoints, chargePoints.Select(id => (object)new ChargePointRequest(id, Ocpp16Actions.BootNotification, boot)).ToList(),
            window: chargePoints.Length);
    }
}
