using Akka.Actor;

namespace Energy.Cluster.Kernel;

/// <summary>
/// An actor reference without an actor behind it (a live connection, a table of reply addresses), for as long as it lasts:
/// registered under the node's temporary paths, reachable from any node as an ask's reply address is, and gone once
/// disposed. Messages are taken on the sender's thread, so what <see cref="MinimalActorRef.TellInternal"/> does must be
/// short and safe to run from several threads at once.
/// </summary>
/// <remarks>
/// An actor per connection cost every connection a deployment lookup (parsing an empty configuration), a mailbox, handler
/// tables built for each instance and two rewrites of the guardian's immutable table of children, one when it started
/// and one when it stopped: about 10 KB allocated, most of it when fleets connect all at once. A registration costs an
/// entry in a concurrent dictionary.
/// </remarks>
public abstract class RegisteredActorRef : MinimalActorRef, IDisposable
{
    private readonly IActorRefProvider _provider;
    private readonly ActorPath _path;
    private int _disposed;

    protected RegisteredActorRef(ActorSystem system)
    {
        _provider = ((ExtendedActorSystem)system).Provider;
        _path = _provider.TempPath();
        _provider.RegisterTempActor(this, _path);
        Address = _path.ToSerializationFormatWithAddress(_provider.DefaultAddress);
    }

    public override ActorPath Path => _path;

    public override IActorRefProvider Provider => _provider;

    /// <summary>The path, with this node's address, at which entities anywhere in the cluster reach this reference.</summary>
    public string Address { get; }

    /// <summary>It ended (its connection did): what it still owes is settled (<see cref="Ended"/>), once, and its path leads nowhere after.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _provider.UnregisterTempActor(_path);
        Ended();
    }

    protected bool IsDisposed => Volatile.Read(ref _disposed) == 1;

    /// <summary>Called once when it ends, after its path was let go.</summary>
    protected abstract void Ended();
}
