using System.Collections.Concurrent;
using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Registry;

/// <summary>
/// This node's copy of what the registry says of a device and what cannot change once said: its operator, role and key
/// (a device's key never changes once endorsed), and whether it was revoked (a revocation is final). The gateway reads
/// it at a device's hello instead of asking the device's twin, so that a fleet reconnecting after a restart does not
/// wait for thousands of twins to wake before its first challenge. It is read once at start from the journal (every
/// twin's endorsement and revocation, in one statement), and it takes every answer a twin gives afterwards. It is never
/// the word on a device it does not hold (one endorsed since, on any node): the twin is asked then. Nor on a revocation
/// since it was read: <see cref="RevocationList"/> is, and is checked beside it.
/// </summary>
public sealed class DeviceDirectory : IExtension
{
    /// <summary>Devices held at most; past it, devices not held are looked up at their twins as before.</summary>
    public const int MaxDevices = 2_000_000;

    private readonly ConcurrentDictionary<string, DeviceView> _devices = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static DeviceDirectory Get(ActorSystem system) => system.WithExtension<DeviceDirectory, DeviceDirectoryProvider>();

    public int Count => _devices.Count;

    /// <summary>Whether the journal has been read since this node started.</summary>
    public bool IsLoaded => _loaded.Task.IsCompleted;

    public Task Loaded => _loaded.Task;

    public void MarkLoaded() => _loaded.TrySetResult();

    /// <summary>What the registry said of the device, or null when this node has not read it (ask its twin).</summary>
    public DeviceView? Find(DeviceId device) => _devices.GetValueOrDefault(device.Value);

    /// <summary>
    /// Takes what a twin said of a device (its view) or what its recorded events say. A revocation stays: a view that
    /// is not revoked does not replace one that is.
    /// </summary>
    public void Remember(DeviceView view)
    {
        if (_devices.Count >= MaxDevices && !_devices.ContainsKey(view.Device.Value)) return;
        _devices.AddOrUpdate(view.Device.Value, view, (_, held) => held.Revoked && !view.Revoked ? held : view);
    }
}

public sealed class DeviceDirectoryProvider : ExtensionIdProvider<DeviceDirectory>
{
    public override DeviceDirectory CreateExtension(ExtendedActorSystem system) => new();
}
