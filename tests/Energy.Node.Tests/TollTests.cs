using System.Text.Json;
using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Tolls;

namespace Energy.Node.Tests;

/// <summary>Tolls at free-flow gantries end to end: agents, the gateway, gantry entities, channels, the ledger.</summary>
public sealed class TollTests(TollNodeFixture fixture) : AgentTest(fixture), IClassFixture<TollNodeFixture>
{

    private sealed record Road(OperatorAgent Tolls, OperatorAgent Fleet, GatewayClient Gateway, IReadOnlyList<GantryAgent> Gantries, SegmentId Zone);

    private static Timestamp Now => Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);

    /// <summary>A toll operator with gantries on a straight road, <paramref name="spacingMetres"/> apart, each priced by its own bands.</summary>
    private async Task<Road> RoadAsync(long[] prices, long spacingMetres = 200, int congestionThreshold = 0, int congestionStep = 0)
    {
        var tolls = Keep(new OperatorAgent(fixture.Client, Network, OperatorId.Of($"tolls-{Run}")));
        var fleet = Keep(new OperatorAgent(fixture.Client, Network, OperatorId.Of($"fleet-{Run}")));
        await fixture.Governance.AdmitAsync(tolls, OperatorRoles.TollOperator);
        await fixture.Governance.AdmitAsync(fleet, OperatorRoles.FleetOwner);
        var zone = SegmentId.Of($"zone-{Run}");
        var gateway = await ConnectAsync();
        var gantries = new List<GantryAgent>();
        for (var i = 0; i < prices.Length; i++)
        {
            var gantry = Keep(new GantryAgent(Network, DeviceId.Of($"gantry-{Run}-{i}"), Currency.Eur));
            await tolls.EndorseAsync(gantry.Id, DeviceRole.Gantry, gantry.PublicKey);
            // The same price all day in two bands, so that the test does not depend on the hour it runs.
            await tolls.SetTariffAsync(new GantryTariff(Network, tolls.Id, gantry.Id, SegmentId.Of($"a1-{Run}-{i}"), zone, i * spacingMetres, 0, 1, Currency.Eur,
                [new TollBand(0, prices[i]), new TollBand(12 * 60, prices[i])], congestionThreshold, congestionStep, 300));
            await gantry.ConnectAsync(gateway);
            gantries.Add(gantry);
        }
        return new Road(tolls, fleet, gateway, gantries, zone);
    }

    private async Task<VehicleAgent> VehicleAsync(Road road, string name, long? deposit = 5_000, long funds = 5_000)
    {
        var vehicle = Keep(new VehicleAgent(Network, DeviceId.Of($"{name}-{Run}")));
        await road.Fleet.EndorseAsync(vehicle.Id, DeviceRole.Vehicle, vehicle.PublicKey);
        await fixture.Governance.Bank.FundAsync(vehicle.Party, new Money(funds, Currency.Eur), $"fund-{vehicle.Id}");
        if (deposit is { } d)
            await vehicle.OpenChannelAsync(fixture.Client, ChannelId.Of($"ch-{vehicle.Id}"), road.Tolls.Party, new Money(d, Currency.Eur), DurationMs.FromSeconds(60));
        await vehicle.ConnectAsync(road.Gateway);
        return vehicle;
    }

    [Fact]
    public async Task A_vehicle_drives_a_route_pays_every_toll_and_the_operators_channel_settles_to_the_exact_sum()
    {
        long[] prices = [120, 85, 240, 60, 199];
        var road = await RoadAsync(prices, spacingMetres: 150);
        var vehicle = await VehicleAsync(road, "car");
        // Driving at 80 km/h: 150 m between gantries takes 6.75 s (detection times in the past, within the network's clock window).
        var start = Now.UnixMilliseconds - 27_000;
        for (var i = 0; i < road.Gantries.Count; i++)
        {
            var outcome = await road.Gantries[i].PassAsync(vehicle.Id, new Timestamp(start + i * 6_750));
            Assert.True(outcome.Paid, $"pass at gantry {i}: {outcome.Violation}");
            Assert.Equal(prices[i], outcome.PaidMinorUnits);
        }
        // The gantry hears the pass paid when the voucher is durable; the vehicle counts it when its own call
        // returns, which may be a moment later.
        await Eventually.Holds(() => vehicle.TollsPaid == prices.Length);

        var settled = await road.Tolls.CloseChannelAsync(vehicle.ChannelTo(road.Tolls.Party)!.Id);
        var payouts = settled.GetProperty("payouts").EnumerateArray().ToDictionary(p => p.GetProperty("account").GetString()!, p => p.GetProperty("amount").GetProperty("minorUnits").GetInt64());
        Assert.Equal(prices.Sum(), payouts[road.Tolls.Party.Value]);
        Assert.Equal(5_000 - prices.Sum(), payouts[vehicle.Party.Value]);
        var account = await fixture.Api.GetAsync($"/api/accounts/{road.Tolls.Party}");
        Assert.Equal(prices.Sum(), account.Body.GetProperty("balance").GetProperty("minorUnits").GetInt64());

        // The zone saw one vehicle at 80 km/h; no violations, no alerts for it.
        var zone = await fixture.Api.GetAsync($"/api/zones/{road.Zone}");
        Assert.Equal(1, zone.Body.GetProperty("vehiclesLastMinute").GetInt32());
        Assert.Equal(80.0, zone.Body.GetProperty("averageSpeedKmh").GetDouble(), 1);
        Assert.Equal(0, (await fixture.Api.GetAsync($"/api/tolls/{road.Tolls.Id}/violations")).Body.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task A_vehicle_that_counted_a_voucher_its_channel_never_took_reads_the_channel_back_and_pays_its_next_pass()
    {
        var road = await RoadAsync([150]);
        var gantry = road.Gantries[0];
        var vehicle = await VehicleAsync(road, "drifted");
        var channel = vehicle.ChannelTo(road.Tolls.Party)!;
        // A voucher the channel never took (its pass resolved before it arrived) that the vehicle counted all the same.
        lock (channel.Gate)
        {
            channel.Cumulative = channel.Cumulative.Add(new Money(40, Currency.Eur)).Unwrap();
            channel.Sequence++;
        }

        var missed = await gantry.PassAsync(vehicle.Id);
        Assert.False(missed.Paid);
        Assert.Equal("invalidAnswer", missed.Violation);
        // The refused voucher took nothing: the vehicle reads back the channel as the network holds it.
        await Eventually.Holds(() => { lock (channel.Gate) return channel.Cumulative.MinorUnits == 0; });

        var next = await gantry.PassAsync(vehicle.Id);
        Assert.True(next.Paid, next.Violation);
        var held = await fixture.Api.GetAsync($"/api/channels/{channel.Id}");
        Assert.Equal(150, held.Body.GetProperty("paid").GetProperty("minorUnits").GetInt64());
    }

    [Fact]
    public async Task Each_cause_of_non_payment_produces_exactly_one_violation_record()
    {
        var road = await RoadAsync([150]);
        var gantry = road.Gantries[0];
        var noChannel = await VehicleAsync(road, "nochannel", deposit: null);
        var exhausted = await VehicleAsync(road, "exhausted", deposit: 100);
        var underpays = await VehicleAsync(road, "underpays");
        underpays.Tolls = VehicleAgent.TollAnswer.Underpay;
        var silent = await VehicleAsync(road, "silent");
        silent.Tolls = VehicleAgent.TollAnswer.Ignore;

        var expected = new Dictionary<string, string>
        {
            [noChannel.Id.Value] = "noChannel",
            [exhausted.Id.Value] = "depositExhausted",
            [underpays.Id.Value] = "invalidAnswer",
            [silent.Id.Value] = "late",
        };
        foreach (var vehicle in new[] { noChannel, exhausted, underpays, silent })
        {
            var outcome = await gantry.PassAsync(vehicle.Id);
            Assert.False(outcome.Paid);
            Assert.Equal(expected[vehicle.Id.Value], outcome.Violation);
        }

        // Filed with the toll office exactly once each.
        JsonElement list = default;
        await Eventually.Holds(async () =>
        {
            list = (await fixture.Api.GetAsync($"/api/tolls/{road.Tolls.Id}/violations")).Body;
            return list.GetProperty("total").GetInt64() >= 4;
        });
        Assert.Equal(4, list.GetProperty("total").GetInt64());
        var records = list.GetProperty("latest").EnumerateArray().ToList();
        Assert.Equal(4, records.Select(r => r.GetProperty("id").GetString()).Distinct().Count());
        Assert.Equal(expected.OrderBy(e => e.Key), records.Select(r => KeyValuePair.Create(r.GetProperty("vehicle").GetString()!, r.GetProperty("cause").GetString()!)).OrderBy(e => e.Key));
        var view = await fixture.Api.GetAsync($"/api/gantries/{gantry.Id}");
        Assert.Equal((4L, 0L, 4L), (view.Body.GetProperty("passes").GetInt64(), view.Body.GetProperty("paid").GetInt64(), view.Body.GetProperty("violations").GetInt64()));
    }

    [Fact]
    public async Task Hostile_toll_requests_and_answers_are_refused_by_name_and_change_nothing()
    {
        var road = await RoadAsync([150, 150]);
        var gantry = road.Gantries[0];
        var car = await VehicleAsync(road, "car");
        var other = await VehicleAsync(road, "other");

        // A request signed by another gantry in this gantry's name, at the wrong price, for another segment, too old.
        var forged = road.Gantries[1].SignRequest(car.Id, Now, 150, SegmentId.Of($"a1-{Run}-0"), gantry: gantry.Id);
        Assert.Equal("InvalidSignature", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(gantry.Id, "toll.pass", new { request = Convert.ToBase64String(forged.Wire) }))).Code);
        var othersRequest = road.Gantries[1].SignRequest(car.Id, Now, 150);
        Assert.Equal("TollRequestRefused", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(gantry.Id, "toll.pass", new { request = Convert.ToBase64String(othersRequest.Wire) }))).Code);
        Assert.Equal(nameof(TollPriceChanged), (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(gantry.Id, "toll.pass", new { request = Convert.ToBase64String(gantry.SignRequest(car.Id, Now, 1).Wire) }))).Code);
        Assert.Equal("TollRequestRefused", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(gantry.Id, "toll.pass", new { request = Convert.ToBase64String(gantry.SignRequest(car.Id, Now, 150, SegmentId.Of("elsewhere")).Wire) }))).Code);
        Assert.Equal("TollRequestRefused", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(gantry.Id, "toll.pass", new { request = Convert.ToBase64String(gantry.SignRequest(car.Id, new Timestamp(Now.UnixMilliseconds - 120_000), 150).Wire) }))).Code);
        // A vehicle cannot send toll requests; another vehicle cannot pay someone else's pass.
        Assert.Equal("GantryNotConfigured", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(car.Id, "toll.pass", new { request = Convert.ToBase64String(gantry.SignRequest(car.Id, Now, 150).Wire) }))).Code);

        car.Tolls = VehicleAgent.TollAnswer.Ignore;
        var request = gantry.SignRequest(car.Id, Now, 150);
        var pass = (await road.Gateway.CallAsync(gantry.Id, "toll.pass", new { request = Convert.ToBase64String(request.Wire) })).GetProperty("pass").GetString()!;
        // The same request again is the same pass, not a second toll.
        Assert.Equal(pass, (await road.Gateway.CallAsync(gantry.Id, "toll.pass", new { request = Convert.ToBase64String(request.Wire) })).GetProperty("pass").GetString());
        var theirs = other.SignVoucher(other.ChannelTo(road.Tolls.Party)!.Id, 1, new Money(150, Currency.Eur), new Money(150, Currency.Eur), PaymentPurpose.ForTollPass(pass).Unwrap());
        Assert.Equal("NotPassVehicle", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(other.Id, "toll.pay", new { pass, voucher = Convert.ToBase64String(theirs) }))).Code);
        Assert.Equal("PassNotFound", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(car.Id, "toll.pay", new { pass = $"{gantry.Id}.999", voucher = Convert.ToBase64String(theirs) }))).Code);

        await Eventually.Holds(async () => (await fixture.Api.GetAsync($"/api/gantries/{gantry.Id}")).Body.GetProperty("violations").GetInt64() == 1);
        var view = (await fixture.Api.GetAsync($"/api/gantries/{gantry.Id}")).Body;
        Assert.Equal((1L, 0L), (view.GetProperty("passes").GetInt64(), view.GetProperty("paid").GetInt64()));
        Assert.Equal(0, (await fixture.Api.GetAsync($"/api/channels/{other.ChannelTo(road.Tolls.Party)!.Id}")).Body.GetProperty("paid").GetProperty("minorUnits").GetInt64());
    }

    [Fact]
    public async Task A_replayed_payment_or_decline_of_a_paid_pass_is_answered_with_the_pass_as_it_stands_and_another_vehicle_cannot_decline_it()
    {
        var road = await RoadAsync([150]);
        var gantry = road.Gantries[0];
        var car = await VehicleAsync(road, "payer");
        var other = await VehicleAsync(road, "bystander");
        car.Tolls = VehicleAgent.TollAnswer.Ignore;
        var pass = (await road.Gateway.CallAsync(gantry.Id, "toll.pass", new { request = Convert.ToBase64String(gantry.SignRequest(car.Id, Now, 150).Wire) }))
            .GetProperty("pass").GetString()!;
        var channel = car.ChannelTo(road.Tolls.Party)!;
        var voucher = Convert.ToBase64String(car.SignVoucher(channel.Id, 1, new Money(150, Currency.Eur), new Money(150, Currency.Eur), PaymentPurpose.ForTollPass(pass).Unwrap()));

        // Another vehicle may not decline the pass, before or after it is paid.
        Assert.Equal("NotPassVehicle", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(other.Id, "toll.decline", new { pass, reason = "NoChannel" }))).Code);
        Assert.Equal("paid", (await road.Gateway.CallAsync(car.Id, "toll.pay", new { pass, voucher })).GetProperty("status").GetString());

        // The same payment again, and a decline after it, only hear the pass as it stands: paid once.
        Assert.Equal("paid", (await road.Gateway.CallAsync(car.Id, "toll.pay", new { pass, voucher })).GetProperty("status").GetString());
        Assert.Equal("paid", (await road.Gateway.CallAsync(car.Id, "toll.decline", new { pass, reason = "NoChannel" })).GetProperty("status").GetString());
        Assert.Equal("NotPassVehicle", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            road.Gateway.CallAsync(other.Id, "toll.decline", new { pass, reason = "NoChannel" }))).Code);
        var view = (await fixture.Api.GetAsync($"/api/gantries/{gantry.Id}")).Body;
        Assert.Equal((1L, 1L, 0L), (view.GetProperty("passes").GetInt64(), view.GetProperty("paid").GetInt64(), view.GetProperty("violations").GetInt64()));
        Assert.Equal(150, (await fixture.Api.GetAsync($"/api/channels/{channel.Id}")).Body.GetProperty("paid").GetProperty("minorUnits").GetInt64());
    }

    [Fact]
    public async Task A_cloned_identity_at_two_distant_gantries_raises_one_alert_and_after_quarantine_its_vouchers_are_refused()
    {
        // Two gantries 50 km apart.
        var road = await RoadAsync([100, 100], spacingMetres: 50_000);
        var car = await VehicleAsync(road, "cloned");
        var now = Now.UnixMilliseconds;
        foreach (var (gantry, at) in new[] { (0, now - 2_000), (1, now - 1_000), (0, now) })
        {
            // The second pass is the clone seen 50 km away a second later; the third, the clone going on: still one alert.
            var pass = await road.Gantries[gantry].PassAsync(car.Id, new Timestamp(at));
            Assert.True(pass.Paid, pass.Violation);
        }

        JsonElement alerts = default;
        await Eventually.Holds(async () =>
        {
            alerts = (await fixture.Api.GetAsync("/api/alerts")).Body;
            return alerts.GetProperty("latest").EnumerateArray().Any(a => a.GetProperty("device").GetString() == car.Id.Value);
        });
        var clones = alerts.GetProperty("latest").EnumerateArray().Where(a => a.GetProperty("device").GetString() == car.Id.Value && a.GetProperty("kind").GetString() == "cloned-identity").ToList();
        Assert.Single(clones);
        Assert.True((await fixture.Api.GetAsync($"/api/devices/{car.Id}")).Body.GetProperty("cloneAlertOpen").GetBoolean());

        // The toll operator only reports the clone; the grid operator quarantines the identity: its vouchers are refused,
        // at the gantry and straight at the channel.
        Assert.Equal("NotPermitted", (await Assert.ThrowsAsync<NodeClient.NodeRefusedException>(() => road.Tolls.QuarantineAsync(car.Id, true))).Code);
        await fixture.Governance.Grid.QuarantineAsync(car.Id, true);
        Assert.True((await fixture.Api.GetAsync($"/api/devices/{car.Id}")).Body.GetProperty("quarantined").GetBoolean());
        var refused = await road.Gantries[1].PassAsync(car.Id);
        Assert.False(refused.Paid);
        Assert.Equal("invalidAnswer", refused.Violation);
        var channel = car.ChannelTo(road.Tolls.Party)!;
        var direct = await fixture.Api.PostSignedAsync($"/api/channels/{channel.Id}/vouchers", car.SignVoucher(channel.Id, channel.Sequence + 1, channel.Cumulative.Add(new Money(1, Currency.Eur)).Value, new Money(1, Currency.Eur), PaymentPurpose.None));
        Assert.Equal("PartyQuarantined", direct.Code);
        Assert.Equal(300, (await fixture.Api.GetAsync($"/api/channels/{channel.Id}")).Body.GetProperty("paid").GetProperty("minorUnits").GetInt64());

        // An operator that is neither the device's operator nor a grid operator cannot release it; the device's own operator can.
        var stranger = Keep(new OperatorAgent(fixture.Client, Network, OperatorId.Of($"stranger-{Run}")));
        await fixture.Governance.AdmitAsync(stranger, OperatorRoles.ChargePointOperator);
        var notAllowed = await Assert.ThrowsAsync<NodeClient.NodeRefusedException>(() => stranger.QuarantineAsync(car.Id, false));
        Assert.Equal("NotPermitted", notAllowed.Code);
        await road.Fleet.QuarantineAsync(car.Id, false);
        Assert.False((await fixture.Api.GetAsync($"/api/devices/{car.Id}")).Body.GetProperty("quarantined").GetBoolean());
    }

    [Fact]
    public async Task Congestion_pricing_follows_the_vehicles_in_the_zone()
    {
        // Above two vehicles in the zone in the last minute: +50 % per vehicle over.
        var road = await RoadAsync([100], congestionThreshold: 2, congestionStep: 50);
        var gantry = road.Gantries[0];
        Assert.Equal(100, gantry.Price);
        for (var i = 0; i < 3; i++)
        {
            var vehicle = await VehicleAsync(road, $"v{i}");
            var pass = await gantry.PassAsync(vehicle.Id);
            Assert.True(pass.Paid, pass.Violation);
        }
        // The gantry is told its new price once the zone counts three vehicles.
        await Eventually.Holds(() => gantry.Price == 150);
        var zone = (await fixture.Api.GetAsync($"/api/zones/{road.Zone}")).Body;
        Assert.Equal(3, zone.GetProperty("vehiclesLastMinute").GetInt32());
        var fourth = await VehicleAsync(road, "v3");
        var outcome = await gantry.PassAsync(fourth.Id);
        Assert.Equal(150, outcome.PaidMinorUnits);
    }

    [Fact]
    public async Task A_gantry_that_missed_a_price_change_is_told_the_new_price_and_its_pass_is_paid()
    {
        var road = await RoadAsync([100]);
        var gantry = road.Gantries[0];
        // The operator changes the price twice before the gantry has passed anyone: the gantry's 100 is neither the
        // price nor the one before it, so its first request is refused, it is told the price, and it asks again.
        foreach (var (version, price) in new[] { (2UL, 150L), (3UL, 180L) })
        {
            await road.Tolls.SetTariffAsync(new GantryTariff(Network, road.Tolls.Id, gantry.Id, SegmentId.Of($"a1-{Run}-0"), road.Zone, 0, 0, version, Currency.Eur,
                [new TollBand(0, price)], 0, 0, 100));
        }
        Assert.Equal(100, gantry.Price);

        var vehicle = await VehicleAsync(road, "car");
        var outcome = await gantry.PassAsync(vehicle.Id);
        Assert.True(outcome.Paid, outcome.Violation);
        Assert.Equal(180, outcome.PaidMinorUnits);
        Assert.Equal(180, gantry.Price);
        var view = (await fixture.Api.GetAsync($"/api/gantries/{gantry.Id}")).Body;
        Assert.Equal((1L, 1L, 0L), (view.GetProperty("passes").GetInt64(), view.GetProperty("paid").GetInt64(), view.GetProperty("violations").GetInt64()));
    }
}
