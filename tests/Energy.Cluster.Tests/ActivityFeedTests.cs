using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit;
using Energy.Channels.Primitives;
using Energy.Cluster.Activity;
using Energy.Cluster.Registry;
using Energy.Cluster.Serialization;
using Xunit.Abstractions;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

/// <summary>
/// The network's activity feed: the domain events entities publish, batched on each node and sent to every node
/// on one topic. Events cross nodes unchanged, and entities publish what they made durable.
/// </summary>
public sealed class ActivityFeedTests(ITestOutputHelper output) : ClusterTestKit(TestStores.Sqlite(), output)
{
    private static readonly Timestamp At = new(1_800_000_000_000);
    private static readonly Money Ten = new(10, Currency.Eur);

    /// <summary>One event of every kind.</summary>
    public static IReadOnlyList<NetworkActivity> EveryKind() =>
    [
        new ChargingSessionCompleted(SessionId.Of("session-1"), PartyId.Of("operator:cpo-1"), DeviceId.Of("charger-1"), DeviceId.Of("vehicle-1"), ChannelId.Of("channel-1"),
            new EnergyWh(7_000), new Money(245, Currency.Eur), new Money(245, Currency.Eur), SegmentId.Of("zone-a"), At),
        new ChargingSessionCompleted(SessionId.Of("session-2"), PartyId.Of("operator:cpo-1"), DeviceId.Of("charger-1"), DeviceId.Of("vehicle-2"), null,
            new EnergyWh(0), Money.Zero(Currency.Eur), Money.Zero(Currency.Eur), null, At),
        new TollPassPaid(PassId.Of("gantry-1.1"), OperatorId.Of("tolls-1"), DeviceId.Of("gantry-1"), DeviceId.Of("vehicle-1"), ChannelId.Of("channel-2"), Ten, SegmentId.Of("zone-a"), At),
        new TollViolationRecorded("violation-1", OperatorId.Of("tolls-1"), DeviceId.Of("gantry-1"), DeviceId.Of("vehicle-3"), Ten, "NoChannel", "no open channel",
            SegmentId.Of("zone-a"), At),
        new DuplexTradeAgreed(ChannelId.Of("duplex-1"), 3, PartyId.Of("device:home-1"), PartyId.Of("device:home-2"), Ten, At),
        new SettlementBlockCommitted("ledger-0", 7, 2, new Money(30, Currency.Eur), [new OperatorSettlement(OperatorId.Of("cpo-1"), new Money(20, Currency.Eur))], At),
        new ChannelDisputeOpened(ChannelId.Of("channel-1"), PartyId.Of("device:vehicle-1"), PartyId.Of("operator:cpo-1"), At),
        new ChannelEscrowAlert(ChannelId.Of("channel-1"), "EscrowMismatch", "the ledger locked another escrow", At),
        new DeviceAlertRaised("clone:vehicle-1", "clone", DeviceId.Of("vehicle-1"), "seen at two gantries 40 km apart within a minute", At),
        new MarketIntervalClearedActivity(Energy.Channels.Market.ZoneId.Of("zone-a"), 6_000_000, new Energy.Channels.Market.EnergyPrice(120, Currency.Eur),
            new EnergyWh(4_000), 4, new Money(480, Currency.Eur), At),
        new MarketIntervalClearedActivity(Energy.Channels.Market.ZoneId.Of("zone-a"), 6_000_001, null, EnergyWh.Zero, 0, Money.Zero(Currency.Eur), At),
        new MarketIntervalClearedActivity(Energy.Channels.Market.ZoneId.Of("zone-a"), 6_000_002, new Energy.Channels.Market.EnergyPrice(120, Currency.Eur),
            new EnergyWh(1_000), 2, new Money(120, Currency.Eur), At)
        {
            Start = new Timestamp(1_800_000_600_000),
            Depth = new MarketDepth(1, new EnergyWh(1_000), 2, new EnergyWh(3_000)),
            Trades = [new MarketTrade(DeviceId.Of("meter-1"), Energy.Channels.Market.MarketSide.Bid, new EnergyWh(1_000), new Money(120, Currency.Eur))],
        },
        new MarketOrderPlaced(Energy.Channels.Market.ZoneId.Of("zone-a"), 6_000_003, new Timestamp(1_800_000_900_000), Energy.Channels.Market.MarketSide.Offer,
            new EnergyWh(2_000), At),
        new MarketIntervalSettledActivity(Energy.Channels.Market.ZoneId.Of("zone-a"), 6_000_002, OperatorId.Of("grid-a"), new EnergyWh(900), new EnergyWh(1_000),
            new EnergyWh(100), EnergyWh.Zero, new EnergyWh(100), new Money(120, Currency.Eur), new Money(108, Currency.Eur), new Money(18, Currency.Eur), At),
    ];

    [Fact]
    public void A_batch_of_every_kind_of_event_crosses_nodes_unchanged()
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        var batch = new ActivityBatch("akka.tcp://energy@node-1:4053", EveryKind(), Payments: 12, At);

        var back = (ActivityBatch)serializer.FromBinary(serializer.ToBinary(batch), serializer.Manifest(batch));

        Assert.Equal("activity.batch.v1", serializer.Manifest(batch));
        Assert.Equal(batch.Events.Select(e => e.GetType()), back.Events.Select(e => e.GetType()));
        Assert.Equal(JsonSerializer.Serialize(batch, EnergyJson.Options), JsonSerializer.Serialize(back, EnergyJson.Options));
        Assert.Equal((batch.Node, batch.Payments, batch.OldestAt), (back.Node, back.Payments, back.OldestAt));
    }

    [Fact]
    public void Every_kind_of_event_has_a_stable_manifest_and_a_name_in_a_batch()
    {
        var kinds = typeof(NetworkActivity).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(NetworkActivity)) && !t.IsAbstract).ToList();
        var named = typeof(NetworkActivity).GetCustomAttributes<JsonDerivedTypeAttribute>().Select(a => a.DerivedType).ToList();

        Assert.Equal(kinds.OrderBy(t => t.Name), named.OrderBy(t => t.Name));
        Assert.All(kinds, kind => Assert.StartsWith("activity.", kind.GetCustomAttribute<ManifestAttribute>()!.Name, StringComparison.Ordinal));
        Assert.Equal(kinds.OrderBy(t => t.Name), EveryKind().Select(e => e.GetType()).Distinct().OrderBy(t => t.Name));
    }

    [Fact]
    public void An_alert_the_log_records_reaches_every_subscriber_as_a_device_alert()
    {
        var watcher = Subscribe();
        var alert = new Alert("clone:vehicle-feed", "clone", DeviceId.Of("vehicle-feed"), "seen at two gantries too far apart", At);

        Regions.Alerts.Tell(new RaiseAlert(alert));

        var raised = Published<DeviceAlertRaised>(watcher, e => e.Device == alert.Device);
        Assert.Equal(new DeviceAlertRaised(alert.Id, alert.Kind, alert.Device, alert.Detail, alert.At), raised);
    }

    [Fact]
    public void A_settlement_block_names_what_it_settled_in_all_and_to_each_operators_account()
    {
        var payer = PartyId.Of("device:vehicle-settles");
        var payee = PartyId.Of("operator:cpo-settled");
        var shard = LedgerShards.For(payer, Settings.LedgerShardCount);
        var escrow = TestEscrows.Streaming("channel-settles");
        Ask<LedgerCommitted>(new Mint(shard, "fund-settles", payer, new Money(1_000, Currency.Eur), TestAuthority.Bank));
        Ask<EscrowLocked>(new LockEscrow(shard, escrow, payer, new Money(600, Currency.Eur)));
        var watcher = Subscribe();

        var released = Ask<EscrowReleased>(new ReleaseEscrow(shard, escrow, payer,
            [new Payout(payer, new Money(150, Currency.Eur)), new Payout(payee, new Money(450, Currency.Eur))]));

        var block = Published<SettlementBlockCommitted>(watcher, b => b.Shard == shard && b.Height == released.BlockHeight);
        Assert.Equal(new Money(600, Currency.Eur), block.Settled);
        Assert.Equal([new OperatorSettlement(payee.AsOperator(), new Money(450, Currency.Eur))], block.ToOperators);
    }

    private T Ask<T>(ILedgerCommand command)
    {
        Regions.Ledger.Tell(command, TestActor);
        return ExpectMsg<T>(TimeSpan.FromSeconds(10));
    }

    private TestProbe Subscribe()
    {
        var watcher = CreateTestProbe();
        DistributedPubSub.Get(Sys).Mediator.Tell(new Subscribe(ActivityFeed.Topic, watcher.Ref), watcher.Ref);
        // A batch of what happened before may reach the watcher ahead of its acknowledgement; only later batches count.
        watcher.FishForMessage(m => m is SubscribeAck, TimeSpan.FromSeconds(10));
        return watcher;
    }

    /// <summary>The first event of type <typeparamref name="T"/> that fits, from the batches the watcher receives.</summary>
    private static T Published<T>(TestProbe watcher, Func<T, bool> fits) where T : NetworkActivity
    {
        var batch = watcher.FishForMessage<ActivityBatch>(b => b.Events.OfType<T>().Any(fits), TimeSpan.FromSeconds(10));
        return batch.Events.OfType<T>().First(fits);
    }
}
