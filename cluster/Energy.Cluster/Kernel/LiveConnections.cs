using Akka.Actor;

namespace Energy.Cluster.Kernel;

/// <summary>A connection a device (or charge point) authenticated on: where the cluster reaches it, and when it authenticated.</summary>
public readonly record struct LiveConnection(string Path, long AuthenticatedAtMs);

/// <summary>
/// One live connection per device. A device whose network dropped reconnects while its old socket may still
/// look open; the newer authenticated connection is the one the network talks to, and the older is told to
/// close. Which is newer is decided by when each authenticated, not by which announcement came first, so a
/// stale connection that announces itself again late does not take the device back.
/// </summary>
public static class LiveConnections
{
    /// <summary>The connection that stays live when <paramref name="incoming"/> announces itself, and the path to close, if any.</summary>
    public static (LiveConnection Live, string? Close) Admit(LiveConnection? current, LiveConnection incoming)
    {
        if (current is not { } held || held.Path == incoming.Path) return (incoming, null);
        return incoming.AuthenticatedAtMs >= held.AuthenticatedAtMs ? (incoming, held.Path) : (held, incoming.Path);
    }

    /// <summary>The live connection after <paramref name="path"/> ended: none if it was the live one.</summary>
    public static LiveConnection? Ended(LiveConnection? current, string path) => current is { } held && held.Path == path ? null : current;

    /// <summary>Tells the connection at <paramref name="path"/>, on any node, that <paramref name="device"/> authenticated on a newer one.</summary>
    public static void TellReplaced(ActorSystem system, string path, string device) =>
        ((ExtendedActorSystem)system).Provider.ResolveActorRef(path).Tell(new ConnectionReplaced(device));
}

/// <summary>Told to a connection whose device (or charge point) authenticated again on a newer connection: it stops serving that device.</summary>
[Manifest("connection.replaced.v1")]
public sealed record ConnectionReplaced(string Device) : IEnergyMessage;
