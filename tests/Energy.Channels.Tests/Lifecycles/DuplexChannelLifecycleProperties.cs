using Energy.Channels;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>
/// The duplex channel's life as pure functions: both deposits locked (or refused and paid back), co-signed
/// states, closes, windows and releases, with ledger answers right and wrong. Replaying the journal gives the
/// live state; no escrow is released before it was locked; the two releases split exactly both deposits.
/// </summary>
public class DuplexChannelLifecycleProperties
{
    private static readonly DeviceKeyPair KeyA = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair KeyB = DeviceKeyPair.Generate();
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private static readonly ChannelId Channel = ChannelId.Of("duplex-lifecycle-1");
    private static readonly PartyId PartyA = PartyId.Of("device:meter-a");
    private static readonly PartyId PartyB = PartyId.Of("device:meter-b");
    private const long WindowMs = 30_000;
    private const int ShardCount = 4;

    private enum Action { State, FinalState, CloseByA, Advance, WrongRelease }

    private sealed record Step(Action Action, int VersionDelta, int ShareA, long AdvanceMs);

    private sealed record Script(long DepositA, long DepositB, bool RefuseB, Step[] Steps);

    private static readonly Gen<Step> Steps =
        from action in Gen.Frequency(
            (12, Gen.Constant(Action.State)),
            (1, Gen.Constant(Action.FinalState)),
            (1, Gen.Constant(Action.CloseByA)),
            (3, Gen.Constant(Action.Advance)),
            (1, Gen.Constant(Action.WrongRelease)))
        from versionDelta in Gen.Frequency((1, Gen.Choose(-1, 0)), (5, Gen.Choose(1, 3)))
        from shareA in Gen.Choose(0, 1_000)
        from advance in Gen.Choose(0, 40_000)
        select new Step(action, versionDelta, shareA, advance);

    private static readonly Arbitrary<Script> Scripts = (
        from depositA in Gen.Frequency((4, Gen.Choose(1, 5_000)), (1, Gen.Constant(0)))
        from depositB in Gen.Frequency((4, Gen.Choose(1, 5_000)), (1, Gen.Constant(0)))
        from refuseB in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
        from length in Gen.Choose(0, 16)
        from steps in Gen.ArrayOf(Steps, length)
        select new Script(depositA == 0 && depositB == 0 ? 1 : depositA, depositB, refuseB, steps)).ToArbitrary();

    [Property(MaxTest = 40)]
    public Property Replaying_the_journal_gives_the_live_state() =>
        Prop.ForAll(Scripts, script =>
        {
            var (state, journal) = Play(script);
            var replayed = journal.Aggregate(DuplexChannelState.Empty, DuplexChannelLifecycle.Evolve);
            Assert.Equal(Describe(state), Describe(replayed));
        });

    [Property(MaxTest = 40)]
    public Property Releases_split_exactly_what_was_locked_and_only_after_it_was_locked() =>
        Prop.ForAll(Scripts, script =>
        {
            var (state, journal) = Play(script);
            var replay = DuplexChannelState.Empty;
            foreach (var e in journal)
            {
                if (e is DuplexEscrowReleased released) Assert.True(replay.Locked.Contains(released.Release.Holder), $"{released.Release.Holder} released before it was locked");
                replay = DuplexChannelLifecycle.Evolve(replay, e);
            }
            var allReleased = state.Phase == ChannelPhase.Settled || (state.Phase == ChannelPhase.Refused && state.Locked.All(state.IsReleased));
            if (!allReleased) return;
            var locked = state.Locked.Sum(p => state.DepositOf(p).MinorUnits);
            var paidOut = state.Released.SelectMany(r => r.Payouts).Sum(p => p.Amount.MinorUnits);
            Assert.Equal(locked, paidOut);
            Assert.All(state.Released.SelectMany(r => r.Payouts), p => Assert.False(p.Amount.IsNegative, p.ToString()));
            if (state.Settlement is { } settled)
            {
                Assert.Equal(script.DepositA + script.DepositB, settled.Payouts.Sum(p => p.Amount.MinorUnits));
                var final = state.Channel!.Settlement!;
                Assert.Equal(final.PayoutA, settled.Payouts.Where(p => p.Account == PartyA).Select(p => p.Amount).DefaultIfEmpty(Eur(0)).Single());
            }
        });

    [Property(MaxTest = 40)]
    public Property Each_escrow_is_locked_once_and_released_once_and_a_repeated_ledger_answer_changes_nothing() =>
        Prop.ForAll(Scripts, script =>
        {
            var (state, journal) = Play(script);
            Assert.All(journal.OfType<DuplexEscrowLocked>().GroupBy(l => l.Account), locks => Assert.Single(locks));
            Assert.All(journal.OfType<DuplexEscrowReleased>().GroupBy(r => r.Release.Holder), releases => Assert.Single(releases));
            foreach (var account in state.Locked)
            {
                var again = new EscrowLocked(state.Escrow!.Value, account, state.DepositOf(account), "ledger-0", 1);
                Assert.False(DuplexChannelLifecycle.AwaitsLock(state, again), $"{account}'s lock is awaited again");
            }
            foreach (var release in state.Released)
            {
                var again = new EscrowReleased(state.Escrow!.Value, release.Holder, release.Payouts, release.Shard, release.BlockHeight);
                Assert.False(DuplexChannelLifecycle.AwaitsRelease(state, again), $"{release.Holder}'s release is awaited again");
                Assert.False(DuplexChannelLifecycle.ConfirmRelease(state, Channel, again).IsOk, $"{release.Holder}'s escrow is released twice");
            }
            if (state.Phase is ChannelPhase.Settled || (state.Phase is ChannelPhase.Refused && state.Locked.All(state.IsReleased)))
                Assert.Empty(DuplexChannelLifecycle.OwedByLedger(state, ShardCount));
        });

    [Property(MaxTest = 40)]
    public Property A_replayed_opening_state_or_close_changes_nothing() =>
        Prop.ForAll(Scripts, script =>
        {
            var (state, journal) = Play(script);
            var opening = journal.OfType<DuplexOpeningStarted>().Single().Opening;
            Assert.NotNull(DuplexChannelLifecycle.KnownOpening(state, Channel, opening));
            Assert.IsType<ChannelAlreadyExists>(DuplexChannelLifecycle.Open(state, Channel, opening, Signed<DuplexOpening>.Decode(opening).Value,
                KeyA.PublicKey, KeyB.PublicKey).Error);
            var late = new Timestamp(1_800_000_000_000 + 10 * WindowMs);
            foreach (var recorded in journal.OfType<DuplexStateRecorded>())
                Assert.False(DuplexChannelLifecycle.TakeState(state, Channel, recorded.State, _ => false, _ => false, late).IsOk, "a state was taken twice");
            foreach (var closed in journal.OfType<DuplexCloseRecorded>())
            {
                if (DuplexChannelLifecycle.KnownClose(state, Channel) is not null) continue;
                var again = DuplexChannelLifecycle.Close(state, Channel, closed.CloseRequest, closed.At);
                Assert.True(!again.IsOk || again.Value.Event is null, "a close was recorded twice");
            }
        });

    [Property(MaxTest = 40)]
    public Property What_a_state_moved_is_how_far_each_balance_went_never_negative() =>
        Prop.ForAll(Scripts, script =>
        {
            var state = DuplexChannelState.Empty;
            foreach (var e in Play(script).Journal)
            {
                var before = state.Channel;
                state = DuplexChannelLifecycle.Evolve(state, e);
                if (e is not DuplexStateRecorded) continue;
                var after = state.Channel!;
                var moved = DuplexChannelLifecycle.Moved(before!, after);
                Assert.Equal(Eur(Math.Abs(after.BalanceB.MinorUnits - before!.BalanceB.MinorUnits)), moved);
                Assert.Equal(Math.Abs(after.BalanceA.MinorUnits - before.BalanceA.MinorUnits), moved.MinorUnits);
            }
        });

    [Property(MaxTest = 40)]
    public Property A_close_is_written_or_answered_never_both_and_a_written_one_tells_its_closer_the_window() =>
        Prop.ForAll(Scripts, script =>
        {
            var state = DuplexChannelState.Empty;
            foreach (var e in Play(script).Journal.Prepend<object?>(null))
            {
                if (e is not null) state = DuplexChannelLifecycle.Evolve(state, e);
                var now = new Timestamp(1_800_000_000_000 + 5 * WindowMs);
                foreach (var (closer, key) in new[] { (PartyA, KeyA), (PartyB, KeyB) })
                {
                    var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Duplex, Channel, closer, now), key).ToArray();
                    var outcome = DuplexChannelLifecycle.DecideClose(state, Channel, close, now);
                    Assert.True(outcome.Answer is null != outcome.Event is null, "a close must be written or answered, not both");
                    if (outcome.Event is { } closed)
                    {
                        Assert.Equal(ChannelStatus.Closing, outcome.Next!.Status);
                        Assert.Equal(new ChannelClosing(Channel, outcome.Next.ChallengeDeadline!.Value), outcome.Window);
                        Assert.Equal(ChannelPhase.Closing, DuplexChannelLifecycle.Evolve(state, closed).Phase);
                        continue;
                    }
                    Assert.Null(outcome.Window);
                    var reply = outcome.Answer!.Reply;
                    if (state.Channel is null) Assert.Equal(new ChannelNotFound(Channel), Assert.IsType<Refusal>(reply).Error);
                    else if (state.Settlement is { } settled) Assert.Equal(settled, reply);
                    else if (state.Phase == ChannelPhase.Closed) Assert.Same(KnownAnswer.Wait, outcome.Answer);
                    else if (state.Phase == ChannelPhase.Closing) Assert.Equal(DuplexChannelLifecycle.Closing(state, Channel), reply);
                    else Assert.IsType<Refusal>(reply);
                }
            }
        });

    /// <summary>Plays a script as the entity does: every event is decided against the durable state, persisted and evolved.</summary>
    private static (DuplexChannelState State, List<object> Journal) Play(Script script)
    {
        var journal = new List<object>();
        var state = DuplexChannelState.Empty;
        void Persist(object e)
        {
            journal.Add(e);
            state = DuplexChannelLifecycle.Evolve(state, e);
        }
        void AnswerLedger(ulong height)
        {
            foreach (var request in DuplexChannelLifecycle.OwedByLedger(state, ShardCount))
            {
                switch (request)
                {
                    case LockEscrow l when script.RefuseB && l.Account == PartyB:
                        Persist(DuplexChannelLifecycle.Refuse(state, Channel, Refusal.From(new InsufficientFunds(PartyId.Of("device:home-a"), 0, 1))).Value);
                        break;
                    case LockEscrow l:
                        Persist(DuplexChannelLifecycle.ConfirmLock(state, Channel, new EscrowLocked(l.Escrow, l.Account, l.Amount, l.Shard, height)).Value);
                        break;
                    case ReleaseEscrow r:
                        Persist(DuplexChannelLifecycle.ConfirmRelease(state, Channel, new EscrowReleased(r.Escrow, r.Holder, r.Payouts, r.Shard, height)).Value);
                        break;
                }
            }
        }

        var opening = new DuplexOpening(Network, Channel, PartyA, PartyB, Eur(script.DepositA), Eur(script.DepositB), new DurationMs(WindowMs));
        var body = Signed<DuplexOpening>.EncodeBody(opening);
        var signed = Signed<DuplexOpening>.Assemble(opening, KeyA.Sign(body), KeyB.Sign(body));
        Persist(DuplexChannelLifecycle.Open(state, Channel, signed.ToArray(), signed, KeyA.PublicKey, KeyB.PublicKey).Value);
        // Locks one at a time (A's, then B's), as the entity asks for them.
        for (ulong height = 1; height <= 3 && state.Phase is ChannelPhase.Opening or ChannelPhase.Refused; height++) AnswerLedger(height);

        var now = new Timestamp(1_800_000_000_000);
        var total = script.DepositA + script.DepositB;
        foreach (var step in script.Steps)
        {
            if (state.Channel is null) break;
            switch (step.Action)
            {
                case Action.State or Action.FinalState:
                    var version = (ulong)Math.Max(0, (long)state.Channel.Version + step.VersionDelta);
                    var balanceA = total * step.ShareA / 1_000;
                    var duplexState = new DuplexState(Network, Channel, version, Eur(balanceA), Eur(total - balanceA), step.Action == Action.FinalState);
                    var stateBody = Signed<DuplexState>.EncodeBody(duplexState);
                    var signedState = Signed<DuplexState>.Assemble(duplexState, KeyA.Sign(stateBody), KeyB.Sign(stateBody));
                    var recorded = DuplexChannelLifecycle.TakeState(state, Channel, signedState.ToArray(), signedState, now);
                    if (recorded.IsOk) Persist(recorded.Value);
                    break;
                case Action.CloseByA:
                    var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Duplex, Channel, PartyA, now), KeyA);
                    var decision = DuplexChannelLifecycle.Close(state, Channel, close.ToArray(), close, now);
                    if (decision.IsOk && decision.Value.Event is { } closed) Persist(closed);
                    break;
                case Action.Advance:
                    now = new Timestamp(now.UnixMilliseconds + step.AdvanceMs);
                    var ended = DuplexChannelLifecycle.EndChallenge(state, Channel, now);
                    if (ended.IsOk) Persist(ended.Value);
                    break;
                case Action.WrongRelease:
                    var wrong = new EscrowReleased(state.Escrow!.Value, PartyA, [new Payout(PartyB, Eur(total + 1))], "ledger-0", 9);
                    Assert.False(DuplexChannelLifecycle.ConfirmRelease(state, Channel, wrong).IsOk);
                    break;
            }
        }
        if (state.Phase is ChannelPhase.Closed or ChannelPhase.Refused) AnswerLedger(10);
        if (state.Phase == ChannelPhase.Closed) Assert.NotEmpty(DuplexChannelLifecycle.OwedByLedger(state, ShardCount));
        return (state, journal);
    }

    private static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    private static string Describe(DuplexChannelState s) => string.Join(" | ",
        s.Phase, s.Opening is null ? "-" : Convert.ToHexString(s.Opening), s.Escrow, string.Join(",", s.Locked.OrderBy(p => p.Value, StringComparer.Ordinal)),
        s.Refusal, s.Channel is { } c ? $"{c.Status} {c.Version} {c.BalanceA} {c.BalanceB} {c.ChallengeDeadline} {c.Settlement}" : "-",
        string.Join(";", s.Released.Select(r => $"{r.Holder} {r.Shard} {r.BlockHeight} {string.Join(",", r.Payouts)}")),
        s.Settlement is { } settled ? $"{settled.FinalSequence} {settled.Shard} {settled.BlockHeight} {string.Join(",", settled.Payouts)}" : "-");
}
