using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Tolls;

namespace Energy.Channels.Tests;

public sealed class GantryTariffTests
{
    private static Timestamp At(int hour, int minute) => new((long)TimeSpan.FromDays(20_000).TotalMilliseconds + (hour * 60L + minute) * 60_000);

    [Theory]
    [InlineData(3, 0, 0, 150)]
    [InlineData(6, 0, 0, 300)]
    [InlineData(21, 59, 0, 300)]
    [InlineData(22, 0, 0, 150)]
    [InlineData(12, 0, 10, 300)]
    [InlineData(12, 0, 11, 315)]
    [InlineData(12, 0, 15, 375)]
    [InlineData(12, 0, 500, 600)]
    [InlineData(23, 0, 13, 173)] // 150 x 1.15 = 172.5, rounded half up
    public void The_price_follows_the_time_band_and_the_vehicles_in_the_zone(int hour, int minute, int vehicles, long expected)
    {
        Assert.Equal(new Money(expected, Currency.Eur), GantryTariffs.PriceAt(TollTariffs.Sample(), At(hour, minute), vehicles));
    }

    [Fact]
    public void Without_congestion_pricing_the_band_price_holds_at_any_count()
    {
        var tariff = TollTariffs.Sample() with { CongestionThreshold = 0 };
        Assert.Equal(300, GantryTariffs.PriceAt(tariff, At(12, 0), 10_000).MinorUnits);
    }

    [Fact]
    public void A_tariff_round_trips_and_a_changed_byte_breaks_its_signature()
    {
        var signed = Signed<GantryTariff>.Sign(TollTariffs.Sample(), Keys.Operator);
        var decoded = Signed<GantryTariff>.Decode(signed.Wire).Unwrap();
        Assert.Equal(TollTariffs.Sample(), decoded.Payload);
        Assert.True(decoded.IsSignedBy(Keys.Operator.PublicKey));
        var tampered = signed.ToArray();
        tampered[^70] ^= 1;
        var again = Signed<GantryTariff>.Decode(tampered);
        Assert.True(!again.IsOk || !again.Value.IsSignedBy(Keys.Operator.PublicKey));
    }

    [Fact]
    public void Malformed_tariffs_are_refused_by_name()
    {
        var sample = TollTariffs.Sample();
        Assert.IsType<MalformedValue>(GantryTariffs.Check(sample with { Bands = [] }).Error);
        Assert.IsType<MalformedValue>(GantryTariffs.Check(sample with { Bands = [new TollBand(60, 100)] }).Error);
        Assert.IsType<MalformedValue>(GantryTariffs.Check(sample with { Bands = [new TollBand(0, 100), new TollBand(0, 200)] }).Error);
        Assert.IsType<MalformedValue>(GantryTariffs.Check(sample with { Bands = [new TollBand(0, 100), new TollBand(1_440, 200)] }).Error);
        Assert.IsType<MalformedValue>(GantryTariffs.Check(sample with { Bands = [new TollBand(0, -1)] }).Error);
        Assert.IsType<MalformedValue>(GantryTariffs.Check(sample with { Bands = [new TollBand(0, GantryTariff.MaxPriceMinorUnits + 1)] }).Error);
        Assert.IsType<MalformedValue>(GantryTariffs.Check(sample with { CongestionMaxPercent = 99 }).Error);
        Assert.IsType<MalformedValue>(GantryTariffs.Check(sample with { CongestionThreshold = -1 }).Error);
        Assert.True(GantryTariffs.Check(sample).IsOk);
    }

    /// <summary>
    /// A tariff of 48 bands whose four identifiers have <paramref name="identifierLength"/> characters,
    /// encoded past the writer's 1 KiB buffer as a hostile sender could, and signed.
    /// </summary>
    internal static (byte[] Wire, int BodyLength) OversizedTariff(int identifierLength)
    {
        string Name(char c) => new(c, identifierLength);
        var tariff = TollTariffs.Sample() with
        {
            Operator = OperatorId.Of(Name('o')), Gantry = DeviceId.Of(Name('g')), Segment = SegmentId.Of(Name('s')), Zone = SegmentId.Of(Name('z')),
            Bands = [.. Enumerable.Range(0, GantryTariff.MaxBands).Select(i => new TollBand(i * 30, 100 + i))],
        };
        var buffer = new byte[4 * CanonicalWriter.MaxObjectBytes];
        var writer = new CanonicalWriter(buffer);
        tariff.Write(ref writer);
        var body = writer.Written.ToArray();
        return ([.. body, .. Keys.Operator.Sign(body)], body.Length);
    }

    [Theory]
    [InlineData(45, 1_028)]
    [InlineData(60, 1_088)]
    public void A_tariff_body_over_1_KiB_is_refused_with_EncodingTooLarge(int identifierLength, int bodyLength)
    {
        var (wire, length) = OversizedTariff(identifierLength);
        Assert.Equal(bodyLength, length);
        var error = Assert.IsType<EncodingTooLarge>(Signed<GantryTariff>.Decode(wire).Error);
        Assert.Equal(CanonicalWriter.MaxObjectBytes, error.Max);
        Assert.True(error.Length > CanonicalWriter.MaxObjectBytes, error.ToString());
    }

    [Fact]
    public void A_tariff_body_of_exactly_1_KiB_decodes_and_encodes_to_the_same_bytes()
    {
        var (wire, length) = OversizedTariff(44);
        Assert.Equal(CanonicalWriter.MaxObjectBytes, length);
        var decoded = Signed<GantryTariff>.Decode(wire).Unwrap();
        Assert.Equal(wire.AsSpan(0, length).ToArray(), Signed<GantryTariff>.EncodeBody(decoded.Payload));
        Assert.True(decoded.IsSignedBy(Keys.Operator.PublicKey));
    }

    [Fact]
    public void A_non_zero_amount_beside_the_currency_is_not_canonical()
    {
        var wire = Signed<GantryTariff>.Sign(TollTariffs.Sample(), Keys.Operator).ToArray();
        var body = Signed<GantryTariff>.EncodeBody(TollTariffs.Sample());
        // The currency field is followed by its eight amount bytes; set the last of them.
        var currencyAt = body.AsSpan().IndexOf("EUR"u8);
        wire[currencyAt + 3 + 7] = 1;
        Assert.IsType<NonCanonicalEncoding>(Signed<GantryTariff>.Decode(wire).Error);
    }
}
