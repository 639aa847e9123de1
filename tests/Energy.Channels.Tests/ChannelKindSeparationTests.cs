using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>
/// A streaming and a duplex channel may share an id. What is signed for one kind never acts on the
/// other, and the network's minimum bounds the challenge window a channel opens with.
/// </summary>
public sealed class ChannelKindSeparationTests
{
    [Fact]
    public void A_close_request_signed_for_a_streaming_channel_is_refused_by_the_duplex_channel_of_the_same_id()
    {
        // The payer of streaming channel ch-1 is party A of duplex channel ch-1: the close it signed for one must not close the other.
        var duplex = OpenDuplex(500, 500);
        var streamingClose = Close(PayerId, Keys.Payer);

        var error = Assert.IsType<WrongChannelKind>(DuplexChannels.RequestClose(duplex, streamingClose, Now).Error);

        Assert.Equal((Channel, ChannelKind.Duplex, ChannelKind.Streaming), (error.ChannelId, error.Expected, error.Actual));
        Assert.Equal(ChannelStatus.Open, duplex.Status);
    }

    [Fact]
    public void A_close_request_signed_for_a_duplex_channel_is_refused_by_the_streaming_channel_of_the_same_id()
    {
        var streaming = Paid(100);
        var duplexClose = DuplexClose(PayerId, Keys.Payer);

        var error = Assert.IsType<WrongChannelKind>(StreamingChannels.RequestClose(streaming, duplexClose, Now).Error);

        Assert.Equal((Channel, ChannelKind.Streaming, ChannelKind.Duplex), (error.ChannelId, error.Expected, error.Actual));
    }

    [Fact]
    public void The_channel_kind_is_inside_the_signed_bytes()
    {
        var streamingClose = Close(PayerId, Keys.Payer);
        var duplexClose = Signed<CloseRequest>.Assemble(streamingClose.Payload with { ChannelKind = ChannelKind.Duplex }, streamingClose.SignatureAt(0).ToArray());

        Assert.NotEqual(streamingClose.Body.ToArray(), duplexClose.Body.ToArray());
        Assert.False(duplexClose.IsSignedBy(Keys.Payer.PublicKey));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x03)]
    [InlineData(0xFF)]
    public void A_close_request_with_an_unknown_channel_kind_byte_is_refused_with_NonCanonicalEncoding(byte kind)
    {
        var close = Close(PayerId, Keys.Payer);
        // The kind byte follows the header: magic (2), tag, version, then the network id's length and characters.
        var position = 4 + 1 + Network.Value.Length;
        var wire = close.Wire.ToArray();
        wire[position] = kind;

        var error = Assert.IsType<NonCanonicalEncoding>(Signed<CloseRequest>.Decode(wire).Error);

        Assert.Equal("channelKind", error.Field);
    }

    [Fact]
    public void A_challenge_window_below_the_network_minimum_is_refused_with_ChallengeWindowTooShort()
    {
        var minimum = DurationMs.FromSeconds(60);

        var zero = Assert.IsType<ChallengeWindowTooShort>(ChallengeWindows.CheckMinimum(Channel, new DurationMs(0), minimum));
        var justBelow = Assert.IsType<ChallengeWindowTooShort>(ChallengeWindows.CheckMinimum(Channel, new DurationMs(59_999), minimum));

        Assert.Equal((Channel, new DurationMs(0), minimum), (zero.ChannelId, zero.Chosen, zero.Minimum));
        Assert.Equal(new DurationMs(59_999), justBelow.Chosen);
        Assert.Null(ChallengeWindows.CheckMinimum(Channel, minimum, minimum));
        Assert.Null(ChallengeWindows.CheckMinimum(Channel, new DurationMs(0), new DurationMs(0)));
    }
}
