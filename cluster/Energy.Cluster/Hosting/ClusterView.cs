using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.DistributedData;
using Energy.Cluster.Ledger;

namespace Energy.Cluster.Hosting;

/// <summary>
/// Which key each member of the cluster signs ledger blocks with, as this node knows it: every node writes its
/// own into a replicated map once it is Up, and the entry of a member that left is taken out again. It is how
/// the network's governance learns the keys it may admit, without anyone copying them from node to node.
/// </summary>
public sealed class NodeKeys : IExtension
{
    public static readonly LWWDictionaryKey<string, string> Key = new("ledger-node-keys");

    private readonly ConcurrentDictionary<string, string> _byAddress = new(StringComparer.Ordinal);

    /// <summary>The key (hex) a member at this address signs with, if this node has heard of it.</summary>
    public string? Of(Address address) => _byAddress.TryGetValue(address.ToString(), out var key) ? key : null;

    internal void Replace(IImmutableDictionary<string, string> entries)
    {
        foreach (var (address, key) in entries) _byAddress[address] = key;
        foreach (var address in _byAddress.Keys.Where(a => !entries.ContainsKey(a)).ToList()) _byAddress.TryRemove(address, out _);
    }

    public static NodeKeys Get(ActorSystem system) => system.WithExtension<NodeKeys, NodeKeysProvider>();
}

public sealed class NodeKeysProvider : ExtensionIdProvider<NodeKeys>
{
    public override NodeKeys CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>Writes this node's key into the replicated map once it is Up, takes out members that left, and keeps <see cref="NodeKeys"/> in step.</summary>
public sealed class NodeKeyPublisher : ReceiveActor
{
    private sealed record PublishOwn
    {
        public static readonly PublishOwn Instance = new();
    }

    public NodeKeyPublisher(string ownKeyHex)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        var replicator = DistributedData.Get(Context.System).Replicator;
        var keys = NodeKeys.Get(Context.System);
        var self = Self;
        replicator.Tell(Dsl.Subscribe(NodeKeys.Key, Self));
        cluster.RegisterOnMemberUp(() => self.Tell(PublishOwn.Instance));
        cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));
        Receive<PublishOwn>(_ => replicator.Tell(Dsl.Update(NodeKeys.Key, LWWDictionary<string, string>.Empty, WriteLocal.Instance,
            map => map.SetItem(cluster, cluster.SelfAddress.ToString(), ownKeyHex))));
        Receive<ClusterEvent.MemberRemoved>(removed => replicator.Tell(Dsl.Update(NodeKeys.Key, LWWDictionary<string, string>.Empty, WriteLocal.Instance,
            map => map.ContainsKey(removed.Member.Address.ToString()) ? map.Remove(cluster, removed.Member.Address.ToString()) : map)));
        Receive<Changed>(changed => keys.Replace(changed.Get(NodeKeys.Key).Entries));
        Receive<IUpdateResponse>(_ => { });
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    public static Props Props(string ownKeyHex) => Akka.Actor.Props.Create(() => new NodeKeyPublisher(ownKeyHex));
}

/// <summary>
/// One member of the cluster as this node sees it: no address, only the key it signs ledger blocks with and how
/// that key stands (configured on this node, admitted by the authority, or neither: then its blocks do not audit
/// as intact on the other nodes).
/// </summary>
public sealed record ClusterMemberView(
    string? Key,
    bool Self,
    string Status,
    bool Reachable,
    LedgerSignerStanding? LedgerSigner,
    IReadOnlyDictionary<string, int> Shards,
    IReadOnlyDictionary<string, int> Entities);

/// <summary>The cluster as this node sees it, for the grid operator: its members, their keys, and the shards each hosts.</summary>
public sealed record ClusterView(IReadOnlyList<ClusterMemberView> Members);

public static class ClusterViews
{
    /// <summary>How long a region gathers its shard counts from the other nodes before it answers with what it has.</summary>
    public static readonly TimeSpan ShardStatsTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Every member with its key, its status and reachability, how its blocks audit here, and its shards and entities per entity type.</summary>
    public static async Task<ClusterView> BuildAsync(EnergyNetwork network, CancellationToken token)
    {
        var system = network.System;
        var state = Akka.Cluster.Cluster.Get(system).State;
        var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
        var signers = await network.LedgerSignersAsync(token);
        var stats = await Task.WhenAll(network.Regions.All().Select(async region => (region.TypeName, Stats: await StatsAsync(region.Region, token))));
        var keys = NodeKeys.Get(system);
        var members = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(member =>
        {
            var key = member.Address == self ? network.Settings.NodeKey.PublicKey.Hex : keys.Of(member.Address);
            var shards = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var entities = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var (typeName, regionStats) in stats)
            {
                if (regionStats?.Regions.TryGetValue(member.Address, out var onMember) != true) continue;
                shards[typeName] = onMember!.Stats.Count;
                entities[typeName] = onMember.Stats.Values.Sum();
            }
            return new ClusterMemberView(key, member.Address == self, member.Status.ToString(), !state.Unreachable.Contains(member),
                key is null ? null : signers.NetworkStandingOf(key), shards, entities);
        }).ToList();
        return new ClusterView(members);
    }

    private static async Task<ClusterShardingStats?> StatsAsync(IActorRef region, CancellationToken token)
    {
        try
        {
            return await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(ShardStatsTimeout), ShardStatsTimeout + TimeSpan.FromSeconds(1), token);
        }
        catch (Exception exception) when (exception is AskTimeoutException or OperationCanceledException && !token.IsCancellationRequested)
        {
            return null;
        }
    }
}
