using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;
using Energy.Wire;

namespace Energy.Cluster.Registry;

/// <summary>The device twin's answer to where a device is connected (none when it is not), piped back to the entity that looked.</summary>
public sealed record DeviceConnectionFound(DeviceId Device, string Key, string? Connection);

/// <summary>A device was not connected when its entity looked: time to look again.</summary>
public sealed record DeviceLookupDue(DeviceId Device, string Key);

/// <summary>
/// How much a <see cref="DevicePush"/> keeps and how often it looks. <paramref name="KeepFor"/> bounds how long
/// a remembered connection is trusted (none: until replaced); a connection pinned for one of the entity's own
/// parties is kept until replaced. <paramref name="MaxLookups"/> counts the looks for one device and key,
/// the first included, each <paramref name="LookAgainAfter"/> after the last.
/// </summary>
public sealed record DevicePushBounds(int MaxConnections, int MaxResolved, DurationMs? KeepFor, int MaxLookups, TimeSpan LookAgainAfter);

/// <summary>
/// Pushes events to devices through the gateway connections they last called from, each encoded once as the
/// frame the device reads. A connection is learned from the device's own commands, or looked up in its twin:
/// the ask is piped back to the entity as a <see cref="DeviceConnectionFound"/> (never awaited), and a device
/// that is not connected is looked up again after a pause, a bounded number of times. The entity decides
/// whether the answer is still wanted. Connections, resolved connection actors and lookups are all bounded.
/// </summary>
public sealed class DevicePush
{
    private readonly IActorContext _context;
    private readonly IActorRef _devices;
    private readonly IWithTimers _owner;
    private readonly IClock _clock;
    private readonly TimeSpan _askTimeout;
    private readonly DevicePushBounds _bounds;
    private readonly Dictionary<DeviceId, string> _pinned = [];
    private readonly Dictionary<DeviceId, (string Path, Timestamp? Until)> _remembered = [];
    private readonly Dictionary<string, IActorRef> _resolved = new(StringComparer.Ordinal);
    private readonly Dictionary<(DeviceId, string), int> _looks = [];

    /// <param name="context">The entity's context: the answers go to the entity.</param>
    /// <param name="owner">The entity whose timers look again (they are given to it only once it is constructed).</param>
    public DevicePush(IActorContext context, IWithTimers owner, IActorRef devices, IClock clock, TimeSpan askTimeout, DevicePushBounds bounds)
    {
        if (bounds.MaxLookups <= 0) throw new ArgumentOutOfRangeException(nameof(bounds), bounds.MaxLookups, "a device must be looked up at least once");
        _context = context;
        _devices = devices;
        _owner = owner;
        _clock = clock;
        _askTimeout = askTimeout;
        _bounds = bounds;
    }

    /// <summary>Where <paramref name="device"/> is connected as far as this entity knows, or null.</summary>
    public string? ConnectionOf(DeviceId device)
    {
        if (_pinned.TryGetValue(device, out var pinned)) return pinned;
        if (!_remembered.TryGetValue(device, out var remembered)) return null;
        return remembered.Until is not { } until || until > _clock.Now ? remembered.Path : null;
    }

    /// <summary>Remembers where one of the entity's own parties called from, until it calls from elsewhere (none changes nothing).</summary>
    public void Pin(DeviceId device, string? connection)
    {
        if (connection is not null) _pinned[device] = connection;
    }

    /// <summary>
    /// Pins where one of the entity's own parties called from (see <see cref="Pin"/>); true when that is a connection
    /// not pinned for it before, so that what it was told on its old one can be told again.
    /// </summary>
    public bool Repin(DeviceId device, string? connection)
    {
        if (connection is null || (_pinned.TryGetValue(device, out var pinned) && pinned == connection)) return false;
        _pinned[device] = connection;
        return true;
    }

    /// <summary>Remembers where a device called from, for as long as the bounds trust it (none changes nothing).</summary>
    public void Remember(DeviceId device, string? connection)
    {
        if (connection is null) return;
        if (_remembered.Count >= _bounds.MaxConnections && !_remembered.ContainsKey(device)) _remembered.Clear();
        var until = _bounds.KeepFor is { } keepFor ? new Timestamp(_clock.Now.UnixMilliseconds + keepFor.Milliseconds) : (Timestamp?)null;
        _remembered[device] = (connection, until);
    }

    /// <summary>Asks the device's twin where it is connected; the answer comes back as a <see cref="DeviceConnectionFound"/> with <paramref name="key"/>.</summary>
    public void Find(DeviceId device, string key) =>
        _devices.Ask<object>(new GetDeviceConnection(device), _askTimeout).PipeTo(_context.Self,
            success: answer => new DeviceConnectionFound(device, key, (answer as DeviceConnection)?.Connection),
            failure: _ => new DeviceConnectionFound(device, key, null));

    /// <summary>
    /// Whether an event can go to <paramref name="device"/> now: true when its connection is known; otherwise false,
    /// and its twin is asked where it is (see <see cref="Find"/>), the answer to be pushed to once it comes.
    /// </summary>
    public bool Reaches(DeviceId device, string key)
    {
        if (ConnectionOf(device) is not null) return true;
        Find(device, key);
        return false;
    }

    /// <summary>
    /// The twin answered. A connection the entity still wants is remembered and returned; a device not connected
    /// is looked for again (a <see cref="DeviceLookupDue"/> after the pause) while looks are left. An answer no
    /// longer wanted ends the looking.
    /// </summary>
    public string? Found(DeviceConnectionFound found, bool wanted)
    {
        var key = (found.Device, found.Key);
        if (!wanted || found.Connection is not null) _looks.Remove(key);
        if (!wanted) return null;
        if (found.Connection is not null)
        {
            Remember(found.Device, found.Connection);
            return found.Connection;
        }
        var looks = _looks.GetValueOrDefault(key) + 1;
        if (looks >= _bounds.MaxLookups) { _looks.Remove(key); return null; }
        if (_looks.Count >= _bounds.MaxConnections && !_looks.ContainsKey(key)) return null;
        _looks[key] = looks;
        _owner.Timers.StartSingleTimer(("device-lookup", found.Device, found.Key), new DeviceLookupDue(found.Device, found.Key), _bounds.LookAgainAfter);
        return null;
    }

    /// <summary>
    /// The twin answered where a device is, for an event the entity still owes it (<paramref name="notice"/>; none
    /// when it is no longer wanted): the event goes to the connection found (see <see cref="Found"/>).
    /// </summary>
    public void Deliver(DeviceConnectionFound found, DeviceEvent? notice)
    {
        if (Found(found, wanted: notice is not null) is not null) Push(notice!);
    }

    /// <summary>Pushes an event of the wire contract to the device's connection: its record names the event and spells its body. Dropped when none is known.</summary>
    public void Push<TEvent>(DeviceId device, TEvent body) where TEvent : IGatewayEvent
    {
        if (Resolve(ConnectionOf(device)) is { } target) target.Tell(new DeviceEvent(device, TEvent.Name, GatewayFrameWriter.Event(device, body)));
    }

    /// <summary>Pushes an event named by its entity with a body the entity shaped (a JSON element, or an object written with its own names).</summary>
    public void Push(DeviceId device, string name, object body)
    {
        if (Resolve(ConnectionOf(device)) is { } target) target.Tell(new DeviceEvent(device, name, GatewayFrameWriter.Event(device, name, body)));
    }

    /// <summary>Pushes an event framed already (<see cref="DeviceEvents"/>) to its device's connection. Dropped when none is known.</summary>
    public void Push(DeviceEvent framed)
    {
        if (Resolve(ConnectionOf(framed.Device)) is { } target) target.Tell(framed);
    }

    // Resolving a connection's path is not free: the few the entity talks to are kept (bounded).
    private IActorRef? Resolve(string? connection)
    {
        if (connection is null) return null;
        if (!_resolved.TryGetValue(connection, out var target))
        {
            if (_resolved.Count >= _bounds.MaxResolved) _resolved.Clear();
            target = ((ExtendedActorSystem)_context.System).Provider.ResolveActorRef(connection);
            _resolved[connection] = target;
        }
        return target;
    }
}
