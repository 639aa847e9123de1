using System.Threading.Channels;
using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Registry;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The cluster's side of one gateway WebSocket (<see cref="RegisteredActorRef"/>): entities anywhere in the cluster push
/// <see cref="DeviceEvent"/>s to its path, and it queues them for the socket. It keeps the twins of its authenticated
/// devices told where they are connected (at authentication and again every <see cref="AnnounceInterval"/>), and tells them
/// when the connection ends. A device that authenticates again on a newer connection is no longer served here: its twin
/// tells this connection, which forgets it (and the socket closes when no device is left on it).
/// </summary>
public sealed class GatewayConnection : RegisteredActorRef
{
    public static readonly TimeSpan AnnounceInterval = TimeSpan.FromSeconds(60);

    private readonly IActorRef _devices;
    private readonly ChannelWriter<byte[]> _outgoing;
    private readonly Action _overflow;
    private readonly Action<DeviceId> _replaced;
    private readonly Timer _announce;
    // Taken by the connection's reader, by entities pushing and by the announcement, on their own threads.
    private readonly Lock _gate = new();
    private readonly Dictionary<DeviceId, long> _authenticated = [];
    private bool _ended;

    public GatewayConnection(ActorSystem system, IActorRef devices, ChannelWriter<byte[]> outgoing, Action overflow, Action<DeviceId> replaced) : base(system)
    {
        _devices = devices;
        _outgoing = outgoing;
        _overflow = overflow;
        _replaced = replaced;
        _announce = new Timer(static connection => ((GatewayConnection)connection!).Announce(), this, AnnounceInterval, AnnounceInterval);
    }

    /// <summary>A device authenticated on this connection, at <paramref name="atMs"/> (Unix milliseconds): its twin is told.</summary>
    public void Authenticated(DeviceId device, long atMs)
    {
        lock (_gate)
        {
            if (_ended) return;
            _authenticated[device] = atMs;
            _devices.Tell(new DeviceConnected(device, Address, atMs));
        }
    }

    /// <summary>A device is no longer served here (it was revoked): its twin is told, if it was authenticated here.</summary>
    public void Forget(DeviceId device)
    {
        lock (_gate)
        {
            if (_authenticated.Remove(device)) _devices.Tell(new DeviceDisconnected(device, Address));
        }
    }

    protected override void TellInternal(object message, IActorRef sender)
    {
        switch (message)
        {
            case DeviceEvent pushed:
                bool queued;
                lock (_gate)
                {
                    // An event for a device that is no longer authenticated here goes nowhere.
                    if (!_authenticated.ContainsKey(pushed.Device)) return;
                    queued = _outgoing.TryWrite(pushed.Frame);
                }
                // The queue is bounded: a client that does not read its events is disconnected rather than buffered without end.
                // Disconnecting runs the connection's cancellations: on the pool, not on the pushing entity's thread.
                if (!queued) ThreadPool.UnsafeQueueUserWorkItem(static overflow => overflow(), _overflow, preferLocal: false);
                break;
            case Kernel.ConnectionReplaced replaced when DeviceId.Parse(replaced.Device) is { IsOk: true } device:
                bool removed;
                lock (_gate) removed = _authenticated.Remove(device.Value);
                if (removed) _replaced(device.Value);
                break;
        }
    }

    private void Announce()
    {
        lock (_gate)
        {
            foreach (var (device, at) in _authenticated) _devices.Tell(new DeviceConnected(device, Address, at));
        }
    }

    protected override void Ended()
    {
        _announce.Dispose();
        lock (_gate)
        {
            _ended = true;
            foreach (var device in _authenticated.Keys) _devices.Tell(new DeviceDisconnected(device, Address));
            _authenticated.Clear();
        }
    }
}
