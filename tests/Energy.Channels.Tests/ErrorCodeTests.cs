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

    [Fact]
    public void The_refusals_a_device_retries_on_keep_the_codes_they_have_always_been_sent_with()
    {
        // Devices of every version tell these apart by code: the code on the wire never changes with the type's home.
        Assert.Equal("ChannelAlreadyExists", ErrorCodes.Of<ChannelAlreadyExists>());
        Assert.Equal("ChannelBusy", ErrorCodes.Of<ChannelBusy>());
        Assert.Equal("DeviceAlreadyEndorsed", ErrorCodes.Of<DeviceAlreadyEndorsed>());
        Assert.Equal("AdmissionVersionReused", ErrorCodes.Of<AdmissionVersionReused>());
        Assert.Equal(new ChannelBusy(ChannelId.Of("c-1"), "starting").Code, ErrorCodes.Of<ChannelBusy>());
    }
}
