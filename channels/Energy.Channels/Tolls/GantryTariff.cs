using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Tolls;

/// <summary>A time band of a toll: from this minute of the day (UTC) until the next band, this price.</summary>
public readonly record struct TollBand(int FromMinute, long PriceMinorUnits);

/// <summary>
/// A toll operator's signed placement and price list for one of its gantries: the road segment and
/// zone it watches, where it stands (metres on the operator's grid), the price per time band, and
/// optionally congestion pricing: above <see cref="CongestionThreshold"/> vehicles seen in the zone in
/// the last minute, the price rises by <see cref="CongestionStepPercent"/> per vehicle over, up to
/// <see cref="CongestionMaxPercent"/> of the band price. A higher version replaces a lower one.
/// </summary>
public sealed record GantryTariff(
    NetworkId Network,
    OperatorId Operator,
    DeviceId Gantry,
    SegmentId Segment,
    SegmentId Zone,
    long PositionX,
    long PositionY,
    ulong Version,
    Currency Currency,
    IReadOnlyList<TollBand> Bands,
    int CongestionThreshold,
    int CongestionStepPercent,
    int CongestionMaxPercent) : ISignable<GantryTariff>
{
    public const int MaxBands = 48;
    public const long MaxPriceMinorUnits = 100_000;

    public static ObjectKind Kind => ObjectKind.GantryTariff;
    public static int SignatureCount => 1;

    public bool Equals(GantryTariff? other) =>
        other is not null && Network == other.Network && Operator == other.Operator && Gantry == other.Gantry && Segment == other.Segment
        && Zone == other.Zone && PositionX == other.PositionX && PositionY == other.PositionY && Version == other.Version && Currency == other.Currency
        && Bands.SequenceEqual(other.Bands) && CongestionThreshold == other.CongestionThreshold
        && CongestionStepPercent == other.CongestionStepPercent && CongestionMaxPercent == other.CongestionMaxPercent;

    public override int GetHashCode() => HashCode.Combine(Gantry, Version, Bands.Count);

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Operator.Value);
        writer.WriteIdentifier(Gantry.Value);
        writer.WriteIdentifier(Segment.Value);
        writer.WriteIdentifier(Zone.Value);
        writer.WriteInt64(PositionX);
        writer.WriteInt64(PositionY);
        writer.WriteUInt64(Version);
        writer.WriteMoney(new Money(0, Currency));
        writer.WriteByte(checked((byte)Bands.Count));
        foreach (var band in Bands)
        {
            writer.WriteInt64(band.FromMinute);
            writer.WriteInt64(band.PriceMinorUnits);
        }
        writer.WriteInt64(CongestionThreshold);
        writer.WriteInt64(CongestionStepPercent);
        writer.WriteInt64(CongestionMaxPercent);
    }

    public static GantryTariff Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var op = reader.ReadIdentifier("operator");
        var gantry = reader.ReadIdentifier("gantry");
        var segment = reader.ReadIdentifier("segment");
        var zone = reader.ReadIdentifier("zone");
        var x = reader.ReadInt64();
        var y = reader.ReadInt64();
        var version = reader.ReadUInt64();
        var currencyField = reader.ReadMoney("currency");
        if (currencyField.MinorUnits != 0) reader.Fail(new NonCanonicalEncoding(Kind, "currency", "the amount beside the currency is always 0"));
        var currency = currencyField.Currency;
        var count = reader.ReadByte();
        if (count > MaxBands) reader.Fail(new MalformedValue("bands", count.ToString(System.Globalization.CultureInfo.InvariantCulture), $"at most {MaxBands}"));
        var bands = new List<TollBand>(Math.Min((int)count, MaxBands));
        for (var i = 0; i < count && !reader.Failed; i++) bands.Add(new TollBand(ReadInt32(ref reader, "band"), reader.ReadInt64()));
        var threshold = ReadInt32(ref reader, "congestion threshold");
        var step = ReadInt32(ref reader, "congestion step");
        var max = ReadInt32(ref reader, "congestion cap");
        return reader.Failed
            ? null!
            : new GantryTariff(network, new OperatorId(op), new DeviceId(gantry), new SegmentId(segment), new SegmentId(zone), x, y, version, currency, bands, threshold, step, max);
    }

    private static int ReadInt32(ref CanonicalReader reader, string field)
    {
        var value = reader.ReadInt64();
        if (value is >= int.MinValue and <= int.MaxValue) return (int)value;
        reader.Fail(new NonCanonicalEncoding(Kind, field, $"{value} is outside 32 bits"));
        return 0;
    }
}

public static class GantryTariffs
{
    /// <summary>Checks a tariff's shape: bands start at midnight, rise strictly, stay within the day; prices and percentages are bounded.</summary>
    public static Result<GantryTariff> Check(GantryTariff tariff)
    {
        if (tariff.Bands.Count == 0 || tariff.Bands[0].FromMinute != 0)
            return new MalformedValue("bands", tariff.Bands.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "a first band from minute 0");
        for (var i = 0; i < tariff.Bands.Count; i++)
        {
            var band = tariff.Bands[i];
            if (band.FromMinute is < 0 or >= 24 * 60 || (i > 0 && band.FromMinute <= tariff.Bands[i - 1].FromMinute))
                return new MalformedValue("band", band.FromMinute.ToString(System.Globalization.CultureInfo.InvariantCulture), "rising minutes of the day, 0 to 1439");
            if (band.PriceMinorUnits is < 0 or > GantryTariff.MaxPriceMinorUnits)
                return new MalformedValue("price", band.PriceMinorUnits.ToString(System.Globalization.CultureInfo.InvariantCulture), $"0 to {GantryTariff.MaxPriceMinorUnits}");
        }
        if (tariff.CongestionThreshold < 0 || tariff.CongestionStepPercent is < 0 or > 1_000 || tariff.CongestionMaxPercent is < 100 or > 1_000)
            return new MalformedValue("congestion", $"{tariff.CongestionThreshold}/{tariff.CongestionStepPercent}/{tariff.CongestionMaxPercent}",
                "a threshold >= 0 (0: off), a step of 0 to 1000 % and a cap of 100 to 1000 %");
        return tariff;
    }

    /// <summary>The price at <paramref name="at"/> with <paramref name="vehiclesInZone"/> seen in the zone in the last minute.</summary>
    public static Money PriceAt(GantryTariff tariff, Timestamp at, int vehiclesInZone)
    {
        var minute = (int)(((at.UnixMilliseconds / 60_000) % (24 * 60) + 24 * 60) % (24 * 60));
        var band = tariff.Bands.Last(b => b.FromMinute <= minute);
        var percent = 100L;
        if (tariff.CongestionThreshold > 0 && vehiclesInZone > tariff.CongestionThreshold)
            percent = Math.Min(tariff.CongestionMaxPercent, 100L + (long)(vehiclesInZone - tariff.CongestionThreshold) * tariff.CongestionStepPercent);
        // Rounded half up to the minor unit; the band price is bounded, so this cannot overflow.
        return new Money((band.PriceMinorUnits * percent + 50) / 100, tariff.Currency);
    }
}
