using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Channels.Tests;

public class StreamingChannelTests
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private static readonly ChannelId Channel = ChannelId.Of("ch-1");
    private static readonly Timestamp Now = new(1_800_000_000_000);

    private readonly DeviceKeyPair _payerKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _payeeKey = DeviceKeyPair.Generate();

    private StreamingChannel OpenChannel(long depositMinorUnits = 1_000) =>
        StreamingChannels.Open(new StreamingChannelTerms(
            Network, Channel,
            new ChannelParty(PartyId.Of("vehicle-1"), _payerKey.PublicKey),
            new ChannelParty(PartyId.Of("cpo-1"), _payeeKey.PublicKey),
            new Money(depositMinorUnits, Currency.Eur),
            DurationMs.FromSeconds(60))).Value;

    private Signed<Voucher> VoucherFor(ulong sequence, long cumulative) =>
        Signed<Voucher>.Sign(new Voucher(Network, Channel, sequence, new Money(cumulative, Currency.Eur)), _payerKey);

    [Fact]
    public void Accepting_a_newer_voucher_pays_the_increment()
    {
        var channel = OpenChannel();
        var first = StreamingChannels.AcceptVoucher(channel, VoucherFor(1, 100), Now).Value;
        var second = StreamingChannels.AcceptVoucher(first.Channel, VoucherFor(2, 250), Now).Value;

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
        var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, Channel, PartyId.Of("vehicle-1"), Now), _payerKey);

        var closing = StreamingChannels.RequestClose(channel, close, Now).Value;
        var early = StreamingChannels.FinalizeClose(closing, new Timestamp(Now.UnixMilliseconds + 59_999));
        var closed = StreamingChannels.FinalizeClose(closing, new Timestamp(Now.UnixMilliseconds + 60_000)).Value;

        Assert.IsType<ChallengeWindowStillOpen>(early.Error);
        Assert.Equal(600, closed.Settlement!.PayoutA.MinorUnits);
        Assert.Equal(400, closed.Settlement.PayoutB.MinorUnits);
    }
}
