using Energy.Channels.Duplex;
using Energy.Channels.Primitives;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>Duplex channels: co-signed states in both directions, cooperative and unilateral closes.</summary>
public class DuplexChannelTests
{
    // Opening

    [Fact]
    public void An_opened_duplex_channel_holds_each_deposit_on_its_own_side_at_version_0()
    {
        var channel = DuplexChannels.Open(DuplexTerms(250, 750)).Value;

        Assert.Equal(ChannelStatus.Open, channel.Status);
        Assert.Equal(0UL, channel.Version);
        Assert.Null(channel.Latest);
        Assert.Equal((Eur(250), Eur(750)), (channel.BalanceA, channel.BalanceB));
        Assert.Equal(Eur(1_000), channel.Terms.TotalDeposit);
        Assert.Null(channel.Settlement);
    }

    [Fact]
    public void One_side_may_deposit_nothing()
    {
        var channel = DuplexChannels.Open(DuplexTerms(0, 800)).Value;
        Assert.Equal(Eur(800), channel.Terms.TotalDeposit);
    }

    [Fact]
    public void Deposits_that_reach_long_MaxValue_exactly_are_accepted()
    {
        var channel = DuplexChannels.Open(DuplexTerms(long.MaxValue - 1, 1)).Value;
        Assert.Equal(long.MaxValue, channel.Terms.TotalDeposit.MinorUnits);
    }

    [Fact]
    public void A_challenge_window_above_seven_days_is_refused_with_MalformedValue()
    {
        var terms = DuplexTerms() with { ChallengeWindow = new DurationMs(7L * 24 * 60 * 60 * 1000 + 1) };
        Assert.Equal("challenge window", Assert.IsType<MalformedValue>(DuplexChannels.Open(terms).Error).Field);
    }

    [Fact]
    public void A_negative_challenge_window_is_refused_with_MalformedValue()
    {
        var terms = DuplexTerms() with { ChallengeWindow = new DurationMs(-1) };
        Assert.IsType<MalformedValue>(DuplexChannels.Open(terms).Error);
    }

    // Updates

    [Fact]
    public void A_newer_co_signed_state_replaces_the_balances()
    {
        var state = State(1, 300, 700);
        var channel = DuplexChannels.Update(OpenDuplex(), state, Now).Value;

        Assert.Equal(state, channel.Latest);
        Assert.Equal(1UL, channel.Version);
        Assert.Equal((Eur(300), Eur(700)), (channel.BalanceA, channel.BalanceB));
        Assert.Equal(ChannelStatus.Open, channel.Status);
    }

    [Fact]
    public void Value_moves_both_ways_and_versions_may_skip()
    {
        var channel = OpenDuplex();
        channel = DuplexChannels.Update(channel, State(1, 300, 700), Now).Value;
        channel = DuplexChannels.Update(channel, State(5, 650, 350), Now).Value;
        channel = DuplexChannels.Update(channel, State(6, 0, 1_000), Now).Value;

        Assert.Equal((6UL, Eur(0), Eur(1_000)), (channel.Version, channel.BalanceA, channel.BalanceB));
    }

    // Cooperative close

    [Fact]
    public void A_cooperative_close_with_a_final_state_settles_at_once_with_that_split()
    {
        var channel = DuplexChannels.Update(OpenDuplex(), State(2, 650, 350), Now).Value;
        var closed = DuplexChannels.CloseCooperatively(channel, State(3, 600, 400, isFinal: true), At(7)).Value;

        Assert.Equal(ChannelStatus.Closed, closed.Status);
        Assert.Equal(new ChannelSettlement(Channel, PayerId, Eur(600), PayeeId, Eur(400), 3, At(7)), closed.Settlement);
    }

    [Fact]
    public void A_cooperative_close_ends_a_unilateral_close_before_its_deadline()
    {
        var closing = DuplexChannels.RequestClose(OpenDuplex(), DuplexClose(PayerId, Keys.Payer), Now).Value;
        var closed = DuplexChannels.CloseCooperatively(closing, State(1, 100, 900, isFinal: true), At(WindowMs - 1)).Value;

        Assert.Equal(ChannelStatus.Closed, closed.Status);
        Assert.Null(closed.ChallengeDeadline);
        Assert.Equal((Eur(100), Eur(900)), (closed.Settlement!.PayoutA, closed.Settlement.PayoutB));
    }

    [Fact]
    public void A_cooperative_close_after_the_deadline_is_refused_with_ChallengeWindowOver()
    {
        var closing = DuplexChannels.RequestClose(OpenDuplex(), DuplexClose(PayerId, Keys.Payer), Now).Value;
        var error = Assert.IsType<ChallengeWindowOver>(DuplexChannels.CloseCooperatively(closing, State(1, 100, 900, isFinal: true), At(WindowMs)).Error);
        Assert.Equal(At(WindowMs), error.Deadline);
    }

    [Fact]
    public void A_cooperative_close_of_a_closed_channel_is_refused_with_ChannelNotOpen()
    {
        var closed = DuplexChannels.CloseCooperatively(OpenDuplex(), State(1, 500, 500, isFinal: true), Now).Value;
        var error = Assert.IsType<ChannelNotOpen>(DuplexChannels.CloseCooperatively(closed, State(2, 400, 600, isFinal: true), Now).Error);
        Assert.Equal(ChannelStatus.Closed, error.Status);
    }

    // Unilateral close

    [Theory]
    [InlineData("device:vehicle-1")]
    [InlineData("operator:cpo-1")]
    public void Either_party_may_close_alone_and_the_window_opens(string closer)
    {
        var signer = closer == PayerId.Value ? Keys.Payer : Keys.Payee;
        var channel = DuplexChannels.Update(OpenDuplex(), State(1, 900, 100), Now).Value;
        var closing = DuplexChannels.RequestClose(channel, DuplexClose(PartyId.Of(closer), signer), At(10)).Value;

        Assert.Equal(ChannelStatus.Closing, closing.Status);
        Assert.Equal(At(10 + WindowMs), closing.ChallengeDeadline);
        Assert.Equal(1UL, closing.Version);
    }

    [Fact]
    public void In_a_dispute_the_higher_version_presented_before_the_deadline_wins()
    {
        var channel = DuplexChannels.Update(OpenDuplex(), State(1, 900, 100), Now).Value;
        // A closes on the stale state that favours it; B answers with version 2 inside the window.
        var closing = DuplexChannels.RequestClose(channel, DuplexClose(PayerId, Keys.Payer), Now).Value;
        var challenged = DuplexChannels.Update(closing, State(2, 200, 800), At(WindowMs - 1)).Value;

        Assert.Equal(ChannelStatus.Closing, challenged.Status);
        Assert.IsType<ChallengeWindowStillOpen>(DuplexChannels.FinalizeClose(challenged, At(WindowMs - 1)).Error);
        var settled = DuplexChannels.FinalizeClose(challenged, At(WindowMs)).Value;
        Assert.Equal(new ChannelSettlement(Channel, PayerId, Eur(200), PayeeId, Eur(800), 2, At(WindowMs)), settled.Settlement);
    }

    [Fact]
    public void A_higher_version_after_the_deadline_is_refused_with_ChallengeWindowOver()
    {
        var closing = DuplexChannels.RequestClose(DuplexChannels.Update(OpenDuplex(), State(1, 900, 100), Now).Value,
            DuplexClose(PayerId, Keys.Payer), Now).Value;
        var error = Assert.IsType<ChallengeWindowOver>(DuplexChannels.Update(closing, State(2, 200, 800), At(WindowMs)).Error);
        Assert.Equal((Channel, At(WindowMs), At(WindowMs)), (error.ChannelId, error.Deadline, error.Now));
        Assert.Equal(Eur(900), DuplexChannels.FinalizeClose(closing, At(WindowMs)).Value.Settlement!.PayoutA);
    }

    [Fact]
    public void A_channel_closed_alone_without_updates_returns_the_deposits()
    {
        var closing = DuplexChannels.RequestClose(OpenDuplex(250, 750), DuplexClose(PayeeId, Keys.Payee), Now).Value;
        var settled = DuplexChannels.FinalizeClose(closing, At(WindowMs)).Value;
        Assert.Equal((Eur(250), Eur(750), 0UL), (settled.Settlement!.PayoutA, settled.Settlement.PayoutB, settled.Settlement.FinalVersion));
    }

    [Fact]
    public void A_second_close_request_does_not_move_the_deadline()
    {
        var closing = DuplexChannels.RequestClose(OpenDuplex(), DuplexClose(PayerId, Keys.Payer), Now).Value;
        var again = DuplexChannels.RequestClose(closing, DuplexClose(PayeeId, Keys.Payee), At(50_000)).Value;
        Assert.Equal(closing, again);
        Assert.Equal(At(WindowMs), again.ChallengeDeadline);
    }

    [Fact]
    public void Finalizing_before_the_deadline_is_refused_with_ChallengeWindowStillOpen()
    {
        var closing = DuplexChannels.RequestClose(OpenDuplex(), DuplexClose(PayerId, Keys.Payer), Now).Value;
        var error = Assert.IsType<ChallengeWindowStillOpen>(DuplexChannels.FinalizeClose(closing, At(1)).Error);
        Assert.Equal((Channel, At(WindowMs), At(1)), (error.ChannelId, error.Deadline, error.Now));
    }

    [Fact]
    public void Finalizing_an_open_duplex_channel_is_refused_with_ChannelNotOpen()
    {
        var error = Assert.IsType<ChannelNotOpen>(DuplexChannels.FinalizeClose(OpenDuplex(), At(WindowMs)).Error);
        Assert.Equal(ChannelStatus.Open, error.Status);
    }

    [Fact]
    public void A_close_request_on_a_closed_duplex_channel_is_refused_with_ChannelNotOpen()
    {
        var closed = DuplexChannels.CloseCooperatively(OpenDuplex(), State(1, 500, 500, isFinal: true), Now).Value;
        Assert.IsType<ChannelNotOpen>(DuplexChannels.RequestClose(closed, DuplexClose(PayerId, Keys.Payer), Now).Error);
    }

    [Fact]
    public void An_update_on_a_closed_duplex_channel_is_refused_with_ChannelNotOpen()
    {
        var closed = DuplexChannels.CloseCooperatively(OpenDuplex(), State(1, 500, 500, isFinal: true), Now).Value;
        Assert.IsType<ChannelNotOpen>(DuplexChannels.Update(closed, State(2, 400, 600), Now).Error);
    }

    [Fact]
    public void A_close_request_in_the_name_of_a_non_party_is_refused_with_NotAParty()
    {
        var error = Assert.IsType<NotAParty>(DuplexChannels.RequestClose(OpenDuplex(), DuplexClose(StrangerId, Keys.Stranger), Now).Error);
        Assert.Equal((Channel, StrangerId.Value), (error.ChannelId, error.Signer));
    }

    [Fact]
    public void A_close_request_in_B_s_name_signed_by_A_is_refused_with_InvalidSignature()
    {
        var error = Assert.IsType<InvalidSignature>(DuplexChannels.RequestClose(OpenDuplex(), DuplexClose(PayeeId, Keys.Payer), Now).Error);
        Assert.Equal((Channel, ObjectKind.CloseRequest, PayeeId.Value), (error.ChannelId, error.Kind, error.Signer));
    }

    [Fact]
    public void A_close_request_for_another_duplex_channel_is_refused_with_WrongChannel()
    {
        var error = Assert.IsType<WrongChannel>(DuplexChannels.RequestClose(OpenDuplex(), DuplexClose(PayerId, Keys.Payer, channel: OtherChannel), Now).Error);
        Assert.Equal((Channel, OtherChannel), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_close_request_for_another_network_is_refused_with_WrongNetwork()
    {
        var error = Assert.IsType<WrongNetwork>(DuplexChannels.RequestClose(OpenDuplex(), DuplexClose(PayerId, Keys.Payer, network: OtherNetwork), Now).Error);
        Assert.Equal((Network, OtherNetwork), (error.Expected, error.Actual));
    }
}
