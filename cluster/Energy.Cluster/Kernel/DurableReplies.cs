using System.Diagnostics;
using Akka.Actor;
using Energy.Channels;

namespace Energy.Cluster.Kernel;

/// <summary>More answers wait for a write than the entity holds: the request is refused instead of held without end.</summary>
public sealed record TooManyWaiting(string Entity, int Waiting, int Max) : ProtocolError
{
    public override string Describe() => $"{Entity} holds {Waiting} answers waiting for a write (at most {Max}); try again when it has written them";
}

/// <summary>
/// A payment an entity took and acknowledges once it is durable: as its answer goes out it is counted, timed
/// from its arrival (a <see cref="Stopwatch"/> timestamp) and its span ends. The default is no payment.
/// </summary>
public readonly record struct PendingPayment(PaymentKind Kind, long ArrivedAt, System.Diagnostics.Activity? Span)
{
    public bool IsPayment => ArrivedAt != 0;

    /// <summary>The answer about the payment goes out: it is durable.</summary>
    public void Durable()
    {
        if (!IsPayment) return;
        EnergyMetrics.PaymentDurable(Kind, ArrivedAt);
        EnergyTracing.End(Span);
    }
}

/// <summary>
/// The answers an entity owes once its writes are durable. Writes are numbered in the order they are
/// started; an answer is held for the write that makes it true and sent once that write (and every one
/// before it) is durable, in the order the answers were given. One write is in flight at a time: what is
/// decided meanwhile joins the next write, so the busier the entity, the bigger its writes. Held answers
/// are bounded; beyond the bound the caller refuses by name (<see cref="TooManyWaiting"/>).
/// </summary>
public sealed class DurableReplies
{
    // An answer is held either as it is, or as what makes it when it is sent (an answer that says where the entity stands then).
    private readonly Queue<(ulong Write, IActorRef To, object? Reply, Func<object>? Make, PendingPayment Payment)> _held = new();
    private readonly string _entity;
    private readonly int _maxHeld;

    public DurableReplies(string entity, int maxHeld)
    {
        if (maxHeld <= 0) throw new ArgumentOutOfRangeException(nameof(maxHeld), maxHeld, "at least one answer must be able to wait");
        _entity = entity;
        _maxHeld = maxHeld;
    }

    /// <summary>The number of the newest write started.</summary>
    public ulong Started { get; private set; }

    /// <summary>The number of the newest write known durable; every write up to it is durable.</summary>
    public ulong Durable { get; private set; }

    /// <summary>The number the next write will take: what is decided now becomes durable with it.</summary>
    public ulong Next => Started + 1;

    /// <summary>A write was started and is not durable yet.</summary>
    public bool InFlight => Started > Durable;

    public int Held => _held.Count;

    /// <summary>The refusal for one answer more than the bound, or null while there is room.</summary>
    public ProtocolError? Full => _held.Count >= _maxHeld ? new TooManyWaiting(_entity, _held.Count, _maxHeld) : null;

    /// <summary>After recovery: everything up to <paramref name="write"/> is durable and nothing is in flight.</summary>
    public void Recovered(ulong write) => Started = Durable = write;

    /// <summary>Starts the next write and returns its number; it must be reported to <see cref="Written"/> once durable.</summary>
    public ulong Start() => ++Started;

    /// <summary>
    /// Sends <paramref name="reply"/> once write <paramref name="write"/> is durable: at once if it is and no
    /// earlier answer waits (answers keep their order). Returns false, and holds nothing, when the bound is reached.
    /// </summary>
    public bool ReplyAfter(ulong write, IActorRef to, object reply, PendingPayment payment = default) => Hold(write, to, reply, null, payment);

    /// <summary>
    /// Sends what <paramref name="reply"/> makes once write <paramref name="write"/> is durable, made when it is
    /// sent: the answer says where the entity stands then, which is at least what that write made durable.
    /// </summary>
    public bool ReplyAfter(ulong write, IActorRef to, Func<object> reply) => Hold(write, to, null, reply, default);

    private bool Hold(ulong write, IActorRef to, object? reply, Func<object>? make, PendingPayment payment)
    {
        if (write <= Durable && _held.Count == 0)
        {
            // Counted (and its span ended) before it is answered: whoever reads the answer finds it counted.
            payment.Durable();
            to.Tell(reply ?? make!());
            return true;
        }
        if (_held.Count >= _maxHeld) return false;
        _held.Enqueue((write, to, reply, make, payment));
        return true;
    }

    /// <summary>Write <paramref name="write"/> is durable: the answers it (and the writes before it) made true are sent.</summary>
    public void Written(ulong write)
    {
        if (write > Started) throw new InvalidOperationException($"{_entity}: write {write} reported durable, but only {Started} were started");
        if (write > Durable) Durable = write;
        while (_held.Count > 0 && _held.Peek().Write <= Durable)
        {
            var (_, to, reply, make, payment) = _held.Dequeue();
            payment.Durable();
            to.Tell(reply ?? make!());
        }
    }
}
