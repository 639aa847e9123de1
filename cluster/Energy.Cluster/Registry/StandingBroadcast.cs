using Akka.Actor;
using Akka.Event;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Registry;

/// <summary>
/// Spreads a change of a device's standing its twin's core decided (<see cref="StandingChange"/>) to every reachable
/// node before the twin records it: this node's <see cref="RevocationList"/> takes it at once, and the replicated set
/// is written to all nodes (<see cref="RevocationWatcher"/>). The twin goes on once the write answered and handles
/// nothing else meanwhile (<see cref="AwaitedAnswers"/>). A write not complete in time still reaches the other nodes by
/// gossip, so the twin goes on with it all the same, and the log says so.
/// </summary>
public static class StandingBroadcast
{
    /// <summary>Goes on with <paramref name="then"/> once <paramref name="change"/> reached every reachable node (at once when there is none).</summary>
    public static void Spread(IActorContext context, IStash stash, StandingChange? change, TimeSpan timeout, Action then)
    {
        if (change is null) { then(); return; }
        AwaitedAnswers.Await(context, stash, Replicate(context.System, change, timeout), false, replicated =>
        {
            if (!replicated) context.GetLogger().Warning("{0} of {1} has not reached every node yet; it spreads by gossip", What(change), change.Device);
            then();
        });
    }

    private static Task<bool> Replicate(ActorSystem system, StandingChange change, TimeSpan timeout) => change switch
    {
        StandingChange.Revoked => RevocationWatcher.ReplicateAsync(system, change.Device, timeout),
        StandingChange.Quarantine quarantine => RevocationWatcher.ReplicateQuarantineAsync(system, change.Device, quarantine.Quarantined, timeout),
        _ => throw new ArgumentOutOfRangeException(nameof(change), change, "no replicated set holds this change"),
    };

    private static string What(StandingChange change) => change is StandingChange.Revoked ? "revocation" : "quarantine";
}
