using Akka.Actor;

namespace Energy.Cluster.Kernel;

/// <summary>
/// An ask sent again when it is not answered in time, at most a bounded number of times. It runs off the actor:
/// the entity pipes its answer back as a message (none when no attempt was answered), never awaits it.
/// </summary>
public static class RetriedAsks
{
    public static async Task<object?> AskAsync(IActorRef target, object question, TimeSpan timeout, int attempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        for (var attempt = 1; ; attempt++)
        {
            try { return await target.Ask<object>(question, timeout); }
            catch (AskTimeoutException) when (attempt < attempts) { }
            catch (AskTimeoutException) { return null; }
        }
    }

    /// <summary>Asks as <see cref="AskAsync"/> does and pipes the answer (none when no attempt was answered) to <paramref name="to"/> as the message <paramref name="answered"/> makes of it.</summary>
    public static void PipeTo(IActorRef target, object question, TimeSpan timeout, int attempts, IActorRef to, Func<object?, object> answered) =>
        AskAsync(target, question, timeout, attempts).PipeTo(to, success: answered, failure: _ => answered(null));
}
