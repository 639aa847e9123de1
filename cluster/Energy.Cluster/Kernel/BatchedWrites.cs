using Akka.Actor;
using Energy.Channels;

namespace Energy.Cluster.Kernel;

/// <summary>
/// Changes an entity takes at once and writes in batches: one write is in flight at a time, and what is
/// taken meanwhile waits to join the next, so the busier the entity, the bigger its writes. An answer about
/// what was taken waits in <see cref="DurableReplies"/> for the write that holds it. The entity keeps what a
/// write carries (its newest voucher, its progress); this keeps the order, the count and the bound.
/// </summary>
public sealed class BatchedWrites
{
    private readonly DurableReplies _replies;

    public BatchedWrites(string entity, int maxHeld) => _replies = new DurableReplies(entity, maxHeld);

    /// <summary>Changes were taken that no write holds yet.</summary>
    public bool Waiting { get; private set; }

    /// <summary>A write was started and is not durable yet.</summary>
    public bool InFlight => _replies.InFlight;

    /// <summary>Everything taken is durable: nothing waits and nothing is in flight.</summary>
    public bool Idle => !Waiting && !InFlight;

    /// <summary>Answers held until their write is durable.</summary>
    public int Held => _replies.Held;

    /// <summary>The refusal for one answer more than the bound, or null while there is room; asked before a change is taken.</summary>
    public ProtocolError? Full => _replies.Full;

    /// <summary>A change was taken: the next write holds it.</summary>
    public void Taken() => Waiting = true;

    /// <summary>
    /// Sends <paramref name="reply"/> once what is taken now is durable (at once when it is). False, and nothing
    /// held, at the bound: ask <see cref="Full"/> before taking the change the answer is about.
    /// </summary>
    public bool ReplyWhenDurable(IActorRef to, object reply) => _replies.ReplyAfter(Holding, to, reply);

    /// <summary>As <see cref="ReplyWhenDurable(IActorRef, object)"/>, for the answer to a payment: counted and timed when it is sent.</summary>
    public bool ReplyWhenDurable(IActorRef to, object reply, PendingPayment payment) => _replies.ReplyAfter(Holding, to, reply, payment);

    /// <summary>As <see cref="ReplyWhenDurable(IActorRef, object)"/>, with the answer made when it is sent.</summary>
    public bool ReplyWhenDurable(IActorRef to, Func<object> reply) => _replies.ReplyAfter(Holding, to, reply);

    /// <summary>
    /// Starts the next write when changes wait and none is in flight; its number is to be reported to
    /// <see cref="Written"/> once durable. False when there is nothing to start now.
    /// </summary>
    public bool TryStart(out ulong write)
    {
        write = 0;
        if (!Waiting || InFlight) return false;
        write = Start();
        return true;
    }

    /// <summary>
    /// Starts a write of what waits now, even while another is in flight (a write that must follow the waiting
    /// changes, as a close follows the vouchers it counted).
    /// </summary>
    public ulong Start()
    {
        if (!Waiting) throw new InvalidOperationException("no change waits to be written");
        Waiting = false;
        return _replies.Start();
    }

    /// <summary>Write <paramref name="write"/> is durable: the answers it made true are sent.</summary>
    public void Written(ulong write) => _replies.Written(write);

    /// <summary>The write that will hold what is taken now: the next while changes wait, else the newest started.</summary>
    private ulong Holding => Waiting ? _replies.Next : _replies.Started;
}
