using System.Globalization;
using Energy.Channels;
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
/// The streaming channel's life as pure functions, played the way the entity plays it: vouchers judged
/// against the channel ahead, written in batches of their newest, closes and window ends flushing the
/// batch first, ledger answers right and wrong. Replaying the journal gives the live state; no escrow is
/// released before it was locked and the channel closed; every settlement splits exactly the deposit.
/// </summary>
public class StreamingChannelLifecycleProperties
{
    private static readonly DeviceKeyPair PayerKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair PayeeKey = DeviceKeyPair.Generate();
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private static readonly ChannelId Channel = ChannelId.Of("lifecycle-1");
    private static readonly PartyId Payer = PartyId.Of("device:vehicle-lifecycle");
    private static readonly PartyId Payee = PartyId.Of("operator:cpo-lifecycle");
    private static readonly Timestamp Start = new(1_800_000_000_000);
    private const long Deposit = 10_000;
    private const long WindowMs = 60_000;
    private const int ShardCount = 4;

    private enum Action { Voucher, StaleVoucher, Flush, PayerClose, PayeeClose, Advance, WrongLock, WrongRelease }

    private sealed record Step(Action Action, long Amount, int Purpose, long AdvanceMs);

    private static readonly Gen<Step> Steps =
        from action in Gen.Frequency(
            (20, Gen.Constant(Action.Voucher)),
            (2, Gen.Constant(Action.StaleVoucher)),
            (6, Gen.Constant(Action.Flush)),
            (1, Gen.Constant(Action.PayerClose)),
            (1, Gen.Constant(Action.PayeeClose)),
            (3, Gen.Constant(Action.Advance)),
            (1, Gen.Constant(Action.WrongLock)),
            (1, Gen.Constant(Action.WrongRelease)))
        from amount in Gen.Choose(0, 800)
        from purpose in Gen.Choose(0, 3)
        from advance in Gen.Frequency((3, Gen.Choose(0, 20_000)), (1, Gen.Choose(20_000, 120_000)))
        select new Step(action, amount, purpose, advance);

    private static readonly Arbitrary<Step[]> Scripts =
        (from length in Gen.Choose(0, 24) from steps in Gen.ArrayOf(Steps, length) select steps).ToArbitrary();

    [Property(MaxTest = 60)]
    public Property Replaying_the_journal_gives_the_live_state() =>
        Prop.ForAll(Scripts, steps =>
        {
            var play = Play(steps);
            var replayed = play.Journal.Aggregate(StreamingChannelState.Empty, StreamingChannelLifecycle.Evolve);
            Assert.Equal(Describe(play.State), Describe(replayed));
            var restored = StreamingChannelLifecycle.FromSnapshot(StreamingChannelLifecycle.ToSnapshot(play.State));
            Assert.Equal(Describe(play.State), Describe(restored));
        });

    [Property(MaxTest = 60)]
    public Property No_escrow_is_released_before_it_is_locked_and_the_channel_closed() =>
        Prop.ForAll(Scripts, steps =>
        {
            var state = StreamingChannelState.Empty;
            foreach (var e in Play(steps).Journal)
            {
                if (e is SettlementRecorded)
                {
                    Assert.Equal(ChannelPhase.Closed, state.Phase);
                    Assert.NotNull(state.EscrowBlockHeight);
                }
                state = StreamingChannelLifecycle.Evolve(state, e);
                var owed = StreamingChannelLifecycle.OwedByLedger(state, ShardCount);
                if (owed.Any(o => o is ReleaseEscrow)) Assert.True(state.EscrowBlockHeight is not null && state.Phase == ChannelPhase.Closed, Describe(state));
            }
        });

    [Property(MaxTest = 60)]
    public Property Every_settlement_splits_exactly_the_deposit_and_pays_the_best_voucher() =>
        Prop.ForAll(Scripts, steps =>
        {
            var state = Play(steps).State;
            if (state.Channel?.Settlement is not { } settlement) return;
            Assert.False(settlement.PayoutA.IsNegative || settlement.PayoutB.IsNegative, settlement.ToString());
            Assert.Equal(Deposit, settlement.PayoutA.MinorUnits + settlement.PayoutB.MinorUnits);
            Assert.Equal(state.Channel.Paid, settlement.PayoutB);
            var paidForPurposes = state.PaidByPurpose.Values.Sum(m => m.MinorUnits);
            Assert.InRange(paidForPurposes, 0L, settlement.PayoutB.MinorUnits);
            if (state.Settlement is { } settled) Assert.Equal(Deposit, settled.Payouts.Sum(p => p.Amount.MinorUnits));
        });

    [Property(MaxTest = 60)]
    public Property The_escrow_is_locked_once_and_released_once_and_a_repeated_ledger_answer_changes_nothing() =>
        Prop.ForAll(Scripts, steps =>
        {
            var (state, journal) = Play(steps);
            Assert.Single(journal.OfType<EscrowLockConfirmed>());
            Assert.InRange(journal.OfType<SettlementRecorded>().Count(), 0, 1);
            var lockAgain = new EscrowLocked(state.Escrow!.Value, Payer, Eur(Deposit), "ledger-0", 1);
            Assert.False(StreamingChannelLifecycle.AwaitsLock(state));
            Assert.False(StreamingChannelLifecycle.ConfirmLock(state, Channel, lockAgain).IsOk, "the escrow is locked twice");
            if (state.Settlement is not { } settled) return;
            var releaseAgain = new EscrowReleased(state.Escrow!.Value, Payer, settled.Payouts, settled.Shard, settled.BlockHeight);
            Assert.False(StreamingChannelLifecycle.AwaitsRelease(state), "the release is awaited again");
            Assert.False(StreamingChannelLifecycle.ConfirmRelease(state, Channel, releaseAgain).IsOk, "the escrow is released twice");
            Assert.Empty(StreamingChannelLifecycle.OwedByLedger(state, ShardCount));
        });

    [Property(MaxTest = 60)]
    public Property A_replayed_opening_voucher_or_close_changes_nothing() =>
        Prop.ForAll(Scripts, steps =>
        {
            var (state, journal) = Play(steps);
            var opening = journal.OfType<ChannelOpeningStarted>().Single().Opening;
            Assert.NotNull(StreamingChannelLifecycle.KnownOpening(state, Channel, opening));
            Assert.IsType<ChannelAlreadyExists>(StreamingChannelLifecycle.Open(state, Channel, opening, Signed<StreamingOpening>.Decode(opening).Value,
                PayerKey.PublicKey, PayeeKey.PublicKey).Error);
            var late = new Timestamp(Start.UnixMilliseconds + 100 * WindowMs);
            if (state.Channel is { } channel && state.BestVoucher is { } best)
            {
                var again = StreamingChannelLifecycle.TakeVoucher(channel, Channel, Signed<Voucher>.Decode(best).Value, _ => false, _ => false, null, late);
                Assert.False(again.IsOk, "a voucher was taken twice");
            }
            foreach (var closed in journal.OfType<CloseRecorded>())
            {
                if (StreamingChannelLifecycle.KnownClose(state, state.Channel, Channel) is not null) continue;
                var again = StreamingChannelLifecycle.Close(state.Channel!, closed.CloseRequest, closed.At);
                Assert.True(!again.IsOk || again.Value.Event is null, "a close was recorded twice");
            }
        });

    [Property(MaxTest = 40)]
    public Property A_close_is_written_or_answered_never_both_and_its_closer_hears_a_window_only_when_one_opens() =>
        Prop.ForAll(Scripts, steps =>
        {
            var journal = Play(steps).Journal;
            var state = StreamingChannelState.Empty;
            // Every durable state the channel passed through, each closed by either party a little later.
            foreach (var e in journal.Prepend<object?>(null))
            {
                if (e is not null) state = StreamingChannelLifecycle.Evolve(state, e);
                var now = new Timestamp((state.ClosedAt ?? Start).UnixMilliseconds + 1_000);
                foreach (var (closer, key) in new[] { (Payer, PayerKey), (Payee, PayeeKey) })
                {
                    var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, Channel, closer, now), key).ToArray();
                    var outcome = StreamingChannelLifecycle.DecideClose(state, state.Channel, Channel, close, now);
                    Assert.True(outcome.Answer is null != outcome.Event is null, "a close must be written or answered, not both");
                    if (outcome.Event is { } closed)
                    {
                        var next = outcome.Next!;
                        Assert.Equal(new CloseRecorded(close, now).CloseRequest, Assert.IsType<CloseRecorded>(closed).CloseRequest);
                        Assert.Equal(next.Status == ChannelStatus.Closing ? new ChannelClosing(Channel, next.ChallengeDeadline!.Value) : null, outcome.Window);
                        Assert.Equal(next.Status, StreamingChannelLifecycle.Evolve(state, closed).Channel!.Status);
                        continue;
                    }
                    Assert.Null(outcome.Window);
                    var reply = outcome.Answer!.Reply;
                    if (state.Channel is null) Assert.Equal(new ChannelNotFound(Channel), Assert.IsType<Refusal>(reply).Error);
                    else if (state.Settlement is { } settled) Assert.Equal(settled, reply);
                    else if (state.Phase == ChannelPhase.Closed) Assert.Same(KnownAnswer.Wait, outcome.Answer);
                    else Assert.True(reply is Refusal or ChannelClosing, $"a close of a {state.Phase} channel was answered {reply}");
                }
            }
        });

    [Property(MaxTest = 100)]
    public Property A_voucher_is_read_only_against_an_open_channel_and_as_the_protocol_decodes_it() =>
        Prop.ForAll((from open in Gen.Elements(true, false)
                     from wellFormed in Gen.Elements(true, false)
                     from noise in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b))
                     select (open, wellFormed, noise)).ToArbitrary(), drawn =>
        {
            var (open, wellFormed, noise) = drawn;
            var bytes = wellFormed ? Signed<Voucher>.Sign(new Voucher(Network, Channel, 1, Eur(noise.Length), Eur(noise.Length), PaymentPurpose.None), PayerKey).ToArray() : noise;
            var ahead = open ? Opened().Channel : null;
            var read = StreamingChannelLifecycle.ReadVoucher(ahead, Channel, bytes);
            if (!open) { Assert.Equal(new ChannelNotFound(Channel), read.Error); return; }
            var decoded = Signed<Voucher>.Decode(bytes);
            Assert.Equal(decoded.IsOk, read.IsOk);
            if (decoded.IsOk) Assert.Equal(decoded.Value.Payload, read.Value.Payload);
            else Assert.Equal(decoded.Error, read.Error);
        });

    [Fact]
    public void A_release_before_the_channel_closed_is_refused_with_WrongPhase()
    {
        var state = Opened();
        var release = new EscrowReleased(state.Escrow!.Value, Payer, [new Payout(Payer, Eur(Deposit)), new Payout(Payee, Eur(0))], "ledger-0", 9);
        var refused = StreamingChannelLifecycle.ConfirmRelease(state, Channel, release);
        Assert.Equal(new WrongPhase(Channel, ChannelPhase.Closed, ChannelPhase.Open), refused.Error);
    }

    [Fact]
    public void A_lock_of_another_amount_is_refused_with_EscrowLockMismatch()
    {
        var state = Started();
        var wrong = new EscrowLocked(state.Escrow!.Value, Payer, Eur(Deposit - 1), "ledger-0", 3);
        Assert.IsType<EscrowLockMismatch>(StreamingChannelLifecycle.ConfirmLock(state, Channel, wrong).Error);
    }

    private sealed record Played(StreamingChannelState State, List<object> Journal);

    /// <summary>Plays a script as the entity does; every event goes to the journal and evolves the durable state.</summary>
    private static Played Play(Step[] steps)
    {
        var journal = new List<object>();
        var state = StreamingChannelState.Empty;
        void Persist(object e)
        {
            journal.Add(e);
            state = StreamingChannelLifecycle.Evolve(state, e);
        }

        var opening = Signed<StreamingOpening>.Sign(new StreamingOpening(Network, Channel, Payer, Payee, Eur(Deposit), new DurationMs(WindowMs)), PayerKey);
        Persist(StreamingChannelLifecycle.Open(state, Channel, opening.ToArray(), opening, PayerKey.PublicKey, PayeeKey.PublicKey).Value);
        var lockRequest = (LockEscrow)StreamingChannelLifecycle.OwedByLedger(state, ShardCount).Single();
        Persist(StreamingChannelLifecycle.ConfirmLock(state, Channel, new EscrowLocked(lockRequest.Escrow, lockRequest.Account, lockRequest.Amount, lockRequest.Shard, 1)).Value);

        var ahead = state.Channel!;
        var now = Start;
        Signed<Voucher>? waiting = null;
        var purposes = new Dictionary<PaymentPurpose, long>();
        void Flush()
        {
            if (waiting is null) return;
            Persist(new VoucherRecorded(waiting.ToArray(), purposes.Select(p => new PurposePayment(p.Key, Eur(p.Value))).ToList()));
            waiting = null;
            purposes.Clear();
        }

        foreach (var step in steps)
        {
            switch (step.Action)
            {
                case Action.Voucher or Action.StaleVoucher:
                    var sequence = step.Action == Action.StaleVoucher ? ahead.LastSequence : ahead.LastSequence + 1;
                    var cumulative = Math.Min(Deposit + 1, ahead.Paid.MinorUnits + step.Amount);
                    var purpose = step.Purpose == 0 ? PaymentPurpose.None : PaymentPurpose.ForSession("session-" + step.Purpose).Value;
                    var voucher = Signed<Voucher>.Sign(new Voucher(Network, Channel, sequence, Eur(cumulative), Eur(cumulative - ahead.Paid.MinorUnits), purpose), PayerKey);
                    var accepted = StreamingChannels.AcceptVoucher(ahead, voucher, now);
                    if (!accepted.IsOk) break;
                    ahead = accepted.Value.Channel;
                    if (!purpose.IsNone && accepted.Value.Increment.MinorUnits > 0)
                        purposes[purpose] = purposes.GetValueOrDefault(purpose) + accepted.Value.Increment.MinorUnits;
                    waiting = voucher;
                    break;
                case Action.Flush:
                    Flush();
                    break;
                case Action.PayerClose or Action.PayeeClose:
                    if (state.Phase == ChannelPhase.Settled || ahead.Status == ChannelStatus.Closed) break;
                    var closer = step.Action == Action.PayerClose ? (Payer, PayerKey) : (Payee, PayeeKey);
                    var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, Channel, closer.Item1, now), closer.Item2);
                    var decision = StreamingChannelLifecycle.Close(ahead, close.ToArray(), close, now);
                    if (!decision.IsOk || decision.Value.Event is null) break;
                    Flush();
                    ahead = decision.Value.Next;
                    Persist(decision.Value.Event);
                    break;
                case Action.Advance:
                    now = new Timestamp(now.UnixMilliseconds + step.AdvanceMs);
                    if (ahead.Status != ChannelStatus.Closing) break;
                    var ended = StreamingChannelLifecycle.EndChallenge(ahead, now);
                    if (!ended.IsOk) { Assert.IsType<ChallengeWindowStillOpen>(ended.Error); break; }
                    Flush();
                    ahead = ended.Value.Next;
                    Persist(ended.Value.Event);
                    break;
                case Action.WrongLock:
                    var wrongLock = new EscrowLocked(state.Escrow!.Value, Payee, Eur(Deposit), "ledger-0", 2);
                    Assert.False(StreamingChannelLifecycle.ConfirmLock(state, Channel, wrongLock).IsOk);
                    break;
                case Action.WrongRelease:
                    var wrongRelease = new EscrowReleased(state.Escrow!.Value, Payer, [new Payout(Payee, Eur(Deposit))], "ledger-0", 5);
                    Assert.False(StreamingChannelLifecycle.ConfirmRelease(state, Channel, wrongRelease).IsOk);
                    break;
            }
            // With nothing waiting, the durable channel is the channel ahead.
            if (waiting is null) Assert.Equal(DescribeChannel(ahead), DescribeChannel(state.Channel));
        }
        Flush();
        Assert.Equal(DescribeChannel(ahead), DescribeChannel(state.Channel));
        if (state.Phase == ChannelPhase.Closed)
        {
            var release = (ReleaseEscrow)StreamingChannelLifecycle.OwedByLedger(state, ShardCount).Single();
            Persist(StreamingChannelLifecycle.ConfirmRelease(state, Channel, new EscrowReleased(release.Escrow, release.Holder, release.Payouts, release.Shard, 7)).Value);
            Assert.Equal(ChannelPhase.Settled, state.Phase);
            Assert.Empty(StreamingChannelLifecycle.OwedByLedger(state, ShardCount));
        }
        return new Played(state, journal);
    }

    private static StreamingChannelState Started()
    {
        var opening = Signed<StreamingOpening>.Sign(new StreamingOpening(Network, Channel, Payer, Payee, Eur(Deposit), new DurationMs(WindowMs)), PayerKey);
        var started = StreamingChannelLifecycle.Open(StreamingChannelState.Empty, Channel, opening.ToArray(), opening, PayerKey.PublicKey, PayeeKey.PublicKey).Value;
        return StreamingChannelLifecycle.Evolve(StreamingChannelState.Empty, started);
    }

    private static StreamingChannelState Opened()
    {
        var state = Started();
        var confirmed = StreamingChannelLifecycle.ConfirmLock(state, Channel, new EscrowLocked(state.Escrow!.Value, Payer, Eur(Deposit), "ledger-0", 1)).Value;
        return StreamingChannelLifecycle.Evolve(state, confirmed);
    }

    private static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    private static string Describe(StreamingChannelState s) => string.Join(" | ",
        s.Phase, Hex(s.Opening), s.PayerKeyHex, s.PayeeKeyHex, s.Escrow, s.EscrowBlockHeight, Hex(s.BestVoucher), Hex(s.CloseRequest),
        s.ClosedAt, s.ChallengeEndedAt, s.Settlement is { } settled ? $"{settled.ChannelId} {settled.FinalSequence} {settled.Shard} {settled.BlockHeight} {string.Join(",", settled.Payouts)}" : "-",
        DescribeChannel(s.Channel));

    private static string DescribeChannel(StreamingChannel? c) => c is null ? "-" : string.Join(" ",
        c.Status, c.LastSequence, c.Paid, c.ChallengeDeadline, c.Settlement, Hex(c.Best?.ToArray()),
        string.Join(",", c.PaidByPurpose.OrderBy(p => p.Key.ToString(), StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value.MinorUnits.ToString(CultureInfo.InvariantCulture)}")));

    private static string Hex(byte[]? bytes) => bytes is null ? "-" : Convert.ToHexString(bytes);
}
