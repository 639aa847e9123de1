using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Registry;

/// <summary>
/// A device as the "device" shard region starts it: where it is connected, and its twin. Where it is connected is live
/// and kept here, not persisted (the gateway tells it at every authentication and again every minute while the device
/// stays): one live connection, the newer authenticated one, the older told to close (<see cref="LiveConnections"/>),
/// and none for a revoked device (this node's revocation list, or the registrations read at start). Everything else is
/// the durable twin's (<see cref="DeviceTwin"/>), a child started when a message first needs it. A fleet that
/// reconnects after a restart says where each device is connected without waking one twin or reading the journal.
/// </summary>
public sealed class DeviceEntity : ReceiveActor
{
    private readonly Func<Props> _twin;
    private IActorRef? _child;
    private LiveConnection? _connection;

    public DeviceEntity(string id, Func<Props> twin)
    {
        _twin = twin;
        var device = new DeviceId(id);
        var revocations = RevocationList.Get(Context.System);
        var directory = DeviceDirectory.Get(Context.System);
        Receive<DeviceConnected>(c =>
        {
            (_connection, var close) = LiveConnections.Admit(_connection, new LiveConnection(c.Connection, c.AuthenticatedAtMs));
            if (close is not null) LiveConnections.TellReplaced(Context.System, close, c.Device.Value);
        });
        Receive<DeviceDisconnected>(c => _connection = LiveConnections.Ended(_connection, c.Connection));
        Receive<GetDeviceConnection>(q =>
            Sender.Tell(DeviceTwinRules.ConnectionOf(q.Device, revocations.IsRevoked(device) || directory.Find(device)?.Revoked == true, _connection?.Path)));
        Receive<Terminated>(t => { if (t.ActorRef.Equals(_child)) _child = null; });
        ReceiveAny(message => Twin().Forward(message));
    }

    public static Props Props(string id, Func<Props> twin) => Akka.Actor.Props.Create(() => new DeviceEntity(id, twin));

    private IActorRef Twin()
    {
        if (_child is not null) return _child;
        _child = Context.ActorOf(_twin(), "twin");
        Context.Watch(_child);
        return _child;
    }
}
