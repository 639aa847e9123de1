using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

public sealed class StreamingChannelTests : IDisposable
{
    private readonly DeviceKeyPair _payerKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _payeeKey = DeviceKeyPair.Generate();

    public void Dispose()
    {
        _payerKey.Dispose();
        _payeeKey.Dispose();
    }

    private StreamingChannel OpenChannel(long depositMinorUnits = 1_000) =>
        StreamingChannels.Open(new StreamingChannelTerms(
            Network, Channel,
            new ChannelParty(PartyId.Of("device:vehicle-1"), _payerKey.PublicKey),
            new ChannelParty(PartyId.Of("operator:cpo-1"), _payeeKey.PublicKey),
            new Money(depositMinorUnits, Currency.Eur),
            DurationMs.FromSeconds(60))).Value;

    /// <summary>A voucher; its increment is the whole cumulative unless told (right for a channel's first voucher).</summary>
    private Signed<Voucher> VoucherFor(ulong sequence, long cumulative, long? increment = null, PaymentPurpose purpose = default) =>
        Signed<Voucher>.Sign(new Voucher(Network, Channel, sequence, new Money(cumulative, Currency.Eur), new Money(increment ?? cumulative, Currency.Eur), purpose), _payerKey);

    [Fact]
    public void Accepting_a_newer_voucher_pays_the_increment()
    {
        var channel = OpenChannel();
        var first = StreamingChannels.AcceptVoucher(channel, VoucherFor(1, 100), Now).Value;
        var second = StreamingChannels.AcceptVoucher(first.Channel, VoucherFor(2, 250, increment: 150), Now).Value;

        Assert.Equal(100, first.Increment.MinorUnits);
        Assert.Equal(150, second.Increment.MinorUnits);
        Assert.Equal(250, second.Channel.Paid.MinorUnits);
    }

    [Fact]
    public void A_replayed_voucher_is_refused_as_not_newer()
    {
        var channel = OpenChannel();
        var voucher = VoucherFor(1, 100);
        var accepted = StreamingChannels.AcceptVoucher(channel, voucher, Now).Value;

        var replay = StreamingChannels.AcceptVoucher(accepted.Channel, voucher, Now);

        var error = Assert.IsType<VoucherNotNewer>(replay.Error);
        Assert.Equal(Channel, error.ChannelId);
        Assert.Equal(1UL, error.OfferedSequence);
    }

    [Fact]
    public void Payer_close_settles_only_after_the_challenge_window()
    {
        var channel = StreamingChannels.AcceptVoucher(OpenChannel(), VoucherFor(1, 400), Now).Value.Channel;
        var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, Channel, PartyId.Of("device:vehicle-1"), Now), _payerKey);

        var closing = StreamingChannels.RequestClose(channel, close, Now).Value;
        var early = StreamingChannels.FinalizeClose(closing, new Timestamp(Now.UnixMilliseconds + 59_999));
        var closed = StreamingChannels.FinalizeClose(closing, new Timestamp(Now.UnixMilliseconds + 60_000)).Value;

        Assert.IsType<ChallengeWindowStillOpen>(early.Error);
        Assert.Equal(600, closed.Settlement!.PayoutA.MinorUnits);
        Assert.Equal(400, closed.Settlement.PayoutB.MinorUnits);
    }

    // Opening

    [Fact]
    public void An_opened_channel_is_open_with_nothing_paid()
    {
        var channel = StreamingChannels.Open(StreamingTerms(deposit: 1_000)).Value;

        Assert.Equal(ChannelStatus.Open, channel.Status);
        Assert.Null(channel.Best);
        Assert.Null(channel.ChallengeDeadline);
        Assert.Null(channel.Settlement);
        Assert.Equal(Eur(0), channel.Paid);
        Assert.Equal(0UL, channel.LastSequence);
        Assert.Equal(Channel, channel.Id);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7L * 24 * 60 * 60 * 1000)]
    public void A_challenge_window_from_zero_to_seven_days_is_accepted(long windowMs)
    {
        Assert.True(StreamingChannels.Open(StreamingTerms(windowMs: windowMs)).IsOk);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(7L * 24 * 60 * 60 * 1000 + 1)]
    [InlineData(long.MaxValue)]
    public void A_challenge_window_outside_zero_to_seven_days_is_refused_with_MalformedValue(long windowMs)
    {
        var error = Assert.IsType<MalformedValue>(StreamingChannels.Open(StreamingTerms(windowMs: windowMs)).Error);
        Assert.Equal("challenge window", error.Field);
    }

    [Fact]
    public void A_deposit_of_one_minor_unit_opens_a_channel()
    {
        Assert.Equal(Eur(1), StreamingChannels.Open(StreamingTerms(deposit: 1)).Value.Terms.Deposit);
    }

    // Paying

    [Fact]
    public void An_accepted_voucher_becomes_the_best_and_pays_its_whole_amount_first()
    {
        var voucher = Voucher(1, 300);
        var accepted = StreamingChannels.AcceptVoucher(OpenStreaming(), voucher, Now).Value;

        Assert.Equal(voucher, accepted.Channel.Best);
        Assert.Equal(Eur(300), accepted.Increment);
        Assert.Equal(Eur(300), accepted.Channel.Paid);
        Assert.Equal(1UL, accepted.Channel.LastSequence);
        Assert.Equal(ChannelStatus.Open, accepted.Channel.Status);
    }

    [Fact]
    public void Sequences_may_skip_numbers()
    {
        var accepted = StreamingChannels.AcceptVoucher(Paid(100, sequence: 1), Voucher(10, 150, increment: 50), Now).Value;
        Assert.Equal((10UL, 150L), (accepted.Channel.LastSequence, accepted.Channel.Paid.MinorUnits));
        Assert.Equal(Eur(50), accepted.Increment);
    }

    [Fact]
    public void A_newer_voucher_for_the_same_amount_is_accepted_with_a_zero_increment()
    {
        var accepted = StreamingChannels.AcceptVoucher(Paid(400), Voucher(2, 400, increment: 0), Now).Value;
        Assert.Equal(Eur(0), accepted.Increment);
        Assert.Equal(2UL, accepted.Channel.LastSequence);
    }

    [Fact]
    public void A_voucher_for_exactly_the_deposit_is_accepted()
    {
        var accepted = StreamingChannels.AcceptVoucher(OpenStreaming(1_000), Voucher(1, 1_000), Now).Value;
        Assert.Equal(Eur(1_000), accepted.Channel.Paid);
    }

    [Fact]
    public void A_voucher_for_zero_is_accepted()
    {
        var accepted = StreamingChannels.AcceptVoucher(OpenStreaming(), Voucher(1, 0), Now).Value;
        Assert.Equal((Eur(0), 1UL), (accepted.Increment, accepted.Channel.LastSequence));
    }

    [Fact]
    public void A_voucher_with_the_largest_sequence_is_accepted_and_nothing_can_follow_it()
    {
        var channel = StreamingChannels.AcceptVoucher(OpenStreaming(), Voucher(ulong.MaxValue, 10), Now).Value.Channel;
        var error = Assert.IsType<VoucherNotNewer>(StreamingChannels.AcceptVoucher(channel, Voucher(ulong.MaxValue, 20), Now).Error);
        Assert.Equal((ulong.MaxValue, ulong.MaxValue), (error.LastSequence, error.OfferedSequence));
    }

    // Closing by the payee

    [Fact]
    public void The_payee_closes_at_once_with_its_best_voucher()
    {
        var closed = StreamingChannels.RequestClose(Paid(640, sequence: 3), Close(PayeeId, Keys.Payee), At(5_000)).Value;

        Assert.Equal(ChannelStatus.Closed, closed.Status);
        Assert.Null(closed.ChallengeDeadline);
        var settlement = closed.Settlement!;
        Assert.Equal(new ChannelSettlement(Channel, PayerId, Eur(360), PayeeId, Eur(640), 3, At(5_000)), settlement);
    }

    [Fact]
    public void A_payee_close_without_any_voucher_refunds_the_whole_deposit()
    {
        var closed = StreamingChannels.RequestClose(OpenStreaming(1_000), Close(PayeeId, Keys.Payee), Now).Value;
        Assert.Equal((Eur(1_000), Eur(0), 0UL), (closed.Settlement!.PayoutA, closed.Settlement.PayoutB, closed.Settlement.FinalVersion));
    }

    [Fact]
    public void The_payee_may_close_at_once_during_the_payers_challenge_window()
    {
        var closing = PayerClosing(cumulative: 100);
        var challenged = StreamingChannels.AcceptVoucher(closing, Voucher(2, 450, increment: 350), At(1_000)).Value.Channel;
        var closed = StreamingChannels.RequestClose(challenged, Close(PayeeId, Keys.Payee), At(2_000)).Value;

        Assert.Equal(ChannelStatus.Closed, closed.Status);
        Assert.Equal((Eur(550), Eur(450)), (closed.Settlement!.PayoutA, closed.Settlement.PayoutB));
        Assert.Equal(At(2_000), closed.Settlement.ClosedAt);
    }

    // Closing by the payer

    [Fact]
    public void The_payers_close_opens_a_challenge_window_of_the_agreed_length()
    {
        var closing = StreamingChannels.RequestClose(Paid(100), Close(PayerId, Keys.Payer), At(1_000)).Value;

        Assert.Equal(ChannelStatus.Closing, closing.Status);
        Assert.Equal(At(1_000 + WindowMs), closing.ChallengeDeadline);
        Assert.Null(closing.Settlement);
        Assert.Equal(Eur(100), closing.Paid);
    }

    [Fact]
    public void A_second_payer_close_does_not_move_the_deadline()
    {
        var closing = PayerClosing();
        var again = StreamingChannels.RequestClose(closing, Close(PayerId, Keys.Payer), At(30_000)).Value;
        Assert.Equal(At(WindowMs), again.ChallengeDeadline);
        Assert.Equal(closing, again);
    }

    [Fact]
    public void During_the_challenge_window_a_newer_voucher_is_accepted_and_wins()
    {
        var closing = PayerClosing(cumulative: 100);
        var challenged = StreamingChannels.AcceptVoucher(closing, Voucher(2, 700, increment: 600), At(WindowMs - 1)).Value;

        Assert.Equal(Eur(600), challenged.Increment);
        Assert.Equal(ChannelStatus.Closing, challenged.Channel.Status);
        Assert.Equal(At(WindowMs), challenged.Channel.ChallengeDeadline);

        var settled = StreamingChannels.FinalizeClose(challenged.Channel, At(WindowMs)).Value;
        Assert.Equal((Eur(300), Eur(700), 2UL), (settled.Settlement!.PayoutA, settled.Settlement.PayoutB, settled.Settlement.FinalVersion));
    }

    [Fact]
    public void At_the_deadline_a_newer_voucher_is_refused_with_ChallengeWindowOver()
    {
        var closing = PayerClosing(cumulative: 100);
        var result = StreamingChannels.AcceptVoucher(closing, Voucher(2, 700, increment: 600), At(WindowMs));

        var error = Assert.IsType<ChallengeWindowOver>(result.Error);
        Assert.Equal((Channel, At(WindowMs), At(WindowMs)), (error.ChannelId, error.Deadline, error.Now));
        Assert.Equal(Eur(100), closing.Paid);
    }

    [Fact]
    public void After_the_deadline_a_newer_voucher_is_refused_with_ChallengeWindowOver()
    {
        var error = Assert.IsType<ChallengeWindowOver>(StreamingChannels.AcceptVoucher(PayerClosing(), Voucher(2, 700), At(WindowMs + 5_000)).Error);
        Assert.Equal((At(WindowMs), At(WindowMs + 5_000)), (error.Deadline, error.Now));
    }

    [Fact]
    public void Finalizing_before_the_deadline_is_refused_with_ChallengeWindowStillOpen()
    {
        var closing = PayerClosing();
        var error = Assert.IsType<ChallengeWindowStillOpen>(StreamingChannels.FinalizeClose(closing, At(WindowMs - 1)).Error);
        Assert.Equal((Channel, At(WindowMs), At(WindowMs - 1)), (error.ChannelId, error.Deadline, error.Now));
        Assert.Equal(ChannelStatus.Closing, closing.Status);
    }

    [Fact]
    public void Finalizing_at_or_after_the_deadline_settles_with_the_best_voucher()
    {
        var closing = PayerClosing(cumulative: 250, sequence: 4);
        var settled = StreamingChannels.FinalizeClose(closing, At(WindowMs + 10)).Value;

        Assert.Equal(ChannelStatus.Closed, settled.Status);
        Assert.Null(settled.ChallengeDeadline);
        Assert.Equal(new ChannelSettlement(Channel, PayerId, Eur(750), PayeeId, Eur(250), 4, At(WindowMs + 10)), settled.Settlement);
    }

    [Fact]
    public void With_a_zero_window_the_payers_close_can_be_finalized_at_once()
    {
        var channel = StreamingChannels.Open(StreamingTerms(windowMs: 0)).Value;
        var closing = StreamingChannels.RequestClose(channel, Close(PayerId, Keys.Payer), Now).Value;
        Assert.Equal(Now, closing.ChallengeDeadline);
        Assert.IsType<ChallengeWindowOver>(StreamingChannels.AcceptVoucher(closing, Voucher(1, 10), Now).Error);
        Assert.Equal(Eur(1_000), StreamingChannels.FinalizeClose(closing, Now).Value.Settlement!.PayoutA);
    }

    [Fact]
    public void Finalizing_an_open_channel_is_refused_with_ChannelNotOpen()
    {
        var error = Assert.IsType<ChannelNotOpen>(StreamingChannels.FinalizeClose(Paid(100), At(WindowMs)).Error);
        Assert.Equal((Channel, ChannelStatus.Open), (error.ChannelId, error.Status));
    }

    [Fact]
    public void Finalizing_a_closed_channel_again_is_refused_with_ChannelNotOpen()
    {
        var closed = StreamingChannels.FinalizeClose(PayerClosing(), At(WindowMs)).Value;
        var error = Assert.IsType<ChannelNotOpen>(StreamingChannels.FinalizeClose(closed, At(2 * WindowMs)).Error);
        Assert.Equal(ChannelStatus.Closed, error.Status);
    }

    [Fact]
    public void A_payer_close_whose_deadline_overflows_is_refused_with_AmountOverflow()
    {
        var result = StreamingChannels.RequestClose(Paid(100), Close(PayerId, Keys.Payer), new Timestamp(long.MaxValue - 1));
        var error = Assert.IsType<AmountOverflow>(result.Error);
        Assert.Equal((long.MaxValue - 1, WindowMs), (error.Left, error.Right));
    }
}
