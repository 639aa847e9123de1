using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.DistributedData;
using Energy.Cluster.Ledger;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Network;

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
        // Written to every node at once (gossip would take a round or two), so that a node that just joined is known by its key.
        Receive<PublishOwn>(_ => replicator.Tell(Dsl.Update(NodeKeys.Key, LWWDictionary<string, string>.Empty, new WriteAll(TimeSpan.FromSeconds(3)),
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
/// as intact on the other nodes), and per entity type the shards it hosts and how many entities run in them.
/// </summary>
public sealed record ClusterMemberView(
    string? Key,
    bool Self,
    string Status,
    bool Reachable,
    LedgerSignerStanding? LedgerSigner,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Shards,
    IReadOnlyDictionary<string, int> Entities);

/// <summary>The cluster as this node sees it, for the grid operator: its members, their keys, and the shards each hosts.</summary>
public sealed record ClusterView(IReadOnlyList<ClusterMemberView> Members);

public static class ClusterViews
{
    /// <summary>How long one member's region has to say which shards it hosts; a member that does not answer in time shows none.</summary>
    public static readonly TimeSpan ShardStateTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Every member with its key, its status and reachability, how its blocks audit here, and its shards and entities per entity type.</summary>
    public static async Task<ClusterView> BuildAsync(EnergyNetwork network, CancellationToken token)
    {
        var system = network.System;
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        var signers = await network.LedgerSignersAsync(token);
        var keys = NodeKeys.Get(system);
        var members = await Task.WhenAll(state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(async member =>
        {
            var self = member.Address == cluster.SelfAddress;
            var reachable = !state.Unreachable.Contains(member);
            var key = self ? network.Settings.NodeKey.PublicKey.Hex : keys.Of(member.Address);
            // Each member's own regions say what they host: a region asked at its own node answers for that node alone.
            var hosted = reachable && member.Status == MemberStatus.Up
                ? await Task.WhenAll(network.Regions.All().Select(async region =>
                    (region.TypeName, State: await RegionStateAsync(system, self ? region.Region : null, member.Address, region.TypeName, token))))
                : [];
            var shards = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            var entities = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var (typeName, regionState) in hosted)
            {
                if (regionState is null || regionState.Shards.Count == 0) continue;
                shards[typeName] = regionState.Shards.Select(s => s.ShardId).Order(StringComparer.Ordinal).ToList();
                entities[typeName] = regionState.Shards.Sum(s => s.EntityIds.Count);
            }
            return new ClusterMemberView(key, self, member.Status.ToString(), reachable, key is null ? null : signers.NetworkStandingOf(key), shards, entities);
        }));
        return new ClusterView(members);
    }

    private static async Task<CurrentShardRegionState?> RegionStateAsync(ActorSystem system, IActorRef? local, Address member, string typeName, CancellationToken token)
    {
        try
        {
            return local is not null
                ? await local.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, ShardStateTimeout, token)
                : await system.ActorSelection(new RootActorPath(member) / "system" / "sharding" / typeName)
                    .Ask<CurrentShardRegionState>(GetShardRegionState.Instance, ShardStateTimeout, token);
        }
        catch (Exception exception) when (exception is AskTimeoutException or OperationCanceledException && !token.IsCancellationRequested)
        {
            return null;
        }
    }
}
