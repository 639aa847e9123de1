using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Tolls;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Energy.Cluster.Tolls;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tests;

public sealed class TollEntitiesOnSqlite(ITestOutputHelper output) : TollEntityTests(TestStores.Sqlite(), output);

public sealed class TollEntitiesOnPostgreSql(ITestOutputHelper output) : TollEntityTests(TestStores.PostgreSql(), output);

/// <summary>Gantries, toll offices and quarantines with the TestKit: rules, hostile commands, recovery.</summary>
public abstract class TollEntityTests(NodeOptions store, ITestOutputHelper output) : TestKit(output: output), IDisposable
{
    private static readonly OperatorId Tolls = OperatorId.Of("tolls-t");
    private static readonly DeviceId Gantry = DeviceId.Of("gantry-t");
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-t");
    private static readonly ChannelId Channel = ChannelId.Of("toll-channel-t");
    private static readonly SegmentId Segment = SegmentId.Of("a1-km-3");

    private readonly DeviceKeyPair _nodeKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _tollsKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _gantryKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _vehicleKey = DeviceKeyPair.Generate();
    private readonly ManualClock _clock = new(new Timestamp(1_800_000_000_000));

    private EnergySettings Settings => new(ClusterTestKit.Network, Currency.Eur, 4, _nodeKey, _clock) { TollAnswerTimeout = TimeSpan.FromSeconds(2), Authority = TestAuthority.Authority };

    private static async Task<object> AskAsync(IActorRef region, object message) => await region.Ask<object>(message, TimeSpan.FromSeconds(15));

    private GantryTariff Tariff(ulong version, long price) =>
        new(ClusterTestKit.Network, Tolls, Gantry, Segment, SegmentId.Of("zone-t"), 0, 0, version, Currency.Eur, [new TollBand(0, price)], 0, 0, 100);

    private byte[] Request(long price, long offsetMs = 0) =>
        Signed<TollRequest>.Sign(new TollRequest(ClusterTestKit.Network, Gantry, Vehicle, Segment, new Timestamp(_clock.Now.UnixMilliseconds + offsetMs),
            new Money(price, Currency.Eur)), _gantryKey).ToArray();

    private async Task SetUpAsync(EnergyRegions r)
    {
        Assert.IsType<OperatorView>(await AskAsync(r.Operators, TestAuthority.Admit(Tolls, _tollsKey, OperatorRoles.TollOperator | OperatorRoles.FleetOwner)));
        foreach (var (device, role, key) in new[] { (Gantry, DeviceRole.Gantry, _gantryKey), (Vehicle, DeviceRole.Vehicle, _vehicleKey) })
        {
            Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(device,
                DeviceIdentity.Endorse(ClusterTestKit.Network, Tolls, _tollsKey, device, role, key.PublicKey).Endorsement.ToArray())));
        }
        var payer = PartyId.From(Vehicle);
        Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(LedgerShards.For(payer, 4), "fund", payer, new Money(5_000, Currency.Eur), TestAuthority.Bank)));
        Assert.IsType<ChannelOpened>(await AskAsync(r.Channels, new OpenChannel(Channel, Signing.Opening(Channel, payer, PartyId.From(Tolls), 1_000, _vehicleKey))));
    }

    [Fact]
    public async Task A_gantry_takes_its_operators_tariff_resolves_each_pass_once_and_recovers_after_a_restart()
    {
        GantryView before;
        await using (var node = await TestNode.StartAsync(store, Settings))
        {
            var r = node.Regions;
            await SetUpAsync(r);
            // A tariff not signed by the gantry's operator, then the real one, then an older version.
            Assert.Equal("InvalidSignature", Assert.IsType<Refusal>(await AskAsync(r.Gantries, new ConfigureGantry(Gantry, Signed<GantryTariff>.Sign(Tariff(1, 120), _gantryKey).ToArray()))).Code);
            Assert.Equal(nameof(GantryNotConfigured), Assert.IsType<Refusal>(await AskAsync(r.Gantries, new TollPass(Gantry, Request(120), null))).Code);
            Assert.Equal(120, Assert.IsType<GantryView>(await AskAsync(r.Gantries, new ConfigureGantry(Gantry, Signed<GantryTariff>.Sign(Tariff(2, 120), _tollsKey).ToArray()))).Price!.Value.MinorUnits);
            Assert.Equal(nameof(TariffNotNewer), Assert.IsType<Refusal>(await AskAsync(r.Gantries, new ConfigureGantry(Gantry, Signed<GantryTariff>.Sign(Tariff(1, 80), _tollsKey).ToArray()))).Code);
            var stale = Assert.IsType<TollPriceChanged>(Assert.IsType<Refusal>(await AskAsync(r.Gantries, new TollPass(Gantry, Request(119), null))).Error);
            Assert.Equal((120L, 119L), (stale.Current.MinorUnits, stale.Asked.MinorUnits));

            var first = Assert.IsType<PassView>(await AskAsync(r.Gantries, new TollPass(Gantry, Request(120), null)));
            Assert.Equal(PassStatus.AwaitingPayment, first.Status);
            var paid = Assert.IsType<PassView>(await AskAsync(r.Gantries, new PayToll(Gantry, first.Pass, Vehicle, Signing.Voucher(Channel, 1, 120, 120, _vehicleKey, Signing.Pass(first.Pass)), null)));
            Assert.Equal((PassStatus.Paid, 120L), (paid.Status, paid.PaidMinorUnits!.Value));
            // Paying a resolved pass again changes nothing.
            Assert.Equal(PassStatus.Paid, Assert.IsType<PassView>(await AskAsync(r.Gantries, new PayToll(Gantry, first.Pass, Vehicle, Signing.Voucher(Channel, 2, 240, 120, _vehicleKey, Signing.Pass(first.Pass)), null))).Status);
            Assert.Equal(120, Assert.IsType<ChannelView>(await AskAsync(r.Channels, new GetChannel(Channel))).Paid!.Value.MinorUnits);

            // A pass nobody pays becomes one late violation, filed with the toll office.
            var unpaid = Assert.IsType<PassView>(await AskAsync(r.Gantries, new TollPass(Gantry, Request(120, offsetMs: 1), null)));
            _clock.Advance(DurationMs.FromSeconds(3));
            await AwaitAssertAsync(async () => Assert.Equal(1, Assert.IsType<GantryView>(await AskAsync(r.Gantries, new GetGantry(Gantry))).Violations));
            // A payment after the deadline changes nothing: the pass stays a violation and the channel takes nothing.
            Assert.Equal(PassStatus.Violation, Assert.IsType<PassView>(await AskAsync(r.Gantries, new PayToll(Gantry, unpaid.Pass, Vehicle,
                Signing.Voucher(Channel, 2, 240, 120, _vehicleKey, Signing.Pass(unpaid.Pass)), null))).Status);
            Assert.Equal(120, Assert.IsType<ChannelView>(await AskAsync(r.Channels, new GetChannel(Channel))).Paid!.Value.MinorUnits);
            await AwaitAssertAsync(async () => Assert.Equal(1, Assert.IsType<ViolationList>(await AskAsync(r.TollOffices, new GetViolations(Tolls))).Total));
            before = Assert.IsType<GantryView>(await AskAsync(r.Gantries, new GetGantry(Gantry)));
            Assert.Equal((2L, 1L, 1L, 120L), (before.Passes, before.Paid, before.Violations, before.PaidMinorUnits));
        }
        await using (var node = await TestNode.StartAsync(store, Settings))
        {
            var r = node.Regions;
            Assert.Equal(before, Assert.IsType<GantryView>(await AskAsync(r.Gantries, new GetGantry(Gantry))));
            var office = Assert.IsType<ViolationList>(await AskAsync(r.TollOffices, new GetViolations(Tolls)));
            Assert.Equal((1L, ViolationCause.Late), (office.Total, office.Latest.Single().Cause));
            // Pass numbers go on from where they were.
            var next = Assert.IsType<PassView>(await AskAsync(r.Gantries, new TollPass(Gantry, Request(120, offsetMs: 2), null)));
            Assert.Equal(3UL, next.Pass.Number);
        }
    }

    [Fact]
    public async Task A_quarantined_payer_stays_refused_after_a_restart_until_released()
    {
        await using (var node = await TestNode.StartAsync(store, Settings))
        {
            var r = node.Regions;
            await SetUpAsync(r);
            Assert.IsType<VoucherAcknowledged>(await AskAsync(r.Channels, new SubmitVoucher(Channel, Signing.Voucher(Channel, 1, 10, 10, _vehicleKey))));
            // Only the device's own operator (here the toll operator also runs the fleet) or a grid operator may order it.
            using var stranger = DeviceKeyPair.Generate();
            Assert.Equal("InvalidSignature", Assert.IsType<Refusal>(await AskAsync(r.Devices, new QuarantineDevice(Vehicle,
                Signed<Quarantine>.Sign(new Quarantine(ClusterTestKit.Network, Tolls, Vehicle, true, 1, _clock.Now), stranger).ToArray()))).Code);
            Assert.True(Assert.IsType<DeviceView>(await AskAsync(r.Devices, new QuarantineDevice(Vehicle,
                Signed<Quarantine>.Sign(new Quarantine(ClusterTestKit.Network, Tolls, Vehicle, true, 1, _clock.Now), _tollsKey).ToArray()))).Quarantined);
            Assert.Equal(nameof(PartyQuarantined), Assert.IsType<Refusal>(await AskAsync(r.Channels, new SubmitVoucher(Channel, Signing.Voucher(Channel, 2, 20, 10, _vehicleKey)))).Code);
        }
        await using (var node = await TestNode.StartAsync(store, Settings))
        {
            var r = node.Regions;
            // The channel is the first to start: it asks the payer's twin before it takes a voucher.
            Assert.Equal(nameof(PartyQuarantined), Assert.IsType<Refusal>(await AskAsync(r.Channels, new SubmitVoucher(Channel, Signing.Voucher(Channel, 2, 20, 10, _vehicleKey)))).Code);
            Assert.False(Assert.IsType<DeviceView>(await AskAsync(r.Devices, new QuarantineDevice(Vehicle,
                Signed<Quarantine>.Sign(new Quarantine(ClusterTestKit.Network, Tolls, Vehicle, false, 2, _clock.Now), _tollsKey).ToArray()))).Quarantined);
            Assert.Equal(20, Assert.IsType<VoucherAcknowledged>(await AskAsync(r.Channels, new SubmitVoucher(Channel, Signing.Voucher(Channel, 2, 20, 10, _vehicleKey)))).Cumulative.MinorUnits);
        }
    }

    public new void Dispose()
    {
        _nodeKey.Dispose();
        _tollsKey.Dispose();
        _gantryKey.Dispose();
        _vehicleKey.Dispose();
        base.Dispose();
    }
}
