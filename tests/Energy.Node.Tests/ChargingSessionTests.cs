using System.Net.Http.Json;
using System.Text.Json;
using Energy.Agents;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Wire;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Charging;

namespace Energy.Node.Tests;

/// <summary>
/// Charging end to end on a real node: agents that hold their own keys, the device gateway, the charging
/// session, the streaming channel and the ledger.
/// </summary>
public sealed class ChargingSessionTests(ChargingNodeFixture fixture) : AgentTest(fixture), IClassFixture<ChargingNodeFixture>
{

    private sealed record City(OperatorAgent Cpo, OperatorAgent Fleet, ChargerAgent Charger, VehicleAgent Vehicle, ChannelId Channel);

    /// <summary>A charge point operator with one charger, a fleet owner with one funded vehicle whose channel to the operator is open.</summary>
    private async Task<City> CityAsync(long deposit = 5_000, bool connect = true)
    {
        var cpo = Keep(new OperatorAgent(fixture.Client, Network, OperatorId.Of($"cpo-{Run}")));
        var fleet = Keep(new OperatorAgent(fixture.Client, Network, OperatorId.Of($"fleet-{Run}")));
        await fixture.Governance.AdmitAsync(cpo, OperatorRoles.ChargePointOperator);
        await fixture.Governance.AdmitAsync(fleet, OperatorRoles.FleetOwner);
        var charger = Keep(new ChargerAgent(Network, DeviceId.Of($"charger-{Run}"), Currency.Eur, registerWh: 120_000) { SuspendTimeout = TimeSpan.FromSeconds(3) });
        var vehicle = Keep(new VehicleAgent(Network, DeviceId.Of($"vehicle-{Run}")));
        await cpo.EndorseAsync(charger.Id, DeviceRole.Charger, charger.PublicKey);
        await fleet.EndorseAsync(vehicle.Id, DeviceRole.Vehicle, vehicle.PublicKey);
        await fixture.Governance.Bank.FundAsync(vehicle.Party, new Money(deposit, Currency.Eur), $"fund-{Run}");
        var channel = ChannelId.Of($"ch-{Run}");
        vehicle.PlugInto(charger.Id);
        await vehicle.OpenChannelAsync(fixture.Client, channel, cpo.Party, new Money(deposit, Currency.Eur), DurationMs.FromSeconds(60));
        if (connect)
        {
            // One connection carries both devices, as a gateway box carries constrained devices.
            var gateway = await ConnectAsync();
            await charger.ConnectAsync(gateway);
            await vehicle.ConnectAsync(gateway);
        }
        return new City(cpo, fleet, charger, vehicle, channel);
    }

    private static long Minor(JsonElement money) => money.GetProperty("minorUnits").GetInt64();

    [Fact]
    public async Task A_vehicle_pays_exactly_energy_times_tariff_and_the_channel_settles_to_the_operator()
    {
        var city = await CityAsync();
        // 37 minor units per kWh and 333 Wh per reading: the exact price is not a whole number of minor units.
        var record = await city.Charger.ChargeAsync(SessionId.Of($"s-{Run}"), city.Vehicle.Id, readings: 20, whPerReading: 333, pricePerKwh: 37, credit: 40, TimeSpan.Zero);

        Assert.Equal(6_660, record.GetProperty("energyWh").GetInt64());
        var exact = 6_660m * 37m / 1000m; // 246.42
        var expected = (long)Math.Round(exact, MidpointRounding.AwayFromZero);
        Assert.Equal(246, expected);
        Assert.Equal(expected, Minor(record.GetProperty("cost")));
        Assert.Equal(expected, Minor(record.GetProperty("paid")));
        Assert.Equal(0, Minor(record.GetProperty("outstanding")));
        Assert.True(Math.Abs(Minor(record.GetProperty("paid")) - exact) <= 0.5m);

        // The record's evidence: readings signed by the charger's key, the final voucher signed by the vehicle's.
        var start = Signed<MeterReading>.Decode(record.GetProperty("startReading").GetBytesFromBase64()).Unwrap();
        var end = Signed<MeterReading>.Decode(record.GetProperty("endReading").GetBytesFromBase64()).Unwrap();
        Assert.True(start.IsSignedBy(city.Charger.PublicKey) && end.IsSignedBy(city.Charger.PublicKey));
        Assert.Equal(6_660, end.Payload.Register.WattHours - start.Payload.Register.WattHours);
        var voucher = Signed<Voucher>.Decode(record.GetProperty("finalVoucher").GetBytesFromBase64()).Unwrap();
        Assert.True(voucher.IsSignedBy(city.Vehicle.PublicKey));
        Assert.Equal(expected, voucher.Payload.Cumulative.MinorUnits);
        await Eventually.Holds(() => city.Vehicle.Records.ContainsKey($"s-{Run}"));

        // The operator closes; the ledger pays it the session's cost and refunds the rest of the deposit.
        var settled = await city.Cpo.CloseChannelAsync(city.Channel);
        var payouts = settled.GetProperty("payouts").EnumerateArray().ToDictionary(p => p.GetProperty("account").GetString()!, p => Minor(p.GetProperty("amount")));
        Assert.Equal(expected, payouts[city.Cpo.Party.Value]);
        Assert.Equal(5_000 - expected, payouts[city.Vehicle.Party.Value]);
        var operatorAccount = await fixture.Api.GetAsync($"/api/accounts/{city.Cpo.Party}");
        Assert.Equal(expected, operatorAccount.Body.GetProperty("balance").GetProperty("minorUnits").GetInt64());
        var vehicleAccount = await fixture.Api.GetAsync($"/api/accounts/{city.Vehicle.Party}");
        Assert.Equal(5_000 - expected, vehicleAccount.Body.GetProperty("balance").GetProperty("minorUnits").GetInt64());
        Assert.Empty(city.Vehicle.Refusals);
        Assert.Empty(city.Charger.Refusals);
    }

    [Fact]
    public async Task The_charger_suspends_when_payment_falls_behind_its_credit_and_resumes_when_paid()
    {
        var city = await CityAsync();
        var session = $"s-{Run}";
        city.Vehicle.HoldPayments();
        var charging = city.Charger.ChargeAsync(SessionId.Of(session), city.Vehicle.Id, readings: 20, whPerReading: 1_000, pricePerKwh: 30, credit: 100, TimeSpan.Zero);

        // Unpaid, the charger delivers at most its credit's worth (100 minor units = 3 kWh at 30) and then holds back.
        await Eventually.Holds(() => city.Charger.Suspensions >= 1);
        var held = await fixture.Api.GetAsync($"/api/sessions/{session}");
        Assert.Equal(3_000, held.Body.GetProperty("energyWh").GetInt64());
        Assert.Equal(0, Minor(held.Body.GetProperty("paid")));

        city.Vehicle.ReleasePayments();
        var record = await charging;
        Assert.Equal(20_000, record.GetProperty("energyWh").GetInt64());
        Assert.Equal(600, Minor(record.GetProperty("paid")));
        Assert.Equal(0, Minor(record.GetProperty("outstanding")));
    }

    [Fact]
    public async Task A_vehicle_that_stops_paying_gets_no_more_than_the_credit_and_the_record_shows_what_is_outstanding()
    {
        var city = await CityAsync();
        city.Vehicle.StopPayingAfter = 2;
        var record = await city.Charger.ChargeAsync(SessionId.Of($"s-{Run}"), city.Vehicle.Id, readings: 20, whPerReading: 1_000, pricePerKwh: 30, credit: 100, TimeSpan.Zero);

        Assert.True(city.Charger.Suspensions >= 1);
        // Two readings paid (60), then at most the credit delivered on top: 3 more kWh.
        Assert.Equal(60, Minor(record.GetProperty("paid")));
        Assert.Equal(5_000, record.GetProperty("energyWh").GetInt64());
        Assert.Equal(90, Minor(record.GetProperty("outstanding")));
        Assert.True(Minor(record.GetProperty("outstanding")) <= 100);
    }

    [Fact]
    public async Task A_charger_without_self_limit_is_told_to_suspend_by_the_network()
    {
        var city = await CityAsync();
        var session = $"s-{Run}";
        city.Vehicle.HoldPayments();
        var gateway = Connections[0];
        var start = city.Charger.SignReading(1_000, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), 50_000);
        var suspended = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The charger's calls are made by hand here, ignoring its credit, as a charger that does not limit itself would.
        gateway.OnEvent(city.Charger.Id, (name, body) =>
        {
            if (name == "session.suspend") suspended.TrySetResult(body);
            return ValueTask.CompletedTask;
        });
        await gateway.CallAsync(city.Charger.Id, "session.start", new { session, vehicle = city.Vehicle.Id.Value, pricePerKwh = 30, credit = 50, reading = Convert.ToBase64String(start.Wire) });
        await Eventually.Holds(async () => (await fixture.Api.GetAsync($"/api/sessions/{session}")).Body.GetProperty("status").GetString() == "charging");
        for (ulong i = 1; i <= 3; i++)
        {
            var reading = city.Charger.SignReading(1_000 + i, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), 50_000 + (long)i * 1_000);
            await gateway.CallAsync(city.Charger.Id, "session.reading", new { session, reading = Convert.ToBase64String(reading.Wire) });
        }
        var suspend = await suspended.Task.WaitAsync(TimeSpan.FromSeconds(15));
        // Two readings owe 60, which is past the credit of 50: the first point at which the network must step in.
        Assert.Equal(60, suspend.GetProperty("owed").GetInt64());
        Assert.Equal(0, suspend.GetProperty("paid").GetInt64());
        var view = await fixture.Api.GetAsync($"/api/sessions/{session}");
        Assert.Equal("suspended", view.Body.GetProperty("status").GetString());
        Assert.Equal(1, view.Body.GetProperty("suspensions").GetInt32());

        city.Vehicle.ReleasePayments();
        await Eventually.Holds(async () => (await fixture.Api.GetAsync($"/api/sessions/{session}")).Body.GetProperty("status").GetString() == "charging");
    }

    [Fact]
    public async Task A_small_city_charges_trades_and_settles_everything_it_paid()
    {
        var reports = new List<string>();
        var city = new CityScenario(fixture.Client, fixture.Governance.Authority, fixture.Node.Url, Network, Currency.Eur, line => { lock (reports) reports.Add(line); });
        var summary = await city.RunAsync(new CityScenario.Options(Vehicles: 6, Chargers: 2, Gantries: 3, Homes: 4, Readings: 12, WhPerReading: 250, PricePerKwh: 33,
            Credit: 40, GantryInterval: TimeSpan.FromMilliseconds(400)), CancellationToken.None);

        Assert.Equal(0, summary.Errors);
        Assert.Equal(6, summary.Sessions);
        Assert.Equal(6 * 12 * 250, summary.EnergyWh);
        // Each session: 3 kWh at 33 = 99 minor units, exactly; paid in full and settled to the operator.
        Assert.Equal(6 * 99, summary.CostMinorUnits);
        Assert.Equal(summary.CostMinorUnits, summary.PaidMinorUnits);
        Assert.Equal(summary.PaidMinorUnits, summary.SettledMinorUnits);
        // Two pairs of homes: 3 kWh each at 23.
        Assert.Equal((2, 6_000L, 2 * 69L), (summary.Trades, summary.TradedWh, summary.TradedMinorUnits));
        // Every vehicle drove past three gantries and paid each; the toll operator is settled exactly what the gantries confirmed.
        Assert.Equal((18, 18, 0), (summary.TollPasses, summary.TollsPaid, summary.TollViolations));
        Assert.True(summary.TollsPaidMinorUnits >= 18 * 60);
        Assert.Equal(summary.TollsPaidMinorUnits, summary.TollsSettledMinorUnits);
        var totals = await fixture.Api.GetAsync("/api/ledger/totals");
        Assert.True(totals.Body.GetProperty("conserved").GetBoolean());
    }

    // Hostile agents

    [Fact]
    public async Task An_unauthenticated_connection_is_refused_by_name_and_reaches_no_entity()
    {
        var city = await CityAsync(connect: false);
        var gateway = await ConnectAsync();
        var start = city.Charger.SignReading(1, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), 1_000);
        var refused = await Assert.ThrowsAsync<GatewayRefusedException>(() => gateway.CallAsync(city.Charger.Id, "session.start",
            new { session = $"s-{Run}", vehicle = city.Vehicle.Id.Value, pricePerKwh = 30, credit = 50, reading = Convert.ToBase64String(start.Wire) }));
        Assert.Equal("NotAuthenticated", refused.Code);
        Assert.Equal("SessionNotFound", (await fixture.Api.GetAsync($"/api/sessions/s-{Run}")).Code);

        // A challenge signed with a key that is not the device's registered key.
        using var impostor = DeviceKeyPair.Generate();
        var wrongKey = await Assert.ThrowsAsync<GatewayRefusedException>(() => gateway.AuthenticateAsync(city.Charger.Id, impostor));
        Assert.Equal("InvalidSignature", wrongKey.Code);
        Assert.Equal("NotAuthenticated", (await Assert.ThrowsAsync<GatewayRefusedException>(() => gateway.CallAsync(city.Charger.Id, "session.get", new { session = $"s-{Run}" }))).Code);

        // An answer to no challenge, an unregistered device, malformed and oversized frames.
        Assert.Equal("NoChallenge", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            gateway.HandshakeAsync(city.Charger.Id, new { op = "auth", device = city.Charger.Id.Value, signed = "AAAA" }))).Code);
        using var strangerKey = DeviceKeyPair.Generate();
        Assert.Equal("DeviceNotFound", (await Assert.ThrowsAsync<GatewayRefusedException>(() => gateway.AuthenticateAsync(DeviceId.Of($"stranger-{Run}"), strangerKey))).Code);
        var unmatched = new List<JsonElement>();
        var got = new SemaphoreSlim(0);
        gateway.Unmatched += frame => { lock (unmatched) unmatched.Add(frame); got.Release(); };
        Assert.True(gateway.Batching);
        await gateway.SendRawAsync("{not json");
        await gateway.SendRawAsync("{\"op\":\"call\",\"device\":\"x\",\"id\":1,\"action\":\"session.get\",\"args\":{\"session\":\"" + new string('a', 20_000) + "\"}}");
        // A batch is an array of frames, each answered on its own: here three that are not frames at all,
        // then one call from a device that has not authenticated next to one that is not a frame.
        await gateway.SendRawAsync("[1,2,3]");
        await gateway.SendRawAsync("[{\"op\":\"call\",\"device\":\"" + city.Charger.Id.Value + "\",\"id\":777,\"action\":\"session.get\",\"args\":{\"session\":\"s-" + Run + "\"}},\"x\"]");
        await gateway.SendRawAsync("[" + string.Join(",", Enumerable.Repeat("{}", GatewayProtocol.MaxFramesPerBatch + 1)) + "]");
        for (var i = 0; i < 8; i++) Assert.True(await got.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(["MalformedFrame", "FrameTooLarge", "MalformedFrame", "MalformedFrame", "MalformedFrame", "NotAuthenticated", "MalformedFrame", "MalformedFrame"],
            unmatched.Select(f => f.GetProperty("code").GetString()));
        Assert.Equal(777, unmatched[5].GetProperty("id").GetInt64());
        Assert.Contains($"at most {GatewayProtocol.MaxFramesPerBatch} frames", unmatched[7].GetProperty("message").GetString());

        // Without the batching subprotocol an array is not a frame.
        var plain = await ConnectAsync(batching: false);
        Assert.False(plain.Batching);
        var plainErrors = new List<JsonElement>();
        plain.Unmatched += frame => { lock (plainErrors) plainErrors.Add(frame); got.Release(); };
        await plain.SendRawAsync("[{\"op\":\"hello\",\"device\":\"x\"}]");
        Assert.True(await got.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("MalformedFrame", Assert.Single(plainErrors).GetProperty("code").GetString());
        Assert.Equal(plain.MessagesReceived, plain.FramesReceived);
        Assert.Equal("SessionNotFound", (await fixture.Api.GetAsync($"/api/sessions/s-{Run}")).Code);
    }

    [Fact]
    public async Task Frames_ready_together_travel_as_one_message_and_each_is_answered_as_if_alone()
    {
        var city = await CityAsync();
        Assert.True(Connections[0].Batching);
        // Many pipelined calls at once: their frames are batched both ways, and each gets its own answer.
        var session = $"s-{Run}";
        var answers = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => i % 3 == 0
            ? Assert.ThrowsAsync<GatewayRefusedException>(() => Connections[0].CallAsync(city.Charger.Id, "session.get", new { session = $"none-{i}-{Run}" })).ContinueWith(t => (string?)t.Result.Code)
            : Connections[0].CallAsync(city.Vehicle.Id, "channel.get", new { channel = city.Channel.Value }).ContinueWith(t => t.Result.GetProperty("status").GetString())));
        Assert.Equal(100, answers.Count(a => a == "SessionNotFound"));
        Assert.Equal(200, answers.Count(a => a == "open"));
        var gateway = Connections[0];
        Assert.True(gateway.FramesSent > gateway.MessagesSent, $"{gateway.FramesSent} frames sent in {gateway.MessagesSent} messages");
        Assert.True(gateway.FramesReceived > gateway.MessagesReceived, $"{gateway.FramesReceived} frames received in {gateway.MessagesReceived} messages");
        Assert.Equal("SessionNotFound", (await fixture.Api.GetAsync($"/api/sessions/{session}")).Code);
    }

    [Fact]
    public async Task A_replayed_reading_and_a_reading_signed_by_another_meter_are_refused_and_change_nothing()
    {
        var city = await CityAsync();
        var session = $"s-{Run}";
        var gateway = Connections[0];
        var now = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        var start = city.Charger.SignReading(5_000, now, 10_000);
        await gateway.CallAsync(city.Charger.Id, "session.start", new { session, vehicle = city.Vehicle.Id.Value, pricePerKwh = 30, credit = 500, reading = Convert.ToBase64String(start.Wire) });
        var first = city.Charger.SignReading(5_001, now, 11_000);
        await gateway.CallAsync(city.Charger.Id, "session.reading", new { session, reading = Convert.ToBase64String(first.Wire) });
        var before = (await fixture.Api.GetAsync($"/api/sessions/{session}")).Body;

        var replay = await Assert.ThrowsAsync<GatewayRefusedException>(() => gateway.CallAsync(city.Charger.Id, "session.reading", new { session, reading = Convert.ToBase64String(first.Wire) }));
        Assert.Equal("ReadingNotNewer", replay.Code);

        // Another registered charger signs a reading in this charger's name.
        var other = Keep(new ChargerAgent(Network, DeviceId.Of($"other-{Run}"), Currency.Eur));
        await city.Cpo.EndorseAsync(other.Id, DeviceRole.Charger, other.PublicKey);
        var forged = other.SignReading(5_002, now, 99_000, meter: city.Charger.Id);
        Assert.Equal("InvalidSignature", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            gateway.CallAsync(city.Charger.Id, "session.reading", new { session, reading = Convert.ToBase64String(forged.Wire) }))).Code);
        var otherMeter = other.SignReading(5_002, now, 99_000);
        Assert.Equal("ReadingFromWrongMeter", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            gateway.CallAsync(city.Charger.Id, "session.reading", new { session, reading = Convert.ToBase64String(otherMeter.Wire) }))).Code);
        // The other charger cannot feed this session from its own authenticated identity either.
        await other.ConnectAsync(gateway);
        Assert.Equal("NotSessionParty", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            gateway.CallAsync(other.Id, "session.reading", new { session, reading = Convert.ToBase64String(otherMeter.Wire) }))).Code);

        var after = (await fixture.Api.GetAsync($"/api/sessions/{session}")).Body;
        Assert.Equal(before.GetProperty("energyWh").GetInt64(), after.GetProperty("energyWh").GetInt64());
        Assert.Equal(1_000, after.GetProperty("energyWh").GetInt64());
    }

    [Fact]
    public async Task A_voucher_signed_by_a_revoked_key_is_refused_and_changes_nothing()
    {
        var city = await CityAsync();
        var session = $"s-{Run}";
        city.Vehicle.HoldPayments();
        var charging = city.Charger.ChargeAsync(SessionId.Of(session), city.Vehicle.Id, readings: 4, whPerReading: 1_000, pricePerKwh: 30, credit: 500, TimeSpan.Zero);
        await Eventually.Holds(async () => (await fixture.Api.GetAsync($"/api/sessions/{session}")).Body.TryGetProperty("energyWh", out var e) && e.GetInt64() == 4_000);
        await city.Fleet.RevokeAsync(city.Vehicle.Id);

        // Through the gateway: the revoked device is cut off.
        var voucher = city.Vehicle.SignVoucher(city.Channel, 1, new Money(30, Currency.Eur), new Money(30, Currency.Eur), PaymentPurpose.ForSession(session).Unwrap());
        var gatewayRefusal = await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            Connections[0].CallAsync(city.Vehicle.Id, "session.pay", new { session, voucher = Convert.ToBase64String(voucher) }));
        Assert.Equal("DeviceIsRevoked", gatewayRefusal.Code);
        // Straight to the channel: the revoked key's voucher is refused there too.
        var direct = await fixture.Api.PostSignedAsync($"/api/channels/{city.Channel}/vouchers", voucher);
        Assert.Equal("PartyRevoked", direct.Code);
        var channel = await fixture.Api.GetAsync($"/api/channels/{city.Channel}");
        Assert.Equal(0, Minor(channel.Body.GetProperty("paid")));
        city.Vehicle.ReleasePayments();
        var record = await charging;
        Assert.Equal(0, Minor(record.GetProperty("paid")));
        Assert.Equal(120, Minor(record.GetProperty("outstanding")));
    }

    [Fact]
    public async Task OCPP_meter_values_feed_the_same_session_payments_and_record()
    {
        var city = await CityAsync(connect: false);
        // The charge point speaks OCPP as the registered charger; the vehicle is on the gateway.
        var gateway = await ConnectAsync();
        await city.Vehicle.ConnectAsync(gateway);
        var completed = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        city.Vehicle.Completed += (_, record) => completed.TrySetResult(record);
        using var ocpp = await OcppConnectAsync(city);
        await OcppAsync(ocpp, "BootNotification", new { chargePointVendor = "Energy", chargePointModel = "Wallbox" });
        var started = await OcppAsync(ocpp, "StartTransaction", new { connectorId = 1, idTag = city.Vehicle.Id.Value, meterStart = 1_000, timestamp = "2026-11-24T10:00:00Z" });
        var transactionId = started.GetProperty("transactionId").GetInt32();
        var session = $"ocpp:{city.Charger.Id}:{transactionId}";
        await Eventually.Holds(async () => (await fixture.Api.GetAsync($"/api/sessions/{session}")).Body.TryGetProperty("channel", out var c) && c.ValueKind == JsonValueKind.String);
        foreach (var (value, unit) in new[] { ("1800", "Wh"), ("2.5", "kWh") })
        {
            await OcppAsync(ocpp, "MeterValues", new
            {
                connectorId = 1,
                transactionId,
                meterValue = new[] { new { timestamp = "2026-11-24T10:10:00Z", sampledValue = new[] { new { value, measurand = "Energy.Active.Import.Register", unit } } } },
            });
        }
        await OcppAsync(ocpp, "StopTransaction", new { transactionId, meterStop = 4_000, timestamp = "2026-11-24T11:00:00Z" });

        var record = await completed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(3_000, record.GetProperty("energyWh").GetInt64());
        Assert.Equal(105, Minor(record.GetProperty("cost"))); // 3 kWh at the node's OCPP price of 35
        Assert.Equal(105, Minor(record.GetProperty("paid")));
        var health = await fixture.Api.GetAsync("/health");
        var end = Signed<MeterReading>.Decode(record.GetProperty("endReading").GetBytesFromBase64()).Unwrap();
        Assert.True(end.IsSignedBy(DevicePublicKey.FromHex(health.Body.GetProperty("node").GetString()!).Unwrap()));
    }

    [Fact]
    public async Task An_OCPP_session_the_vehicle_did_not_consent_to_is_not_billed_and_the_charger_is_told_to_stop()
    {
        var city = await CityAsync(connect: false);
        // The vehicle is on the network but plugged in elsewhere: someone else's charger starts a transaction on its idTag.
        city.Vehicle.PlugInto(DeviceId.Of($"elsewhere-{Run}"));
        var gateway = await ConnectAsync();
        await city.Vehicle.ConnectAsync(gateway);
        using var ocpp = await OcppConnectAsync(city);
        var started = await OcppAsync(ocpp, "StartTransaction", new { connectorId = 1, idTag = city.Vehicle.Id.Value, meterStart = 1_000, timestamp = "2026-11-24T10:00:00Z" });
        var transactionId = started.GetProperty("transactionId").GetInt32();
        var session = $"ocpp:{city.Charger.Id}:{transactionId}";

        // Without the vehicle's consent within the bound, the node makes its first call to the charger.
        var call = await ReceiveFrameAsync(ocpp, TimeSpan.FromSeconds(20));
        Assert.Equal((2, "RemoteStopTransaction", transactionId), (call[0].GetInt32(), call[2].GetString(), call[3].GetProperty("transactionId").GetInt32()));
        await ocpp.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new object[] { 3, call[1].GetString()!, new { status = "Accepted" } }),
            System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        await OcppAsync(ocpp, "MeterValues", new
        {
            connectorId = 1,
            transactionId,
            meterValue = new[] { new { timestamp = "2026-11-24T10:10:00Z", sampledValue = new[] { new { value = "5000", measurand = "Energy.Active.Import.Register", unit = "Wh" } } } },
        });
        await OcppAsync(ocpp, "StopTransaction", new { transactionId, meterStop = 6_000, timestamp = "2026-11-24T10:20:00Z", reason = "Remote" });

        var view = (await fixture.Api.GetAsync($"/api/sessions/{session}")).Body;
        Assert.Equal("unconsented", view.GetProperty("status").GetString());
        Assert.False(view.TryGetProperty("record", out var record) && record.ValueKind != JsonValueKind.Null, "an unconsented session has no charge record");
        Assert.Equal(0, Minor(view.GetProperty("paid")));
        Assert.Contains("NotPluggedIn", city.Vehicle.Refusals);
        Assert.Equal(0, (await fixture.Api.GetAsync($"/api/channels/{city.Channel}")).Body.GetProperty("paid").GetProperty("minorUnits").GetInt64());
        // Accepting late is refused by name.
        Assert.Equal("SessionEnded", (await Assert.ThrowsAsync<GatewayRefusedException>(() =>
            gateway.CallAsync(city.Vehicle.Id, "session.accept", new { session, channel = city.Channel.Value }))).Code);
    }

    /// <summary>The city's charger on OCPP as its operator enrolled it: a password, then Basic authentication (security profile 1).</summary>
    private async Task<System.Net.WebSockets.ClientWebSocket> OcppConnectAsync(City city)
    {
        const string password = "charger-password-1";
        await city.Cpo.SetChargePointPasswordAsync(city.Charger.Id, password, iterations: ChargePointPassword.MinIterations);
        var ocpp = new System.Net.WebSockets.ClientWebSocket();
        ocpp.Options.AddSubProtocol("ocpp1.6");
        ocpp.Options.SetRequestHeader("Authorization", Energy.Ocpp.OcppBasicAuthentication.Header(city.Charger.Id.Value, password));
        await ocpp.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Node.Port}/ocpp/{city.Charger.Id}"), CancellationToken.None);
        return ocpp;
    }

    private static async Task<JsonElement> ReceiveFrameAsync(System.Net.WebSockets.ClientWebSocket socket, TimeSpan within)
    {
        var buffer = new byte[65_536];
        using var timeout = new CancellationTokenSource(within);
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        return JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.Clone();
    }

    private static async Task<JsonElement> OcppAsync(System.Net.WebSockets.ClientWebSocket socket, string action, object payload)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new object[] { 2, id, action, payload }), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[65_536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        var frame = JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.Clone();
        Assert.Equal(3, frame[0].GetInt32());
        return frame[2];
    }
}
