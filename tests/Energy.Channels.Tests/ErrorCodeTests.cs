using Energy.Channels.Primitives;
using Energy.Channels.Tolls;

namespace Energy.Channels.Tests;

/// <summary>A refusal heard over the wire is told by its error's type: the code a type travels under is known from the type alone.</summary>
public sealed class ErrorCodeTests
{
    [Fact]
    public void An_error_s_code_is_known_from_its_type_as_it_is_sent()
    {
        Assert.Equal(new VoucherNotNewer(ChannelId.Of("c-1"), 3, 2).Code, ErrorCodes.Of<VoucherNotNewer>());
        Assert.Equal(new TollPriceChanged(DeviceId.Of("gantry-1"), new Money(1, Currency.Eur), new Money(2, Currency.Eur)).Code, ErrorCodes.Of<TollPriceChanged>());
        // An error that names its own code is known by that code.
        Assert.Equal("Timeout", ErrorCodes.Of<NotAnsweredInTime>());
        Assert.True(ErrorCodes.Is<NotAnsweredInTime>(new NotAnsweredInTime("registry").Code));
        Assert.False(ErrorCodes.Is<VoucherNotNewer>("NotAnsweredInTime"));
        Assert.False(ErrorCodes.Is<VoucherNotNewer>(null));
    }
}
