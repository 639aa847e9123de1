using System.Threading.Channels;
using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The actor side of one gateway WebSocket: entities anywhere in the cluster push <see cref="DeviceEvent"/>s
/// to its path, and it queues them for the socket. It keeps the twins of its authenticated devices
/// told where they are connected, and tells them when the connection ends. A device that authenticates again
/// on a newer connection is no longer served here: its twin tells this connection, which forgets it (and the
/// socket closes when no device is left on it).
/// </summary>
public sealed class GatewayConnection : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan AnnounceInterval = TimeSpan.FromSeconds(60);

    private readonly IActorRef _devices;
    private readonly ChannelWriter<byte[]> _outgoing;
    private readonly Action _overflow;
    private readonly Action<DeviceId> _replaced;
    private readonly Dictionary<DeviceId, long> _authenticated = [];
    private readonly string _path;

    public GatewayConnection(IActorRef devices, ChannelWriter<byte[]> outgoing, Action overflow, Action<DeviceId> replaced)
    {
        _devices = devices;
        _outgoing = outgoing;
        _overflow = overflow;
        _replaced = replaced;
        _path = Self.Path.ToSerializationFormatWithAddress(((ExtendedActorSystem)Context.System).Provider.DefaultAddress);

        Receive<DeviceEvent>(OnEvent);
        Receive<Authenticated>(a =>
        {
            _authenticated[a.Device] = a.AtMs;
            _devices.Tell(new DeviceConnected(a.Device, _path, a.AtMs));
        });
        Receive<Forget>(f =>
        {
            if (_authenticated.Remove(f.Device)) _devices.Tell(new DeviceDisconnected(f.Device, _path));
        });
        Receive<Announce>(_ =>
        {
            foreach (var (device, at) in _authenticated) _devices.Tell(new DeviceConnected(device, _path, at));
        });
        Receive<Kernel.ConnectionReplaced>(r =>
        {
            if (DeviceId.Parse(r.Device) is { IsOk: true } device && _authenticated.Remove(device.Value)) _replaced(device.Value);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef devices, ChannelWriter<byte[]> outgoing, Action overflow, Action<DeviceId> replaced) =>
        Akka.Actor.Props.Create(() => new GatewayConnection(devices, outgoing, overflow, replaced));

    public static string PathOf(IActorRef connection, ActorSystem system) =>
        connection.Path.ToSerializationFormatWithAddress(((ExtendedActorSystem)system).Provider.DefaultAddress);

    protected override void PreStart() => Timers.StartPeriodicTimer("announce", Announce.Instance, AnnounceInterval);

    protected override void PostStop()
    {
        foreach (var device in _authenticated.Keys) _devices.Tell(new DeviceDisconnected(device, _path));
    }

    private void OnEvent(DeviceEvent pushed)
    {
        // An event for a device that is no longer authenticated here goes nowhere.
        if (!_authenticated.ContainsKey(pushed.Device)) return;
        // The queue is bounded: a client that does not read its events is disconnected rather than buffered without end.
        if (!_outgoing.TryWrite(pushed.Frame)) _overflow();
    }

    /// <summary>A device authenticated on this connection, at <paramref name="AtMs"/> (Unix milliseconds).</summary>
    public sealed record Authenticated(DeviceId Device, long AtMs);

    public sealed record Forget(DeviceId Device);

    private sealed record Announce
    {
        public static readonly Announce Instance = new();
    }
}
