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
using Energy.Lifecycles.Registry;

namespace Energy.Node.Tests;

/// <summary>The dashboard: sign-in with viewer keys, the bounds on sign-in challenges, the hub's authorization, throttling and filtering, and the page in a real browser.</summary>
public sealed class DashboardTests(DashboardNodeFixture fixture, ITestOutputHelper output) : IClassFixture<DashboardNodeFixture>
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");

    /// <summary>An admitted operator, its own key (kept by its back office) and a viewer key it endorsed for its dashboard.</summary>
    private sealed record Operator(OperatorAgent Agent, DeviceKeyPair Key, DeviceKeyPair Viewer) : IDisposable
    {
        public string ViewerSeedHex => Convert.ToHexStringLower(Viewer.ExportSeed());

        public void Dispose()
        {
            Agent.Dispose();
            Viewer.Dispose();
        }
    }

    private NetworkAuthorityAgent Authority() =>
        NetworkAuthorityAgent.FromKeyFile(fixture.Client, Network, Currency.Eur, Path.Combine(fixture.Node.DataDirectory, Energy.Cluster.Hosting.NodeHost.AuthorityKeyFile));

    private async Task<Operator> OperatorAsync(string id, OperatorRoles roles)
    {
        var key = DeviceKeyPair.Generate();
        var agent = new OperatorAgent(fixture.Client, Network, OperatorId.Of(id), key);
        using (var authority = Authority()) await agent.AdmitAsync(authority, roles);
        var viewer = DeviceKeyPair.Generate();
        await agent.AddViewerKeyAsync(viewer.PublicKey, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)));
        return new Operator(agent, key, viewer);
    }

    private static async Task<string> ChallengeAsync(HttpClient http, OperatorId id)
    {
        using var answer = await http.GetAsync(new Uri($"/dashboard/sign-in/challenge?operator={id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("challenge").GetString()!;
    }

    /// <summary>Answers a challenge as the page does: signed with <paramref name="signer"/>, naming <paramref name="claimed"/> as the viewer key.</summary>
    private static Task<HttpResponseMessage> AnswerAsync(HttpClient http, OperatorId id, string challenge, DeviceKeyPair signer, DevicePublicKey? claimed = null) =>
        http.PostAsJsonAsync("/dashboard/sign-in", new
        {
            @operator = id.Value,
            key = (claimed ?? signer.PublicKey).Hex,
            challenge,
            signature = Convert.ToBase64String(signer.Sign(Convert.FromBase64String(challenge))),
        });

    private static async Task<string?> CodeOf(HttpResponseMessage answer) =>
        (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString();

    /// <summary>Signs in over HTTP as the dashboard's page does: a challenge signed with the viewer key. Returns the cookie-holding client.</summary>
    private async Task<(HttpClient Http, CookieContainer Cookies)> SignInAsync(OperatorId id, DeviceKeyPair viewer)
    {
        var cookies = new CookieContainer();
        var http = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = fixture.Node.Url };
        using var answer = await AnswerAsync(http, id, await ChallengeAsync(http, id), viewer);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return (http, cookies);
    }

    private HubConnection Hub(CookieContainer? cookies) => new HubConnectionBuilder()
        .WithUrl(new Uri(fixture.Node.Url, "/dashboard/hub"), options =>
        {
            if (cookies is not null) options.Cookies = cookies;
        })
        .Build();

    private CityScenario City(NetworkAuthorityAgent authority) => new(fixture.Client, authority, fixture.Node.Url, Network, Currency.Eur, line => output.WriteLine(line));

    [Fact]
    public async Task Without_sign_in_the_hub_and_the_api_refuse_and_a_forged_answer_leaves_the_challenge_to_the_real_viewer_key()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Node.Url };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/dashboard/api/state", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/dashboard/api/devices/anything", UriKind.Relative))).StatusCode);
        await using var hub = Hub(null);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => hub.StartAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var grid = await OperatorAsync("grid-forged", OperatorRoles.GridOperator);
        using var impostor = DeviceKeyPair.Generate();
        var challenge = await ChallengeAsync(anonymous, grid.Agent.Id);
        // A stranger answers the operator's challenge with garbage, naming the real viewer key: refused by name...
        using (var forged = await AnswerAsync(anonymous, grid.Agent.Id, challenge, impostor, grid.Viewer.PublicKey))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
            Assert.Equal("InvalidSignature", await CodeOf(forged));
        }
        // ...and the challenge stays for the real viewer key, which signs in with it, once.
        using (var real = await AnswerAsync(anonymous, grid.Agent.Id, challenge, grid.Viewer))
            Assert.Equal(HttpStatusCode.OK, real.StatusCode);
        using (var replay = await AnswerAsync(anonymous, grid.Agent.Id, challenge, grid.Viewer))
            Assert.Equal("NoChallenge", await CodeOf(replay));
    }

    [Fact]
    public async Task A_viewer_key_signs_in_and_the_operator_key_an_unknown_key_and_an_expired_viewer_key_do_not()
    {
        using var cpo = await OperatorAsync("cpo-viewer", OperatorRoles.ChargePointOperator);
        var (http, _) = await SignInAsync(cpo.Agent.Id, cpo.Viewer);
        using (http)
        {
            var me = await http.GetFromJsonAsync<JsonElement>("/dashboard/api/me");
            Assert.Equal(cpo.Agent.Id.Value, me.GetProperty("operator").GetString());
            // The session reads the API as its operator.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"/api/operators/{cpo.Agent.Id}", UriKind.Relative))).StatusCode);
        }

        using var anonymous = new HttpClient { BaseAddress = fixture.Node.Url };
        using (var root = await AnswerAsync(anonymous, cpo.Agent.Id, await ChallengeAsync(anonymous, cpo.Agent.Id), cpo.Key))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, root.StatusCode);
            Assert.Equal("ViewerKeyUnknown", await CodeOf(root));
        }
        using var stranger = DeviceKeyPair.Generate();
        using (var unknown = await AnswerAsync(anonymous, cpo.Agent.Id, await ChallengeAsync(anonymous, cpo.Agent.Id), stranger))
            Assert.Equal("ViewerKeyUnknown", await CodeOf(unknown));

        // A viewer key that expires in two seconds: its session ends with it, and it signs in no more.
        using var shortLived = DeviceKeyPair.Generate();
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(2);
        await cpo.Agent.AddViewerKeyAsync(shortLived.PublicKey, Timestamp.FromDateTimeOffset(expiresAt));
        var (brief, _) = await SignInAsync(cpo.Agent.Id, shortLived);
        using (brief)
        {
            Assert.Equal(HttpStatusCode.OK, (await brief.GetAsync(new Uri("/dashboard/api/me", UriKind.Relative))).StatusCode);
            var challenge = await ChallengeAsync(anonymous, cpo.Agent.Id);
            // Waits for the key's expiry on the node's clock (the node runs on this machine).
            await Task.Delay(expiresAt - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));
            using var expired = await AnswerAsync(anonymous, cpo.Agent.Id, challenge, shortLived);
            Assert.Equal("ViewerKeyExpired", await CodeOf(expired));
            Assert.Equal(HttpStatusCode.Unauthorized, (await brief.GetAsync(new Uri("/dashboard/api/me", UriKind.Relative))).StatusCode);
        }
    }

    [Fact]
    public async Task Viewer_keys_are_endorsed_only_by_the_operators_current_key_and_a_key_rotation_ends_them()
    {
        using var toll = await OperatorAsync("tolls-viewer", OperatorRoles.TollOperator);
        using var stranger = DeviceKeyPair.Generate();
        using var viewer = DeviceKeyPair.Generate();
        var inAnHour = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1));
        var api = fixture.Api;
        var forged = await api.PostSignedAsync($"/api/operators/{toll.Agent.Id}/viewer-keys",
            Signed<ViewerKey>.Sign(new ViewerKey(Network, toll.Agent.Id, viewer.PublicKey, inAnHour), stranger).ToArray());
        Assert.Equal(("InvalidSignature", 403), (forged.Code, forged.Status));
        var expired = await api.PostSignedAsync($"/api/operators/{toll.Agent.Id}/viewer-keys",
            toll.Agent.EndorseViewerKey(viewer.PublicKey, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1))).ToArray());
        Assert.Equal(("ViewerKeyExpired", 400), (expired.Code, expired.Status));
        var root = await api.PostSignedAsync($"/api/operators/{toll.Agent.Id}/viewer-keys", toll.Agent.EndorseViewerKey(toll.Key.PublicKey, inAnHour).ToArray());
        Assert.Equal("ViewerKeyIsOperatorKey", root.Code);
        var unknownOperator = await api.PostSignedAsync("/api/operators/nobody-here/viewer-keys", toll.Agent.EndorseViewerKey(viewer.PublicKey, inAnHour).ToArray());
        Assert.Equal("OperatorNotFound", unknownOperator.Code);

        var (http, _) = await SignInAsync(toll.Agent.Id, toll.Viewer);
        using (http)
        {
            // The authority admits the operator again with another key (version 2): the viewer key endorsed by the old one ends.
            using var rotated = DeviceKeyPair.Generate();
            using (var authority = Authority())
                await authority.AdmitAsync(toll.Agent.Id, rotated.PublicKey, OperatorRoles.TollOperator, version: 2);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/dashboard/api/me", UriKind.Relative))).StatusCode);
            using var anonymous = new HttpClient { BaseAddress = fixture.Node.Url };
            using var answer = await AnswerAsync(anonymous, toll.Agent.Id, await ChallengeAsync(anonymous, toll.Agent.Id), toll.Viewer);
            Assert.Equal("ViewerKeyUnknown", await CodeOf(answer));
        }
    }

    [Fact]
    public async Task Challenges_are_issued_only_for_admitted_operators_and_at_most_four_at_once_per_operator()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Node.Url };
        using (var unknown = await anonymous.GetAsync(new Uri("/dashboard/sign-in/challenge?operator=nobody-at-all", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal("OperatorNotFound", await CodeOf(unknown));
        }
        using var grid = await OperatorAsync("grid-crowded", OperatorRoles.GridOperator);
        // A stranger takes every challenge the operator may have outstanding...
        var taken = new List<string>();
        for (var i = 0; i < 4; i++) taken.Add(await ChallengeAsync(anonymous, grid.Agent.Id));
        using (var over = await anonymous.GetAsync(new Uri($"/dashboard/sign-in/challenge?operator={grid.Agent.Id}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
            Assert.Equal("TooManySignInsForOperator", await CodeOf(over));
        }
        // ...but cannot answer them: any of them still signs the operator in, and frees its place.
        using (var signedIn = await AnswerAsync(anonymous, grid.Agent.Id, taken[2], grid.Viewer))
            Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        await ChallengeAsync(anonymous, grid.Agent.Id);
    }

    [Fact]
    public async Task The_hub_sends_the_state_at_once_then_at_most_ten_updates_a_second_each_filtered_to_the_operator()
    {
        using var authority = Authority();
        using var cpo = await OperatorAsync("cpo-hub-a", OperatorRoles.ChargePointOperator);
        using var grid = await OperatorAsync("grid-hub", OperatorRoles.GridOperator);
        var (cpoHttp, cpoCookies) = await SignInAsync(cpo.Agent.Id, cpo.Viewer);
        var (gridHttp, gridCookies) = await SignInAsync(grid.Agent.Id, grid.Viewer);
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
            City(authority).RunAsync(new CityScenario.Options(Vehicles: 6, Chargers: 2, Gantries: 2, Homes: 2, Readings: 20, GantryInterval: TimeSpan.FromMilliseconds(200), Prefix: "a-"),
                CancellationToken.None, chargePointOperator: cpo.Agent),
            City(authority).RunAsync(new CityScenario.Options(Vehicles: 6, Chargers: 2, Gantries: 2, Homes: 2, Readings: 20, GantryInterval: TimeSpan.FromMilliseconds(200), Prefix: "b-"),
                CancellationToken.None));
        var summaries = await cities;
        Assert.All(summaries, s => Assert.Equal(0, s.Errors));
        await Eventually.Holds(() => { lock (cpoUpdates) return cpoUpdates.Any(u => u.View.GetProperty("totals").GetProperty("sessions").GetInt64() == 6); }, seconds: 30);
        await Eventually.Holds(() => { lock (gridUpdates) return gridUpdates.Any(u => u.View.GetProperty("totals").GetProperty("sessions").GetInt64() >= 12); }, seconds: 30);

        lock (cpoUpdates)
        {
            // Throttled: in any one second of the node's sending, at most ten updates, and one more where a late tick
            // is followed at once by the next. The first update, sent on connecting, has no send time. Times of
            // arrival would measure this test's own scheduling on a busy machine, not the node's pace.
            var sentAt = cpoUpdates.Select(u => u.View.GetProperty("sentAtMs").GetInt64()).Where(at => at > 0).ToList();
            Assert.True(sentAt.Count >= 2, "the updates carry the node's send time");
            foreach (var at in sentAt)
                Assert.True(sentAt.Count(t => t >= at && t < at + 1_000) <= 11, "more than ten updates in one second");
            foreach (var (_, view) in cpoUpdates)
            {
                var feeds = view.GetProperty("feeds");
                // Only this operator's sessions; nothing of the grid's trades, blocks or alerts, nothing of the toll operators.
                foreach (var session in feeds.GetProperty("session").EnumerateArray())
                    Assert.Contains(cpo.Agent.Id.Value, session.GetProperty("operators").EnumerateArray().Select(o => o.GetString()));
                foreach (var kind in new[] { "trade", "block", "alert", "pass", "violation" }) Assert.Equal(0, feeds.GetProperty(kind).GetArrayLength());
                Assert.Equal(0, view.GetProperty("payments").GetInt64());
                // Its zone table holds its chargers' energy, and nothing of the toll operators' passes and tolls.
                foreach (var zone in view.GetProperty("zones").EnumerateArray())
                {
                    Assert.Equal(0, zone.GetProperty("passes").GetInt64());
                    Assert.Equal(0, zone.GetProperty("violations").GetInt64());
                    Assert.Equal(0, zone.GetProperty("tollMinorUnits").GetInt64());
                }
            }
            Assert.Contains(cpoUpdates[^1].View.GetProperty("zones").EnumerateArray(), z => z.GetProperty("sessions").GetInt64() > 0);
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
        using var other = await OperatorAsync("cpo-hub-b", OperatorRoles.ChargePointOperator);
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
        using var authority = Authority();
        using var grid = await OperatorAsync("grid-browser", OperatorRoles.GridOperator);
        using var cpoA = await OperatorAsync("cpo-browser-a", OperatorRoles.ChargePointOperator);
        using var cpoB = await OperatorAsync("cpo-browser-b", OperatorRoles.ChargePointOperator);
        using var bChargerKey = DeviceKeyPair.Generate();
        await cpoB.Agent.EndorseAsync(DeviceId.Of("charger-b-fixed"), DeviceRole.Charger, bChargerKey.PublicKey);

        // Two cities keep running while the browser looks: A's at A's chargers, B's at B's.
        using var stop = new CancellationTokenSource();
        async Task Keep(string prefix, OperatorAgent cpo)
        {
            while (!stop.IsCancellationRequested)
            {
                // Their homes trade in their zones' markets too, which the grid operator watches clear.
                await City(authority).RunAsync(new CityScenario.Options(Vehicles: 4, Chargers: 2, Gantries: 2, Homes: 2, Readings: 40,
                    ReadingInterval: TimeSpan.FromMilliseconds(50), GantryInterval: TimeSpan.FromMilliseconds(300), Prefix: prefix)
                {
                    MarketIntervalMs = DashboardNodeFixture.MarketIntervalMs,
                    MarketIntervals = 2,
                }, CancellationToken.None, grid.Agent, cpo);
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
        // The browser gets viewer keys only; the grid operator's own key is passed to check that it is refused.
        start.Environment["GRID_KEY"] = grid.ViewerSeedHex;
        start.Environment["GRID_ROOT_KEY"] = grid.Agent.ExportKeyHex();
        start.Environment["CPO_A"] = cpoA.Agent.Id.Value;
        start.Environment["CPO_A_KEY"] = cpoA.ViewerSeedHex;
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
        Assert.Contains("# pass 4", await stdout, StringComparison.Ordinal);
        foreach (var shot in new[] { "grid-operator.png", "block-drill-down.png", "market.png", "charge-point-operator.png", "refused.png" })
            Assert.True(File.Exists(Path.Combine(screenshots, shot)), $"screenshot {shot} is missing");
    }
}
