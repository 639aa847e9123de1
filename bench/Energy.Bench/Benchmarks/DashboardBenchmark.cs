using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Activity;
using Energy.Cluster.Hosting;
using Energy.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// The dashboard under load: a full node (in this process, so that events can be fed in at a set rate
/// through the same feed the entities use) takes 20,000 events a second (sessions, passes, trades,
/// blocks, payments), and 50 signed-in SignalR clients count their updates and the delay from the
/// oldest event an update carries to the moment the client receives it.
/// </summary>
public sealed class DashboardBenchmark : IBenchmark
{
    private const int EventsPerSecond = 20_000;
    private const int Clients = 50;
    private const double TargetP99Ms = 1_000;

    public string Name => "dashboard";
    public string Description => "20,000 events/s, 50 dashboard clients: updates/s per client and end-to-end delay p99";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        var seconds = options.Quick ? 3 : 10;
        var directory = Path.Combine(Path.GetTempPath(), "energy-bench", Guid.NewGuid().ToString("N"));
        var port = Energy.Tests.NodeProcess.FreePort();
        var builder = WebApplication.CreateBuilder(["--urls", $"http://127.0.0.1:{port}", $"--Energy:DataDirectory={directory}",
            $"--Energy:Network={BenchNode.Network}", "--Energy:Tls:Port=0", "--Logging:LogLevel:Default=Warning"]);
        builder.AddEnergyNode(new DashboardModule());
        var app = builder.Build();
        app.MapEnergyNode();
        await app.StartAsync();
        var url = new Uri($"http://127.0.0.1:{port}");
        var connections = new List<HubConnection>();
        try
        {
            // The grid operator is admitted by the node's own authority and endorses the viewer key its dashboards sign in with.
            using var http = new HttpClient { BaseAddress = url };
            var node = new NodeClient(http);
            var grid = $"grid-{Guid.NewGuid().ToString("N")[..6]}";
            using var operatorAgent = new OperatorAgent(node, BenchNode.Network, OperatorId.Of(grid));
            using (var authority = NetworkAuthorityAgent.FromKeyFile(node, BenchNode.Network, Currency.Eur, Path.Combine(directory, NodeHost.AuthorityKeyFile)))
                await operatorAgent.AdmitAsync(authority, OperatorRoles.GridOperator);
            using var key = DeviceKeyPair.Generate();
            await operatorAgent.AddViewerKeyAsync(key.PublicKey, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)));
            var received = new ConcurrentDictionary<int, List<(double At, double DelayMs)>>();
            var clock = Stopwatch.StartNew();
            var epoch = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - clock.Elapsed.TotalMilliseconds;
            for (var c = 0; c < Clients; c++)
            {
                var cookies = await SignInAsync(url, grid, key);
                var client = c;
                received[client] = [];
                var connection = new HubConnectionBuilder().WithUrl(new Uri(url, "/dashboard/hub"), o => o.Cookies = cookies).Build();
                connection.On<JsonElement>("update", view =>
                {
                    var now = epoch + clock.Elapsed.TotalMilliseconds;
                    var oldest = view.GetProperty("oldestEventAt").GetInt64();
                    lock (received[client]) received[client].Add((clock.Elapsed.TotalSeconds, oldest == 0 ? 0 : now - oldest));
                });
                await connection.StartAsync();
                connections.Add(connection);
            }
            progress.Report($"{Clients} clients signed in and connected; feeding {EventsPerSecond:N0} events/s for {seconds} s per run");

            var system = app.Services.GetRequiredService<ActorSystem>();
            var feed = ActivityFeed.Get(system);
            var rates = new List<double>();
            var p50s = new List<double>();
            var p99s = new List<double>();
            var fed = new List<double>();
            for (var r = 1; r <= options.Runs; r++)
            {
                foreach (var list in received.Values) lock (list) list.Clear();
                var started = clock.Elapsed.TotalSeconds;
                var events = await FeedAsync(feed, clock, seconds);
                var ended = clock.Elapsed.TotalSeconds;
                // Updates inside the run, per client per second, and their delays.
                var perClient = received.Values.Select(list => { lock (list) return list.Where(u => u.At >= started + 0.5 && u.At <= ended).ToList(); }).ToList();
                var window = ended - started - 0.5;
                var rate = Measure.Median(perClient.Select(u => u.Count / window).ToList());
                var delays = perClient.SelectMany(u => u.Select(x => x.DelayMs)).Where(d => d > 0).Order().ToArray();
                rates.Add(rate);
                fed.Add(events / (ended - started));
                p50s.Add(Measure.Percentile(delays, 50));
                p99s.Add(Measure.Percentile(delays, 99));
                progress.Report($"run {r}/{options.Runs}: {fed[^1]:N0} events/s fed; per client {rate:0.0} updates/s (min {perClient.Min(u => u.Count) / window:0.0}); delay p50 {p50s[^1]:0} ms, p99 {p99s[^1]:0} ms");
            }
            var p99 = Measure.Median(p99s);
            var updates = Measure.Median(rates);
            var pass = p99 < TargetP99Ms && updates >= DashboardBroadcaster.UpdatesPerSecond * 0.8 && updates <= DashboardBroadcaster.UpdatesPerSecond * 1.05
                && Measure.Median(fed) >= EventsPerSecond * 0.95;
            return new BenchResult(
                [
                    new("events fed", Measure.Median(fed), "events/s", fed),
                    new("updates per client", updates, "updates/s", rates),
                    new("end-to-end delay p50", Measure.Median(p50s), "ms", p50s),
                    new("end-to-end delay p99", p99, "ms", p99s),
                ],
                new Dictionary<string, object>
                {
                    ["events_per_s"] = Math.Round(Measure.Median(fed)),
                    ["clients"] = Clients,
                    ["updates_per_client_per_s"] = Math.Round(updates, 2),
                    ["throttle_per_s"] = DashboardBroadcaster.UpdatesPerSecond,
                    ["delay_p50_ms"] = Math.Round(Measure.Median(p50s)),
                    ["delay_p99_ms"] = Math.Round(p99),
                    ["target_p99_ms"] = TargetP99Ms,
                    ["runs"] = options.Runs,
                },
                $"{(pass ? "PASS" : "FAIL")}: {Measure.Median(fed):N0} events/s, {Clients} clients at {updates:0.0} updates/s each (throttle {DashboardBroadcaster.UpdatesPerSecond}/s), delay p99 {p99:0} ms (target < {TargetP99Ms})");
        }
        finally
        {
            foreach (var connection in connections) await connection.DisposeAsync();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Feeds events at the set rate, as the entities do: domain events for the feeds, and payments only counted.</summary>
    private static async Task<long> FeedAsync(ActivityFeed feed, Stopwatch clock, int seconds)
    {
        var start = clock.Elapsed;
        long sent = 0;
        while (clock.Elapsed - start < TimeSpan.FromSeconds(seconds))
        {
            var due = (long)((clock.Elapsed - start).TotalSeconds * EventsPerSecond);
            var now = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
            for (; sent < due; sent++)
            {
                // Half the events are payments (counted), half are events the feeds show.
                if (sent % 2 == 0) { feed.CountPayment(); continue; }
                feed.Publish(Event(sent / 2 % 6, sent, now));
            }
            await Task.Delay(5);
        }
        return sent;
    }

    /// <summary>One of each kind the dashboard shows, in turn: sessions, passes, trades, blocks, violations, alerts.</summary>
    private static NetworkActivity Event(long kind, long sent, Timestamp now)
    {
        var device = DeviceId.Of($"d-{sent % 1000}");
        var operatorId = OperatorId.Of($"cpo-{sent % 7}");
        var zone = SegmentId.Of($"zone-{sent % 5}");
        var value = new Money(100, Currency.Eur);
        return kind switch
        {
            0 => new ChargingSessionCompleted(SessionId.Of($"session-{sent}"), PartyId.From(operatorId), device, DeviceId.Of("vehicle-1"), null, new EnergyWh(500), value, value, zone, now),
            1 => new TollPassPaid(new PassId(device, (ulong)sent + 1), operatorId, device, DeviceId.Of("vehicle-1"), ChannelId.Of("channel-1"), value, zone, now),
            2 => new DuplexTradeAgreed(ChannelId.Of($"duplex-{sent % 1000}"), (ulong)sent, PartyId.From(device), PartyId.Of("device:home-1"), value, now),
            3 => new SettlementBlockCommitted("ledger-0", (ulong)sent, 1, value, [new OperatorSettlement(operatorId, value)], now),
            4 => new TollViolationRecorded($"violation-{sent}", operatorId, device, DeviceId.Of("vehicle-1"), value, "NoChannel", "no open channel", zone, now),
            _ => new DeviceAlertRaised($"alert-{sent}", "clone", device, "seen at two gantries too far apart", now),
        };
    }

    private static async Task<CookieContainer> SignInAsync(Uri url, string grid, DeviceKeyPair key)
    {
        var cookies = new CookieContainer();
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = url };
        var challenge = await http.GetFromJsonAsync<JsonElement>($"/dashboard/sign-in/challenge?operator={grid}");
        var text = challenge.GetProperty("challenge").GetString()!;
        var signature = key.Sign(Convert.FromBase64String(text));
        (await http.PostAsJsonAsync("/dashboard/sign-in", new { @operator = grid, key = key.PublicKey.Hex, challenge = text, signature = Convert.ToBase64String(signature) }))
            .EnsureSuccessStatusCode();
        return cookies;
    }
}
