using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Registry;

/// <summary>
/// This node's view of every revoked device, read on every payment without a round trip. Revocations
/// reach it from the device twin on this node at once, and from other nodes through distributed data
/// (written to all nodes before a revocation is acknowledged).
/// </summary>
public sealed class RevocationList : IExtension
{
    public static readonly ORSetKey<string> Key = new("revoked-devices");

    private readonly ConcurrentDictionary<string, bool> _revoked = new(StringComparer.Ordinal);

    public bool IsRevoked(DeviceId device) => _revoked.ContainsKey(device.Value);
    public bool IsRevoked(PartyId party) => _revoked.ContainsKey(party.Value);

    public void MarkRevoked(string device) => _revoked[device] = true;

    public int Count => _revoked.Count;

    public static RevocationList Get(ActorSystem system) => system.WithExtension<RevocationList, RevocationListProvider>();
}

public sealed class RevocationListProvider : ExtensionIdProvider<RevocationList>
{
    public override RevocationList CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>Keeps this node's <see cref="RevocationList"/> in step with the replicated set.</summary>
public sealed class RevocationWatcher : ReceiveActor
{
    public RevocationWatcher()
    {
        var list = RevocationList.Get(Context.System);
        var replicator = DistributedData.Get(Context.System).Replicator;
        replicator.Tell(Dsl.Subscribe(RevocationList.Key, Self));
        Receive<Changed>(changed =>
        {
            foreach (var device in changed.Get(RevocationList.Key).Elements) list.MarkRevoked(device);
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new RevocationWatcher());

    /// <summary>Adds a revoked device to the replicated set, on all reachable nodes before the task completes.</summary>
    public static async Task<bool> ReplicateAsync(ActorSystem system, DeviceId device, TimeSpan timeout)
    {
        RevocationList.Get(system).MarkRevoked(device.Value);
        var replicator = DistributedData.Get(system).Replicator;
        var self = Akka.Cluster.Cluster.Get(system).SelfUniqueAddress;
        var update = Dsl.Update(RevocationList.Key, ORSet<string>.Empty, new WriteAll(timeout), set => set.Add(self, device.Value));
        var response = await replicator.Ask<IUpdateResponse>(update, timeout + TimeSpan.FromSeconds(1));
        return response.IsSuccessful;
    }
}
