using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Charging;

namespace Energy.Cluster.Charging;

/// <summary>
/// A session's progress on its way to the journal: a reading, a voucher the channel acknowledged, or what the channel says
/// is paid is taken at once (<paramref name="evolve"/>d into the session's <paramref name="state"/>) and written in batches,
/// one write in flight at a time, each carrying the session's newest progress then; what is taken meanwhile joins the next.
/// <paramref name="persist"/> is the session's <c>PersistAsync</c>: the state took the progress already, and replaying a batch
/// in recovery gives the same state. The answer to a reading goes out once the write that holds it is durable, saying where the
/// session stands then; answers waiting are bounded (<see cref="BatchedWrites"/>). A payment is answered at once: the channel
/// holds its voucher durably, and the session writes it with its next batch. What follows either is the core's to say
/// (<see cref="ChargingSession.AfterReading"/>, <see cref="ChargingSession.PaymentAnswered"/>), carried out by <paramref name="effects"/>.
/// </summary>
public sealed class SessionProgressWrites(SessionId session, EnergySettings settings, Func<ChargingSessionState> state, Action<object> evolve,
    Action<SessionProgressed, Action<SessionProgressed>> persist, EntityEffects effects)
{
    private readonly BatchedWrites _writes = new("session " + session, settings.MaxWaitingSessionReplies);

    /// <summary>The refusal for one answer more than the bound, or null while there is room; asked before a reading is taken.</summary>
    public ProtocolError? Full => _writes.Full;

    private Timestamp Now => settings.Clock.Now;

    /// <summary>Takes progress at once (none changes nothing). It is written with the next batch, and nobody is answered about it before.</summary>
    public void Take(ProgressTaken? progress)
    {
        if (progress is null) return;
        evolve(progress);
        _writes.Taken();
    }

    /// <summary>Takes a reading and writes it; <paramref name="replyTo"/>, if any, hears where the session stands once it is durable.</summary>
    public void TakeReading(ProgressTaken reading, IActorRef? replyTo)
    {
        Take(reading);
        effects.Run(ChargingSession.AfterReading(state(), session, reading, Now), null);
        if (replyTo is not null) _writes.ReplyWhenDurable(replyTo, () => ChargingSession.Progress(state(), session));
        Write();
    }

    /// <summary>The channel answered a voucher the session handed it: what an acknowledgement adds is taken, and the payer hears the answer.</summary>
    public void PaymentAnswered(VoucherAnswered<Signed<Voucher>> answered)
    {
        EnergyTracing.End(answered.Span, (answered.Answer as Refusal)?.Code);
        Take(ChargingSession.DecideVoucherAnswered(state(), session, answered.For, answered.Answer));
        effects.Run(ChargingSession.PaymentAnswered(state(), session, answered.Answer, readingAnswerWaiting: _writes.Held > 0, Now), answered.ReplyTo);
    }

    // One write at a time: what is taken while it is in flight is written once it is durable.
    private void Write()
    {
        if (!_writes.TryStart(out var write)) return;
        persist(ChargingSession.ToProgressed(state()), _ =>
        {
            _writes.Written(write);
            Write();
        });
    }
}
