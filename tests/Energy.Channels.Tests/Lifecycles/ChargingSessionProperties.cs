using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles;
using Energy.Lifecycles.Charging;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>
/// The charging session's rules, called directly: random scripts of accepts, readings, payments (for the
/// session, for another session, on another channel), stops and completions, played against the pure core
/// the way the entity plays them.
/// </summary>
public class ChargingSessionProperties
{
    private static readonly SessionId Session = SessionId.Of("session-p");
    private static readonly SessionId OtherSession = SessionId.Of("session-q");
    private static readonly DeviceId Charger = DeviceId.Of("charger-p");
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-p");
    private static readonly ChannelId Channel = ChannelId.Of("channel-p");
    private static readonly ChannelId OtherChannel = ChannelId.Of("channel-q");
    private static readonly OperatorId Cpo = OperatorId.Of("cpo-p");
    private static readonly PartyId Payee = PartyId.From(Cpo);
    private static readonly DeviceKeyPair MeterKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair ForgedKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair VehicleKey = DeviceKeyPair.Generate();
    private static readonly Timestamp Start = new(1_800_000_000_000);
    private static readonly DeviceView ChargerView = new(Charger, Cpo, DeviceRole.Charger, MeterKey.PublicKey.Hex, false, Start, null);
    private static readonly SessionLimits Limits = new(Currency.Eur, 10_000, 100_000);

    public enum StepKind { Accept, Reading, ForgedReading, Pay, PayOtherSession, PayOtherChannel, Stop, SettleDeadline }

    public sealed record Step(StepKind Kind, int Amount);

    public sealed record Script(long PricePerKwh, long Credit, IReadOnlyList<Step> Steps);

    private static readonly Gen<Step> Steps =
        from kind in Gen.Frequency(
            (1, Gen.Constant(StepKind.Accept)), (6, Gen.Constant(StepKind.Reading)), (1, Gen.Constant(StepKind.ForgedReading)),
            (5, Gen.Constant(StepKind.Pay)), (1, Gen.Constant(StepKind.PayOtherSession)), (1, Gen.Constant(StepKind.PayOtherChannel)),
            (1, Gen.Constant(StepKind.Stop)), (1, Gen.Constant(StepKind.SettleDeadline)))
        from amount in Gen.Choose(0, 3_000)
        select new Step(kind, amount);

    private static readonly Arbitrary<Script> Scripts =
        (from price in Gen.Choose(0, 500)
         from credit in Gen.Choose(0, 300)
         from steps in Gen.ListOf(Steps)
         select new Script(price, credit, steps.ToList())).ToArbitrary();

    /// <summary>One step of a played script: the state before and after, what became durable, and a refusal if any.</summary>
    public sealed record Transition(Step Step, ChargingSessionState Before, ChargingSessionState After, ProtocolError? Error, Money? Increment);

    /// <summary>Everything a played script left: its transitions, the durable events in order, and the live state.</summary>
    public sealed record Played(IReadOnlyList<Transition> Transitions, IReadOnlyList<object> Journal, ChargingSessionState State, Money AcknowledgedForSession);

    /// <summary>
    /// Plays a script as the entity does: an event is evolved once decided (the entity evolves it once durable);
    /// progress is taken at once and persisted as one <see cref="SessionProgressed"/> after the step; credit is
    /// checked after every reading and payment. The channel is modelled: it acknowledges each voucher it is
    /// handed and sums the increments per purpose.
    /// </summary>
    public static Played Play(Script script)
    {
        var journal = new List<object>();
        var transitions = new List<Transition>();
        var state = ChargingSessionState.Empty;
        var register = 10_000L;
        ulong meterSequence = 1, voucherSequence = 0;
        long cumulative = 0;
        var acknowledged = Money.Zero(Currency.Eur);
        var now = Start;

        void Persist(object e)
        {
            journal.Add(e);
            state = ChargingSession.Evolve(state, e);
        }

        // Progress is evolved at once and written as the state's newest; the written form is not evolved again.
        void Take(ProgressTaken? progress)
        {
            if (progress is null) return;
            state = ChargingSession.Evolve(state, progress);
            journal.Add(ChargingSession.ToProgressed(state));
        }

        // What the core says follows: the events it has written, in order (the rest goes to devices and callers).
        void Follow(Effect[] effects)
        {
            foreach (var effect in effects.Where(e => e.Kind == EffectKind.Persist)) Persist(effect.Message!);
        }

        var startCommand = new StartSession(Session, Charger, Vehicle, new Money(script.PricePerKwh, Currency.Eur), new Money(script.Credit, Currency.Eur),
            Reading(meterSequence, register, now, MeterKey), null);
        Assert.Equal(SessionDecision.Proceed, ChargingSession.CheckStart(state, Session, startCommand, Limits).Value);
        Persist(ChargingSession.DecideStart(startCommand, Signed<MeterReading>.Decode(startCommand.Reading).Value, TestParties.Network, ChargerView,
            now).Value);

        foreach (var step in script.Steps)
        {
            now = new Timestamp(now.UnixMilliseconds + 1_000);
            var before = state;
            ProtocolError? error = null;
            Money? increment = null;
            switch (step.Kind)
            {
                case StepKind.Accept:
                    var accept = ChargingSession.CheckAccept(state, Session, Vehicle, Channel);
                    if (!accept.IsOk) error = accept.Error;
                    else if (accept.Value == SessionDecision.Proceed)
                    {
                        var bound = ChargingSession.DecideBind(state, Session, Channel, OpenChannel());
                        if (bound.IsOk) Persist(bound.Value);
                        else error = bound.Error;
                    }
                    break;
                case StepKind.Reading or StepKind.ForgedReading:
                    var reading = Reading(meterSequence + 1, register + step.Amount, now, step.Kind == StepKind.Reading ? MeterKey : ForgedKey);
                    var taken = ChargingSession.DecideReading(state, Session, Charger, reading, TestParties.Network);
                    if (!taken.IsOk) { error = taken.Error; break; }
                    meterSequence++;
                    register += step.Amount;
                    Take(taken.Value);
                    Follow(ChargingSession.AfterReading(state, Session, taken.Value, now));
                    break;
                case StepKind.Pay or StepKind.PayOtherSession or StepKind.PayOtherChannel:
                    var purpose = step.Kind == StepKind.PayOtherSession ? OtherSession.Purpose : Session.Purpose;
                    var channel = step.Kind == StepKind.PayOtherChannel ? OtherChannel : Channel;
                    var pay = Math.Min(step.Amount, Math.Max(0, state.UnpaidMinorUnits + (step.Amount % 3 == 0 ? 1 : 0)));
                    var wire = Signing.Voucher(channel, voucherSequence + 1, cumulative + pay, pay, VehicleKey, purpose);
                    var decided = ChargingSession.DecidePayment(state, Session, Vehicle, wire);
                    if (!decided.IsOk) { error = decided.Error; break; }
                    voucherSequence++;
                    cumulative += pay;
                    acknowledged = acknowledged.Add(new Money(pay, Currency.Eur)).Value;
                    increment = new Money(pay, Currency.Eur);
                    var ack = new VoucherAcknowledged(Channel, voucherSequence, new Money(cumulative, Currency.Eur))
                    {
                        Increment = increment, Purpose = Session.Purpose, PaidForPurpose = acknowledged,
                    };
                    Take(ChargingSession.DecideVoucherAnswered(state, Session, decided.Value, ack));
                    Follow(ChargingSession.PaymentAnswered(state, Session, ack, readingAnswerWaiting: false, now));
                    break;
                case StepKind.Stop:
                    var stop = ChargingSession.DecideStop(state, Session, new StopSession(Session, Charger, Reading(meterSequence + 1, register + step.Amount, now, MeterKey), null),
                        TestParties.Network, now);
                    if (!stop.IsOk) { error = stop.Error; break; }
                    if (stop.Value is not { } stopped) break;
                    meterSequence++;
                    register += step.Amount;
                    Persist(stopped);
                    if (state.ReadyToComplete && ChargingSession.DecideCompletion(state, Session, now) is { } settled) Persist(settled);
                    break;
                case StepKind.SettleDeadline:
                    Follow(ChargingSession.Due(state, Session, SessionDue.Settle, now));
                    break;
            }
            if (error is not null) Assert.Same(before, state);
            transitions.Add(new Transition(step, before, state, error, increment));
        }
        return new Played(transitions, journal, state, acknowledged);
    }

    private static byte[] Reading(ulong sequence, long registerWh, Timestamp at, DeviceKeyPair key) =>
        Signed<MeterReading>.Sign(new MeterReading(TestParties.Network, Charger, sequence, at, new EnergyWh(registerWh)), key).ToArray();

    private static ChannelView OpenChannel() =>
        new(Channel, "open", PartyId.From(Vehicle), Payee, new Money(100_000, Currency.Eur), Money.Zero(Currency.Eur), 0, null, null);

    private static ChargingSessionState Replay(IEnumerable<object> journal) => journal.Aggregate(ChargingSessionState.Empty, ChargingSession.Evolve);

    [Property(MaxTest = 60)]
    public Property Replaying_the_durable_events_gives_the_live_state() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            Assert.Equal(played.State, Replay(played.Journal));
        });

    [Property(MaxTest = 60)]
    public Property Replaying_progress_twice_or_out_of_order_changes_nothing_paid() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            var progress = played.Journal.OfType<SessionProgressed>().ToList();
            var shuffled = Replay(played.Journal.Concat(Enumerable.Reverse(progress)));
            Assert.Equal(played.State.Paid, shuffled.Paid);
            Assert.Equal(played.State.BestVoucher, shuffled.BestVoucher);
        });

    [Property(MaxTest = 60)]
    public Property A_session_never_counts_as_paid_more_than_the_increments_that_named_it_nor_more_than_it_owes() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            var named = 0L;
            foreach (var t in played.Transitions)
            {
                if (t.Increment is { } increment) named += increment.MinorUnits;
                Assert.True(t.After.Paid.MinorUnits <= named, $"paid {t.After.Paid} after increments of {named} that named the session");
                Assert.True(t.After.Paid <= t.After.Owed, $"paid {t.After.Paid} above owed {t.After.Owed}");
                if (t.Step.Kind is StepKind.PayOtherSession or StepKind.PayOtherChannel && t.Before.Channel is not null && t.Before.Record is null)
                    Assert.NotNull(t.Error);
            }
            Assert.Equal(named, played.State.Paid.MinorUnits);
        });

    [Property(MaxTest = 60)]
    public Property A_running_session_is_suspended_exactly_when_owed_less_paid_exceeds_its_credit() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            foreach (var t in played.Transitions.Where(t => t.After.End is null))
                Assert.Equal(t.After.UnpaidMinorUnits > script.Credit, t.After.Suspended);
            foreach (var t in played.Transitions.Where(t => t.After.Status == SessionStatus.Suspended))
                Assert.Equal("suspended", t.After.Status.ToWire());
        });

    [Property(MaxTest = 60)]
    public Property A_completed_session_takes_nothing_more_and_its_record_adds_up() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            foreach (var t in played.Transitions.Where(t => t.Before.Record is not null))
                Assert.Same(t.Before, t.After);
            if (played.State.Record is { } record)
            {
                Assert.Equal(record.Cost.MinorUnits, record.Paid.MinorUnits + record.Outstanding.MinorUnits);
                Assert.Equal(played.State.DeliveredWh, record.EnergyWh);
                Assert.Equal(SessionStatus.Completed, played.State.Status);
            }
        });

    [Property(MaxTest = 60)]
    public Property A_session_is_ready_to_complete_only_when_stopped_and_nothing_of_it_is_outstanding() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            foreach (var t in played.Transitions)
            {
                var later = new Timestamp(Start.UnixMilliseconds + 3_600_000);
                var completion = ChargingSession.DecideCompletion(t.After, Session, later);
                if (t.After.ReadyToComplete) Assert.Equal(0, completion!.Record.Outstanding.MinorUnits);
                if (t.After.End is null || t.After.Record is not null) Assert.False(t.After.ReadyToComplete);
            }
        });

    [Property(MaxTest = 60)]
    public Property Only_the_session_s_parties_are_told_and_the_vehicle_only_once_it_accepted() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            var state = ChargingSessionState.Empty;
            foreach (var e in played.Journal)
            {
                state = ChargingSession.Evolve(state, e);
                var notices = ChargingSession.Notices(state, Session, e, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web));
                Assert.All(notices, n => Assert.Contains(n.Device, new[] { Charger, Vehicle }));
                if (state.Channel is null) Assert.DoesNotContain(notices, n => n.Device == Vehicle && e is not SessionCompleted);
                switch (e)
                {
                    case SessionCompleted:
                        Assert.Equal(new[] { (Charger, "session.completed"), (Vehicle, "session.completed") }, notices.Select(n => (n.Device, n.Event)));
                        break;
                    case SessionSuspended or SessionResumed:
                        Assert.Equal(Charger, Assert.Single(notices).Device);
                        break;
                    case SessionStarted or SessionProgressed or SessionConsentExpired:
                        Assert.Empty(notices);
                        break;
                }
            }
        });

    [Property(MaxTest = 100)]
    public Property The_time_left_for_consent_is_between_none_and_the_timeout_and_shrinks_as_time_passes() =>
        Prop.ForAll(Gen.Choose(-5_000, 200_000).ToArbitrary(), Gen.Choose(0, 100_000).ToArbitrary(), (elapsedMs, laterMs) =>
        {
            var state = ChargingSessionState.Empty with { Started = Started(Start) };
            var timeout = TimeSpan.FromSeconds(60);
            var now = new Timestamp(Start.UnixMilliseconds + elapsedMs);
            var left = ChargingSession.ConsentLeft(state, timeout, now);
            Assert.InRange(left, TimeSpan.Zero, timeout);
            Assert.Equal(TimeSpan.FromMilliseconds(Math.Clamp(60_000 - Math.Max(0, elapsedMs), 0, 60_000)), left);
            Assert.True(ChargingSession.ConsentLeft(state, timeout, new Timestamp(now.UnixMilliseconds + laterMs)) <= left);
        });

    private static SessionStarted Started(Timestamp at) =>
        new(Charger, Vehicle, Payee, MeterKey.PublicKey.Hex, true, new Money(40, Currency.Eur), new Money(100, Currency.Eur), Reading(1, 100, at, MeterKey), at);

    [Fact]
    public void A_session_id_that_is_no_identifier_takes_no_voucher()
    {
        Assert.True(new SessionId("Not An Identifier!").Purpose.IsNone);
        Assert.False(SessionId.Parse("Not An Identifier!").IsOk);
        Assert.False(Session.Purpose.IsNone);
    }

    [Fact]
    public void Other_terms_for_a_started_session_are_refused_and_the_same_start_is_a_repeat()
    {
        var command = new StartSession(Session, Charger, Vehicle, new Money(40, Currency.Eur), new Money(100, Currency.Eur), Reading(1, 100, Start, MeterKey), null);
        var started = ChargingSession.Evolve(ChargingSessionState.Empty,
            ChargingSession.DecideStart(command, Signed<MeterReading>.Decode(command.Reading).Value, TestParties.Network, ChargerView, Start).Value);
        Assert.Equal(SessionDecision.Repeat, ChargingSession.CheckStart(started, Session, command, Limits).Value);
        var other = command with { Reading = Reading(1, 200, Start, MeterKey) };
        Assert.IsType<SessionAlreadyStarted>(ChargingSession.CheckStart(started, Session, other, Limits).Error);
        Assert.IsType<InvalidSessionTerms>(ChargingSession.CheckStart(ChargingSessionState.Empty, Session, command with { PricePerKwh = new Money(-1, Currency.Eur) }, Limits).Error);
    }

    // Witnessed sessions: an OCPP charger's transaction, whose meter values the node signs

    private static readonly DeviceKeyPair NodeKey = DeviceKeyPair.Generate();
    private static readonly SessionId Transaction = SessionId.OfTransaction("charger-p", 7);

    /// <summary>A witnessed meter value: how far the register moves (back, not at all, forward), whether it is the final one, and how the node's clock moved.</summary>
    public sealed record Witnessed(int DeltaWh, bool Final, int ClockMs);

    private static readonly Arbitrary<IReadOnlyList<Witnessed>> WitnessedScripts =
        Gen.ListOf(from delta in Gen.Frequency((1, Gen.Choose(-300, -1)), (1, Gen.Constant(0)), (5, Gen.Choose(1, 2_000)))
                   from final in Gen.Frequency((8, Gen.Constant(false)), (1, Gen.Constant(true)))
                   from clock in Gen.Choose(-5_000, 5_000)
                   select new Witnessed(delta, final, clock))
            .Select(values => (IReadOnlyList<Witnessed>)values.ToList()).ToArbitrary();

    private static DeviceView Twin(DeviceId device, DeviceRole role, bool revoked = false) =>
        new(device, Cpo, role, MeterKey.PublicKey.Hex, revoked, Start, revoked ? Start : null);

    private static ChargingSessionState WitnessedStart(long meterStartWh)
    {
        var command = new StartWitnessedSession(Transaction, Charger, Vehicle, meterStartWh);
        var started = ChargingSession.DecideWitnessedStart(command, TestParties.Network, Twin(Charger, DeviceRole.Charger), Twin(Vehicle, DeviceRole.Vehicle),
            _ => false, NodeKey, new Money(40, Currency.Eur), new Money(1_000, Currency.Eur), Start).Value;
        return ChargingSession.Evolve(ChargingSessionState.Empty, started);
    }

    /// <summary>Plays witnessed meter values as the entity does: progress is taken at once and written as the state's newest; the final value stops the session.</summary>
    private static (ChargingSessionState State, List<object> Journal, List<(Witnessed Value, long RegisterWh, object? Taken, ChargingSessionState Before, ChargingSessionState After)> Steps)
        PlayWitnessed(IReadOnlyList<Witnessed> values)
    {
        var state = WitnessedStart(10_000);
        var journal = new List<object> { state.Started! };
        var steps = new List<(Witnessed, long, object?, ChargingSessionState, ChargingSessionState)>();
        var (now, register) = (Start, 10_000L);
        foreach (var value in values)
        {
            now = new Timestamp(now.UnixMilliseconds + value.ClockMs);
            var before = state;
            var reading = new WitnessedReading(Transaction, register + value.DeltaWh, value.Final);
            var taken = ChargingSession.DecideWitnessed(state, reading, TestParties.Network, NodeKey, now);
            switch (taken)
            {
                case ProgressTaken progress:
                    state = ChargingSession.Evolve(state, progress);
                    journal.Add(ChargingSession.ToProgressed(state));
                    break;
                case SessionStopRequested stop:
                    state = ChargingSession.Evolve(state, stop);
                    journal.Add(stop);
                    break;
            }
            if (taken is not null) register = reading.RegisterWh;
            steps.Add((value, reading.RegisterWh, taken, before, state));
        }
        return (state, journal, steps);
    }

    [Property(MaxTest = 100)]
    public Property A_witnessed_session_signs_each_forward_value_once_never_goes_back_and_takes_nothing_after_its_final_value() =>
        Prop.ForAll(WitnessedScripts, values =>
        {
            var (_, _, steps) = PlayWitnessed(values);
            foreach (var (value, registerWh, taken, before, after) in steps)
            {
                var last = before.LastReading!;
                var expected = before.End is null && (value.DeltaWh > 0 || (value.DeltaWh == 0 && value.Final));
                Assert.True(expected == taken is not null, $"{value} after {last.Payload.Register} ({(before.End is null ? "running" : "stopped")}) took {taken}");
                if (taken is null) { Assert.Same(before, after); continue; }
                Assert.Equal(value.Final, taken is SessionStopRequested);
                // The node's reading is one the session would take from a signing charger: newer in sequence, time and register.
                var reading = after.LastReading!;
                Assert.True(MeterReadings.Accept(reading, TestParties.Network, Charger, NodeKey.PublicKey, last.Payload).IsOk);
                Assert.Equal((last.Payload.Sequence + 1, registerWh), (reading.Payload.Sequence, reading.Payload.Register.WattHours));
                Assert.True(after.DeliveredWh >= 0 && after.Owed.MinorUnits >= 0 && after.UnpaidMinorUnits >= 0, $"{after.DeliveredWh} Wh, owed {after.Owed}");
                // The same value again is taken no more (a charger repeats its MeterValues when it missed the answer).
                Assert.Null(ChargingSession.DecideWitnessed(after, new WitnessedReading(Transaction, registerWh, Final: false), TestParties.Network, NodeKey, Start));
            }
            Assert.True(steps.Count(s => s.Taken is SessionStopRequested) <= 1);
        });

    [Property(MaxTest = 100)]
    public Property A_witnessed_session_rebuilt_from_its_journal_decides_every_value_alike() =>
        Prop.ForAll(WitnessedScripts, Gen.Choose(-100, 3_000).ToArbitrary(), (values, probeWh) =>
        {
            var (live, journal, _) = PlayWitnessed(values);
            var rebuilt = Replay(journal);
            Assert.Equal(live, rebuilt);
            foreach (var final in new[] { false, true })
            {
                var probe = new WitnessedReading(Transaction, live.LastReading!.Payload.Register.WattHours + probeWh, final);
                var now = new Timestamp(Start.UnixMilliseconds + 60_000);
                var (a, b) = (ChargingSession.DecideWitnessed(live, probe, TestParties.Network, NodeKey, now), ChargingSession.DecideWitnessed(rebuilt, probe, TestParties.Network, NodeKey, now));
                Assert.Equal(a?.GetType(), b?.GetType());
                Assert.Equal(ChargingSession.Evolve(live, a ?? new object()), ChargingSession.Evolve(rebuilt, b ?? new object()));
            }
        });

    [Property(MaxTest = 100)]
    public Property A_witnessed_session_is_started_once_by_registered_parties_and_refused_by_name_otherwise() =>
        Prop.ForAll(Gen.Elements("none", "revoked", "meter", "vehicle", "charger").ToArbitrary(), Gen.Elements("none", "revoked", "charger", "vehicle").ToArbitrary(),
            (chargerIs, vehicleIs) =>
            {
                object? Answer(DeviceId device, string @is) => @is switch
                {
                    "none" => null,
                    "revoked" => Twin(device, device == Charger ? DeviceRole.Charger : DeviceRole.Vehicle, revoked: true),
                    "meter" => Twin(device, DeviceRole.Meter),
                    "charger" => Twin(device, DeviceRole.Charger),
                    _ => Twin(device, DeviceRole.Vehicle),
                };
                var command = new StartWitnessedSession(Transaction, Charger, Vehicle, 500);
                var started = ChargingSession.DecideWitnessedStart(command, TestParties.Network, Answer(Charger, chargerIs), Answer(Vehicle, vehicleIs), _ => false,
                    NodeKey, new Money(40, Currency.Eur), new Money(1_000, Currency.Eur), Start);
                var chargerError = chargerIs switch { "none" => typeof(DeviceNotFound), "revoked" => typeof(DeviceIsRevoked), "vehicle" => typeof(DeviceRoleRefused), _ => null };
                var vehicleError = vehicleIs switch { "none" => typeof(DeviceNotFound), "revoked" => typeof(DeviceIsRevoked), "charger" => typeof(DeviceRoleRefused), _ => null };
                Assert.Equal(chargerError ?? vehicleError, started.IsOk ? null : started.Error.GetType());
                Assert.True(ChargingSession.TakesWitnessedStart(ChargingSessionState.Empty));
                if (!started.IsOk) return;
                var state = ChargingSession.Evolve(ChargingSessionState.Empty, started.Value);
                Assert.Equal((Payee, true, 500L), (started.Value.Payee, started.Value.Witnessed, state.Start!.Payload.Register.WattHours));
                Assert.False(ChargingSession.TakesWitnessedStart(state));
            });

    [Property(MaxTest = 100)]
    public Property An_unaccepted_witnessed_session_expires_once_and_only_its_transaction_is_told_to_stop() =>
        Prop.ForAll(Gen.Elements(true, false).ToArbitrary(), Gen.Elements(true, false).ToArbitrary(), Gen.Choose(0, 120_000).ToArbitrary(), (accept, stop, elapsedMs) =>
        {
            var state = WitnessedStart(1_000);
            if (accept) state = ChargingSession.Evolve(state, ChargingSession.DecideBind(state, Transaction, Channel, OpenChannel()).Value);
            if (stop) state = ChargingSession.Evolve(state, ChargingSession.DecideWitnessed(state, new WitnessedReading(Transaction, 1_000, Final: true), TestParties.Network, NodeKey, Start)!);
            var now = new Timestamp(Start.UnixMilliseconds + elapsedMs);
            var expired = ChargingSession.DecideConsentExpiry(state, now);
            Assert.Equal(!accept && !stop, expired is not null);
            Assert.Equal(stop, state.AwaitsSettlement);
            if (expired is null) return;
            state = ChargingSession.Evolve(state, expired);
            Assert.Equal(SessionStatus.Unconsented, state.Status);
            Assert.Null(ChargingSession.DecideConsentExpiry(state, now));
            Assert.Null(ChargingSession.DecideWitnessed(state, new WitnessedReading(Transaction, 5_000, Final: true), TestParties.Network, NodeKey, now));
            Assert.False(state.AwaitsVehicle);
            Assert.Equal(new StopUnconsentedTransaction("charger-p", 7), ChargingSession.UnconsentedStop(Transaction));
            Assert.Null(ChargingSession.UnconsentedStop(Session));
        });

    [Property(MaxTest = 60)]
    public Property A_reading_an_acceptance_an_acknowledgement_a_stop_or_a_start_played_twice_takes_effect_once() =>
        Prop.ForAll(Gen.ListOf(Gen.Choose(1, 3_000)).ToArbitrary(), increments =>
        {
            var start = new StartSession(Session, Charger, Vehicle, new Money(200, Currency.Eur), new Money(1_000_000, Currency.Eur), Reading(1, 10_000, Start, MeterKey), null);
            var state = ChargingSession.Evolve(ChargingSessionState.Empty,
                ChargingSession.DecideStart(start, Signed<MeterReading>.Decode(start.Reading).Value, TestParties.Network, ChargerView, Start).Value);
            Assert.Equal(SessionDecision.Repeat, ChargingSession.CheckStart(state, Session, start, Limits).Value);
            state = ChargingSession.Evolve(state, ChargingSession.DecideBind(state, Session, Channel, OpenChannel()).Value);
            Assert.Equal(SessionDecision.Repeat, ChargingSession.CheckAccept(state, Session, Vehicle, Channel).Value);
            var (register, sequence, now, acknowledged) = (10_000L, 1UL, Start, 0L);
            foreach (var increment in increments)
            {
                now = new Timestamp(now.UnixMilliseconds + 1_000);
                var wire = Reading(++sequence, register += increment, now, MeterKey);
                state = ChargingSession.Evolve(state, ChargingSession.DecideReading(state, Session, Charger, wire, TestParties.Network).Value);
                var again = ChargingSession.DecideReading(state, Session, Charger, wire, TestParties.Network);
                Assert.IsType<ReadingNotNewer>(again.Error);
                var pay = state.UnpaidMinorUnits;
                if (pay == 0) continue;
                var voucher = ChargingSession.DecidePayment(state, Session, Vehicle, Signing.Voucher(Channel, sequence, acknowledged + pay, pay, VehicleKey, Session.Purpose)).Value;
                acknowledged += pay;
                var ack = new VoucherAcknowledged(Channel, sequence, new Money(acknowledged, Currency.Eur))
                {
                    Increment = new Money(pay, Currency.Eur), Purpose = Session.Purpose, PaidForPurpose = new Money(acknowledged, Currency.Eur),
                };
                state = ChargingSession.Evolve(state, ChargingSession.DecideAcknowledged(state, Session, voucher, ack)!);
                Assert.Null(ChargingSession.DecideAcknowledged(state, Session, voucher, ack));
                Assert.True(state.Paid == state.Owed && state.UnpaidMinorUnits == 0, $"paid {state.Paid} of {state.Owed}");
            }
            var stop = new StopSession(Session, Charger, Reading(++sequence, register, new Timestamp(now.UnixMilliseconds + 1_000), MeterKey), null);
            state = ChargingSession.Evolve(state, ChargingSession.DecideStop(state, Session, stop, TestParties.Network, now).Value!);
            Assert.True(ChargingSession.DecideStop(state, Session, stop, TestParties.Network, now) is { IsOk: true, Value: null });
            Assert.Equal(acknowledged, state.Paid.MinorUnits);
            Assert.True(state.ReadyToComplete);
            var completed = ChargingSession.Evolve(state, ChargingSession.DecideCompletion(state, Session, now)!);
            Assert.Null(ChargingSession.DecideCompletion(completed, Session, now));
            Assert.Equal((acknowledged, 0L), (completed.Record!.Paid.MinorUnits, completed.Record.Outstanding.MinorUnits));
        });

    [Property(MaxTest = 60)]
    public Property After_a_restart_a_session_asks_its_channel_what_it_was_paid_only_while_it_has_one_and_is_not_completed() =>
        Prop.ForAll(Scripts, script =>
        {
            foreach (var t in Play(script).Transitions)
            {
                var ask = ChargingSession.PaidToAsk(t.After, Session);
                Assert.Equal(t.After.Channel is not null && t.After.Record is null, ask is not null);
                if (ask is not null) Assert.Equal(new GetPurposePaid(Channel, Session.Purpose), ask);
            }
        });

    private static StartSession StartOf(Script script) =>
        new(Session, Charger, Vehicle, new Money(script.PricePerKwh, Currency.Eur), new Money(script.Credit, Currency.Eur), Reading(1, 10_000, Start, MeterKey), null);

    /// <summary>A bound of the shell's, as the core is handed it: answers waiting for a write are at their most.</summary>
    private sealed record AnswersAtTheirMost : ProtocolError
    {
        public override string Describe() => "answers waiting for a write are at their most";
    }

    [Property(MaxTest = 60)]
    public Property A_start_or_an_acceptance_is_answered_without_a_lookup_exactly_when_it_is_refused_or_repeated() =>
        Prop.ForAll(Scripts, script =>
        {
            var start = StartOf(script);
            Assert.Null(ChargingSession.KnownStart(ChargingSessionState.Empty, Session, start, Limits));
            var badTerms = ChargingSession.KnownStart(ChargingSessionState.Empty, Session, start with { Credit = new Money(-1, Currency.Eur) }, Limits);
            Assert.IsType<InvalidSessionTerms>(Assert.IsType<Refusal>(badTerms).Error);
            Assert.IsType<SessionNotFound>(Assert.IsType<Refusal>(ChargingSession.Get(ChargingSessionState.Empty, Session)).Error);
            foreach (var t in Play(script).Transitions)
            {
                Assert.Equal(ChargingSession.View(t.After, Session), ChargingSession.KnownStart(t.After, Session, start, Limits));
                var other = ChargingSession.KnownStart(t.After, Session, start with { Reading = Reading(1, 10_001, Start, MeterKey) }, Limits);
                Assert.IsType<SessionAlreadyStarted>(Assert.IsType<Refusal>(other).Error);
                Assert.Equal(ChargingSession.View(t.After, Session), ChargingSession.Get(t.After, Session));
                foreach (var (vehicle, channel) in new[] { (Vehicle, Channel), (Vehicle, OtherChannel), (Charger, Channel) })
                {
                    var check = ChargingSession.CheckAccept(t.After, Session, vehicle, channel);
                    var known = ChargingSession.KnownAccept(t.After, Session, new AcceptSession(Session, vehicle, channel, null));
                    if (!check.IsOk) Assert.Equal(check.Error.GetType(), Assert.IsType<Refusal>(known).Error.GetType());
                    else if (check.Value == SessionDecision.Repeat) Assert.Equal(ChargingSession.View(t.After, Session), known);
                    else Assert.Null(known);
                }
            }
        });

    [Property(MaxTest = 60)]
    public Property A_reading_is_refused_for_its_sender_first_then_for_the_bound_and_otherwise_decided_as_if_there_were_none() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 2_000).ToArbitrary(), (script, deltaWh) =>
        {
            var full = new AnswersAtTheirMost();
            foreach (var t in Play(script).Transitions)
            {
                var last = t.After.LastReading!.Payload;
                var wire = Reading(last.Sequence + 1, last.Register.WattHours + deltaWh, new Timestamp(last.Time.UnixMilliseconds + 1_000), MeterKey);
                foreach (var sender in new[] { Charger, Vehicle })
                {
                    var command = new SubmitSessionReading(Session, sender, wire, null);
                    var unbounded = ChargingSession.DecideReading(t.After, Session, sender, wire, TestParties.Network);
                    Assert.Equal(unbounded.IsOk, ChargingSession.DecideReading(t.After, Session, command, TestParties.Network, null).IsOk);
                    var bounded = ChargingSession.DecideReading(t.After, Session, command, TestParties.Network, full);
                    var expected = ChargingSession.CheckParty(t.After, Session, sender, isCharger: true) ?? full;
                    Assert.Equal(expected, bounded.Error);
                }
            }
        });

    [Property(MaxTest = 60)]
    public Property What_follows_a_reading_is_its_notice_to_a_vehicle_that_accepted_and_the_credit_decision_and_no_answer_before_it_is_durable() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 2_000).ToArbitrary(), (script, deltaWh) =>
        {
            foreach (var t in Play(script).Transitions.Where(t => t.After.End is null && t.After.Record is null))
            {
                var last = t.After.LastReading!.Payload;
                var now = new Timestamp(last.Time.UnixMilliseconds + 1_000);
                var taken = ChargingSession.DecideReading(t.After, Session, Charger, Reading(last.Sequence + 1, last.Register.WattHours + deltaWh, now, MeterKey),
                    TestParties.Network).Value;
                var after = ChargingSession.Evolve(t.After, taken);
                var effects = ChargingSession.AfterReading(after, Session, taken, now);
                Assert.DoesNotContain(effects, e => e.Kind == EffectKind.Reply);
                var pushed = effects.Where(e => e.Kind == EffectKind.Push).Select(e => ((DeviceEvent)e.Message!).Device).ToList();
                Assert.Equal(after.Channel is null ? [] : new[] { Vehicle }, pushed);
                Assert.Equal(ChargingSession.DecideCredit(after, now)?.GetType(), effects.SingleOrDefault(e => e.Kind == EffectKind.Persist).Message?.GetType());
            }
        });

    [Property(MaxTest = 60)]
    public Property A_channel_s_refusal_is_passed_on_and_its_acknowledgement_is_answered_with_progress_and_completes_a_paid_up_stop() =>
        Prop.ForAll(Scripts, Gen.Elements(true, false).ToArbitrary(), (script, waiting) =>
        {
            var voucher = Signed<Voucher>.Decode(Signing.Voucher(Channel, 1, 1, 1, VehicleKey, Session.Purpose)).Value;
            var refusal = Refusal.From(new ChannelNotUsable(Session, Channel, "did not answer"));
            foreach (var t in Play(script).Transitions.Where(t => t.After.Channel is not null && t.After.Record is null))
            {
                var now = new Timestamp(Start.UnixMilliseconds + 3_600_000);
                Assert.Null(ChargingSession.DecideVoucherAnswered(t.After, Session, voucher, refusal));
                Assert.Equal(new[] { Effect.Reply(refusal) }, ChargingSession.PaymentAnswered(t.After, Session, refusal, waiting, now));
                var ack = new VoucherAcknowledged(Channel, 1, t.After.Paid) { Purpose = Session.Purpose, PaidForPurpose = t.After.Paid };
                var effects = ChargingSession.PaymentAnswered(t.After, Session, ack, waiting, now).ToList();
                var reply = Assert.Single(effects, e => e.Kind == EffectKind.Reply);
                Assert.Equal(ChargingSession.Progress(t.After, Session), reply.Message);
                Assert.Equal(waiting ? 0 : 1, effects.Count(e => e.Kind == EffectKind.Push));
                var persisted = effects.Where(e => e.Kind == EffectKind.Persist).Select(e => e.Message!).ToList();
                Assert.Equal(ChargingSession.DecideCredit(t.After, now) is not null, persisted.Any(e => e is SessionSuspended or SessionResumed));
                Assert.Equal(t.After.ReadyToComplete, persisted.Any(e => e is SessionCompleted));
                var completion = effects.FindIndex(e => e.Message is SessionCompleted);
                Assert.True(completion < 0 || completion > effects.IndexOf(reply), "the payer hears its answer before the session completes");
            }
        });

    [Property(MaxTest = 60)]
    public Property A_deadline_completes_a_stopped_session_or_expires_an_unaccepted_witnessed_one_once_and_completion_ends_the_settle_deadline() =>
        Prop.ForAll(Scripts, script =>
        {
            var now = new Timestamp(Start.UnixMilliseconds + 3_600_000);
            foreach (var t in Play(script).Transitions)
            {
                Assert.Empty(ChargingSession.Due(t.After, Session, SessionDue.Consent, now));
                var due = ChargingSession.Due(t.After, Session, SessionDue.Settle, now);
                Assert.Equal(t.After.AwaitsSettlement, due.Length == 1);
                if (!t.After.AwaitsSettlement) { Assert.Empty(due); continue; }
                var completed = Assert.IsType<SessionCompleted>(Assert.Single(due, e => e.Kind == EffectKind.Persist).Message);
                var state = ChargingSession.Evolve(t.After, completed);
                Assert.Empty(ChargingSession.Due(state, Session, SessionDue.Settle, now));
                var durable = ChargingSession.Durable(state, Session, completed, new SessionTimeouts(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)),
                    new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web), now);
                Assert.Contains(Effect.CancelTimer(SessionDue.Settle), durable);
            }
            var witnessed = WitnessedStart(1_000);
            var expired = Assert.IsType<SessionConsentExpired>(Assert.Single(ChargingSession.Due(witnessed, Transaction, SessionDue.Consent, now)).Message);
            Assert.Empty(ChargingSession.Due(ChargingSession.Evolve(witnessed, expired), Transaction, SessionDue.Consent, now));
        });

    [Property(MaxTest = 60)]
    public Property The_charger_is_told_of_a_payment_only_when_no_answer_to_its_reading_will_tell_it() =>
        Prop.ForAll(Scripts, Gen.Elements(true, false).ToArbitrary(), (script, waiting) =>
        {
            foreach (var t in Play(script).Transitions)
            {
                var notice = ChargingSession.PaidNotice(t.After, Session, waiting);
                Assert.Equal(!waiting, notice is not null);
                if (notice is null) continue;
                Assert.Equal((Charger, "session.paid"), (notice.Device, notice.Event));
                var frame = System.Text.Encoding.UTF8.GetString(notice.Frame);
                Assert.Contains($"\"paid\":{t.After.Paid.MinorUnits}", frame, StringComparison.Ordinal);
            }
            Assert.Null(ChargingSession.PaidNotice(ChargingSessionState.Empty, Session, readingAnswerWaiting: false));
        });
}
