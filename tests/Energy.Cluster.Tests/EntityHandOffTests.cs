using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Network;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// Entities handed to another node (here: every shard of a region handed off as the region shuts down gracefully, as a
/// leaving node's regions do) stop with <see cref="Kernel.StopEntity"/>: every entity type stops on it, and a command an
/// entity held back while it recovered is answered before it stops. With Akka's default, a poison pill, such a command
/// was dropped and its caller waited out its timeout.
/// </summary>
public sealed class EntityHandOffTests(ITestOutputHelper output) : ClusterTestKit(TestStores.Sqlite(), output)
{
    /// <summary>How long the regions are given to hand off every shard and stop (the node's hand-off bound is 4 s).</summary>
    private static readonly TimeSpan HandOffBound = TimeSpan.FromSeconds(20);

    [Fact]
    public void Every_entity_type_stops_when_its_shard_is_handed_off()
    {
        List<(string TypeName, IActorRef Region)> regions =
        [
            .. Regions.All(),
            (ChannelWatchListEntity.EntityName, Regions.ChannelWatchList),
            (Market.MarketIndex.EntityName, ClusterSharding.Get(Sys).ShardRegion(Market.MarketIndex.EntityName)),
        ];
        Assert.Equal(16, regions.Select(r => r.Region).Distinct().Count());
        foreach (var (typeName, region) in regions)
        {
            var entity = typeName == "ledger" ? LedgerShards.All(Settings.LedgerShardCount).First() : "probe-1";
            region.Tell(new ShardRegion.StartEntity(entity));
            ExpectMsg<object>(); // the shard's acknowledgement: the entity is started
        }
        // A device entity starts its durable twin when a message needs it; the twin is handed off with it.
        Regions.Devices.Tell(new GetDevice(DeviceId.Of("probe-1")));
        ExpectMsg<object>();

        // A region shutting down waits for every message it holds for a shard with no home: the node's reader of the
        // charge points' passwords asks each store shard once at start, so it is let finish first.
        AwaitCondition(() => Gateway.ChargePointCredentialTable.Get(Sys).IsLoaded, HandOffBound);
        // An entity that does not take the message is stopped anyway after a second, but says so first.
        var unhandled = CreateTestProbe();
        Sys.EventStream.Subscribe(unhandled, typeof(UnhandledMessage));
        foreach (var (_, region) in regions)
        {
            Watch(region);
            region.Tell(GracefulShutdown.Instance);
        }
        var running = regions.ToDictionary(r => r.Region, r => r.TypeName);
        var deadline = DateTime.UtcNow + HandOffBound;
        while (running.Count > 0 && ReceiveOne(Max(deadline - DateTime.UtcNow, TimeSpan.Zero)) is Terminated stopped) running.Remove(stopped.ActorRef);
        Assert.True(running.Count == 0, $"not handed off within {HandOffBound.TotalSeconds:0} s: {string.Join(", ", running.Values)}");
        var ignored = new List<string>();
        while (unhandled.HasMessages)
            if (unhandled.ReceiveOne(TimeSpan.FromSeconds(1)) is UnhandledMessage { Message: Kernel.StopEntity } message) ignored.Add(message.Recipient.Path.ToString());
        Assert.Empty(ignored);
    }

    [Fact]
    public void Commands_entities_held_while_they_recovered_are_answered_before_the_hand_off_stops_them()
    {
        const int Entities = 64;
        var shardOf = new EntityIdExtractor();
        // The shards are placed first, so that the commands below go straight to their entities, which start recovering.
        var placed = Enumerable.Range(0, Entities).Select(i => ChannelId.Of($"placed-{i}")).ToList();
        foreach (var channel in placed) Regions.Channels.Tell(new GetChannel(channel));
        ReceiveN(Entities);
        var shards = placed.Select(c => shardOf.ShardId(c.Value)).ToHashSet();
        var fresh = Enumerable.Range(0, int.MaxValue).Select(i => ChannelId.Of($"fresh-{i}")).Where(c => shards.Contains(shardOf.ShardId(c.Value))).Take(Entities).ToList();

        Watch(Regions.Channels);
        foreach (var channel in fresh) Regions.Channels.Tell(new GetChannel(channel));
        Regions.Channels.Tell(GracefulShutdown.Instance);

        var answered = ReceiveN(Entities, HandOffBound).Select(answer => Assert.IsType<ChannelView>(answer).ChannelId).ToHashSet();
        Assert.Equal(fresh.ToHashSet(), answered);
        ExpectTerminated(Regions.Channels, HandOffBound);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// The stop is no entry point: no HTTP route, gateway frame or OCPP action builds it, and only the entity's shard
    /// sends it (a hand-off, an idle entity let go). Told again, or told while a write is on its way, it stops the entity
    /// once, after the write, and changes nothing: the entity's next message wakes it with what it had.
    /// </summary>
    [Fact]
    public void A_stop_told_twice_while_a_write_is_on_its_way_stops_the_entity_once_after_the_write_and_changes_nothing()
    {
        Regions.Alerts.Tell(new GetAlerts());
        Assert.Equal(0, ExpectMsg<AlertList>().Total);
        var log = LastSender;
        Watch(log);
        var alert = new Alert("clone:vehicle-stop", "clone", DeviceId.Of("vehicle-stop"), "seen at two gantries too far apart", new Timestamp(1_800_000_000_000));
        log.Tell(new RaiseAlert(alert));
        log.Tell(Kernel.StopEntity.Instance);
        log.Tell(Kernel.StopEntity.Instance);
        ExpectTerminated(log);

        // Woken again by its next message: the alert written before the stop is there once, and raising it again adds nothing.
        Regions.Alerts.Tell(new RaiseAlert(alert));
        Regions.Alerts.Tell(new GetAlerts());
        var after = ExpectMsg<AlertList>();
        Assert.Equal(1, after.Total);
        Assert.Equal([alert.Id], after.Latest.Select(a => a.Id));
    }
}
