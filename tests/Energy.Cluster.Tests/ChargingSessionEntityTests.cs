using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Charging;
using Energy.Cluster.Hosting;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Charging;

namespace Energy.Cluster.Tests;

public sealed class ChargingSessionOnSqlite(ITestOutputHelper output) : ChargingSessionEntityTests(TestStores.Sqlite(), output);

public sealed class ChargingSessionOnPostgreSql(ITestOutputHelper output) : ChargingSessionEntityTests(TestStores.PostgreSql(), output);

/// <summary>The charging session entity with the TestKit: its rules, hostile commands, and recovery after a restart.</summary>
public abstract class ChargingSessionEntityTests(NodeOptions store, ITestOutputHelper output) : TestKit(output: output), IDisposable
{
    private static readonly OperatorId Cpo = OperatorId.Of("cpo-s");
    private static readonly DeviceId Charger = DeviceId.Of("charger-s");
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-s");
    private static readonly ChannelId Channel = ChannelId.Of("channel-s");
    private static readonly Money Price = new(40, Currency.Eur);

    private readonly DeviceKeyPair _nodeKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _cpoKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _chargerKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _vehicleKey = DeviceKeyPair.Generate();
    private readonly ManualClock _clock = new(new Timestamp(1_800_000_000_000));
    private ulong _sequence;

    private EnergySettings Settings => new(ClusterTestKit.Network, Currency.Eur, 4, _nodeKey, _clock) { SessionSettleTimeout = TimeSpan.FromSeconds(1), Authority = TestAuthority.Authority };

    private static async Task<object> AskAsync(IActorRef region, object message) => await region.Ask<object>(message, TimeSpan.FromSeconds(15));

    private byte[] Reading(long registerWh, DeviceKeyPair? key = null, ulong? sequence = null) =>
        Signed<MeterReading>.Sign(new MeterReading(ClusterTestKit.Network, Charger, sequence ?? ++_sequence, _clock.Now, new EnergyWh(registerWh)), key ?? _chargerKey).ToArray();

    /// <summary>The operator, its charger, the vehicle with a funded account and an open channel to the operator.</summary>
    private async Task SetUpAsync(EnergyRegions r)
    {
        Assert.IsType<OperatorView>(await AskAsync(r.Operators, TestAuthority.Admit(Cpo, _cpoKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner)));
        foreach (var (device, role, key) in new[] { (Charger, DeviceRole.Charger, _chargerKey), (Vehicle, DeviceRole.Vehicle, _vehicleKey) })
        {
            Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(device,
                DeviceIdentity.Endorse(ClusterTestKit.Network, Cpo, _cpoKey, device, role, key.PublicKey).Endorsement.ToArray())));
        }
        var payer = PartyId.From(Vehicle);
        Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(LedgerShards.For(payer, 4), "fund", payer, new Money(5_000, Currency.Eur), TestAuthority.Bank)));
        Assert.IsType<ChannelOpened>(await AskAsync(r.Channels, new OpenChannel(Channel, Signing.Opening(Channel, payer, PartyId.From(Cpo), 2_000, _vehicleKey))));
    }

    [Fact]
    public async Task A_session_charges_verifies_every_reading_takes_payments_and_closes_with_its_record()
    {
        await using var node = await TestNode.StartAsync(store, Settings);
        var r = node.Regions;
        await SetUpAsync(r);
        var start = Reading(10_000);
        var started = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("s1"), Charger, Vehicle, Price, new Money(100, Currency.Eur), start, null)));
        Assert.Equal(SessionStatus.AwaitingVehicle, started.Status);
        // The same start again is answered the same; other terms under the same id are refused.
        Assert.Equal(SessionStatus.AwaitingVehicle, Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("s1"), Charger, Vehicle, Price, new Money(100, Currency.Eur), start, null))).Status);
        Assert.Equal(nameof(SessionAlreadyStarted), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("s1"), Charger, Vehicle, Price, new Money(100, Currency.Eur), Reading(10_000), null))).Code);

        Assert.Equal(SessionStatus.Charging, Assert.IsType<SessionView>(await AskAsync(r.Sessions, new AcceptSession(SessionId.Of("s1"), Vehicle, Channel, null))).Status);
        var after = Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("s1"), Charger, Reading(12_345), null)));
        Assert.Equal(2_345, after.EnergyWh);
        Assert.Equal(94, after.Owed.MinorUnits); // 2.345 kWh x 40 = 93.8, rounded half up

        // Paying more than is owed is refused; paying what is owed is acknowledged once the channel holds the voucher.
        Assert.Equal(nameof(PaymentAboveOwed), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("s1"), Vehicle, Signing.Voucher(Channel, 1, 95, 95, _vehicleKey, Signing.Session("s1")), null))).Code);
        Assert.Equal(94, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("s1"), Vehicle, Signing.Voucher(Channel, 1, 94, 94, _vehicleKey, Signing.Session("s1")), null))).Paid.MinorUnits);
        Assert.Equal(94, Assert.IsType<ChannelView>(await AskAsync(r.Channels, new GetChannel(Channel))).Paid!.Value.MinorUnits);

        var end = Reading(12_345);
        var stopped = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StopSession(SessionId.Of("s1"), Charger, end, null)));
        Assert.Equal(SessionStatus.Completed, stopped.Status);
        var record = stopped.Record!;
        Assert.Equal((2_345L, 94L, 94L, 0L), (record.EnergyWh, record.Cost.MinorUnits, record.Paid.MinorUnits, record.Outstanding.MinorUnits));
        Assert.Equal(start, record.StartReading);
        Assert.Equal(end, record.EndReading);
        Assert.Equal(94, Signed<Energy.Channels.Streaming.Voucher>.Decode(record.FinalVoucher!).Unwrap().Payload.Cumulative.MinorUnits);
        // A stop repeated gets the same answer; a reading after the end is refused.
        Assert.Equal(SessionStatus.Completed, Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StopSession(SessionId.Of("s1"), Charger, end, null))).Status);
        Assert.Equal(nameof(SessionEnded), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("s1"), Charger, Reading(13_000), null))).Code);
    }

    [Fact]
    public async Task Hostile_commands_are_refused_by_name_and_change_nothing()
    {
        await using var node = await TestNode.StartAsync(store, Settings);
        var r = node.Regions;
        await SetUpAsync(r);
        using var stranger = DeviceKeyPair.Generate();
        // A vehicle cannot act as a charger; a start reading under another key does not verify; terms are bounded.
        Assert.Equal(nameof(DeviceRoleRefused), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("h1"), Vehicle, Vehicle, Price, Price, Reading(1), null))).Code);
        Assert.Equal("InvalidSignature", Assert.IsType<Refusal>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("h1"), Charger, Vehicle, Price, Price, Reading(1, stranger), null))).Code);
        Assert.Equal(nameof(InvalidSessionTerms), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("h1"), Charger, Vehicle, new Money(-1, Currency.Eur), Price, Reading(1), null))).Code);
        Assert.Equal("CurrencyMismatch", Assert.IsType<Refusal>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("h1"), Charger, Vehicle, new Money(40, Currency.Usd), Price, Reading(1), null))).Code);
        Assert.Equal(nameof(SessionNotFound), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("h1")))).Code);

        Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("h1"), Charger, Vehicle, Price, new Money(100, Currency.Eur), Reading(1_000), null)));
        // Payments before the vehicle accepted, and a channel that does not pay the charger's operator.
        Assert.Equal(nameof(SessionNotAccepted), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("h1"), Vehicle, Signing.Voucher(Channel, 1, 1, 1, _vehicleKey, Signing.Session("h1")), null))).Code);
        Assert.Equal(nameof(ChannelNotUsable), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new AcceptSession(SessionId.Of("h1"), Vehicle, ChannelId.Of("no-such-channel"), null))).Code);
        Assert.Equal(nameof(NotSessionParty), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new AcceptSession(SessionId.Of("h1"), Charger, Channel, null))).Code);
        Assert.IsType<SessionView>(await AskAsync(r.Sessions, new AcceptSession(SessionId.Of("h1"), Vehicle, Channel, null)));

        var reading = Reading(2_000);
        Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("h1"), Charger, reading, null)));
        Assert.Equal("ReadingNotNewer", Assert.IsType<Refusal>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("h1"), Charger, reading, null))).Code);
        Assert.Equal("RegisterWentBackwards", Assert.IsType<Refusal>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("h1"), Charger, Reading(1_500), null))).Code);
        Assert.Equal("InvalidSignature", Assert.IsType<Refusal>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("h1"), Charger, Reading(9_000, stranger), null))).Code);
        Assert.Equal(nameof(NotSessionParty), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("h1"), Vehicle, Reading(9_000), null))).Code);
        Assert.Equal(nameof(NotSessionParty), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("h1"), Charger, Signing.Voucher(Channel, 1, 40, 40, _vehicleKey, Signing.Session("h1")), null))).Code);
        // A voucher the vehicle did not sign reaches the channel and is refused there.
        Assert.Equal("InvalidSignature", Assert.IsType<Refusal>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("h1"), Vehicle, Signing.Voucher(Channel, 1, 40, 40, stranger, Signing.Session("h1")), null))).Code);
        Assert.Equal("Truncated", Assert.IsType<Refusal>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("h1"), Vehicle, [1, 2, 3], null))).Code);

        var view = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("h1"))));
        Assert.Equal((1_000L, 40L, 0L, SessionStatus.Charging), (view.EnergyWh, view.Owed.MinorUnits, view.Paid.MinorUnits, view.Status));
    }

    [Fact]
    public async Task Unpaid_energy_beyond_the_credit_suspends_the_session_and_payment_resumes_it()
    {
        await using var node = await TestNode.StartAsync(store, Settings);
        var r = node.Regions;
        await SetUpAsync(r);
        Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("c1"), Charger, Vehicle, Price, new Money(50, Currency.Eur), Reading(0), null)));
        Assert.IsType<SessionView>(await AskAsync(r.Sessions, new AcceptSession(SessionId.Of("c1"), Vehicle, Channel, null)));
        Assert.Equal(SessionStatus.Charging, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("c1"), Charger, Reading(1_000), null))).Status);
        Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("c1"), Charger, Reading(2_000), null)));
        await AwaitAssertAsync(async () => Assert.Equal(SessionStatus.Suspended, Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("c1")))).Status));
        Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("c1"), Vehicle, Signing.Voucher(Channel, 1, 80, 80, _vehicleKey, Signing.Session("c1")), null)));
        await AwaitAssertAsync(async () =>
        {
            var view = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("c1"))));
            Assert.Equal((SessionStatus.Charging, 1), (view.Status, view.Suspensions));
        });

        // Stopped while the vehicle owes: after the settle time the record closes with what is outstanding.
        Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StopSession(SessionId.Of("c1"), Charger, Reading(3_000), null)));
        await AwaitAssertAsync(async () =>
        {
            var record = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("c1")))).Record;
            Assert.NotNull(record);
            Assert.Equal((120L, 80L, 40L, 1), (record.Cost.MinorUnits, record.Paid.MinorUnits, record.Outstanding.MinorUnits, record.Suspensions));
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_session_recovers_its_readings_payments_and_suspensions_after_a_restart()
    {
        SessionView before;
        await using (var node = await TestNode.StartAsync(store, Settings))
        {
            var r = node.Regions;
            await SetUpAsync(r);
            Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("r1"), Charger, Vehicle, Price, new Money(30, Currency.Eur), Reading(500), null)));
            Assert.IsType<SessionView>(await AskAsync(r.Sessions, new AcceptSession(SessionId.Of("r1"), Vehicle, Channel, null)));
            Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("r1"), Charger, Reading(1_500), null)));
            Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("r1"), Vehicle, Signing.Voucher(Channel, 1, 40, 40, _vehicleKey, Signing.Session("r1")), null)));
            Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("r1"), Charger, Reading(3_500), null)));
            await AwaitAssertAsync(async () => Assert.Equal(SessionStatus.Suspended, Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("r1")))).Status));
            before = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("r1"))));
        }
        await using (var node = await TestNode.StartAsync(store, Settings))
        {
            var r = node.Regions;
            var after = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("r1"))));
            Assert.Equal(before with { Record = null }, after with { Record = null });
            Assert.Equal((3_000L, 120L, 40L, SessionStatus.Suspended), (after.EnergyWh, after.Owed.MinorUnits, after.Paid.MinorUnits, after.Status));
            // It goes on where it was: the readings' sequence continues, a replay is still refused.
            Assert.Equal("ReadingNotNewer", Assert.IsType<Refusal>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("r1"), Charger, Reading(4_000, sequence: 2), null))).Code);
            Assert.Equal(120, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("r1"), Vehicle, Signing.Voucher(Channel, 2, 120, 80, _vehicleKey, Signing.Session("r1")), null))).Paid.MinorUnits);
            Assert.Equal(SessionStatus.Completed, Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StopSession(SessionId.Of("r1"), Charger, Reading(3_500), null))).Status);
        }
    }

    [Fact]
    public async Task A_payment_acknowledged_just_before_a_restart_is_taken_back_from_the_channel()
    {
        var voucher = Signing.Voucher(Channel, 1, 40, 40, _vehicleKey, Signing.Session("p1"));
        await using (var node = await TestNode.StartAsync(store, Settings))
        {
            var r = node.Regions;
            await SetUpAsync(r);
            Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StartSession(SessionId.Of("p1"), Charger, Vehicle, Price, new Money(100, Currency.Eur), Reading(500), null)));
            Assert.IsType<SessionView>(await AskAsync(r.Sessions, new AcceptSession(SessionId.Of("p1"), Vehicle, Channel, null)));
            Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("p1"), Charger, Reading(1_500), null)));
            // The payment is the last thing the session hears: the channel holds it, the session has not persisted it.
            Assert.Equal(40, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("p1"), Vehicle, voucher, null))).Paid.MinorUnits);
        }
        await using (var node = await TestNode.StartAsync(store, Settings))
        {
            var r = node.Regions;
            Assert.Equal(40, Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("p1")))).Paid.MinorUnits);
            var record = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StopSession(SessionId.Of("p1"), Charger, Reading(1_500), null))).Record!;
            Assert.Equal((40L, 40L, 0L), (record.Cost.MinorUnits, record.Paid.MinorUnits, record.Outstanding.MinorUnits));
            Assert.Equal(voucher, record.FinalVoucher);
        }
    }

    public new void Dispose()
    {
        _nodeKey.Dispose();
        _cpoKey.Dispose();
        _chargerKey.Dispose();
        _vehicleKey.Dispose();
        base.Dispose();
    }
}
