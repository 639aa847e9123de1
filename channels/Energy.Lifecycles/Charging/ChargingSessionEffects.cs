using System.Text.Json;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;

namespace Energy.Lifecycles.Charging;

/// <summary>A session's deadlines: its vehicle's time to consent, and to pay the end reading. Each is its timer's key and message.</summary>
public enum SessionDue { Consent, Settle }

/// <summary>What a session goes on with that needs its shell: an offer to its vehicle (whose connection may have to be looked up), or its completion.</summary>
public enum SessionStep { Offer, Complete }

/// <summary>How long a session waits for its vehicle: to consent to a witnessed session, and to pay the end reading.</summary>
public readonly record struct SessionTimeouts(TimeSpan Consent, TimeSpan Settle);

public static partial class ChargingSession
{
    // Boxed once: an effect carries them as objects.
    private static readonly object ConsentDue = SessionDue.Consent;
    private static readonly object SettleDue = SessionDue.Settle;
    private static readonly object OfferStep = SessionStep.Offer;
    private static readonly object CompleteStep = SessionStep.Complete;

    /// <summary>
    /// What follows once <paramref name="e"/> is durable (<paramref name="state"/> is the state after it), in order:
    /// what the parties are told of it (<see cref="Notices"/>), then what the session does next: whoever asked hears
    /// where the session stands, the vehicle is offered a new session, a deadline is set, the charger is told to
    /// stop an unconsented transaction, the charge record is published, or the session completes.
    /// </summary>
    public static Effect[] Durable(ChargingSessionState state, SessionId session, object e, SessionTimeouts timeouts, JsonSerializerOptions json, Timestamp now)
    {
        Effect[] next = e switch
        {
            SessionStarted { Witnessed: true } => [Effect.StartTimer(ConsentDue, ConsentLeft(state, timeouts.Consent, now)), Effect.Then(OfferStep)],
            SessionStarted => [Effect.Reply(View(state, session)), Effect.Then(OfferStep)],
            SessionConsentExpired => UnconsentedStop(session) is { } stop ? [Effect.Tell(Peer.ChargePoints, stop)] : [],
            SessionChannelBound => [Effect.Reply(View(state, session))],
            SessionStopRequested when state.ReadyToComplete => [Effect.Then(CompleteStep)],
            SessionStopRequested => [Effect.StartTimer(SettleDue, timeouts.Settle), Effect.Reply(View(state, session))],
            SessionCompleted => [Effect.CancelTimer(SettleDue), Effect.Publish(e, state.Started), Effect.Reply(View(state, session))],
            _ => [],
        };
        var notices = Notices(state, session, e, json);
        if (notices.Count == 0) return next;
        var all = new Effect[notices.Count + next.Length];
        for (var i = 0; i < notices.Count; i++) all[i] = Effect.Push(notices[i]);
        next.CopyTo(all, notices.Count);
        return all;
    }

    /// <summary>
    /// The deadlines a recovered session waits for again: the vehicle's time to pay the end reading, or to consent to
    /// a witnessed session (an OCPP charger starts a transaction on an idTag alone: without the vehicle's consent
    /// nothing is billed, and the charger is told to stop it).
    /// </summary>
    public static Effect[] Resumed(ChargingSessionState state, SessionTimeouts timeouts, Timestamp now) =>
        state.AwaitsSettlement ? [Effect.StartTimer(SettleDue, timeouts.Settle)]
        : state.AwaitsConsent ? [Effect.StartTimer(ConsentDue, ConsentLeft(state, timeouts.Consent, now))]
        : [];

    /// <summary>
    /// What follows once a reading is taken (<paramref name="state"/> is the state after it): the vehicle hears it once it
    /// accepted the session, and the session is suspended or resumed as its credit says. Whoever sent the reading hears
    /// where the session stands once the reading is durable, not before.
    /// </summary>
    public static Effect[] AfterReading(ChargingSessionState state, SessionId session, ProgressTaken taken, Timestamp now)
    {
        var notice = ReadingNotice(state, session, taken);
        var credit = DecideCredit(state, now);
        return (notice, credit) switch
        {
            (null, null) => [],
            (null, { } decided) => [Effect.Persist(decided)],
            ({ } told, null) => [Effect.Push(told)],
            ({ } told, { } decided) => [Effect.Push(told), Effect.Persist(decided)],
        };
    }

    /// <summary>
    /// What follows once the channel answered a voucher the session handed it (<paramref name="state"/> is the state after
    /// taking what an acknowledgement added). A refusal, or no answer, is passed on to the payer as it is. An acknowledgement
    /// is told to the charger (unless an answer to a reading of its own will tell it), the credit is checked, the payer hears
    /// where the session stands, and a stopped session whose end reading is now paid completes: the channel holds the
    /// voucher durably, so none of this waits for the session's own write.
    /// </summary>
    public static Effect[] PaymentAnswered(ChargingSessionState state, SessionId session, object answer, bool readingAnswerWaiting, Timestamp now)
    {
        if (answer is not VoucherAcknowledged) return [Effect.Reply(answer)];
        var effects = new List<Effect>(4);
        if (PaidNotice(state, session, readingAnswerWaiting) is { } notice) effects.Add(Effect.Push(notice));
        if (DecideCredit(state, now) is { } credit) effects.Add(Effect.Persist(credit));
        effects.Add(Effect.Reply(Progress(state, session)));
        if (state.ReadyToComplete && DecideCompletion(state, session, now) is { } completed) effects.Add(Effect.Persist(completed));
        return [.. effects];
    }

    /// <summary>
    /// What a deadline that came brings: the vehicle that had its time to pay the end reading and did not gets its charge
    /// record with what it paid; the vehicle that did not consent in time to a witnessed session is billed nothing.
    /// </summary>
    public static Effect[] Due(ChargingSessionState state, SessionId session, SessionDue due, Timestamp now)
    {
        object? decided = due == SessionDue.Settle ? DecideCompletion(state, session, now) : DecideConsentExpiry(state, now);
        return decided is null ? [] : [Effect.Persist(decided)];
    }

    /// <summary>What the vehicle is told of a reading taken: the reading, once it accepted the session; none before.</summary>
    public static DeviceEvent? ReadingNotice(ChargingSessionState state, SessionId session, ProgressTaken taken) =>
        taken.Reading is { } reading && state.Channel is not null && state.Started is { } started
            ? DeviceEvents.Of(started.Vehicle, ReadingEvent(state, session, reading))
            : null;
}
