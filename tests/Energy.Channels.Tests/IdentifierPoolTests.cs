using Energy.Channels.Encoding;
using Energy.Channels.Tolls;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>Identifiers read from the wire are one string each, and the pool of them stays bounded whatever it is fed.</summary>
public class IdentifierPoolTests
{
    [Fact]
    public void Two_decodings_of_a_toll_request_share_its_identifiers()
    {
        var request = Toll(150);
        var first = Signed<TollRequest>.Decode(request.Wire).Value.Payload;
        var second = Signed<TollRequest>.Decode(request.Wire).Value.Payload;

        Assert.Same(first.Vehicle.Value, second.Vehicle.Value);
        Assert.Same(first.Gantry.Value, second.Gantry.Value);
        Assert.Same(first.Network.Value, second.Network.Value);
        Assert.Same(first.Segment.Value, second.Segment.Value);
    }

    [Fact]
    public void An_invalid_identifier_is_read_as_it_is_but_never_pooled()
    {
        var first = IdentifierPool.Get("Not-Canonical"u8);
        var second = IdentifierPool.Get("Not-Canonical"u8);

        Assert.Equal("Not-Canonical", first);
        Assert.Equal(first, second);
        Assert.NotSame(first, second);
    }

    [Fact]
    public void A_pool_fed_more_identifiers_than_it_holds_starts_over_and_keeps_the_newest()
    {
        var prefix = "flood-" + Guid.NewGuid().ToString("N")[..8] + "-";
        string last = "";
        for (var i = 0; i < IdentifierPool.MaxEntries + 10; i++)
            last = IdentifierPool.Get(System.Text.Encoding.ASCII.GetBytes(prefix + i));

        Assert.InRange(IdentifierPool.Count, 1, IdentifierPool.MaxEntries);
        Assert.Same(last, IdentifierPool.Get(System.Text.Encoding.ASCII.GetBytes(last)));
    }
}
