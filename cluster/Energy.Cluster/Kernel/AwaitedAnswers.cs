using Akka.Actor;

namespace Energy.Cluster.Kernel;

/// <summary>
/// An answer an entity must have before it handles anything else (a lookup its next decision depends on).
/// The asked task runs off the actor and its answer is piped back as a message, never awaited inside a
/// handler; until it arrives, everything else is stashed, so the entity decides on its state as the answer
/// finds it, never on one changed under it. The wait is bounded by the ask's own timeout: a failed or timed
/// out ask is answered with the fallback.
/// </summary>
public static class AwaitedAnswers
{
    /// <summary>
    /// Pipes <paramref name="asked"/> back to the entity and goes on with <paramref name="then"/> once it answers
    /// (with <paramref name="fallback"/> when it fails), then unstashes what arrived meanwhile.
    /// </summary>
    public static void Await<T>(IActorContext context, IStash stash, Task<T> asked, T fallback, Action<T> then)
    {
        var awaited = new Awaited();
        asked.PipeTo(context.Self, success: answer => new Answered<T>(awaited, answer), failure: _ => new Answered<T>(awaited, fallback));
        context.BecomeStacked(message =>
        {
            if (message is not Answered<T> answered || !ReferenceEquals(answered.For, awaited))
            {
                stash.Stash();
                return true;
            }
            context.UnbecomeStacked();
            then(answered.Answer);
            stash.UnstashAll();
            return true;
        });
    }

    /// <summary>Asks <paramref name="target"/> and awaits its answer as <see cref="Await{T}"/> does; no answer in time is null.</summary>
    public static void Ask(IActorContext context, IStash stash, IActorRef target, object question, TimeSpan timeout, Action<object?> then) =>
        Await<object?>(context, stash, target.Ask<object>(question, timeout)!, null, then);

    /// <summary>Asks two actors at once and awaits both answers (each null when it did not come in time) as <see cref="Await{T}"/> does.</summary>
    public static void AskBoth(IActorContext context, IStash stash, (IActorRef Target, object Question) first, (IActorRef Target, object Question) second,
        TimeSpan timeout, Action<object?, object?> then) =>
        Await<(object?, object?)>(context, stash, AskBothAsync(first, second, timeout), (null, null), answers => then(answers.Item1, answers.Item2));

    /// <summary>
    /// Asks <paramref name="target"/> each of <paramref name="questions"/> at once and awaits every answer, in the order
    /// asked (each null when it did not come in time), as <see cref="Await{T}"/> does.
    /// </summary>
    public static void AskAll(IActorContext context, IStash stash, IActorRef target, IReadOnlyList<object> questions, TimeSpan timeout, Action<object?[]> then) =>
        Await(context, stash, AskAllAsync(target, questions, timeout), new object?[questions.Count], then);

    // Runs off the actor: it touches no actor's state, and its answer is piped back.
    private static Task<object?[]> AskAllAsync(IActorRef target, IReadOnlyList<object> questions, TimeSpan timeout) =>
        Task.WhenAll(questions.Select(question => AnswerOrNone(target.Ask<object>(question, timeout))));

    // Runs off the actor: it touches no actor's state, and its answer is piped back.
    private static async Task<(object?, object?)> AskBothAsync((IActorRef Target, object Question) first, (IActorRef Target, object Question) second, TimeSpan timeout)
    {
        var firstAnswer = AnswerOrNone(first.Target.Ask<object>(first.Question, timeout));
        var secondAnswer = AnswerOrNone(second.Target.Ask<object>(second.Question, timeout));
        return (await firstAnswer, await secondAnswer);
    }

    private static async Task<object?> AnswerOrNone(Task<object> asked)
    {
        try { return await asked; }
        catch (AskTimeoutException) { return null; }
    }

    // One wait: its answer is told from any other piped answer by this token, never by its type.
    private sealed class Awaited;

    private sealed record Answered<T>(Awaited For, T Answer);
}
