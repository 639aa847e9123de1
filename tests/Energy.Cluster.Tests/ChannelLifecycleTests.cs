using Akka.Actor;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Registry;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

public sealed class ChannelLifecycleOnSqlite(ITestOutputHelper output) : ChannelLifecycleTests(TestStores.Sqlite(), output);

public sealed class ChannelLifecycleOnPostgreSql(ITestOutputHelper output) : ChannelLifecycleTests(TestStores.PostgreSql(), output);

public abstract class ChannelLifecycleTests(NodeOptions node, ITestOutputHelper output) : ClusterTestKit(node, output)
{
    [Fact]
    public void A_streaming_channel_opens_takes_vouchers_and_settles_on_the_ledger()
    {
        using var cpoKey = DeviceKeyPair.Generate();
        using var vehicleKey = DeviceKeyPair.Generate();
        var cpo = OperatorId.Of("cpo-1");
        var vehicle = DeviceId.Of("vehicle-1");
        Regions.Operators.Tell(TestAuthority.Admit(cpo, cpoKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner), TestActor);
        ExpectMsg<OperatorView>();
        var endorsement = DeviceIdentity.Endorse(Network, cpo, cpoKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey);
        Regions.Devices.Tell(new EndorseDevice(vehicle, endorsement.Endorsement.ToArray()), TestActor);
        ExpectMsg<DeviceView>();
        var payer = PartyId.From(vehicle);
        Regions.Ledger.Tell(new Mint(LedgerShards.For(payer, Settings.LedgerShardCount), "mint-1", payer, new Money(10_000, Currency.Eur), TestAuthority.Bank), TestActor);
        ExpectMsg<LedgerCommitted>();

        var channel = ChannelId.Of("channel-1");
        var opening = Signed<StreamingOpening>.Sign(new StreamingOpening(Network, channel, payer, PartyId.From(cpo),
            new Money(5_000, Currency.Eur), DurationMs.FromSeconds(60)), vehicleKey);
        Regions.Channels.Tell(new OpenChannel(channel, opening.ToArray()), TestActor);
        ExpectMsg<ChannelOpened>(TimeSpan.FromSeconds(10));

        for (ulong i = 1; i <= 5; i++)
        {
            var voucher = Signed<Voucher>.Sign(new Voucher(Network, channel, i, new Money((long)i * 300, Currency.Eur), new Money(300, Currency.Eur), PaymentPurpose.None), vehicleKey);
            Regions.Channels.Tell(new SubmitVoucher(channel, voucher.ToArray()), TestActor);
        }
        for (var i = 0; i < 5; i++) ExpectMsg<VoucherAcknowledged>();

        var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, channel, PartyId.From(cpo), Clock.Now), cpoKey);
        Regions.Channels.Tell(new CloseChannel(channel, close.ToArray()), TestActor);
        var settled = ExpectMsg<ChannelSettled>(TimeSpan.FromSeconds(10));
        Assert.Contains(settled.Payouts, p => p.Account == PartyId.From(cpo) && p.Amount.MinorUnits == 1_500);

        AwaitAssert(() =>
        {
            Regions.Ledger.Tell(new GetAccount(LedgerShards.For(PartyId.From(cpo), Settings.LedgerShardCount), PartyId.From(cpo)), TestActor);
            Assert.Equal(1_500, ExpectMsg<AccountView>().Balance.MinorUnits);
        }, TimeSpan.FromSeconds(10));
        Regions.Ledger.Tell(new GetAccount(LedgerShards.For(payer, Settings.LedgerShardCount), payer), TestActor);
        Assert.Equal(8_500, ExpectMsg<AccountView>().Balance.MinorUnits);

        Regions.Channels.Tell(new CloseChannel(channel, close.ToArray()), TestActor);
        Assert.Equal(settled, ExpectMsg<ChannelSettled>());
    }
}
