using System.Collections.Concurrent;
using Energy.Channels.Primitives;

namespace Energy.Channels.Encoding;

/// <summary>
/// The identifiers read from the wire, one string each. A node reads the same few device, network, segment and channel
/// identifiers in every request and voucher; a string of its own for each read is garbage at once, and kept for every pass
/// or voucher an entity remembers, work for every young collection that finds it alive. Only valid identifiers enter;
/// at <see cref="MaxEntries"/> the pool starts over, so that whatever it is fed it stays bounded and keeps what is read
/// often.
/// </summary>
public static class IdentifierPool
{
    public const int MaxEntries = 100_000;

    private static readonly ConcurrentDictionary<string, string> Pool = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> ByChars = Pool.GetAlternateLookup<ReadOnlySpan<char>>();
    private static int _count;

    /// <summary>How many identifiers the pool holds; it counts them under every lock of the pool, so not on a hot path.</summary>
    public static int Count => Pool.Count;

    /// <summary>The identifier spelled by <paramref name="ascii"/> (at most <see cref="IdentifierRules.MaxLength"/> bytes).</summary>
    public static string Get(ReadOnlySpan<byte> ascii)
    {
        if (ascii.Length > IdentifierRules.MaxLength) return System.Text.Encoding.ASCII.GetString(ascii);
        Span<char> chars = stackalloc char[ascii.Length];
        System.Text.Encoding.ASCII.GetChars(ascii, chars);
        if (ByChars.TryGetValue(chars, out var known)) return known;
        var value = new string(chars);
        if (!IdentifierRules.IsValid(value)) return value;
        if (Interlocked.Increment(ref _count) > MaxEntries)
        {
            Pool.Clear();
            Interlocked.Exchange(ref _count, 1);
        }
        return Pool.GetOrAdd(value, value);
    }
}
