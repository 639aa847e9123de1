namespace Energy.Channels.Primitives;

/// <summary>A wall-clock instant in milliseconds since the Unix epoch (UTC). The protocol never reads the clock: callers pass it in.</summary>
public readonly record struct Timestamp(long UnixMilliseconds) : IComparable<Timestamp>
{
    public static Timestamp FromDateTimeOffset(DateTimeOffset instant) => new(instant.ToUnixTimeMilliseconds());

    public DateTimeOffset ToDateTimeOffset() => DateTimeOffset.FromUnixTimeMilliseconds(UnixMilliseconds);

    public Result<Timestamp> Plus(DurationMs duration)
    {
        try { return new Timestamp(checked(UnixMilliseconds + duration.Milliseconds)); }
        catch (OverflowException) { return new AmountOverflow("timestamp plus duration", UnixMilliseconds, duration.Milliseconds); }
    }

    public int CompareTo(Timestamp other) => UnixMilliseconds.CompareTo(other.UnixMilliseconds);
    public static bool operator <(Timestamp left, Timestamp right) => left.UnixMilliseconds < right.UnixMilliseconds;
    public static bool operator >(Timestamp left, Timestamp right) => left.UnixMilliseconds > right.UnixMilliseconds;
    public static bool operator <=(Timestamp left, Timestamp right) => left.UnixMilliseconds <= right.UnixMilliseconds;
    public static bool operator >=(Timestamp left, Timestamp right) => left.UnixMilliseconds >= right.UnixMilliseconds;

    // Signed objects may carry any 64-bit time; out of the calendar's range the raw value is printed.
    public override string ToString() =>
        UnixMilliseconds is >= -62_135_596_800_000 and <= 253_402_300_799_999
            ? ToDateTimeOffset().ToString("O", System.Globalization.CultureInfo.InvariantCulture)
            : $"{UnixMilliseconds} ms since the Unix epoch";
}

/// <summary>A length of time in milliseconds.</summary>
public readonly record struct DurationMs(long Milliseconds)
{
    public static DurationMs FromSeconds(long seconds) => new(checked(seconds * 1000));
    public static DurationMs FromMinutes(long minutes) => new(checked(minutes * 60_000));
    public override string ToString() => $"{Milliseconds} ms";
}
