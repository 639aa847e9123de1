using Akka.Actor;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Kernel;

/// <summary>Who waits for an outcome (an opening, a settlement): answered all at once, bounded.</summary>
public sealed class Waiters
{
    private readonly List<IActorRef> _waiting = [];
    private readonly string _entity;
    private readonly int _max;

    public Waiters(string entity, int max)
    {
        _entity = entity;
        _max = max;
    }

    public int Count => _waiting.Count;

    /// <summary>Adds <paramref name="to"/>, or refuses it by name when the bound is reached.</summary>
    public void Add(IActorRef to)
    {
        if (_waiting.Count >= _max) { to.Tell(Refusal.From(new TooManyWaiting(_entity, _waiting.Count, _max))); return; }
        _waiting.Add(to);
    }

    /// <summary>
    /// Tells <paramref name="sender"/> what an entity answers without deciding, or adds it to these waiters when the
    /// answer is to wait; false when nothing is known and the request is to be decided.
    /// </summary>
    public bool AnswerOrAdd(KnownAnswer? known, IActorRef sender)
    {
        if (known is null) return false;
        if (known.Reply is { } reply) sender.Tell(reply);
        else Add(sender);
        return true;
    }

    public void AnswerAll(object answer)
    {
        foreach (var to in _waiting) to.Tell(answer);
        _waiting.Clear();
    }
}
