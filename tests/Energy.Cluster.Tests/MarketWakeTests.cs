using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Cluster.Hosting;
using Energy.Cluster.Market;
using Energy.Lifecycles.Market;
using Energy.Cluster.Registry;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>The index of active markets, pure: bounded, and each change written once.</summary>
public sealed class MarketIndexRulesTests
{
    private static readonly ZoneId North = ZoneId.Of("zone-north");

    [Fact]
    public void A_zone_becomes_active_once_and_idle_once()
    {
        var recorded = MarketIndexRules.DecideActive(MarketIndexState.Empty, North).Unwrap();
        Assert.Equal(new MarketActivityRecorded(North, true), recorded);
        var active = MarketIndexRules.Apply(MarketIndexState.Empty, recorded!);
        Assert.Null(MarketIndexRules.DecideActive(active, North).Unwrap());
        var idle = MarketIndexRules.DecideIdle(active, North);
        Assert.Equal(new MarketActivityRecorded(North, false), idle);
        Assert.Null(MarketIndexRules.DecideIdle(MarketIndexRules.Apply(active, idle!), North));
    }

    [Fact]
    public void A_full_index_refuses_a_new_zone_by_name_and_still_holds_the_ones_it_has()
    {
        var full = MarketIndexState.Empty with
        {
            Active = MarketIndexState.Empty.Active.Union(Enumerable.Range(0, MarketIndexState.MaxZones).Select(i => ZoneId.Of($"zone-{i}"))),
        };

        var refused = MarketIndexRules.DecideActive(full, North);

        Assert.IsType<MarketIndexFull>(refused.Error);
        Assert.Null(MarketIndexRules.DecideActive(full, ZoneId.Of("zone-7")).Unwrap());
        Assert.Throws<InvalidOperationException>(() => MarketIndexRules.Apply(full, new MarketActivityRecorded(North, true)));
    }
}

/// <summary>A market with an open interval clears on its own after the node restarts, with no order or read to wake it.</summary>
public sealed class MarketWakeTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static Task<object> AskAsync(IActorRef region, object message) => MarketParticipants.AskAsync(region, message);

    private static IActorRef Index(TestNode node) => ClusterSharding.Get(node.System).ShardRegion(MarketIndex.EntityName);

    [Fact]
    public async Task A_restarted_node_clears_an_open_interval_on_its_own_timer_and_the_market_then_leaves_the_index()
    {
        using var participants = new MarketParticipants();
        using var nodeKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var settings = MarketParticipants.NodeSettings(clock, nodeKey) with
        {
            MarketClearCheckInterval = TimeSpan.FromMilliseconds(200),
            MarketWatchInterval = TimeSpan.FromMilliseconds(500),
        };
        var store = TestStores.Sqlite();
        var zone = MarketParticipants.Zone;
        var interval = MarketInterval.Numbered(zone, MarketInterval.Containing(zone, clock.Now, settings.MarketRules.IntervalLength).Number + 1, settings.MarketRules.IntervalLength);

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            await participants.OnboardAsync(node);
            foreach (var order in MarketParticipants.Book(interval))
                Assert.IsType<MarketOrderAccepted>(await AskAsync(node.Regions.Markets, new SubmitMarketOrder(zone, participants.Sign(order).ToArray())));
            // Acknowledged, so already durable in the index.
            Assert.Contains(zone, Assert.IsType<ActiveMarkets>(await AskAsync(Index(node), GetActiveMarkets.Instance)).Zones);
        }

        // The gate closes while the node is down.
        clock.Advance(new DurationMs(interval.Start.UnixMilliseconds - settings.MarketRules.GateClosure.Milliseconds - clock.Now.UnixMilliseconds));

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            // Nothing is sent to the market: the node's watch wakes it from the index, and it clears on its own. Read from its
            // journal, not the live feed: the watch looks once at start, which can be before a subscriber is registered.
            var journal = PersistenceQuery.Get(node.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
            await AwaitAssertAsync(async () =>
            {
                var events = await journal.CurrentEventsByPersistenceId("market-" + zone.Value, 0, long.MaxValue)
                    .RunAggregate(new List<object>(), (all, e) => { all.Add(e.Event); return all; }, node.System.Materializer());
                Assert.Contains(events, e => e is MarketIntervalCleared cleared && cleared.Interval == interval.Number);
            }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));

            // Cleared already; reading the interval now only shows what the clearing decided.
            var view = Assert.IsType<MarketIntervalView>(await AskAsync(node.Regions.Markets, new GetMarketInterval(zone, interval.Number)));
            Assert.Equal(new EnergyWh(4_500), view.Volume);

            // With nothing left on its timer the market leaves the index: a later restart does not wake it for nothing.
            await AwaitAssertAsync(async () =>
                Assert.DoesNotContain(zone, Assert.IsType<ActiveMarkets>(await AskAsync(Index(node), GetActiveMarkets.Instance)).Zones), TimeSpan.FromSeconds(15));
        }
    }
}
