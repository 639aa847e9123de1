using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Tolls;
using Energy.Cluster.Channels;
using Energy.Cluster.Charging;
using Energy.Cluster.Hosting;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Energy.Cluster.Tolls;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Charging;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tests;

/// <summary>
/// One channel, several purposes: an operator that runs both chargers and a gantry is paid by one vehicle
/// over one channel. Each session and each pass counts only the increments of the vouchers that name it,
/// and a pass whose voucher the channel persisted just before a crash is found paid after the restart.
/// </summary>
public sealed class PurposeBoundPaymentTests(ITestOutputHelper output) : TestKit(output: output), IDisposable
{
    private static readonly OperatorId Operator = OperatorId.Of("both-p");
    private static readonly DeviceId ChargerA = DeviceId.Of("charger-pa");
    private static readonly DeviceId ChargerB = DeviceId.Of("charger-pb");
    private static readonly DeviceId Gantry = DeviceId.Of("gantry-p");
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-p");
    private static readonly ChannelId Channel = ChannelId.Of("channel-p");
    private static readonly SegmentId Segment = SegmentId.Of("ring-p");
    private static readonly Money Price = new(40, Currency.Eur);

    private readonly NodeOptions _store = TestStores.Sqlite();
    private readonly DeviceKeyPair _nodeKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _operatorKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _chargerKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _gantryKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _vehicleKey = DeviceKeyPair.Generate();
    private readonly ManualClock _clock = new(new Timestamp(1_800_000_000_000));
    private readonly Dictionary<DeviceId, ulong> _sequences = [];

    private EnergySettings Settings => new(ClusterTestKit.Network, Currency.Eur, 4, _nodeKey, _clock)
    {
        TollAnswerTimeout = TimeSpan.FromSeconds(2),
        SessionSettleTimeout = TimeSpan.FromSeconds(1),
        Authority = TestAuthority.Authority,
    };

    private static async Task<object> AskAsync(IActorRef region, object message) => await region.Ask<object>(message, TimeSpan.FromSeconds(15));

    private byte[] Reading(DeviceId charger, long registerWh)
    {
        _sequences[charger] = _sequences.GetValueOrDefault(charger) + 1;
        return Signed<MeterReading>.Sign(new MeterReading(ClusterTestKit.Network, charger, _sequences[charger], _clock.Now, new EnergyWh(registerWh)), _chargerKey).ToArray();
    }

    private byte[] TollRequest(long price) =>
        Signed<TollRequest>.Sign(new TollRequest(ClusterTestKit.Network, Gantry, Vehicle, Segment, _clock.Now, new Money(price, Currency.Eur)), _gantryKey).ToArray();

    /// <summary>One operator with two chargers and a gantry; the vehicle's one channel to it.</summary>
    private async Task SetUpAsync(EnergyRegions r)
    {
        Assert.IsType<OperatorView>(await AskAsync(r.Operators, TestAuthority.Admit(Operator, _operatorKey,
            OperatorRoles.ChargePointOperator | OperatorRoles.TollOperator | OperatorRoles.FleetOwner)));
        foreach (var (device, role, key) in new[]
        {
            (ChargerA, DeviceRole.Charger, _chargerKey), (ChargerB, DeviceRole.Charger, _chargerKey),
            (Gantry, DeviceRole.Gantry, _gantryKey), (Vehicle, DeviceRole.Vehicle, _vehicleKey),
        })
        {
            Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(device,
                DeviceIdentity.Endorse(ClusterTestKit.Network, Operator, _operatorKey, device, role, key.PublicKey).Endorsement.ToArray())));
        }
        var payer = PartyId.From(Vehicle);
        Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(LedgerShards.For(payer, 4), "fund", payer, new Money(5_000, Currency.Eur), TestAuthority.Bank)));
        Assert.IsType<ChannelOpened>(await AskAsync(r.Channels, new OpenChannel(Channel, Signing.Opening(Channel, payer, PartyId.From(Operator), 2_000, _vehicleKey))));
        var tariff = new GantryTariff(ClusterTestKit.Network, Operator, Gantry, Segment, SegmentId.Of("zone-p"), 0, 0, 1, Currency.Eur, [new TollBand(0, 120)], 0, 0, 100);
        Assert.IsType<GantryView>(await AskAsync(r.Gantries, new ConfigureGantry(Gantry, Signed<GantryTariff>.Sign(tariff, _operatorKey).ToArray())));
    }

    private async Task StartAsync(EnergyRegions r, SessionId session, DeviceId charger, long creditMinorUnits)
    {
        Assert.IsType<SessionView>(await AskAsync(r.Sessions, new StartSession(session, charger, Vehicle, Price, new Money(creditMinorUnits, Currency.Eur), Reading(charger, 0), null)));
        Assert.Equal(SessionStatus.Charging, Assert.IsType<SessionView>(await AskAsync(r.Sessions, new AcceptSession(session, Vehicle, Channel, null))).Status);
    }

    [Fact]
    public async Task Two_sessions_on_one_channel_each_count_only_the_vouchers_that_name_them_and_the_unpaid_one_suspends()
    {
        await using var node = await TestNode.StartAsync(_store, Settings);
        var r = node.Regions;
        await SetUpAsync(r);
        await StartAsync(r, SessionId.Of("session-a"), ChargerA, 10);
        await StartAsync(r, SessionId.Of("session-b"), ChargerB, 10);
        Assert.Equal(40, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("session-a"), ChargerA, Reading(ChargerA, 1_000), null))).Owed.MinorUnits);
        Assert.Equal(80, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("session-b"), ChargerB, Reading(ChargerB, 2_000), null))).Owed.MinorUnits);

        // Session a is paid in full; then a voucher adds 35 for session b. The channel's cumulative is 75,
        // which is within what b is owed less its credit, but only 35 of it was paid for b.
        Assert.Equal(40, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("session-a"), Vehicle,
            Signing.Voucher(Channel, 1, 40, 40, _vehicleKey, Signing.Session("session-a")), null))).Paid.MinorUnits);
        Assert.Equal(35, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("session-b"), Vehicle,
            Signing.Voucher(Channel, 2, 75, 35, _vehicleKey, Signing.Session("session-b")), null))).Paid.MinorUnits);
        // A voucher naming session a does not pay session b, even handed to b.
        Assert.Equal(nameof(VoucherForAnotherPurpose), Assert.IsType<Refusal>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("session-b"), Vehicle,
            Signing.Voucher(Channel, 3, 80, 5, _vehicleKey, Signing.Session("session-a")), null))).Code);

        await AwaitAssertAsync(async () =>
        {
            var a = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("session-a"))));
            var b = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("session-b"))));
            Assert.Equal((SessionStatus.Charging, 40L), (a.Status, a.Paid.MinorUnits));
            Assert.Equal((SessionStatus.Suspended, 35L), (b.Status, b.Paid.MinorUnits));
        });
        Assert.Equal(40, Assert.IsType<PurposePaid>(await AskAsync(r.Channels, new GetPurposePaid(Channel, Signing.Session("session-a")))).Paid.MinorUnits);
        Assert.Equal(35, Assert.IsType<PurposePaid>(await AskAsync(r.Channels, new GetPurposePaid(Channel, Signing.Session("session-b")))).Paid.MinorUnits);
        Assert.Equal(75, Assert.IsType<ChannelView>(await AskAsync(r.Channels, new GetChannel(Channel))).Paid!.Value.MinorUnits);
    }

    [Fact]
    public async Task A_toll_paid_on_the_channel_does_not_pay_a_charging_session_on_it()
    {
        await using var node = await TestNode.StartAsync(_store, Settings);
        var r = node.Regions;
        await SetUpAsync(r);
        // The session is bound while the channel has paid nothing yet.
        await StartAsync(r, SessionId.Of("session-c"), ChargerA, 50);
        var pass = Assert.IsType<PassView>(await AskAsync(r.Gantries, new TollPass(Gantry, TollRequest(120), null)));
        // A voucher naming the session does not pay the pass.
        var wrong = Assert.IsType<PassView>(await AskAsync(r.Gantries, new PayToll(Gantry, pass.Pass, Vehicle,
            Signing.Voucher(Channel, 1, 120, 120, _vehicleKey, Signing.Session("session-c")), null)));
        Assert.Equal((PassStatus.Violation, ViolationCause.InvalidAnswer), (wrong.Status, wrong.Violation!.Value));
        _clock.Advance(new DurationMs(1)); // a later sighting, not the same request again
        var second = Assert.IsType<PassView>(await AskAsync(r.Gantries, new TollPass(Gantry, TollRequest(120), null)));
        Assert.NotEqual(pass.Pass, second.Pass);
        var paid = Assert.IsType<PassView>(await AskAsync(r.Gantries, new PayToll(Gantry, second.Pass, Vehicle,
            Signing.Voucher(Channel, 1, 120, 120, _vehicleKey, Signing.Pass(second.Pass)), null)));
        Assert.Equal((PassStatus.Paid, 120L), (paid.Status, paid.PaidMinorUnits!.Value));

        // The session owes 160; a voucher adds 5 for it. The channel's cumulative (125) would leave 35 unpaid,
        // within the credit of 50; counted by purpose, 155 are unpaid and the session suspends.
        Assert.Equal(160, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new SubmitSessionReading(SessionId.Of("session-c"), ChargerA, Reading(ChargerA, 4_000), null))).Owed.MinorUnits);
        Assert.Equal(5, Assert.IsType<SessionProgress>(await AskAsync(r.Sessions, new PayForSession(SessionId.Of("session-c"), Vehicle,
            Signing.Voucher(Channel, 2, 125, 5, _vehicleKey, Signing.Session("session-c")), null))).Paid.MinorUnits);
        await AwaitAssertAsync(async () =>
        {
            var view = Assert.IsType<SessionView>(await AskAsync(r.Sessions, new GetSession(SessionId.Of("session-c"))));
            Assert.Equal((SessionStatus.Suspended, 5L), (view.Status, view.Paid.MinorUnits));
        });
        Assert.Equal(120, Assert.IsType<PurposePaid>(await AskAsync(r.Channels, new GetPurposePaid(Channel, Signing.Pass(second.Pass)))).Paid.MinorUnits);
    }

    [Fact]
    public async Task A_pass_whose_voucher_the_channel_persisted_before_a_crash_is_found_paid_after_the_restart()
    {
        PassId pass;
        await using (var node = await TestNode.StartAsync(_store, Settings))
        {
            var r = node.Regions;
            await SetUpAsync(r);
            pass = Assert.IsType<PassView>(await AskAsync(r.Gantries, new TollPass(Gantry, TollRequest(120), null))).Pass;
            // The gantry recorded which channel it handed the voucher to, and the channel persisted the voucher;
            // the node stops before the gantry hears back (the gantry's record is written below, as it would have been).
            Assert.Equal(120, Assert.IsType<VoucherAcknowledged>(await AskAsync(r.Channels, new SubmitVoucher(Channel,
                Signing.Voucher(Channel, 1, 120, 120, _vehicleKey, Signing.Pass(pass))))).PaidForPurpose!.Value.MinorUnits);
            Assert.Equal(0, Assert.IsType<GantryView>(await AskAsync(r.Gantries, new GetGantry(Gantry))).Paid);
        }
        await AppendToJournalAsync("gantry-" + Gantry.Value, new PassPaymentSubmitted(pass, Channel));
        // Long past the pass's deadline: without the channel's answer the pass would be a late violation.
        _clock.Advance(DurationMs.FromSeconds(30));
        await using (var node = await TestNode.StartAsync(_store, Settings))
        {
            var r = node.Regions;
            await AwaitAssertAsync(async () =>
            {
                var gantry = Assert.IsType<GantryView>(await AskAsync(r.Gantries, new GetGantry(Gantry)));
                Assert.Equal((1L, 1L, 0L, 120L), (gantry.Passes, gantry.Paid, gantry.Violations, gantry.PaidMinorUnits));
            });
            Assert.Equal(0, Assert.IsType<ViolationList>(await AskAsync(r.TollOffices, new GetViolations(Operator))).Total);
        }
        // And it stays paid: the verdict was persisted.
        await using (var node = await TestNode.StartAsync(_store, Settings))
        {
            var gantry = Assert.IsType<GantryView>(await AskAsync(node.Regions.Gantries, new GetGantry(Gantry)));
            Assert.Equal((1L, 0L), (gantry.Paid, gantry.Violations));
        }
    }

    /// <summary>Writes one event to an entity's journal with the node stopped, as the entity would have written it.</summary>
    private async Task AppendToJournalAsync(string persistenceId, object e)
    {
        var config = EnergyConfig.Build(_store).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING"));
        var setup = Akka.Actor.Setup.ActorSystemSetup.Create([BootstrapSetup.Create().WithConfig(config), .. EnergyConfig.Setups(_store)]);
        var system = ActorSystem.Create(EnergyConfig.SystemName, setup);
        try
        {
            var writer = system.ActorOf(Props.Create(() => new JournalWriter(persistenceId)));
            Assert.Equal("written", await writer.Ask<string>(e, TimeSpan.FromSeconds(15)));
        }
        finally
        {
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private sealed class JournalWriter : ReceivePersistentActor
    {
        public JournalWriter(string persistenceId)
        {
            PersistenceId = persistenceId;
            SnapshotPluginId = "akka.persistence.no-snapshot-store";
            RecoverAny(_ => { });
            CommandAny(e =>
            {
                var sender = Sender;
                Persist(e, _ => sender.Tell("written"));
            });
        }

        public override string PersistenceId { get; }
    }

    public new void Dispose()
    {
        _nodeKey.Dispose();
        _operatorKey.Dispose();
        _chargerKey.Dispose();
        _gantryKey.Dispose();
        _vehicleKey.Dispose();
        base.Dispose();
    }
}
