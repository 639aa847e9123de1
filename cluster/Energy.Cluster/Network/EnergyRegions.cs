using Akka.Actor;
using Akka.Cluster.Sharding;

namespace Energy.Cluster.Network;

/// <summary>The shard regions of a node: the only way in to the entities. <c>Hosting.EnergyEntities</c> starts them.</summary>
public sealed record EnergyRegions(IActorRef Operators, IActorRef Devices, IActorRef Ledger, IActorRef Channels, IActorRef DuplexChannels, IActorRef ChargePoints, IActorRef Sessions,
    IActorRef Gantries, IActorRef TollOffices, IActorRef Zones, IActorRef Alerts, IActorRef ChargePointCredentials, IActorRef LedgerNodes)
{
    public const int MaxShards = 100;

    /// <summary>The market of each grid zone.</summary>
    public IActorRef Markets { get; init; } = ActorRefs.Nobody;

    /// <summary>The parts of the list of channels woken after a restart.</summary>
    public IActorRef ChannelWatchList { get; init; } = ActorRefs.Nobody;

    /// <summary>Every region with the entity type name it was started under.</summary>
    public IReadOnlyList<(string TypeName, IActorRef Region)> All() =>
    [
        ("operator", Operators), ("device", Devices), ("ledger", Ledger), ("channel", Channels), ("duplex-channel", DuplexChannels),
        ("charge-point", ChargePoints), ("charging-session", Sessions), ("gantry", Gantries), ("toll-office", TollOffices), ("zone", Zones),
        ("alert-log", Alerts), ("ocpp-credentials", ChargePointCredentials), ("ledger-nodes", LedgerNodes), ("market", Markets),
    ];
}

/// <summary>Routes every <see cref="IWithEntityId"/> to its entity; shards by a stable hash of the id.</summary>
public sealed class EntityIdExtractor() : HashCodeMessageExtractor(EnergyRegions.MaxShards)
{
    public override string? EntityId(object message) => message switch
    {
        IWithEntityId e => e.EntityId,
        _ => null,
    };
}
