using Akka.Actor;
using Akka.Cluster.Sharding;
using Energy.Cluster.Channels;
using Energy.Cluster.ChargePoints;
using Energy.Cluster.Kernel;
using Energy.Cluster.Ledger;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Hosting;

/// <summary>Every entity type of the network, started on a node.</summary>
public static class EnergyEntities
{
    /// <summary>
    /// Starts every entity type as a sharded entity, and the per-node watchers of revocations and OCPP credentials;
    /// <paramref name="devicesWaiting"/> says when the node holds a backlog of device calls, for which the channel watch makes way.
    /// </summary>
    public static EnergyRegions Start(ActorSystem system, EnergySettings settings, Func<bool>? devicesWaiting = null)
    {
        var sharding = ClusterSharding.Get(system);
        var shardSettings = ClusterShardingSettings.Create(system);
        var extractor = new EntityIdExtractor();
        var allocation = sharding.DefaultShardAllocationStrategy(shardSettings);
        // Every entity type stops with StopEntity rather than a poison pill: it answers what it holds before it is handed off.
        IActorRef Start(string typeName, Func<string, Props> props) =>
            sharding.Start(typeName, EntityProps(props), shardSettings, extractor, allocation, StopEntity.Instance);
        system.ActorOf(RevocationWatcher.Props(), "revocation-watcher");
        _ = DeviceDirectoryReader.LoadAsync(system);
        system.ActorOf(NodeKeyPublisher.Props(settings.NodeKey.PublicKey.Hex), "node-key-publisher");
        system.ActorOf(Activity.ActivityCollector.Props(settings.Clock), "activity-collector");
        if (settings.DownCrashedNodes) system.ActorOf(CrashedNodeDowning.Props(), "crashed-node-downing");
        // The ledger totals gauge reads this node's figures from now on (zero while it holds no ledger shard).
        LedgerFigures.Get(system);

        IActorRef? devicesRegion = null;
        var operators = Start("operator", id => OperatorEntity.Props(id, settings, devicesRegion!));
        var zones = Start("zone", id => Tolls.ZoneEntity.Props(id, settings.Clock));
        var alerts = Start("alert-log", _ => AlertLog.Props());
        var devices = Start("device", id => DeviceEntity.Props(id, () => EntityMailbox.For(DeviceTwin.Props(id, settings, operators, zones, alerts))));
        devicesRegion = devices;
        IActorRef? ledgerRegion = null;
        ledgerRegion = Start("ledger", id => LedgerShard.Props(id, settings, ledgerRegion!));
        var watchList = Start(ChannelWatchListEntity.EntityName, ChannelWatchListEntity.Props);
        var escrow = new EscrowPeers(ledgerRegion, watchList);
        var channels = Start("channel", id => ChannelEntity.Props(id, settings, escrow, devices, operators));
        var duplex = Start("duplex-channel", id => DuplexChannelEntity.Props(id, settings, escrow, devices, operators));
        var sessions = Start("charging-session", id => Charging.ChargingSessionEntity.Props(id, settings, devices, channels));
        var chargePoints = Start("charge-point", id => ChargePoints.ChargePointEntity.Props(id, settings, devices, sessions));
        IActorRef? gantries = null;
        var offices = Start("toll-office", id => Tolls.TollOffice.Props(id, gantries!));
        gantries = Start("gantry", id => Tolls.GantryEntity.Props(id, settings, devices, operators, channels, offices, zones));
        var credentials = Start("ocpp-credentials", id => Gateway.ChargePointCredentialStore.Props(id, settings));
        system.ActorOf(Gateway.ChargePointCredentialWatcher.Props(credentials), "ocpp-credential-watcher");
        var ledgerNodes = Start("ledger-nodes", _ => LedgerNodeRegistry.Props(settings));
        var marketIndex = Start(Market.MarketIndex.EntityName, _ => Market.MarketIndex.Props());
        IActorRef? markets = null;
        markets = Start("market", id => Market.MarketEntity.Props(id, settings, devices, channels, markets!, marketIndex));
        system.ActorOf(Market.MarketWatch.Props(marketIndex, markets, settings.MarketWatchInterval), "market-watch");
        var regions = new EnergyRegions(operators, devices, ledgerRegion, channels, duplex, chargePoints, sessions, gantries, offices, zones, alerts, credentials,
            ledgerNodes) { Markets = markets, ChannelWatchList = watchList };
        system.ActorOf(ChannelWatch.Props(watchList, regions.Ledger, regions.Channels, regions.DuplexChannels, settings.LedgerShardCount, settings.ChannelWatchInterval,
            devicesWaiting), "channel-watch");
        return regions;
    }

    /// <summary>An entity type's props, each with the entities' mailbox (<see cref="EntityMailbox"/>).</summary>
    private static Func<string, Props> EntityProps(Func<string, Props> props) => id => EntityMailbox.For(props(id));
}
