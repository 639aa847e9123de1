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
/// The rules the channel shells ask their cores about: the checks of an opening, the standing of the parties,
/// the batch of vouchers written together, what a purpose was paid, and the views callers read.
/// </summary>
public sealed class ChannelRulesTests
{
    private static readonly DeviceKeyPair PayerKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair PayeeKey = DeviceKeyPair.Generate();
    private static readonly NetworkId Network = TestParties.Network;
    private static readonly ChannelId Channel = ChannelId.Of("rules-1");
    private static readonly PartyId Payer = PartyId.Of("device:vehicle-rules");
    private static readonly PartyId Payee = PartyId.Of("operator:cpo-rules");
    private static readonly DurationMs Minimum = DurationMs.FromSeconds(60);
    private static readonly PaymentPurpose[] Purposes =
        [PaymentPurpose.None, PaymentPurpose.ForSession("session-a").Unwrap(), PaymentPurpose.ForSession("session-b").Unwrap(), PaymentPurpose.ForTollPass("gantry-1.7").Unwrap()];

    private static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    private static Signed<Voucher> Voucher(ulong sequence, long cumulative, long increment, PaymentPurpose purpose) =>
        Signed<Voucher>.Sign(new Voucher(Network, Channel, sequence, Eur(cumulative), Eur(increment), purpose), PayerKey);

    // The batch of vouchers written together

    [Property(MaxTest = 200)]
    public Property A_batch_holds_its_newest_voucher_and_what_each_named_purpose_was_paid_by_all_of_it() =>
        Prop.ForAll(Gen.ListOf(Gen.Zip(Gen.Choose(0, Purposes.Length - 1), Gen.Choose(-5, 500))).ToArbitrary(), accepted =>
        {
            var batch = (VoucherBatch?)null;
            var expected = new List<(PaymentPurpose Purpose, long Sum)>();
            ulong sequence = 0;
            foreach (var (index, increment) in accepted)
            {
                var purpose = Purposes[index];
                batch = VoucherBatch.Add(batch, Voucher(++sequence, 1_000 + (long)sequence, Math.Max(0, increment), purpose), Eur(increment));
                if (purpose.IsNone || increment <= 0) continue;
                var at = expected.FindIndex(e => e.Purpose == purpose);
                if (at < 0) expected.Add((purpose, increment));
                else expected[at] = (purpose, expected[at].Sum + increment);
            }
            if (batch is null) { Assert.Empty(accepted); return; }
            Assert.Equal(sequence, batch.Newest.Payload.Sequence);
            var recorded = batch.ToEvent();
            Assert.Equal(batch.Newest.ToArray(), recorded.Voucher);
            Assert.Equal(expected.Select(e => new PurposePayment(e.Purpose, Eur(e.Sum))), recorded.Purposes);
        });

    // Openings

    private static StreamingOpening Opening(ChannelId? channel = null, NetworkId? network = null, Currency? currency = null, long windowMs = 60_000) =>
        new(network ?? Network, channel ?? Channel, Payer, Payee, new Money(5_000, currency ?? Currency.Eur), new DurationMs(windowMs));

    private static ProtocolError? Check(StreamingOpening opening, ChannelId? requested = null, params PartyId[] revoked) =>
        StreamingChannelLifecycle.CheckOpening(opening, requested ?? Channel, Channel, Network, Currency.Eur, Minimum, revoked.Contains);

    [Fact]
    public void A_streaming_opening_for_another_channel_network_or_currency_a_revoked_party_or_a_short_window_is_refused_by_name()
    {
        Assert.Null(Check(Opening()));
        Assert.IsType<WrongChannel>(Check(Opening(), ChannelId.Of("rules-2")));
        Assert.IsType<WrongChannel>(Check(Opening(channel: ChannelId.Of("rules-2")), ChannelId.Of("rules-2")));
        Assert.IsType<WrongNetwork>(Check(Opening(network: NetworkId.Of("elsewhere"))));
        Assert.IsType<CurrencyMismatch>(Check(Opening(currency: Currency.Usd)));
        Assert.Equal(new PartyRevoked(Channel, Payer), Check(Opening(), null, Payer, Payee));
        Assert.Equal(new PartyRevoked(Channel, Payee), Check(Opening(), null, Payee));
        Assert.IsType<ChallengeWindowTooShort>(Check(Opening(windowMs: 59_999)));
    }

    [Fact]
    public void A_duplex_opening_for_another_channel_network_or_currency_or_with_a_short_window_is_refused_by_name()
    {
        DuplexOpening Duplex(ChannelId channel, NetworkId network, Currency currency, long windowMs) =>
            new(network, channel, Payer, Payee, new Money(1, currency), new Money(1, currency), new DurationMs(windowMs));
        ProtocolError? CheckDuplex(DuplexOpening opening) => DuplexChannelLifecycle.CheckOpening(opening, Channel, Network, Currency.Eur, Minimum);
        Assert.Null(CheckDuplex(Duplex(Channel, Network, Currency.Eur, 60_000)));
        Assert.IsType<WrongChannel>(CheckDuplex(Duplex(ChannelId.Of("rules-2"), Network, Currency.Eur, 60_000)));
        Assert.IsType<WrongNetwork>(CheckDuplex(Duplex(Channel, NetworkId.Of("elsewhere"), Currency.Eur, 60_000)));
        Assert.IsType<CurrencyMismatch>(CheckDuplex(Duplex(Channel, Network, Currency.Usd, 60_000)));
        Assert.IsType<ChallengeWindowTooShort>(CheckDuplex(Duplex(Channel, Network, Currency.Eur, 1_000)));
    }

    [Fact]
    public void A_payment_is_refused_for_a_revoked_party_before_a_quarantined_one_and_names_the_first()
    {
        PartyId[] parties = [Payer, Payee];
        Assert.Null(ChannelParties.CheckStanding(Channel, parties, _ => false, _ => false));
        Assert.Equal(new PartyRevoked(Channel, Payee), ChannelParties.CheckStanding(Channel, parties, p => p == Payee, _ => true));
        Assert.Equal(new PartyQuarantined(Channel, Payer), ChannelParties.CheckStanding(Channel, parties, _ => false, _ => true));
        Result<DevicePublicKey> key = PayerKey.PublicKey;
        Assert.Equal(PayerKey.PublicKey, ChannelParties.KnownKey(Channel, Payer, key, revokedHere: false).Value);
        Assert.Equal(new PartyRevoked(Channel, Payer), ChannelParties.KnownKey(Channel, Payer, key, revokedHere: true).Error);
    }

    // What an opening looks up before it can be decided

    private static readonly ChannelRules Rules = new(Network, Currency.Eur, Minimum, 4);

    private static DevicePublicKey KeyOf(PartyId party) => party == Payer ? PayerKey.PublicKey : PayeeKey.PublicKey;

    private static Result<DevicePublicKey> LookUp(PartyId party, bool found) => found ? KeyOf(party) : new PartyUnknown(Channel, party);

    private static readonly Arbitrary<(bool, bool, int)> Lookups =
        (from firstFound in Gen.Elements(true, false)
         from secondFound in Gen.Elements(true, false)
         from revoked in Gen.Choose(0, 2)
         select (firstFound, secondFound, revoked)).ToArbitrary();

    [Property(MaxTest = 100)]
    public Property A_streaming_opening_is_decided_on_its_parties_keys_looked_up_in_order_and_refused_for_the_first_not_found() =>
        Prop.ForAll(Lookups, drawn =>
        {
            var (firstFound, secondFound, _) = drawn;
            var rules = new StreamingOpeningRules(Channel, Rules, _ => false);
            var bytes = Signed<StreamingOpening>.Sign(Opening(), PayerKey).ToArray();
            Assert.Null(rules.Known(StreamingChannelState.Empty, bytes));
            var signed = rules.Read(bytes, Channel).Value;
            var (first, second) = rules.Parties(signed.Payload);
            Assert.Equal((Payer, Payee), (first, second));
            var decided = rules.Decide(StreamingChannelState.Empty, bytes, signed, LookUp(first, firstFound), LookUp(second, secondFound));
            if (!firstFound) Assert.Equal(new PartyUnknown(Channel, first), decided.Error);
            else if (!secondFound) Assert.Equal(new PartyUnknown(Channel, second), decided.Error);
            else Assert.NotNull(rules.Known(StreamingChannelLifecycle.Evolve(StreamingChannelState.Empty, decided.Value), bytes));
        });

    [Property(MaxTest = 100)]
    public Property A_duplex_opening_is_refused_for_a_party_revoked_here_or_not_found_party_A_first() =>
        Prop.ForAll(Lookups, drawn =>
        {
            var (firstFound, secondFound, revokedIndex) = drawn;
            PartyId? revokedParty = revokedIndex == 0 ? null : revokedIndex == 1 ? Payer : Payee;
            var rules = new DuplexOpeningRules(Channel, Rules, p => p == revokedParty);
            var opening = new DuplexOpening(Network, Channel, Payer, Payee, Eur(100), Eur(50), new DurationMs(60_000));
            var body = Signed<DuplexOpening>.EncodeBody(opening);
            var bytes = Signed<DuplexOpening>.Assemble(opening, PayerKey.Sign(body), PayeeKey.Sign(body)).ToArray();
            Assert.Null(rules.Known(DuplexChannelState.Empty, bytes));
            var signed = rules.Read(bytes, ChannelId.Of("any-requested")).Value;
            var (first, second) = rules.Parties(signed.Payload);
            Assert.Equal((Payer, Payee), (first, second));
            var decided = rules.Decide(DuplexChannelState.Empty, bytes, signed, LookUp(first, firstFound), LookUp(second, secondFound));
            ProtocolError? RefusalOf(PartyId party, bool found) =>
                party == revokedParty ? new PartyRevoked(Channel, party) : found ? null : new PartyUnknown(Channel, party);
            if ((RefusalOf(first, firstFound) ?? RefusalOf(second, secondFound)) is { } expected) Assert.Equal(expected, decided.Error);
            else Assert.NotNull(rules.Known(DuplexChannelLifecycle.Evolve(DuplexChannelState.Empty, decided.Value), bytes));
        });

    // Views and answers

    [Fact]
    public void A_phase_keeps_its_wire_name_and_is_read_back_from_it()
    {
        Assert.Equal(new[] { "none", "opening", "open", "closing", "closed", "settled", "refused" }, Enum.GetValues<ChannelPhase>().Select(p => p.ToWire()));
        foreach (var phase in Enum.GetValues<ChannelPhase>()) Assert.Equal(phase, ChannelPhases.FromWire(phase.ToWire()));
        Assert.Null(ChannelPhases.FromWire("Open"));
        Assert.Equal(ChannelPhase.Closing, ChannelPhases.Of(ChannelStatus.Closing));
    }

    [Fact]
    public void A_streaming_channel_answers_what_is_durably_paid_for_a_purpose_and_its_view_follows_its_phase()
    {
        Assert.Equal("none", StreamingChannelLifecycle.View(StreamingChannelState.Empty, null, Channel).Status);
        var opening = Signed<StreamingOpening>.Sign(Opening(), PayerKey);
        var started = StreamingChannelLifecycle.Evolve(StreamingChannelState.Empty,
            StreamingChannelLifecycle.Open(StreamingChannelState.Empty, Channel, opening.ToArray(), opening, PayerKey.PublicKey, PayeeKey.PublicKey).Value);
        Assert.Equal("opening", StreamingChannelLifecycle.View(started, started.Channel, Channel).Status);
        Assert.IsType<ChannelNotFound>(StreamingChannelLifecycle.PaidFor(started, Channel, Purposes[1]).Error);

        var open = StreamingChannelLifecycle.Evolve(started, new EscrowLockConfirmed(3));
        Assert.Equal(new ChannelOpened(Channel, Payer, Payee, Eur(5_000), 3), StreamingChannelLifecycle.Opened(open, Channel));
        Assert.Equal("open", StreamingChannelLifecycle.View(open, open.Channel, Channel).Status);
        var paid = StreamingChannelLifecycle.Evolve(open, VoucherBatch.Add(VoucherBatch.Add(null, Voucher(1, 40, 40, Purposes[1]), Eur(40)), Voucher(2, 70, 30, Purposes[2]), Eur(30)).ToEvent());
        var forA = StreamingChannelLifecycle.PaidFor(paid, Channel, Purposes[1]).Value;
        Assert.Equal((Eur(40), Payer, Payee, (byte[]?)null), (forA.Paid, forA.Payer, forA.Payee, forA.Voucher));
        var forB = StreamingChannelLifecycle.PaidFor(paid, Channel, Purposes[2]).Value;
        Assert.Equal(Eur(30), forB.Paid);
        Assert.Equal(paid.BestVoucher, forB.Voucher);
        Assert.Equal(Eur(0), StreamingChannelLifecycle.PaidFor(paid, Channel, Purposes[3]).Value.Paid);
    }

    [Fact]
    public void An_acknowledgement_says_what_the_voucher_added_for_its_purpose_and_who_pays_whom()
    {
        var opening = Signed<StreamingOpening>.Sign(Opening(), PayerKey);
        var state = StreamingChannelLifecycle.Evolve(StreamingChannelState.Empty,
            StreamingChannelLifecycle.Open(StreamingChannelState.Empty, Channel, opening.ToArray(), opening, PayerKey.PublicKey, PayeeKey.PublicKey).Value);
        state = StreamingChannelLifecycle.Evolve(state, new EscrowLockConfirmed(1));
        var voucher = Voucher(1, 25, 25, Purposes[1]);
        var accepted = StreamingChannels.AcceptVoucher(state.Channel!, voucher, new Timestamp(1_800_000_000_000)).Value;
        var ack = StreamingChannelLifecycle.Acknowledge(Channel, voucher.Payload, accepted);
        Assert.Equal((1UL, Eur(25), (Money?)Eur(25), Purposes[1], (Money?)Eur(25), (PartyId?)Payer, (PartyId?)Payee),
            (ack.Sequence, ack.Cumulative, ack.Increment, ack.Purpose, ack.PaidForPurpose, ack.Payer, ack.Payee));
    }

    // What a channel answers without deciding

    private static readonly Timestamp Now = new(1_800_000_000_000);

    [Fact]
    public void A_streaming_opening_it_already_holds_is_answered_another_one_refused_and_none_is_left_to_decide()
    {
        var opening = Signed<StreamingOpening>.Sign(Opening(), PayerKey);
        var other = Signed<StreamingOpening>.Sign(Opening() with { Deposit = Eur(4_000) }, PayerKey);
        Assert.Null(StreamingChannelLifecycle.KnownOpening(StreamingChannelState.Empty, Channel, opening.ToArray()));

        var started = StreamingChannelLifecycle.Evolve(StreamingChannelState.Empty,
            StreamingChannelLifecycle.Open(StreamingChannelState.Empty, Channel, opening.ToArray(), opening, PayerKey.PublicKey, PayeeKey.PublicKey).Value);
        Assert.Equal(KnownAnswer.Wait, StreamingChannelLifecycle.KnownOpening(started, Channel, opening.ToArray()));
        Assert.Equal(new ChannelAlreadyExists(Channel), Assert.IsType<Refusal>(StreamingChannelLifecycle.KnownOpening(started, Channel, other.ToArray())!.Reply).Error);

        var open = StreamingChannelLifecycle.Evolve(started, new EscrowLockConfirmed(3));
        Assert.Equal(StreamingChannelLifecycle.Opened(open, Channel), StreamingChannelLifecycle.KnownOpening(open, Channel, opening.ToArray())!.Reply);
    }

    [Fact]
    public void An_abandoned_streaming_opening_keeps_the_ledger_s_named_error_and_leaves_the_channel_as_if_never_opened()
    {
        var opening = Signed<StreamingOpening>.Sign(Opening(), PayerKey);
        var started = StreamingChannelLifecycle.Evolve(StreamingChannelState.Empty,
            StreamingChannelLifecycle.Open(StreamingChannelState.Empty, Channel, opening.ToArray(), opening, PayerKey.PublicKey, PayeeKey.PublicKey).Value);
        var ledgerSaid = Refusal.From(new InsufficientFunds(Payer, 0, 5_000));

        var abandoned = StreamingChannelLifecycle.Abandon(started, Channel, ledgerSaid).Value;
        Assert.Equal(new InsufficientFunds(Payer, 0, 5_000), Assert.IsType<InsufficientFunds>(abandoned.ToRefusal().Error));
        Assert.Equal((ledgerSaid.Code, ledgerSaid.Message), (abandoned.Code, abandoned.Message));
        Assert.Equal(ChannelPhase.None, StreamingChannelLifecycle.Evolve(started, abandoned).Phase);

        // One written before the refusal was kept whole evolves alike, and reads back by its code and sentence.
        var writtenBefore = new ChannelOpeningAbandoned(ledgerSaid.Code, ledgerSaid.Message);
        Assert.Equal(new Energy.Channels.RecordedError(ledgerSaid.Code, ledgerSaid.Message), writtenBefore.ToRefusal().Error);
        Assert.Equal(ChannelPhase.None, StreamingChannelLifecycle.Evolve(started, writtenBefore).Phase);

        // Only an opening is abandoned.
        var open = StreamingChannelLifecycle.Evolve(started, new EscrowLockConfirmed(3));
        Assert.Equal(new WrongPhase(Channel, ChannelPhase.Opening, ChannelPhase.Open), StreamingChannelLifecycle.Abandon(open, Channel, ledgerSaid).Error);
    }

    [Fact]
    public void A_streaming_close_is_refused_without_a_channel_decided_while_open_and_waits_once_the_split_is_decided()
    {
        var opening = Signed<StreamingOpening>.Sign(Opening(), PayerKey);
        var open = StreamingChannelLifecycle.Evolve(StreamingChannelLifecycle.Evolve(StreamingChannelState.Empty,
            StreamingChannelLifecycle.Open(StreamingChannelState.Empty, Channel, opening.ToArray(), opening, PayerKey.PublicKey, PayeeKey.PublicKey).Value), new EscrowLockConfirmed(3));
        Assert.Equal(new ChannelNotFound(Channel), Assert.IsType<Refusal>(StreamingChannelLifecycle.KnownClose(open, null, Channel)!.Reply).Error);
        Assert.Null(StreamingChannelLifecycle.KnownClose(open, open.Channel, Channel));

        Assert.NotNull(StreamingChannelLifecycle.Close(open.Channel!, [0x17, 0x01], Now).Error);
        var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, Channel, Payee, Now), PayeeKey).ToArray();
        var decided = StreamingChannelLifecycle.Close(open.Channel!, close, Now).Value;
        Assert.Equal(ChannelStatus.Closed, decided.Next.Status);
        Assert.Equal(KnownAnswer.Wait, StreamingChannelLifecycle.KnownClose(StreamingChannelLifecycle.Evolve(open, decided.Event!), decided.Next, Channel));
    }

    [Fact]
    public void A_duplex_opening_it_already_holds_hears_the_ledger_s_refusal_or_the_channel_and_a_close_or_state_without_a_channel_is_refused()
    {
        var opening = new DuplexOpening(Network, Channel, Payer, Payee, Eur(100), Eur(50), new DurationMs(60_000));
        var body = Signed<DuplexOpening>.EncodeBody(opening);
        var signed = Signed<DuplexOpening>.Assemble(opening, PayerKey.Sign(body), PayeeKey.Sign(body));
        Assert.Null(DuplexChannelLifecycle.KnownOpening(DuplexChannelState.Empty, Channel, signed.ToArray()));
        Assert.Equal(new ChannelNotFound(Channel), Assert.IsType<Refusal>(DuplexChannelLifecycle.KnownClose(DuplexChannelState.Empty, Channel)!.Reply).Error);
        Assert.Equal(new ChannelNotFound(Channel), DuplexChannelLifecycle.TakeState(DuplexChannelState.Empty, Channel, [1, 2, 3], _ => false, _ => false, Now).Error);

        var state = DuplexChannelLifecycle.Evolve(DuplexChannelState.Empty,
            DuplexChannelLifecycle.Open(DuplexChannelState.Empty, Channel, signed.ToArray(), signed, PayerKey.PublicKey, PayeeKey.PublicKey).Value);
        Assert.Equal(KnownAnswer.Wait, DuplexChannelLifecycle.KnownOpening(state, Channel, signed.ToArray()));
        Assert.Equal(new ChannelAlreadyExists(Channel), Assert.IsType<Refusal>(DuplexChannelLifecycle.KnownOpening(state, Channel, [9, 9])!.Reply).Error);
        var ledgerSaid = Refusal.From(new InsufficientFunds(Payer, 0, 100));
        var refused = DuplexChannelLifecycle.Evolve(state, DuplexChannelLifecycle.Refuse(state, Channel, ledgerSaid).Value);
        // The ledger's refusal is kept whole: a repeated opening hears its named error, not only its code.
        Assert.Equal(ledgerSaid, DuplexChannelLifecycle.KnownOpening(refused, Channel, signed.ToArray())!.Reply);
        var writtenBefore = DuplexChannelLifecycle.Evolve(state, new DuplexOpeningRefused(ledgerSaid.Code, ledgerSaid.Message));
        Assert.Equal(new Energy.Channels.RecordedError(ledgerSaid.Code, ledgerSaid.Message),
            Assert.IsType<Refusal>(DuplexChannelLifecycle.KnownOpening(writtenBefore, Channel, signed.ToArray())!.Reply).Error);

        state = DuplexChannelLifecycle.Evolve(state, DuplexChannelLifecycle.ConfirmLock(state, Channel, new EscrowLocked(state.Escrow!.Value, Payer, Eur(100), "ledger-0", 1)).Value);
        var open = DuplexChannelLifecycle.Evolve(state, DuplexChannelLifecycle.ConfirmLock(state, Channel, new EscrowLocked(state.Escrow!.Value, Payee, Eur(50), "ledger-1", 2)).Value);
        Assert.Equal(DuplexChannelLifecycle.Opened(open, Channel), DuplexChannelLifecycle.KnownOpening(open, Channel, signed.ToArray())!.Reply);
        Assert.Null(DuplexChannelLifecycle.KnownClose(open, Channel));
        Assert.NotNull(DuplexChannelLifecycle.TakeState(open, Channel, [1, 2, 3], _ => false, _ => false, Now).Error);
        Assert.NotNull(DuplexChannelLifecycle.Close(open, Channel, [1, 2, 3], Now).Error);
        Assert.Equal(new PartyRevoked(Channel, Payee), DuplexChannelLifecycle.TakeState(open, Channel, DuplexState(open, 2), p => p == Payee, _ => false, Now).Error);
        Assert.Equal(new PartyQuarantined(Channel, Payer), DuplexChannelLifecycle.TakeState(open, Channel, DuplexState(open, 2), _ => false, p => p == Payer, Now).Error);
        Assert.True(DuplexChannelLifecycle.TakeState(open, Channel, DuplexState(open, 2), _ => false, _ => false, Now).IsOk);
    }

    private static byte[] DuplexState(DuplexChannelState open, ulong version)
    {
        var state = new DuplexState(Network, Channel, version, Eur(90), Eur(60), false);
        var body = Signed<DuplexState>.EncodeBody(state);
        return Signed<DuplexState>.Assemble(state, PayerKey.Sign(body), PayeeKey.Sign(body)).ToArray();
    }

    [Fact]
    public void A_duplex_channel_awaits_each_depositor_s_lock_and_each_holder_s_release_once()
    {
        var opening = new DuplexOpening(Network, Channel, Payer, Payee, Eur(100), Eur(50), new DurationMs(60_000));
        var body = Signed<DuplexOpening>.EncodeBody(opening);
        var signed = Signed<DuplexOpening>.Assemble(opening, PayerKey.Sign(body), PayeeKey.Sign(body));
        Assert.Equal("none", DuplexChannelLifecycle.View(DuplexChannelState.Empty, Channel).Status);
        var state = DuplexChannelLifecycle.Evolve(DuplexChannelState.Empty,
            DuplexChannelLifecycle.Open(DuplexChannelState.Empty, Channel, signed.ToArray(), signed, PayerKey.PublicKey, PayeeKey.PublicKey).Value);
        Assert.Equal("opening", DuplexChannelLifecycle.View(state, Channel).Status);
        var lockA = new EscrowLocked(state.Escrow!.Value, Payer, Eur(100), "ledger-0", 1);
        Assert.True(DuplexChannelLifecycle.AwaitsLock(state, lockA));
        state = DuplexChannelLifecycle.Evolve(state, DuplexChannelLifecycle.ConfirmLock(state, Channel, lockA).Value);
        Assert.False(DuplexChannelLifecycle.AwaitsLock(state, lockA));
        var refused = DuplexChannelLifecycle.Evolve(state, DuplexChannelLifecycle.Refuse(state, Channel, Refusal.From(new InsufficientFunds(Payer, 0, 100))).Value);
        Assert.Equal("refused", DuplexChannelLifecycle.View(refused, Channel).Status);
        var refund = new EscrowReleased(state.Escrow!.Value, Payer, [new Payout(Payer, Eur(100))], "ledger-0", 2);
        Assert.True(DuplexChannelLifecycle.AwaitsRelease(refused, refund));
        Assert.False(DuplexChannelLifecycle.AwaitsRelease(state, refund));
        refused = DuplexChannelLifecycle.Evolve(refused, DuplexChannelLifecycle.ConfirmRelease(refused, Channel, refund).Value);
        Assert.False(DuplexChannelLifecycle.AwaitsRelease(refused, refund));

        var lockB = new EscrowLocked(state.Escrow!.Value, Payee, Eur(50), "ledger-1", 2);
        var open = DuplexChannelLifecycle.Evolve(state, DuplexChannelLifecycle.ConfirmLock(state, Channel, lockB).Value);
        Assert.False(DuplexChannelLifecycle.AwaitsLock(open, lockB));
        var view = DuplexChannelLifecycle.View(open, Channel);
        Assert.Equal(("open", (PartyId?)Payer, (PartyId?)Payee, (Money?)Eur(100), (Money?)Eur(50)), (view.Status, view.PartyA, view.PartyB, view.BalanceA, view.BalanceB));
        Assert.Equal(new DuplexChannelOpened(Channel, Payer, Payee, Eur(100), Eur(50)), DuplexChannelLifecycle.Opened(open, Channel));
    }

    [Fact]
    public void A_duplex_channel_refuses_a_lock_of_another_escrow_and_a_stray_refusal_once_open_by_name()
    {
        var opening = new DuplexOpening(Network, Channel, Payer, Payee, Eur(100), Eur(50), new DurationMs(60_000));
        var body = Signed<DuplexOpening>.EncodeBody(opening);
        var signed = Signed<DuplexOpening>.Assemble(opening, PayerKey.Sign(body), PayeeKey.Sign(body));
        var state = DuplexChannelLifecycle.Evolve(DuplexChannelState.Empty,
            DuplexChannelLifecycle.Open(DuplexChannelState.Empty, Channel, signed.ToArray(), signed, PayerKey.PublicKey, PayeeKey.PublicKey).Value);

        // Another tenant's escrow (another channel with the same opening hash) and a lock of the wrong amount: named, nothing recorded.
        var own = state.Escrow!.Value;
        var foreign = own with { Channel = ChannelId.Of("someone-else-s-channel") };
        Assert.IsType<EscrowLockMismatch>(DuplexChannelLifecycle.ConfirmLock(state, Channel, new EscrowLocked(foreign, Payer, Eur(100), "ledger-0", 1)).Error);
        Assert.IsType<EscrowLockMismatch>(DuplexChannelLifecycle.ConfirmLock(state, Channel, new EscrowLocked(own, Payer, Eur(99), "ledger-0", 1)).Error);

        state = DuplexChannelLifecycle.Evolve(state, DuplexChannelLifecycle.ConfirmLock(state, Channel, new EscrowLocked(own, Payer, Eur(100), "ledger-0", 1)).Value);
        var open = DuplexChannelLifecycle.Evolve(state, DuplexChannelLifecycle.ConfirmLock(state, Channel, new EscrowLocked(own, Payee, Eur(50), "ledger-1", 2)).Value);
        // A refusal that arrives once both deposits are locked (a late answer to a retried lock) cannot undo the opening.
        var late = DuplexChannelLifecycle.Refuse(open, Channel, Refusal.From(new InsufficientFunds(Payer, 0, 100)));
        Assert.Equal(new WrongPhase(Channel, ChannelPhase.Opening, ChannelPhase.Open), late.Error);
        Assert.Equal("open", DuplexChannelLifecycle.View(open, Channel).Status);
    }

    // As every channel's shell asks them

    [Fact]
    public void Asked_as_the_shell_asks_every_channel_each_lifecycle_answers_by_its_own_rules_and_names_no_opening_before_its_locks()
    {
        var ledgerSaid = Refusal.From(new InsufficientFunds(Payer, 0, 5_000));
        var streaming = Signed<StreamingOpening>.Sign(Opening(), PayerKey);
        var started = StreamingChannelLifecycle.Evolve(StreamingChannelState.Empty,
            StreamingChannelLifecycle.Open(StreamingChannelState.Empty, Channel, streaming.ToArray(), streaming, PayerKey.PublicKey, PayeeKey.PublicKey).Value);
        var (opened, refused) = AskedByTheShell<StreamingChannelLifecycle, StreamingChannelState>(started, ledgerSaid,
            new EscrowLocked(started.Escrow!.Value, Payer, Eur(5_000), "ledger-0", 3));
        Assert.Equal(StreamingChannelLifecycle.Opened(StreamingChannelLifecycle.Evolve(started, new EscrowLockConfirmed(3)), Channel), opened);
        Assert.Equal(StreamingChannelLifecycle.Abandon(started, Channel, ledgerSaid).Value, refused);

        var duplex = new DuplexOpening(Network, Channel, Payer, Payee, Eur(100), Eur(50), new DurationMs(60_000));
        var body = Signed<DuplexOpening>.EncodeBody(duplex);
        var signed = Signed<DuplexOpening>.Assemble(duplex, PayerKey.Sign(body), PayeeKey.Sign(body));
        var state = DuplexChannelLifecycle.Evolve(DuplexChannelState.Empty,
            DuplexChannelLifecycle.Open(DuplexChannelState.Empty, Channel, signed.ToArray(), signed, PayerKey.PublicKey, PayeeKey.PublicKey).Value);
        (opened, refused) = AskedByTheShell<DuplexChannelLifecycle, DuplexChannelState>(state, ledgerSaid,
            new EscrowLocked(state.Escrow!.Value, Payer, Eur(100), "ledger-0", 1), new EscrowLocked(state.Escrow!.Value, Payee, Eur(50), "ledger-1", 2));
        Assert.Equal(new DuplexChannelOpened(Channel, Payer, Payee, Eur(100), Eur(50)), opened);
        Assert.Equal(DuplexChannelLifecycle.Refuse(state, Channel, ledgerSaid).Value, refused);
    }

    /// <summary>
    /// Plays an opening's locks through <see cref="IChannelLifecycle{TState}"/>, as the shell does: each lock awaited and
    /// confirmed, nothing opened before the last. A lock of another channel's escrow or of another party's account is
    /// refused by name and takes nothing; a lock replayed once the channel is open is not awaited (the shell drops it).
    /// What the opening hears then, and what a refusal before them came to.
    /// </summary>
    private static (object? Opened, object Refused) AskedByTheShell<TLifecycle, TState>(TState started, Refusal refusal, params EscrowLocked[] locks)
        where TLifecycle : IChannelLifecycle<TState> where TState : class, IChannelState
    {
        Assert.Equal(ChannelPhase.None, TLifecycle.Empty.Phase);
        var refused = TLifecycle.Refuse(started, Channel, refusal).Value;
        var state = started;
        foreach (var locked in locks)
        {
            Assert.Null(TLifecycle.Opened(state, Channel));
            Assert.True(TLifecycle.AwaitsLock(state, locked));
            var otherChannel = locked with { Escrow = locked.Escrow with { Channel = ChannelId.Of("ch-another-tenant") } };
            var otherAccount = locked with { Account = PartyId.Of("device:a-stranger") };
            foreach (var foreign in new[] { otherChannel, otherAccount })
                Assert.IsAssignableFrom<ProtocolError>(TLifecycle.ConfirmLock(state, Channel, foreign).Error);
            state = TLifecycle.Evolve(state, TLifecycle.ConfirmLock(state, Channel, locked).Value);
        }
        Assert.Equal(ChannelPhase.Open, state.Phase);
        Assert.All(locks, replayed => Assert.False(TLifecycle.AwaitsLock(state, replayed)));
        Assert.IsType<WrongPhase>(TLifecycle.Refuse(state, Channel, refusal).Error);
        return (TLifecycle.Opened(state, Channel), refused);
    }
}
