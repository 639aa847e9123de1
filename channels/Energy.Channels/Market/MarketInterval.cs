using System.Globalization;
using Energy.Channels.Primitives;

namespace Energy.Channels.Market;

/// <summary>
/// One trading interval of one zone's market: from <see cref="Start"/> (inclusive) for <see cref="Length"/>
/// (to <see cref="End"/>, exclusive). Intervals are aligned to the Unix epoch: the start is a whole multiple
/// of the length, so the interval is also known by its <see cref="Number"/> (start / length), and two
/// markets with the same length agree on where every interval begins. An order names its zone, start and
/// length, all signed: an order for a 5-minute market never counts in a 15-minute one.
/// </summary>
public readonly record struct MarketInterval(ZoneId Zone, Timestamp Start, DurationMs Length)
{
    public static readonly DurationMs MinLength = DurationMs.FromSeconds(1);
    public static readonly DurationMs MaxLength = DurationMs.FromMinutes(24 * 60);

    /// <summary>Intervals end by 10000-01-01, so every time in them prints as a date and nothing overflows.</summary>
    public const long MaxEndUnixMilliseconds = 253_402_300_800_000;

    /// <summary>The interval's number: its start divided by its length. Meaningful only for an interval that passes <see cref="Check"/>.</summary>
    public long Number => Start.UnixMilliseconds / Length.Milliseconds;

    public Timestamp End => new(Start.UnixMilliseconds + Length.Milliseconds);

    /// <summary>Interval number <paramref name="number"/> of a market of intervals of <paramref name="length"/>.</summary>
    public static MarketInterval Numbered(ZoneId zone, long number, DurationMs length) => new(zone, new Timestamp(checked(number * length.Milliseconds)), length);

    /// <summary>The interval that holds <paramref name="at"/> (a time on or after the epoch).</summary>
    public static MarketInterval Containing(ZoneId zone, Timestamp at, DurationMs length) =>
        Numbered(zone, Math.Max(0, at.UnixMilliseconds) / length.Milliseconds, length);

    /// <summary>The interval's shape: a length from 1 s to 24 h, a start on or after the epoch that is a multiple of it, an end by year 10000.</summary>
    public ProtocolError? Check()
    {
        if (Length.Milliseconds < MinLength.Milliseconds || Length.Milliseconds > MaxLength.Milliseconds)
            return new MalformedValue("interval length", Length.ToString(), $"{MinLength} to {MaxLength}");
        if (Start.UnixMilliseconds < 0 || Start.UnixMilliseconds > MaxEndUnixMilliseconds - Length.Milliseconds)
            return new MalformedValue("interval start", Start.UnixMilliseconds.ToString(CultureInfo.InvariantCulture), $"0 to {MaxEndUnixMilliseconds} ms less the length");
        if (Start.UnixMilliseconds % Length.Milliseconds != 0)
            return new MalformedValue("interval start", Start.UnixMilliseconds.ToString(CultureInfo.InvariantCulture), $"a whole multiple of the length {Length}");
        return null;
    }

    public override string ToString() => $"{Zone}#{Start.UnixMilliseconds / Math.Max(1, Length.Milliseconds)} ({Start} + {Length})";
}
