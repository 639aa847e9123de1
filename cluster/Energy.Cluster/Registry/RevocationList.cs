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
    public static readonly ORSetKey<string> QuarantineKey = new("quarantined-devices");

    private readonly ConcurrentDictionary<string, bool> _revoked = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _quarantined = new(StringComparer.Ordinal);

    public bool IsQuarantined(DeviceId device) => _quarantined.ContainsKey(device.Value);
    public bool IsQuarantined(PartyId party) => party.IsDevice && _quarantined.ContainsKey(party.Name);

    public void SetQuarantined(string device, bool quarantined)
    {
        if (quarantined) _quarantined[device] = true;
        else _quarantined.TryRemove(device, out _);
    }

    /// <summary>Takes the replicated set as it is now: devices released elsewhere leave this node's view too.</summary>
    public void ReplaceQuarantined(IReadOnlySet<string> devices)
    {
        foreach (var device in devices) _quarantined[device] = true;
        foreach (var device in _quarantined.Keys.Where(d => !devices.Contains(d)).ToList()) _quarantined.TryRemove(device, out _);
    }

    public bool IsRevoked(DeviceId device) => _revoked.ContainsKey(device.Value);
    public bool IsRevoked(PartyId party) => party.IsDevice && _revoked.ContainsKey(party.Name);

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
        replicator.Tell(Dsl.Subscribe(RevocationList.QuarantineKey, Self));
        Receive<Changed>(changed =>
        {
            if (changed.Key.Equals(RevocationList.Key))
            {
                foreach (var device in changed.Get(RevocationList.Key).Elements) list.MarkRevoked(device);
            }
            else if (changed.Key.Equals(RevocationList.QuarantineKey))
            {
                list.ReplaceQuarantined(changed.Get(RevocationList.QuarantineKey).Elements.ToHashSet(StringComparer.Ordinal));
            }
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

    /// <summary>Quarantines or releases a device in the replicated set, on all reachable nodes before the task completes.</summary>
    public static async Task<bool> ReplicateQuarantineAsync(ActorSystem system, DeviceId device, bool quarantined, TimeSpan timeout)
    {
        RevocationList.Get(system).SetQuarantined(device.Value, quarantined);
        var replicator = DistributedData.Get(system).Replicator;
        var self = Akka.Cluster.Cluster.Get(system).SelfUniqueAddress;
        var update = Dsl.Update(RevocationList.QuarantineKey, ORSet<string>.Empty, new WriteAll(timeout),
            set => quarantined ? set.Add(self, device.Value) : set.Remove(self, device.Value));
        var response = await replicator.Ask<IUpdateResponse>(update, timeout + TimeSpan.FromSeconds(1));
        return response.IsSuccessful;
    }
}
