using Energy.Channels.Primitives;
using Energy.Lifecycles.ChargePoints;
using Energy.Ocpp;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Energy.Lifecycles;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>
/// A charge point's OCPP transactions, called directly: random starts (accepted or not), meter values (forward,
/// backward, for unknown or stopped transactions), stops (repeated, below the start, below the last value) and
/// restarts, in which the state is rebuilt from the journal alone.
/// </summary>
public class ChargePointTransactionProperties
{
    private const string ChargePoint = "charger-p";
    private static readonly Timestamp Start = new(1_800_000_000_000);

    public enum StepKind { Start, MeterValue, Stop, Restart }

    public sealed record Step(StepKind Kind, int Transaction, int RegisterDeltaWh, bool Accepted);

    private static readonly Gen<Step> Steps =
        from kind in Gen.Frequency((2, Gen.Constant(StepKind.Start)), (4, Gen.Constant(StepKind.MeterValue)), (2, Gen.Constant(StepKind.Stop)), (1, Gen.Constant(StepKind.Restart)))
        from transaction in Gen.Choose(-1, 12)
        from delta in Gen.Frequency((1, Gen.Choose(-500, 0)), (4, Gen.Choose(1, 2_000)))
        from accepted in Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)))
        select new Step(kind, transaction, delta, accepted);

    private static readonly Arbitrary<IReadOnlyList<Step>> Scripts = Gen.ListOf(Steps).Select(steps => (IReadOnlyList<Step>)steps.ToList()).ToArbitrary();

    public sealed record Played(ChargePointState State, IReadOnlyList<IEnergyMessage> Journal, IReadOnlyList<int> IdsHandedOut, IReadOnlyList<(ChargePointState Before, ChargePointState After)> Steps);

    private static ChargePointState Replay(IEnumerable<IEnergyMessage> journal) => journal.Aggregate(ChargePointState.Empty, ChargePointTransactions.Evolve);

    /// <summary>Plays a script as the charge point entity does: each decided event is journaled and evolved; a restart rebuilds the state from the journal.</summary>
    public static Played Play(IReadOnlyList<Step> script)
    {
        var state = ChargePointState.Empty;
        var journal = new List<IEnergyMessage>();
        var ids = new List<int>();
        var steps = new List<(ChargePointState, ChargePointState)>();
        var now = Start;
        foreach (var step in script)
        {
            now = new Timestamp(now.UnixMilliseconds + 1_000);
            var before = state;
            IEnergyMessage? e = null;
            var target = step.Transaction <= 0 ? step.Transaction : (state.LastTransactionId == 0 ? step.Transaction : (step.Transaction - 1) % state.LastTransactionId + 1);
            var last = state.Find(target)?.LastRegisterWh ?? 10_000;
            switch (step.Kind)
            {
                case StepKind.Start:
                    var started = ChargePointTransactions.DecideStart(state, ChargePoint, 1, "vehicle-p",
                        step.Accepted ? OcppAuthorization.Accepted : OcppAuthorization.Invalid, 10_000 + step.RegisterDeltaWh, now);
                    e = started.Value;
                    ids.Add(started.Value.TransactionId);
                    break;
                case StepKind.MeterValue:
                    e = ChargePointTransactions.DecideMeterValue(state, target, last + step.RegisterDeltaWh, now);
                    break;
                case StepKind.Stop:
                    e = ChargePointTransactions.DecideStop(state, target, last + step.RegisterDeltaWh, "Local", now).Stopped;
                    break;
                case StepKind.Restart:
                    state = Replay(journal);
                    break;
            }
            if (e is not null)
            {
                journal.Add(e);
                state = ChargePointTransactions.Evolve(state, e);
            }
            steps.Add((before, state));
        }
        return new Played(state, journal, ids, steps);
    }

    [Property(MaxTest = 100)]
    public Property Transaction_ids_are_never_reused_even_across_restarts() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            Assert.Equal(played.IdsHandedOut.Count, played.IdsHandedOut.Distinct().Count());
            Assert.Equal(Enumerable.Range(1, played.IdsHandedOut.Count), played.IdsHandedOut);
        });

    [Property(MaxTest = 100)]
    public Property Replaying_the_journal_gives_the_live_state() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            var replayed = Replay(played.Journal);
            Assert.Equal(played.State.LastTransactionId, replayed.LastTransactionId);
            Assert.Equal(played.State.Transactions.OrderBy(t => t.Key), replayed.Transactions.OrderBy(t => t.Key));
        });

    [Property(MaxTest = 100)]
    public Property A_register_never_goes_back_and_a_stopped_transaction_never_changes() =>
        Prop.ForAll(Scripts, script =>
        {
            foreach (var (before, after) in Play(script).Steps)
            {
                foreach (var (id, was) in before.Transactions)
                {
                    var now = after.Find(id)!;
                    Assert.True(now.LastRegisterWh >= was.LastRegisterWh, $"transaction {id}: {was.LastRegisterWh} -> {now.LastRegisterWh}");
                    Assert.True(now.LastRegisterWh >= now.MeterStartWh);
                    if (was.MeterStopWh is not null) Assert.Equal(was, now);
                }
            }
        });

    [Property(MaxTest = 100)]
    public Property The_session_of_an_accepted_transaction_hears_its_start_then_forward_readings_then_one_final_one() =>
        Prop.ForAll(Scripts, script =>
        {
            var played = Play(script);
            var state = ChargePointState.Empty;
            var heard = new Dictionary<SessionId, List<Energy.Lifecycles.Charging.ISessionCommand>>();
            foreach (var e in played.Journal)
            {
                state = ChargePointTransactions.Evolve(state, e);
                var command = ChargePointTransactions.ToSession(ChargePoint, state, e);
                var transaction = e switch { TransactionStarted s => s.TransactionId, TransactionMeterValue m => m.TransactionId, TransactionStopped t => t.TransactionId, _ => 0 };
                Assert.Equal(state.Find(transaction)!.Authorization == "Accepted", command is not null);
                if (command is not null) (heard.TryGetValue(command.Session, out var list) ? list : heard[command.Session] = []).Add(command);
            }
            foreach (var (session, commands) in heard)
            {
                var (chargePoint, transactionId) = session.Transaction!.Value;
                Assert.Equal((ChargePoint, session), (chargePoint, SessionId.OfTransaction(ChargePoint, transactionId)));
                var start = Assert.IsType<Energy.Lifecycles.Charging.StartWitnessedSession>(commands[0]);
                var readings = commands.Skip(1).Cast<Energy.Lifecycles.Charging.WitnessedReading>().ToList();
                Assert.True(readings.Select(r => r.RegisterWh).Prepend(start.MeterStartWh).Zip(readings.Select(r => r.RegisterWh)).All(p => p.Item1 <= p.Item2));
                Assert.True(readings.Count(r => r.Final) <= 1 && (readings.Count == 0 || readings.Take(readings.Count - 1).All(r => !r.Final)));
            }
        });

    [Property(MaxTest = 100)]
    public Property A_transaction_is_found_again_from_its_session_id() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Elements("cp-1", "charger.a", "x", "wallbox:7").ToArbitrary(), (transactionId, chargePoint) =>
        {
            Assert.Equal((chargePoint, transactionId), SessionId.OfTransaction(chargePoint, transactionId).Transaction);
            Assert.Null(new SessionId(chargePoint + ":" + transactionId).Transaction);
        });

    [Fact]
    public void An_authorization_keeps_its_wire_name_and_an_unknown_name_reads_as_invalid()
    {
        foreach (var authorization in Enum.GetValues<OcppAuthorization>())
            Assert.Equal(authorization, OcppAuthorizationNames.FromWire(authorization.ToWire()));
        Assert.Equal(OcppAuthorization.Invalid, OcppAuthorizationNames.FromWire("Expired"));
    }

    [Fact]
    public void A_stop_of_an_unknown_transaction_is_invalid_and_a_repeated_stop_gets_the_same_answer()
    {
        Assert.Equal(new StopDecision(OcppAuthorization.Invalid, null), ChargePointTransactions.DecideStop(ChargePointState.Empty, 7, 100, null, Start));
        var started = ChargePointTransactions.DecideStart(ChargePointState.Empty, ChargePoint, 1, "vehicle-p", OcppAuthorization.Accepted, 100, Start).Value;
        var state = ChargePointTransactions.Evolve(ChargePointState.Empty, started);
        Assert.Equal(new StopDecision(OcppAuthorization.Invalid, null), ChargePointTransactions.DecideStop(state, started.TransactionId, 99, null, Start));
        var stop = ChargePointTransactions.DecideStop(state, started.TransactionId, 150, null, Start);
        Assert.Equal(OcppAuthorization.Accepted, stop.Status);
        state = ChargePointTransactions.Evolve(state, stop.Stopped!);
        Assert.Equal(new StopDecision(OcppAuthorization.Accepted, null), ChargePointTransactions.DecideStop(state, started.TransactionId, 150, null, Start));
    }

    [Fact]
    public void Transaction_ids_end_with_a_named_error_not_an_overflow()
    {
        var last = ChargePointState.Empty with { LastTransactionId = int.MaxValue };
        Assert.IsType<TransactionIdsExhausted>(ChargePointTransactions.DecideStart(last, ChargePoint, 1, "vehicle-p", OcppAuthorization.Accepted, 0, Start).Error);
    }

    // Calls, as the entity takes them: one decision gives the event to persist and the charger's answer

    /// <summary>The calls a charger may make of a charge point in <paramref name="state"/>: for known and unknown transactions, forward and backward.</summary>
    private static IEnumerable<ChargePointCall> Calls(ChargePointState state, int deltaWh)
    {
        yield return new BootNotificationCall("Energy", "Wallbox");
        yield return new HeartbeatCall();
        yield return new StatusNotificationCall(1, "Charging");
        yield return new AuthorizeCall("vehicle-p");
        yield return new StartTransactionCall(1, "vehicle-p", 10_000);
        yield return new UnsupportedCall("DataTransfer");
        foreach (var id in state.Transactions.Keys.Append(0).Append(state.LastTransactionId + 1))
        {
            var last = state.Find(id)?.LastRegisterWh ?? 10_000;
            yield return new MeterValuesCall(id, last + deltaWh);
            yield return new MeterValuesCall(id, null);
            yield return new StopTransactionCall(id, last + deltaWh, "Local");
        }
    }

    private static string Body(ChargePointResponse answer) =>
        answer.Payload is { } payload ? payload.GetRawText() : $"{answer.ErrorCode}: {answer.ErrorDescription}";

    [Property(MaxTest = 60)]
    public Property Every_call_is_answered_and_changes_the_state_only_by_the_event_the_specific_rule_decides() =>
        Prop.ForAll(Scripts, Gen.Choose(-500, 2_000).ToArbitrary(), Gen.Elements(OcppAuthorization.Accepted, OcppAuthorization.Blocked, OcppAuthorization.Invalid).ToArbitrary(),
            (script, deltaWh, authorization) =>
            {
                var state = Play(script).State;
                var now = new Timestamp(Start.UnixMilliseconds + 3_600_000);
                foreach (var call in Calls(state, deltaWh))
                {
                    var decided = ChargePointTransactions.Decide(state, ChargePoint, call, authorization, now);
                    IEnergyMessage? expected = call switch
                    {
                        BootNotificationCall boot => new ChargePointBooted(boot.Vendor, boot.Model, now),
                        StartTransactionCall start => ChargePointTransactions.DecideStart(state, ChargePoint, start.ConnectorId, start.IdTag, authorization, start.MeterStartWh, now).Value,
                        MeterValuesCall values => ChargePointTransactions.DecideMeterValue(state, values.TransactionId, values.RegisterWh, now),
                        StopTransactionCall stop => ChargePointTransactions.DecideStop(state, stop.TransactionId, stop.MeterStopWh, stop.Reason, now).Stopped,
                        _ => null,
                    };
                    Assert.Equal(expected, decided.Event);
                    Assert.Equal(call is UnsupportedCall ? OcppErrorCode.NotImplemented : null, decided.Answer.ErrorCode);
                    Assert.Equal(call is UnsupportedCall, decided.Answer.Payload is null);
                    if (call is StopTransactionCall s)
                        Assert.Contains($"\"{ChargePointTransactions.DecideStop(state, s.TransactionId, s.MeterStopWh, s.Reason, now).Status.ToWire()}\"", Body(decided.Answer), StringComparison.Ordinal);
                    if (call is AuthorizeCall or StartTransactionCall)
                        Assert.Contains($"\"{authorization.ToWire()}\"", Body(decided.Answer), StringComparison.Ordinal);
                }
            });

    [Property(MaxTest = 60)]
    public Property A_meter_value_or_a_stop_sent_again_is_answered_alike_and_recorded_once() =>
        Prop.ForAll(Scripts, Gen.Choose(-500, 2_000).ToArbitrary(), (script, deltaWh) =>
        {
            var live = Play(script).State;
            var now = new Timestamp(Start.UnixMilliseconds + 3_600_000);
            foreach (var call in Calls(live, deltaWh).Where(c => c is MeterValuesCall or StopTransactionCall))
            {
                var state = live;
                var first = ChargePointTransactions.Decide(state, ChargePoint, call, OcppAuthorization.Invalid, now);
                if (first.Event is { } e) state = ChargePointTransactions.Evolve(state, e);
                var again = ChargePointTransactions.Decide(state, ChargePoint, call, OcppAuthorization.Invalid, now);
                Assert.Null(again.Event);
                Assert.Equal(Body(first.Answer), Body(again.Answer));
            }
        });

    [Property(MaxTest = 60)]
    public Property Only_a_running_transaction_is_told_to_stop_and_the_call_names_it() =>
        Prop.ForAll(Scripts, script =>
        {
            var state = Play(script).State;
            foreach (var id in state.Transactions.Keys.Append(0).Append(state.LastTransactionId + 1))
            {
                var call = ChargePointTransactions.DecideRemoteStop(state, new Energy.Lifecycles.Charging.StopUnconsentedTransaction(ChargePoint, id));
                Assert.Equal(state.Find(id) is { MeterStopWh: null }, call is not null);
                if (call is null) continue;
                Assert.Equal(Ocpp16Actions.RemoteStopTransaction, call.Action);
                Assert.Equal(id, call.Payload.GetProperty("transactionId").GetInt32());
            }
        });

    [Fact]
    public void Only_an_id_tag_that_is_a_device_id_is_looked_up_and_exhausted_ids_are_refused_by_name_in_the_call_error()
    {
        Assert.True(ChargePointTransactions.IsLookedUp("vehicle-p"));
        Assert.False(ChargePointTransactions.IsLookedUp("Not A Device!"));
        Assert.Null(ChargePointCalls.IdTagToAuthorize(new HeartbeatCall()));
        Assert.Equal("vehicle-p", ChargePointCalls.IdTagToAuthorize(new StartTransactionCall(1, "vehicle-p", 0)));
        var last = ChargePointState.Empty with { LastTransactionId = int.MaxValue };
        var refused = ChargePointTransactions.Decide(last, ChargePoint, new StartTransactionCall(1, "vehicle-p", 0), OcppAuthorization.Accepted, Start);
        Assert.Null(refused.Event);
        Assert.Equal((OcppErrorCode.InternalError, new TransactionIdsExhausted(ChargePoint, int.MaxValue).Describe()), (refused.Answer.ErrorCode, refused.Answer.ErrorDescription));
    }
}
