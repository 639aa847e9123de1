using Energy.Channels.Encoding;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using static Energy.Channels.Tests.Market.MarketTestKit;

namespace Energy.Channels.Tests.Market;

/// <summary>A market order's canonical form: it round-trips, its signature binds every field, and what is out of bounds does not decode.</summary>
public class MarketOrderTests
{
    private static byte[] Wire(MarketOrder order) => Signed(order).ToArray();

    [Fact]
    public void A_signed_order_decodes_to_the_same_order_and_bytes_and_verifies_by_its_device()
    {
        var signed = Signed(Order(MarketSide.Offer, 1_500, 21, number: 3));
        var decoded = Signed<MarketOrder>.Decode(signed.Wire).Value;
        Assert.Equal(signed.Payload, decoded.Payload);
        Assert.Equal(signed.ToArray(), decoded.ToArray());
        Assert.True(decoded.IsSignedBy(Keys.Meter.PublicKey));
        Assert.False(decoded.IsSignedBy(Keys.OtherMeter.PublicKey));
        Assert.Equal((Zone, Next.Number, 3UL), (decoded.Payload.Zone, decoded.Payload.Interval.Number, decoded.Payload.OrderNumber));
    }

    [Fact]
    public void Flipping_any_byte_of_an_order_body_breaks_its_signature_or_its_decoding()
    {
        var signed = Signed(Order(MarketSide.Bid, 700, 30));
        for (var index = 0; index < signed.BodyLength; index++)
        {
            var decoded = Signed<MarketOrder>.Decode(Bytes.Flip(signed.Wire, index));
            Assert.False(decoded.IsOk && decoded.Value.IsSignedBy(Keys.OtherMeter.PublicKey), $"byte {index} flipped and the order still verified");
        }
    }

    [Fact]
    public void A_tampered_quantity_is_refused_by_the_book_with_InvalidSignature()
    {
        var signed = Signed(Order(MarketSide.Bid, 700, 30));
        var tampered = Signed<MarketOrder>.Decode(signed.Wire).Value.Payload with { Quantity = new EnergyWh(70_000) };
        var forged = Signed<MarketOrder>.Assemble(tampered, signed.SignatureAt(0).ToArray());
        var error = Assert.IsType<InvalidSignature>(MarketBooks.DecideOrder(EmptyBook(), forged, KeyOf(Buyer), BeforeGate).Error);
        Assert.Equal((ObjectKind.MarketOrder, Buyer.Value), (error.Kind, error.Signer));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(MarketOrder.MaxQuantityWh + 1)]
    [InlineData(long.MaxValue)]
    public void An_order_of_a_quantity_out_of_bounds_does_not_decode(long wattHours)
    {
        var error = Assert.IsType<OrderQuantityOutOfBounds>(Signed<MarketOrder>.Decode(Wire(Order(MarketSide.Offer, wattHours, 20))).Error);
        Assert.Equal((Seller, wattHours), (error.Device, error.Quantity.WattHours));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(EnergyPrice.MaxMinorUnitsPerKwh + 1)]
    [InlineData(long.MinValue)]
    public void An_order_of_a_price_out_of_bounds_does_not_decode(long price)
    {
        var error = Assert.IsType<OrderPriceOutOfBounds>(Signed<MarketOrder>.Decode(Wire(Order(MarketSide.Bid, 100, price))).Error);
        Assert.Equal(price, error.LimitPrice.MinorUnitsPerKwh);
    }

    [Fact]
    public void The_bounds_themselves_decode()
    {
        Assert.True(Signed<MarketOrder>.Decode(Wire(Order(MarketSide.Bid, 1, 0))).IsOk);
        Assert.True(Signed<MarketOrder>.Decode(Wire(Order(MarketSide.Bid, MarketOrder.MaxQuantityWh, EnergyPrice.MaxMinorUnitsPerKwh))).IsOk);
    }

    [Fact]
    public void An_interval_whose_start_is_not_a_multiple_of_its_length_does_not_decode()
    {
        var misaligned = Next with { Start = new Timestamp(Next.Start.UnixMilliseconds + 1) };
        var error = Assert.IsType<MalformedValue>(Signed<MarketOrder>.Decode(Wire(Order(MarketSide.Bid, 100, 20, interval: misaligned))).Error);
        Assert.Equal("interval start", error.Field);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(24 * 60 * 60 * 1000 + 1)]
    [InlineData(-300_000)]
    public void An_interval_length_out_of_bounds_does_not_decode(long lengthMs)
    {
        var interval = new MarketInterval(Zone, new Timestamp(0), new DurationMs(lengthMs));
        var error = Assert.IsType<MalformedValue>(Signed<MarketOrder>.Decode(Wire(Order(MarketSide.Bid, 100, 20, interval: interval))).Error);
        Assert.Equal("interval length", error.Field);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(255)]
    public void A_side_that_does_not_exist_does_not_decode(byte side)
    {
        var signed = Signed(Order(MarketSide.Bid, 100, 20));
        // The side's byte follows the device: kind byte, length byte and the name.
        var at = signed.BodyLength - 8 - 8 - 3 - 8 - 1;
        Assert.Equal((byte)MarketSide.Bid, signed.Wire[at]);
        var error = Assert.IsType<MalformedValue>(Signed<MarketOrder>.Decode(Bytes.Set(signed.Wire, at, side)).Error);
        Assert.Equal("side", error.Field);
    }

    [Fact]
    public void Order_number_zero_does_not_decode()
    {
        var error = Assert.IsType<MalformedValue>(Signed<MarketOrder>.Decode(Wire(Order(MarketSide.Bid, 100, 20, number: 0))).Error);
        Assert.Equal("order number", error.Field);
    }

    [Fact]
    public void An_order_names_a_device_never_an_operator()
    {
        var signed = Signed(Order(MarketSide.Offer, 100, 20));
        var deviceKindAt = signed.BodyLength - 8 - 8 - 3 - 8 - 1 - 1 - Seller.Value.Length - 1;
        Assert.Equal((byte)PartyKind.Device, signed.Wire[deviceKindAt]);
        Assert.IsType<NonCanonicalEncoding>(Signed<MarketOrder>.Decode(Bytes.Set(signed.Wire, deviceKindAt, (byte)PartyKind.Operator)).Error);
    }

    [Fact]
    public void An_order_decoded_as_a_meter_reading_is_refused_with_WrongKind()
    {
        var error = Assert.IsType<WrongKind>(Signed<Metering.MeterReading>.Decode(Wire(Order(MarketSide.Bid, 100, 20))).Error);
        Assert.Equal((ObjectKind.MeterReading, ObjectKind.MarketOrder), (error.Expected, error.Actual));
    }

    [Fact]
    public void Intervals_are_numbered_from_the_epoch_by_their_length()
    {
        Assert.Equal(6_000_000, Current.Number);
        Assert.Equal(TestParties.Now, Current.Start);
        Assert.Equal(TestParties.At(5 * 60_000), Current.End);
        Assert.Equal(Current, MarketInterval.Containing(Zone, TestParties.At(5 * 60_000 - 1), Length));
        Assert.Equal(Next, MarketInterval.Containing(Zone, TestParties.At(5 * 60_000), Length));
        Assert.Null(Next.Check());
    }
}
