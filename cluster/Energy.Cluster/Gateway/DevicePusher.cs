using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Cluster.Charging;

namespace Energy.Cluster.Gateway;

/// <summary>
/// Pushes events to devices through the gateway connections they last called from, each encoded once
/// as the frame the device reads. Resolving a connection's path is not free, so an entity keeps the few
/// it talks to (bounded).
/// </summary>
public sealed class DevicePusher(ActorSystem system, int maxKept)
{
    private readonly Dictionary<string, IActorRef> _resolved = new(StringComparer.Ordinal);

    public void Push(string? connection, DeviceId device, string name, object body)
    {
        if (connection is null) return;
        if (!_resolved.TryGetValue(connection, out var target))
        {
            if (_resolved.Count >= maxKept) _resolved.Clear();
            target = ((ExtendedActorSystem)system).Provider.ResolveActorRef(connection);
            _resolved[connection] = target;
        }
        target.Tell(new DeviceEvent(device, name, GatewayFrames.Event(device, name, body)));
    }
}
