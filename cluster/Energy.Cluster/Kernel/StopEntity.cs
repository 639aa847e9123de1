namespace Energy.Cluster.Kernel;

/// <summary>
/// What a shard tells its entities to stop with, when it hands them to another node (a node joins or leaves, the
/// cluster rebalances) or lets an idle one go; Akka's default is a <c>PoisonPill</c>. A poison pill stops an entity
/// the moment it is taken, even while the entity holds back commands: those it stashed while it recovered or while a
/// write was on its way, and the answers of the writes still in flight. They were lost, and their callers waited out
/// their timeout. This message is an ordinary command instead: it is taken behind every command the entity was sent
/// before it, and a persistent entity stops once the writes it has started are durable and answered (it defers its
/// stop behind them). A shard that hands off sends nothing more to the entity
/// after it, and stops an entity that has not stopped by the end of its hand-off bound.
/// </summary>
public sealed class StopEntity
{
    public static readonly StopEntity Instance = new();

    private StopEntity()
    {
    }

    /// <summary>
    /// Stops a persistent entity once nothing it has started to write is in flight: <paramref name="defer"/> (the
    /// entity's <c>DeferAsync</c>) runs its handler at once when no write is pending, and otherwise after the pending
    /// ones. A write's handler may start the next write (a batch that waited behind it), so the deferred stop looks
    /// again, and stops only when it ran with nothing pending.
    /// </summary>
    public static void BehindWrites(Action<StopEntity, Action<StopEntity>> defer, Action stop)
    {
        var atOnce = true;
        defer(Instance, _ =>
        {
            if (atOnce) stop();
            else BehindWrites(defer, stop);
        });
        atOnce = false;
    }
}
