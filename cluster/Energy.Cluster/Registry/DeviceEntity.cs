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
public sealed class DeviceEntity : UntypedActor
{
    private readonly Func<Props> _twin;
    private readonly DeviceId _device;
    private readonly RevocationList _revocations;
    private readonly DeviceDirectory _directory;
    private IActorRef? _child;
    private LiveConnection? _connection;
    private bool _stopping;

    public DeviceEntity(string id, Func<Props> twin)
    {
        _twin = twin;
        _device = new DeviceId(id);
        _revocations = RevocationList.Get(Context.System);
        _directory = DeviceDirectory.Get(Context.System);
    }

    // A switch rather than a Receive table: a fleet reconnecting wakes tens of thousands of these, each of which built one.
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case DeviceConnected c:
                (_connection, var close) = LiveConnections.Admit(_connection, new LiveConnection(c.Connection, c.AuthenticatedAtMs));
                if (close is not null) LiveConnections.TellReplaced(Context.System, close, c.Device.Value);
                break;
            case DeviceDisconnected c:
                _connection = LiveConnections.Ended(_connection, c.Connection);
                break;
            case GetDeviceConnection q:
                var revoked = _revocations.IsRevoked(_device) || _directory.Find(_device)?.Revoked == true;
                Sender.Tell(DeviceTwinRules.ConnectionOf(q.Device, revoked, _connection?.Path));
                break;
            case StopEntity stop:
                // The twin answers what it holds and writes what it started before it stops; this entity stops with it.
                _stopping = true;
                if (_child is null) Context.Stop(Self);
                else _child.Tell(stop);
                break;
            case Terminated t:
                if (!t.ActorRef.Equals(_child)) break;
                _child = null;
                if (_stopping) Context.Stop(Self);
                break;
            default:
                Twin().Forward(message);
                break;
        }
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
