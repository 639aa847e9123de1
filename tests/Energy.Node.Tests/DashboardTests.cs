using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Energy.Agents;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit.Abstractions;

namespace Energy.Node.Tests;

/// <summary>The dashboard: sign-in, the hub's authorization and throttling, and the page in a real browser.</summary>
public sealed class DashboardTests(DashboardNodeFixture fixture, ITestOutputHelper output) : IClassFixture<DashboardNodeFixture>
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");

    private sealed record Operator(OperatorAgent Agent, DeviceKeyPair Key) : IDisposable
    {
        public void Dispose() => Agent.Dispose();
    }

    private async Task<Operator> OperatorAsync(string id, string role)
    {
        var key = DeviceKeyPair.Generate();
        var agent = new OperatorAgent(fixture.Client, Network, OperatorId.Of(id), key);
        await fixture.Governance.AdmitAsync(agent, role switch
        {
            "gridOperator" => OperatorRoles.GridOperator,
            "chargePointOperator" => OperatorRoles.ChargePointOperator,
            "tollOperator" => OperatorRoles.TollOperator,
            _ => OperatorRoles.FleetOwner,
        });
        return new Operator(agent, key);
    }

    /// <summary>Signs in over HTTP as the dashboard's page does: the challenge signed with the operator key. Returns the cookie-holding client.</summary>
    private async Task<(HttpClient Http, CookieContainer Cookies)> SignInAsync(OperatorId id, DeviceKeyPair key)
    {
        var cookies = new CookieContainer();
        var http = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = fixture.Node.Url };
        var challenge = await http.GetFromJsonAsync<JsonElement>($"/dashboard/sign-in/challenge?operator={id}");
        var signature = key.Sign(Convert.FromBase64String(challenge.GetProperty("challenge").GetString()!));
        using var answer = await http.PostAsJsonAsync("/dashboard/sign-in", new { @operator = id.Value, signature = Convert.ToBase64String(signature) });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return (http, cookies);
    }

    private HubConnection Hub(CookieContainer? cookies) => new HubConnectionBuilder()
        .WithUrl(new Uri(fixture.Node.Url, "/dashboard/hub"), options =>
        {
            if (cookies is not null) options.Cookies = cookies;
        })
        .Build();

    private CityScenario City() => new(fixture.Client, fixture.Governance.Authority, fixture.Node.Url, Network, Currency.Eur, line => output.WriteLine(line));

    [Fact]
    public async Task Without_sign_in_the_hub_and_the_api_refuse_and_a_forged_sign_in_is_refused()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Node.Url };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/dashboard/api/state", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/dashboard/api/devices/anything", UriKind.Relative))).StatusCode);
        await using var hub = Hub(null);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => hub.StartAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var grid = await OperatorAsync("grid-forged", "gridOperator");
        using var impostor = DeviceKeyPair.Generate();
        var challenge = await anonymous.GetFromJsonAsync<JsonElement>($"/dashboard/sign-in/challenge?operator={grid.Agent.Id}");
        var signature = impostor.Sign(Convert.FromBase64String(challenge.GetProperty("challenge").GetString()!));
        using var forged = await anonymous.PostAsJsonAsync("/dashboard/sign-in", new { @operator = grid.Agent.Id.Value, signature = Convert.ToBase64String(signature) });
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal("InvalidSignature", (await forged.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        // The challenge was used up by the failed answer: the real key cannot replay it.
        using var replay = await anonymous.PostAsJsonAsync("/dashboard/sign-in", new { @operator = grid.Agent.Id.Value, signature = Convert.ToBase64String(grid.Key.Sign(Convert.FromBase64String(challenge.GetProperty("challenge").GetString()!))) });
        Assert.Equal("NoChallenge", (await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_hub_sends_the_state_at_once_then_at_most_ten_updates_a_second_each_filtered_to_the_operator()
    {
        using var cpo = await OperatorAsync("cpo-hub-a", "chargePointOperator");
        using var grid = await OperatorAsync("grid-hub", "gridOperator");
        var (cpoHttp, cpoCookies) = await SignInAsync(cpo.Agent.Id, cpo.Key);
        var (gridHttp, gridCookies) = await SignInAsync(grid.Agent.Id, grid.Key);
        using var _1 = cpoHttp;
        using var _2 = gridHttp;

        var cpoUpdates = new List<(DateTime At, JsonElement View)>();
        var gridUpdates = new List<(DateTime At, JsonElement View)>();
        await using var cpoHub = Hub(cpoCookies);
        await using var gridHub = Hub(gridCookies);
        cpoHub.On<JsonElement>("update", view => { lock (cpoUpdates) cpoUpdates.Add((DateTime.UtcNow, view)); });
        gridHub.On<JsonElement>("update", view => { lock (gridUpdates) gridUpdates.Add((DateTime.UtcNow, view)); });
        await cpoHub.StartAsync();
        await gridHub.StartAsync();
        // A new client gets the current state at once.
        await Eventually.Holds(() => { lock (cpoUpdates) return cpoUpdates.Count >= 1; }, seconds: 30);

        // Two cities at once: one charges at this operator's chargers, the other at another operator's.
        var cities = Task.WhenAll(
            City().RunAsync(new CityScenario.Options(Vehicles: 6, Chargers: 2, Gantries: 2, Homes: 2, Readings: 20, GantryInterval: TimeSpan.FromMilliseconds(200), Prefix: "a-"),
                CancellationToken.None, chargePointOperator: cpo.Agent),
            City().RunAsync(new CityScenario.Options(Vehicles: 6, Chargers: 2, Gantries: 2, Homes: 2, Readings: 20, GantryInterval: TimeSpan.FromMilliseconds(200), Prefix: "b-"),
                CancellationToken.None));
        var summaries = await cities;
        Assert.All(summaries, s => Assert.Equal(0, s.Errors));
        await Eventually.Holds(() => { lock (cpoUpdates) return cpoUpdates.Any(u => u.View.GetProperty("totals").GetProperty("sessions").GetInt64() == 6); }, seconds: 30);
        await Eventually.Holds(() => { lock (gridUpdates) return gridUpdates.Any(u => u.View.GetProperty("totals").GetProperty("sessions").GetInt64() >= 12); }, seconds: 30);

        lock (cpoUpdates)
        {
            // Throttled: in any one second, at most ten updates (plus the first one, sent on connecting).
            foreach (var (at, _) in cpoUpdates)
                Assert.True(cpoUpdates.Count(u => u.At >= at && u.At < at.AddSeconds(1)) <= 11, "more than ten updates in one second");
            foreach (var (_, view) in cpoUpdates)
            {
                var feeds = view.GetProperty("feeds");
                // Only this operator's sessions; nothing of the grid's trades, blocks or alerts, nothing of the toll operators.
                foreach (var session in feeds.GetProperty("session").EnumerateArray())
                    Assert.Contains(cpo.Agent.Id.Value, session.GetProperty("operators").EnumerateArray().Select(o => o.GetString()));
                foreach (var kind in new[] { "trade", "block", "alert", "pass", "violation" }) Assert.Equal(0, feeds.GetProperty(kind).GetArrayLength());
                Assert.Equal(0, view.GetProperty("payments").GetInt64());
            }
            Assert.Contains(cpoUpdates, u => u.View.GetProperty("feeds").GetProperty("session").EnumerateArray()
                .Any(s => s.GetProperty("title").GetString()!.Contains("charger-a-", StringComparison.Ordinal)));
            Assert.DoesNotContain(cpoUpdates, u => u.View.GetProperty("feeds").GetProperty("session").EnumerateArray()
                .Any(s => s.GetProperty("title").GetString()!.Contains("charger-b-", StringComparison.Ordinal)));
        }
        lock (gridUpdates)
        {
            var last = gridUpdates[^1].View;
            // The cities' vehicles drive at a plausible speed: no identity is taken for a clone.
            Assert.Equal(0, last.GetProperty("totals").GetProperty("alerts").GetInt64());
            Assert.True(last.GetProperty("payments").GetInt64() > 0);
            Assert.True(last.GetProperty("feeds").GetProperty("trade").GetArrayLength() > 0);
            Assert.True(last.GetProperty("feeds").GetProperty("block").GetArrayLength() > 0);
            // Energy flow per zone: the chargers' sites are in the city's zones.
            Assert.Contains(last.GetProperty("zones").EnumerateArray(), z => z.GetProperty("energyWh").GetInt64() > 0 && z.GetProperty("sessions").GetInt64() > 0);
        }
        // The API too shows a charge point operator only its own: another operator's device is refused.
        var others = summaries[1];
        Assert.True(others.Sessions > 0);
        using var other = await OperatorAsync("cpo-hub-b", "chargePointOperator");
        using var otherKey = DeviceKeyPair.Generate();
        await other.Agent.EndorseAsync(DeviceId.Of("charger-hub-b"), DeviceRole.Charger, otherKey.PublicKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await cpoHttp.GetAsync(new Uri("/dashboard/api/devices/charger-hub-b", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gridHttp.GetAsync(new Uri("/dashboard/api/devices/charger-hub-b", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await cpoHttp.GetAsync(new Uri("/dashboard/api/blocks/ledger-0/1", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gridHttp.GetAsync(new Uri("/dashboard/api/blocks/ledger-0/1", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task In_a_real_browser_the_grid_operator_sees_the_network_live_and_a_charge_point_operator_only_its_own()
    {
        var browserFolder = Path.Combine(DashboardNodeFixture.Repository, "tests", "browser");
        Assert.True(Directory.Exists(Path.Combine(browserFolder, "node_modules", "playwright-core")), $"run npm ci in {browserFolder} (tests/setup/npm.sh does)");
        Assert.True(File.Exists("/usr/bin/chromium"), "Debian's chromium is needed (tests/setup/chromium.sh installs it)");
        Assert.True(File.Exists(Path.Combine(DashboardNodeFixture.Repository, "dashboard", "web", "node_modules", "uplot", "dist", "uPlot.iife.min.js")),
            "run npm ci in dashboard/web (tests/setup/npm.sh does)");
        using var grid = await OperatorAsync("grid-browser", "gridOperator");
        using var cpoA = await OperatorAsync("cpo-browser-a", "chargePointOperator");
        using var cpoB = await OperatorAsync("cpo-browser-b", "chargePointOperator");
        using var bChargerKey = DeviceKeyPair.Generate();
        await cpoB.Agent.EndorseAsync(DeviceId.Of("charger-b-fixed"), DeviceRole.Charger, bChargerKey.PublicKey);

        // Two cities keep running while the browser looks: A's at A's chargers, B's at B's.
        using var stop = new CancellationTokenSource();
        async Task Keep(string prefix, OperatorAgent cpo)
        {
            while (!stop.IsCancellationRequested)
            {
                await City().RunAsync(new CityScenario.Options(Vehicles: 4, Chargers: 2, Gantries: 2, Homes: 2, Readings: 40,
                    ReadingInterval: TimeSpan.FromMilliseconds(50), GantryInterval: TimeSpan.FromMilliseconds(300), Prefix: prefix), CancellationToken.None, grid.Agent, cpo);
            }
        }
        var cities = Task.WhenAll(Keep("a-", cpoA.Agent), Keep("b-", cpoB.Agent));

        var screenshots = Path.Combine(DashboardNodeFixture.Repository, "artifacts", "screenshots");
        var start = new ProcessStartInfo("node") { WorkingDirectory = browserFolder, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--test");
        start.ArgumentList.Add("--test-concurrency=1");
        start.ArgumentList.Add("dashboard.test.mjs");
        start.Environment["DASHBOARD_URL"] = fixture.Node.Url.ToString().TrimEnd('/');
        start.Environment["SCREENSHOTS"] = screenshots;
        start.Environment["GRID_OPERATOR"] = grid.Agent.Id.Value;
        start.Environment["GRID_KEY"] = grid.Agent.ExportKeyHex();
        start.Environment["CPO_A"] = cpoA.Agent.Id.Value;
        start.Environment["CPO_A_KEY"] = cpoA.Agent.ExportKeyHex();
        start.Environment["CPO_A_CHARGERS"] = "charger-a-";
        start.Environment["CPO_B_CHARGERS"] = "charger-b-";
        start.Environment["CPO_B_CHARGER"] = "charger-b-fixed";
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        try
        {
            await node.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        }
        finally
        {
            await stop.CancelAsync();
            await cities;
        }
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);
        Assert.True(node.ExitCode == 0, $"the browser tests failed:\n{await stdout}\n{await stderr}");
        Assert.Contains("# pass 3", await stdout, StringComparison.Ordinal);
        foreach (var shot in new[] { "grid-operator.png", "block-drill-down.png", "charge-point-operator.png", "refused.png" })
            Assert.True(File.Exists(Path.Combine(screenshots, shot)), $"screenshot {shot} is missing");
    }
}
