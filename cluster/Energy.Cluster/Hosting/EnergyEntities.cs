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
        system.ActorOf(RevocationWatcher.Props(), "revocation-watcher");
        _ = DeviceDirectoryReader.LoadAsync(system);
        system.ActorOf(NodeKeyPublisher.Props(settings.NodeKey.PublicKey.Hex), "node-key-publisher");
        system.ActorOf(Activity.ActivityCollector.Props(settings.Clock), "activity-collector");
        if (settings.DownCrashedNodes) system.ActorOf(CrashedNodeDowning.Props(), "crashed-node-downing");
        // The ledger totals gauge reads this node's figures from now on (zero while it holds no ledger shard).
        LedgerFigures.Get(system);

        IActorRef? devicesRegion = null;
        var operators = sharding.Start("operator", EntityProps(id => OperatorEntity.Props(id, settings, devicesRegion!)), shardSettings, extractor);
        var zones = sharding.Start("zone", EntityProps(id => Tolls.ZoneEntity.Props(id, settings.Clock)), shardSettings, extractor);
        var alerts = sharding.Start("alert-log", EntityProps(_ => AlertLog.Props()), shardSettings, extractor);
        var devices = sharding.Start("device", EntityProps(id => DeviceEntity.Props(id, () => EntityMailbox.For(DeviceTwin.Props(id, settings, operators, zones, alerts)))), shardSettings, extractor);
        devicesRegion = devices;
        IActorRef? ledgerRegion = null;
        ledgerRegion = sharding.Start("ledger", EntityProps(id => LedgerShard.Props(id, settings, ledgerRegion!)), shardSettings, extractor);
        var watchList = sharding.Start(ChannelWatchListEntity.EntityName, EntityProps(ChannelWatchListEntity.Props), shardSettings, extractor);
        var escrow = new EscrowPeers(ledgerRegion, watchList);
        var channels = sharding.Start("channel", EntityProps(id => ChannelEntity.Props(id, settings, escrow, devices, operators)), shardSettings, extractor);
        var duplex = sharding.Start("duplex-channel", EntityProps(id => DuplexChannelEntity.Props(id, settings, escrow, devices, operators)), shardSettings, extractor);
        var sessions = sharding.Start("charging-session", EntityProps(id => Charging.ChargingSessionEntity.Props(id, settings, devices, channels)), shardSettings, extractor);
        var chargePoints = sharding.Start("charge-point", EntityProps(id => ChargePoints.ChargePointEntity.Props(id, settings, devices, sessions)), shardSettings, extractor);
        IActorRef? gantries = null;
        var offices = sharding.Start("toll-office", EntityProps(id => Tolls.TollOffice.Props(id, gantries!)), shardSettings, extractor);
        gantries = sharding.Start("gantry", EntityProps(id => Tolls.GantryEntity.Props(id, settings, devices, operators, channels, offices, zones)), shardSettings, extractor);
        var credentials = sharding.Start("ocpp-credentials", EntityProps(id => Gateway.ChargePointCredentialStore.Props(id, settings)), shardSettings, extractor);
        system.ActorOf(Gateway.ChargePointCredentialWatcher.Props(credentials), "ocpp-credential-watcher");
        var ledgerNodes = sharding.Start("ledger-nodes", EntityProps(_ => LedgerNodeRegistry.Props(settings)), shardSettings, extractor);
        var marketIndex = sharding.Start(Market.MarketIndex.EntityName, EntityProps(_ => Market.MarketIndex.Props()), shardSettings, extractor);
        IActorRef? markets = null;
        markets = sharding.Start("market", EntityProps(id => Market.MarketEntity.Props(id, settings, devices, channels, markets!, marketIndex)), shardSettings, extractor);
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
