using System.Globalization;
using Energy.Channels.Primitives;

namespace Energy.Channels.Market;

/// <summary>
/// The rules a zone's market runs under, set by the grid operator and the same on every node.
/// <see cref="GateClosure"/>: orders for an interval are taken until this long before it starts.
/// <see cref="ImbalancePenaltyPercent"/>: a shortfall (energy sold and not delivered, or bought and not
/// taken) is charged at the clearing price times this percentage. <see cref="ReadingTolerance"/>: how far
/// from the interval's start and end a meter reading may be taken and still count.
/// </summary>
public sealed record MarketRules(DurationMs IntervalLength, DurationMs GateClosure)
{
    public const int MaxOrdersPerDeviceBound = 1_024;
    public const int MaxOrdersPerIntervalBound = 100_000;
    public const int MaxIntervalsAheadBound = 10_000;
    public const int MaxPenaltyPercent = 1_000;

    /// <summary>Five-minute intervals, orders until one minute before each starts.</summary>
    public static MarketRules Default { get; } = new(DurationMs.FromMinutes(5), DurationMs.FromMinutes(1));

    /// <summary>Orders one device may place in one interval (a retry of one of them is not a new one).</summary>
    public int MaxOrdersPerDevice { get; init; } = 16;

    /// <summary>Orders one interval of the zone takes in all.</summary>
    public int MaxOrdersPerInterval { get; init; } = 20_000;

    /// <summary>How many intervals ahead of the current one an order may be for (288 five-minute intervals: a day).</summary>
    public int MaxIntervalsAhead { get; init; } = 288;

    /// <summary>At least 100: a party that fails to deliver or take never pays less than the energy was worth.</summary>
    public int ImbalancePenaltyPercent { get; init; } = 150;

    /// <summary>A tenth of the interval, at most 30 s.</summary>
    public DurationMs ReadingTolerance { get; init; } = new(Math.Min(30_000, IntervalLength.Milliseconds / 10));

    public Result<MarketRules> Check()
    {
        if (IntervalLength.Milliseconds < MarketInterval.MinLength.Milliseconds || IntervalLength.Milliseconds > MarketInterval.MaxLength.Milliseconds)
            return new MalformedValue("interval length", IntervalLength.ToString(), $"{MarketInterval.MinLength} to {MarketInterval.MaxLength}");
        if (GateClosure.Milliseconds < 0 || GateClosure.Milliseconds > MarketInterval.MaxLength.Milliseconds)
            return new MalformedValue("gate closure", GateClosure.ToString(), $"0 to {MarketInterval.MaxLength}");
        if (MaxOrdersPerDevice is < 1 or > MaxOrdersPerDeviceBound)
            return Malformed("orders per device", MaxOrdersPerDevice, $"1 to {MaxOrdersPerDeviceBound}");
        if (MaxOrdersPerInterval is < 1 or > MaxOrdersPerIntervalBound)
            return Malformed("orders per interval", MaxOrdersPerInterval, $"1 to {MaxOrdersPerIntervalBound}");
        if (MaxIntervalsAhead is < 1 or > MaxIntervalsAheadBound)
            return Malformed("intervals ahead", MaxIntervalsAhead, $"1 to {MaxIntervalsAheadBound}");
        if (ImbalancePenaltyPercent is < 100 or > MaxPenaltyPercent)
            return Malformed("imbalance penalty", ImbalancePenaltyPercent, $"100 to {MaxPenaltyPercent} %");
        // Half the interval at most: the windows around its start and its end never overlap.
        if (ReadingTolerance.Milliseconds < 0 || ReadingTolerance.Milliseconds * 2 >= IntervalLength.Milliseconds)
            return new MalformedValue("reading tolerance", ReadingTolerance.ToString(), $"0 to under half the interval ({IntervalLength})");
        return this;
    }

    private static MalformedValue Malformed(string field, int value, string expected) =>
        new(field, value.ToString(CultureInfo.InvariantCulture), expected);
}
