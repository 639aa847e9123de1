using Energy.Agents;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using Energy.Lifecycles.Registry;

namespace Energy.Node.Tests;

/// <summary>A node as strangers and rival operators find it: nothing but its HTTP port.</summary>
public sealed class RedTeamNodeFixture() : AgentNodeFixture();

/// <summary>
/// One test per attack on the consortium's rules, each named by what the attacker tries. Every attack is
/// refused by name, and what it aimed at (admissions, balances, issuance, quarantines, what is seen) is
/// unchanged afterwards.
/// </summary>
public sealed class RedTeamTests(RedTeamNodeFixture fixture) : AgentTest(fixture), IClassFixture<RedTeamNodeFixture>
{
    private ApiClient Grid => fixture.Api;

    private static Money Eur(long units) => new(units, Currency.Eur);

    private static void AssertRefused(ApiAnswer answer, int status, string code)
    {
        Assert.Equal(code, answer.Code);
        Assert.Equal(status, answer.Status);
    }

    /// <summary>An admitted operator with its own key, as an agent.</summary>
    private async Task<(OperatorAgent Agent, DeviceKeyPair Key)> OperatorAsync(string name, OperatorRoles roles)
    {
        var key = DeviceKeyPair.Generate();
        var agent = Keep(new OperatorAgent(fixture.Client, Network, OperatorId.Of($"{name}-{Run}"), DeviceKeyPair.FromSeed(key.ExportSeed()).Unwrap()));
        await fixture.Governance.AdmitAsync(agent, roles);
        return (agent, Keep(key));
    }

    private async Task<long> MintedAsync() => (await Grid.GetAsync("/api/ledger/totals")).Body.GetProperty("mintedMinorUnits").GetInt64();

    private async Task<long> BalanceAsync(PartyId account)
    {
        var answer = await Grid.GetAsync($"/api/accounts/{account}");
        return answer.Ok ? answer.Body.GetProperty("balance").GetProperty("minorUnits").GetInt64() : 0;
    }

    [Fact]
    public async Task A_stranger_admitting_itself_as_grid_operator_and_settlement_bank_is_refused()
    {
        using var stranger = DeviceKeyPair.Generate();
        var id = OperatorId.Of($"mallory-{Run}");
        var selfSigned = AuthorityApproved<Admission>.Sign(new Admission(Network, id, OperatorRoles.GridOperator | OperatorRoles.SettlementBank,
            stranger.PublicKey, 1, Eur(1_000_000_000), Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), [(0, stranger)]);

        AssertRefused(await Grid.PostSignedAsync($"/api/operators/{id}/admission", selfSigned.ToArray()), 403, "InvalidSignature");
        // The registration of before, without any admission, is gone.
        Assert.False((await Grid.PostAsync("/api/operators", new { operatorId = id.Value, role = "gridOperator", publicKey = stranger.PublicKey.Hex })).Ok);
        AssertRefused(await Grid.GetAsync($"/api/operators/{id}"), 404, "OperatorNotFound");
    }

    [Fact]
    public async Task An_admitted_operator_that_is_not_a_bank_minting_money_is_refused_and_nothing_is_minted()
    {
        var (fleet, fleetKey) = await OperatorAsync("fleet", OperatorRoles.FleetOwner | OperatorRoles.GridOperator);
        var minted = await MintedAsync();
        var order = Signed<FundingOrder>.Sign(new FundingOrder(Network, fleet.Id, fleet.Party, Eur(1_000_000), $"print-{Run}"), fleetKey).ToArray();

        AssertRefused(await Grid.PostSignedAsync($"/api/accounts/{fleet.Party}/mint", order), 403, "NotASettlementBank");
        Assert.Equal(minted, await MintedAsync());
        Assert.Equal(0, await BalanceAsync(fleet.Party));
    }

    [Fact]
    public async Task A_settlement_bank_minting_beyond_its_issuance_limit_is_refused_and_the_totals_name_the_bank()
    {
        using var bankKey = DeviceKeyPair.Generate();
        var bank = OperatorId.Of($"bank-{Run}");
        Assert.True((await Grid.PostSignedAsync($"/api/operators/{bank}/admission",
            Governance.Admission(fixture.Node, bank, bankKey.PublicKey, OperatorRoles.SettlementBank, issuanceLimit: 1_000))).Ok);
        var account = PartyId.From(bank);
        byte[] Order(long amount, string request) => Signed<FundingOrder>.Sign(new FundingOrder(Network, bank, account, Eur(amount), request), bankKey).ToArray();

        Assert.True((await Grid.PostSignedAsync($"/api/accounts/{account}/mint", Order(800, "a"))).Ok);
        Assert.True((await Grid.PostSignedAsync($"/api/accounts/{account}/mint", Order(800, "a"))).Ok); // the same order again: counted once
        AssertRefused(await Grid.PostSignedAsync($"/api/accounts/{account}/mint", Order(300, "b")), 403, "IssuanceLimitExceeded");

        Assert.Equal(800, await BalanceAsync(account));
        var totals = (await Grid.GetAsync("/api/ledger/totals")).Body;
        Assert.Equal(800, totals.GetProperty("mintedByBank").GetProperty(bank.Value).GetInt64());
        Assert.True(totals.GetProperty("conserved").GetBoolean());
    }

    [Fact]
    public async Task An_operator_endorsing_a_device_named_like_another_operator_cannot_take_that_operators_money()
    {
        var (victim, _) = await OperatorAsync("cpo", OperatorRoles.ChargePointOperator);
        await fixture.Governance.Bank.FundAsync(victim.Party, Eur(5_000), $"fund-victim-{Run}");
        var (attacker, _) = await OperatorAsync("fleet", OperatorRoles.FleetOwner);
        using var deviceKey = DeviceKeyPair.Generate();
        var lookalike = DeviceId.Of(victim.Id.Value);

        var refused = await Assert.ThrowsAsync<NodeClient.NodeRefusedException>(() => attacker.EndorseAsync(lookalike, DeviceRole.Vehicle, deviceKey.PublicKey));
        Assert.Equal("PartyKindConflict", refused.Code);
        // Signed by the attacker's key, a withdrawal or a channel paying from the operator's account does not verify.
        AssertRefused(await Grid.PostSignedAsync($"/api/accounts/{victim.Party}/withdraw",
            Signed<WithdrawalOrder>.Sign(new WithdrawalOrder(Network, victim.Party, Eur(5_000), $"steal-{Run}"), deviceKey).ToArray()), 403, "InvalidSignature");
        var channel = ChannelId.Of($"steal-{Run}");
        AssertRefused(await Grid.PostSignedAsync($"/api/channels/{channel}/open", Signed<StreamingOpening>.Sign(
            new StreamingOpening(Network, channel, victim.Party, attacker.Party, Eur(5_000), DurationMs.FromSeconds(60)), deviceKey).ToArray()), 403, "InvalidSignature");
        Assert.Equal(5_000, await BalanceAsync(victim.Party));
        AssertRefused(await Grid.GetAsync($"/api/devices/{lookalike}"), 404, "DeviceNotFound");
    }

    [Fact]
    public async Task An_operator_endorsing_a_kind_of_device_its_roles_do_not_cover_is_refused()
    {
        var (tolls, _) = await OperatorAsync("tolls", OperatorRoles.TollOperator);
        using var key = DeviceKeyPair.Generate();
        var charger = DeviceId.Of($"charger-{Run}");
        var refused = await Assert.ThrowsAsync<NodeClient.NodeRefusedException>(() => tolls.EndorseAsync(charger, DeviceRole.Charger, key.PublicKey));
        Assert.Equal("RoleNotHeld", refused.Code);
        AssertRefused(await Grid.GetAsync($"/api/devices/{charger}"), 404, "DeviceNotFound");
    }

    private async Task<(OperatorAgent Fleet, VehicleAgent Vehicle)> VehicleAsync()
    {
        var (fleet, _) = await OperatorAsync("fleet", OperatorRoles.FleetOwner);
        var vehicle = Keep(new VehicleAgent(Network, DeviceId.Of($"vehicle-{Run}")));
        await fleet.EndorseAsync(vehicle.Id, DeviceRole.Vehicle, vehicle.PublicKey);
        return (fleet, vehicle);
    }

    private async Task<bool> QuarantinedAsync(DeviceId device) => (await Grid.GetAsync($"/api/devices/{device}")).Body.GetProperty("quarantined").GetBoolean();

    [Fact]
    public async Task A_toll_operator_quarantining_another_operators_vehicle_is_refused()
    {
        var (_, vehicle) = await VehicleAsync();
        var (tolls, _) = await OperatorAsync("tolls", OperatorRoles.TollOperator);
        var refused = await Assert.ThrowsAsync<NodeClient.NodeRefusedException>(() => tolls.QuarantineAsync(vehicle.Id, quarantined: true));
        Assert.Equal("NotPermitted", refused.Code);
        Assert.False(await QuarantinedAsync(vehicle.Id));
        // The grid operator may.
        await fixture.Governance.Grid.QuarantineAsync(vehicle.Id, quarantined: true);
        Assert.True(await QuarantinedAsync(vehicle.Id));
    }

    [Fact]
    public async Task A_replayed_or_stale_quarantine_order_is_refused()
    {
        var (fleet, vehicle) = await VehicleAsync();
        var quarantine = fleet.QuarantineOrder(vehicle.Id, quarantined: true, version: 10).ToArray();
        var release = fleet.QuarantineOrder(vehicle.Id, quarantined: false, version: 11).ToArray();
        Assert.True((await Grid.PostSignedAsync($"/api/devices/{vehicle.Id}/quarantine", quarantine)).Ok);
        Assert.True((await Grid.PostSignedAsync($"/api/devices/{vehicle.Id}/quarantine", release)).Ok);

        AssertRefused(await Grid.PostSignedAsync($"/api/devices/{vehicle.Id}/quarantine", quarantine), 409, "StaleOrder");
        Assert.False(await QuarantinedAsync(vehicle.Id));
        using var key = DeviceKeyPair.FromSeed(Convert.FromHexString(fleet.ExportKeyHex())).Unwrap();
        var old = Signed<Quarantine>.Sign(new Quarantine(Network, fleet.Id, vehicle.Id, true, 12,
            Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1))), key).ToArray();
        AssertRefused(await Grid.PostSignedAsync($"/api/devices/{vehicle.Id}/quarantine", old), 409, "StaleOrder");
        Assert.False(await QuarantinedAsync(vehicle.Id));
    }

    [Fact]
    public async Task A_stranger_reading_the_api_gets_401_from_every_read_and_only_health_and_the_api_description()
    {
        using var stranger = Grid.Anonymous();
        foreach (var path in new[]
                 {
                     "/api/me", $"/api/operators/{fixture.Governance.Grid.Id}", "/api/devices/anything", $"/api/accounts/{fixture.Governance.Bank.Party}",
                     "/api/channels/anything", "/api/duplex-channels/anything", "/api/sessions/s-1", "/api/alerts", "/api/gantries/anything",
                     "/api/tolls/anyone/violations", "/api/zones/zone-1", "/api/ledger/totals", "/api/ledger/shards", "/api/ledger/ledger-0/blocks",
                     "/api/ledger/ledger-0/audit", "/api/ledger/nodes", "/api/cluster",
                 })
            AssertRefused(await stranger.GetAsync(path), 401, "Unauthenticated");
        Assert.True((await stranger.GetAsync("/health")).Ok);
        // Orchestrators ask without credentials: liveness and readiness answer anyone, and name no address.
        foreach (var path in new[] { "/health/live", "/health/ready" })
        {
            var health = await stranger.GetAsync(path);
            Assert.True(health.Ok, path);
            Assert.DoesNotContain("127.0.0.1", health.Body.GetRawText(), StringComparison.Ordinal);
        }
        Assert.True((await stranger.GetAsync("/openapi/v1.json")).Ok);
    }

    [Fact]
    public async Task A_signed_read_replayed_forged_stale_or_moved_to_another_path_is_refused()
    {
        var (cpo, cpoKey) = await OperatorAsync("cpo", OperatorRoles.ChargePointOperator);
        var path = $"/api/accounts/{cpo.Party}";
        var header = ApiClient.SignRead(cpo.Party, cpoKey, path);
        Assert.True((await Grid.GetWithAuthorizationAsync(path, header)).Ok);
        AssertRefused(await Grid.GetWithAuthorizationAsync(path, header), 401, "Unauthenticated"); // the same signed read again
        AssertRefused(await Grid.GetWithAuthorizationAsync($"/api/operators/{cpo.Id}", ApiClient.SignRead(cpo.Party, cpoKey, path)), 401, "Unauthenticated");
        AssertRefused(await Grid.GetWithAuthorizationAsync(path, ApiClient.SignRead(cpo.Party, cpoKey, path,
            at: Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-10)))), 401, "Unauthenticated");
        using var forger = DeviceKeyPair.Generate();
        AssertRefused(await Grid.GetWithAuthorizationAsync(path, ApiClient.SignRead(cpo.Party, forger, path)), 401, "Unauthenticated");
        AssertRefused(await Grid.GetWithAuthorizationAsync(path, ApiClient.SignRead(cpo.Party, cpoKey, path, NetworkId.Of("elsewhere"))), 401, "Unauthenticated");
        AssertRefused(await Grid.GetWithAuthorizationAsync(path, "Energy bm90IGEgc2lnbmVkIHJlcXVlc3Q="), 401, "Unauthenticated");
    }

    [Fact]
    public async Task Another_tenant_reading_what_is_not_its_own_gets_403_and_sees_nothing()
    {
        var (fleet, vehicle) = await VehicleAsync();
        await fixture.Governance.Bank.FundAsync(vehicle.Party, Eur(1_000), $"fund-{Run}");
        var (cpo, cpoKey) = await OperatorAsync("cpo", OperatorRoles.ChargePointOperator);
        var channel = ChannelId.Of($"ch-{Run}");
        await vehicle.OpenChannelAsync(fixture.Client, channel, cpo.Party, Eur(500), DurationMs.FromSeconds(60));
        var (rival, rivalKey) = await OperatorAsync("rival", OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner | OperatorRoles.TollOperator);
        using var asRival = Grid.As(rival.Party, rivalKey);

        foreach (var path in new[]
                 {
                     $"/api/accounts/{vehicle.Party}", $"/api/accounts/{cpo.Party}", $"/api/devices/{vehicle.Id}", $"/api/channels/{channel}",
                     $"/api/operators/{cpo.Id}", $"/api/tolls/{cpo.Id}/violations", "/api/ledger/totals", "/api/ledger/ledger-0/audit", "/api/ledger/ledger-0/blocks",
                 })
        {
            var answer = await asRival.GetAsync(path);
            AssertRefused(answer, 403, "NotVisible");
            Assert.DoesNotContain("minorUnits", answer.Body.ToString());
        }
        // The owners see their own: the fleet its vehicle and its account, the payee the channel, the vehicle itself.
        using var asFleet = Grid.As(fleet.Party, DeviceKeyPair.FromSeed(Convert.FromHexString(fleet.ExportKeyHex())).Unwrap());
        Assert.True((await asFleet.GetAsync($"/api/accounts/{vehicle.Party}")).Ok);
        Assert.True((await asFleet.GetAsync($"/api/devices/{vehicle.Id}")).Ok);
        using var asCpo = Grid.As(cpo.Party, cpoKey);
        Assert.True((await asCpo.GetAsync($"/api/channels/{channel}")).Ok);
        AssertRefused(await asCpo.GetAsync($"/api/accounts/{vehicle.Party}"), 403, "NotVisible");
        using var asVehicle = Grid.As(vehicle.Party, vehicle.ExportKey());
        Assert.True((await asVehicle.GetAsync($"/api/channels/{channel}")).Ok);
        Assert.True((await asVehicle.GetAsync($"/api/accounts/{vehicle.Party}")).Ok);
        AssertRefused(await asVehicle.GetAsync($"/api/accounts/{cpo.Party}"), 403, "NotVisible");

        // An alert about the fleet's vehicle is the fleet's (and the grid operator's), never the rival's.
        await fleet.QuarantineAsync(vehicle.Id, quarantined: true);
        await Eventually.Holds(async () => (await asFleet.GetAsync("/api/alerts")).Body.ToString().Contains(vehicle.Id.Value, StringComparison.Ordinal));
        var rivalAlerts = await asRival.GetAsync("/api/alerts");
        Assert.True(rivalAlerts.Ok);
        Assert.DoesNotContain(vehicle.Id.Value, rivalAlerts.Body.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_tenant_reading_a_session_a_duplex_channel_a_gantry_or_a_zone_that_is_not_its_own_gets_403()
    {
        // A charge point operator's charger charges a fleet's vehicle; two homes of a grid operator trade; a toll operator runs a gantry.
        var (fleet, vehicle) = await VehicleAsync();
        var (cpo, cpoKey) = await OperatorAsync("cpo", OperatorRoles.ChargePointOperator);
        var (tolls, tollsKey) = await OperatorAsync("tolls", OperatorRoles.TollOperator);
        var charger = Keep(new ChargerAgent(Network, DeviceId.Of($"charger-{Run}"), Currency.Eur, registerWh: 1_000));
        await cpo.EndorseAsync(charger.Id, DeviceRole.Charger, charger.PublicKey);
        await fixture.Governance.Bank.FundAsync(vehicle.Party, Eur(1_000), $"fund-{Run}");
        var channel = ChannelId.Of($"ch-{Run}");
        vehicle.PlugInto(charger.Id);
        await vehicle.OpenChannelAsync(fixture.Client, channel, cpo.Party, Eur(500), DurationMs.FromSeconds(60));
        var gateway = await ConnectAsync();
        await charger.ConnectAsync(gateway);
        await vehicle.ConnectAsync(gateway);
        var session = $"s-{Run}";
        await charger.ChargeAsync(SessionId.Of(session), vehicle.Id, readings: 2, whPerReading: 100, pricePerKwh: 30, credit: 40, TimeSpan.Zero);

        var (grid, gridKey) = await OperatorAsync("homes", OperatorRoles.GridOperator);
        var seller = Keep(new HomeAgent(Network, DeviceId.Of($"home-a-{Run}")));
        var buyer = Keep(new HomeAgent(Network, DeviceId.Of($"home-b-{Run}")));
        await grid.EndorseAsync(seller.Id, DeviceRole.Meter, seller.PublicKey);
        await grid.EndorseAsync(buyer.Id, DeviceRole.Meter, buyer.PublicKey);
        await fixture.Governance.Bank.FundAsync(buyer.Party, Eur(100), $"fund-home-{Run}");
        var duplex = ChannelId.Of($"dx-{Run}");
        await seller.SellAsync(fixture.Client, buyer, duplex, intervals: 1, whPerInterval: 100, Eur(20), Eur(50), CancellationToken.None);

        var gantry = Keep(new GantryAgent(Network, DeviceId.Of($"gantry-{Run}"), Currency.Eur));
        await tolls.EndorseAsync(gantry.Id, DeviceRole.Gantry, gantry.PublicKey);
        var zone = SegmentId.Of($"zone-{Run}");
        await tolls.SetTariffAsync(new GantryTariff(Network, tolls.Id, gantry.Id, SegmentId.Of($"a1-{Run}"), zone, 0, 0, 1, Currency.Eur,
            [new TollBand(0, 50)], 100, 10, 300));

        // A rival holding every role an operator may hold without governing the network, and one of its own devices.
        var (rival, rivalKey) = await OperatorAsync("rival", OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner);
        using var asRival = Grid.As(rival.Party, rivalKey);
        foreach (var path in new[] { $"/api/sessions/{session}", $"/api/duplex-channels/{duplex}", $"/api/gantries/{gantry.Id}", $"/api/zones/{zone}" })
        {
            var answer = await asRival.GetAsync(path);
            AssertRefused(answer, 403, "NotVisible");
            Assert.DoesNotContain("minorUnits", answer.Body.ToString());
        }
        // Parties see what is between them, operators what their devices are part of, and no more.
        using var asCpo = Grid.As(cpo.Party, cpoKey);
        using var asVehicle = Grid.As(vehicle.Party, vehicle.ExportKey());
        using var asGrid = Grid.As(grid.Party, gridKey);
        using var asTolls = Grid.As(tolls.Party, tollsKey);
        Assert.True((await asCpo.GetAsync($"/api/sessions/{session}")).Ok);
        Assert.True((await asVehicle.GetAsync($"/api/sessions/{session}")).Ok);
        AssertRefused(await asCpo.GetAsync($"/api/duplex-channels/{duplex}"), 403, "NotVisible");
        AssertRefused(await asTolls.GetAsync($"/api/sessions/{session}"), 403, "NotVisible");
        Assert.True((await asTolls.GetAsync($"/api/gantries/{gantry.Id}")).Ok);
        Assert.True((await asTolls.GetAsync($"/api/zones/{zone}")).Ok);
        AssertRefused(await asCpo.GetAsync($"/api/gantries/{gantry.Id}"), 403, "NotVisible");
        // The homes' grid operator governs: it sees every channel and session, as the network's overseer.
        Assert.True((await asGrid.GetAsync($"/api/duplex-channels/{duplex}")).Ok);
        Assert.True((await asGrid.GetAsync($"/api/sessions/{session}")).Ok);
    }

    [Fact]
    public async Task The_audit_is_read_by_the_grid_operator_only_page_by_page()
    {
        await fixture.Governance.Bank.FundAsync(fixture.Governance.Bank.Party, Eur(10), $"audit-{Run}");
        var shard = (await Grid.GetAsync("/api/ledger/shards")).Body.EnumerateArray().Select(s => s.GetString()!).First();
        var first = await Grid.GetAsync($"/api/ledger/{shard}/audit?from=1&count=1");
        Assert.True(first.Body.GetProperty("intact").GetBoolean());
        Assert.True(first.Body.GetProperty("blocksChecked").GetUInt64() <= 1);
        var beyond = await Grid.GetAsync($"/api/ledger/{shard}/audit?from=1000000&count=5");
        Assert.False(beyond.Body.GetProperty("intact").GetBoolean()); // the block before the page is missing: named, not hidden
    }

    [Fact]
    public async Task An_operator_using_its_key_after_the_authority_rotated_it_is_refused()
    {
        var (fleet, oldKey) = await OperatorAsync("fleet", OperatorRoles.FleetOwner);
        using var newKey = DeviceKeyPair.Generate();
        Assert.True((await Grid.PostSignedAsync($"/api/operators/{fleet.Id}/admission",
            Governance.Admission(fixture.Node, fleet.Id, newKey.PublicKey, OperatorRoles.FleetOwner, version: 2))).Ok);
        using var key = DeviceKeyPair.Generate();
        var device = DeviceId.Of($"vehicle-rotated-{Run}");
        AssertRefused(await Grid.PostSignedAsync($"/api/devices/{device}/endorsement",
            DeviceIdentity.Endorse(Network, fleet.Id, oldKey, device, DeviceRole.Vehicle, key.PublicKey).Endorsement.ToArray()), 403, "InvalidSignature");
        Assert.True((await Grid.PostSignedAsync($"/api/devices/{device}/endorsement",
            DeviceIdentity.Endorse(Network, fleet.Id, newKey, device, DeviceRole.Vehicle, key.PublicKey).Endorsement.ToArray())).Ok);
        AssertRefused(await Grid.As(fleet.Party, oldKey).GetAsync($"/api/operators/{fleet.Id}"), 401, "Unauthenticated");
        // An older admission cannot bring the old key back.
        AssertRefused(await Grid.PostSignedAsync($"/api/operators/{fleet.Id}/admission",
            Governance.Admission(fixture.Node, fleet.Id, oldKey.PublicKey, OperatorRoles.FleetOwner, version: 1)), 409, "AdmissionSuperseded");
    }
}
