using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Cluster.Charging;
using Energy.Wire;

namespace Energy.Cluster.Gateway;

/// <summary>
/// Pushes events to devices through the gateway connections they last called from, each encoded once
/// as the frame the device reads. Resolving a connection's path is not free, so an entity keeps the few
/// it talks to (bounded).
/// </summary>
public sealed class DevicePusher(ActorSystem system, int maxKept)
{
    private readonly Dictionary<string, IActorRef> _resolved = new(StringComparer.Ordinal);

    /// <summary>Pushes an event of the wire contract: its record names the event and spells its body.</summary>
    public void Push<TEvent>(string? connection, DeviceId device, TEvent body) where TEvent : IGatewayEvent
    {
        if (Resolve(connection) is { } target) target.Tell(new DeviceEvent(device, TEvent.Name, GatewayFrameWriter.Event(device, body)));
    }

    /// <summary>Pushes an event named by its entity with a body the entity shaped (a JSON element, or an object written with its own names).</summary>
    public void Push(string? connection, DeviceId device, string name, object body)
    {
        if (Resolve(connection) is { } target) target.Tell(new DeviceEvent(device, name, GatewayFrameWriter.Event(device, name, body)));
    }

    private IActorRef? Resolve(string? connection)
    {
        if (connection is null) return null;
        if (!_resolved.TryGetValue(connection, out var target))
        {
            if (_resolved.Count >= maxKept) _resolved.Clear();
            target = ((ExtendedActorSystem)system).Provider.ResolveActorRef(connection);
            _resolved[connection] = target;
        }
        return target;
    }
}
