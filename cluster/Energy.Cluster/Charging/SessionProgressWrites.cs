using Akka.Actor;
using Energy.Channels;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Charging;

namespace Energy.Cluster.Charging;

/// <summary>
/// A session's progress on its way to the journal: a reading, a voucher the channel acknowledged, or what the channel says
/// is paid is taken at once (<paramref name="evolve"/>d into the session's state) and written in batches, one write in
/// flight at a time, each carrying the session's newest progress then (<paramref name="batch"/>); what is taken meanwhile
/// joins the next. <paramref name="persist"/> is the session's <c>PersistAsync</c>: the state took the progress already,
/// and replaying a batch in recovery gives the same state. The answer to a reading goes out once the write that holds it
/// is durable, saying where the session stands then; answers waiting are bounded (<see cref="BatchedWrites"/>).
/// </summary>
public sealed class SessionProgressWrites(string entity, int maxHeld, Action<SessionProgressed, Action<SessionProgressed>> persist, Action<object> evolve,
    Func<SessionProgressed> batch)
{
    private readonly BatchedWrites _writes = new(entity, maxHeld);

    /// <summary>The refusal for one answer more than the bound, or null while there is room; asked before a reading is taken.</summary>
    public ProtocolError? Full => _writes.Full;

    /// <summary>An answer to a reading waits for its write.</summary>
    public bool AnswerWaiting => _writes.Held > 0;

    /// <summary>Takes progress at once (none changes nothing). It is written with the next batch, and nobody is answered about it before.</summary>
    public void Take(ProgressTaken? progress)
    {
        if (progress is null) return;
        evolve(progress);
        _writes.Taken();
    }

    /// <summary>
    /// Writes what was taken, unless a write is in flight (what waits then follows it); <paramref name="replyTo"/>, if any,
    /// hears what <paramref name="answer"/> makes once what is taken now is durable.
    /// </summary>
    public void Write(IActorRef? replyTo, Func<object> answer)
    {
        if (replyTo is not null) _writes.ReplyWhenDurable(replyTo, answer);
        Write();
    }

    private void Write()
    {
        if (!_writes.TryStart(out var write)) return;
        persist(batch(), _ =>
        {
            _writes.Written(write);
            Write();
        });
    }
}
