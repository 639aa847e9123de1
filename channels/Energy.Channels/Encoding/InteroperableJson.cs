using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace Energy.Channels.Encoding;

/// <summary>
/// The rules of I-JSON (RFC 7493) that System.Text.Json does not enforce while it parses: every string
/// and member name is well-formed Unicode (valid UTF-8, no lone surrogate escaped as \ud800), and no
/// object names a member twice. A document that breaks them parses, but reading one of its strings
/// throws, and a repeated name lets two readers see two different values; so JSON that comes from
/// outside is checked once, right after parsing, and refused by name.
/// </summary>
public static class InteroperableJson
{
    private const int MaxNameInDescription = 40;

    /// <summary>
    /// What is wrong with <paramref name="value"/> or anything inside it, or null when nothing is. The
    /// walk is as deep as the document, which its parser bounds (<see cref="JsonDocumentOptions.MaxDepth"/>).
    /// </summary>
    public static string? FindViolation(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => IsWellFormed(Unquoted(JsonMarshal.GetRawUtf8Value(value)))
            ? null
            : "a string is not well-formed text: invalid UTF-8 or a lone surrogate",
        JsonValueKind.Array => FindViolationInArray(value),
        JsonValueKind.Object => FindViolationInObject(value),
        _ => null,
    };

    private static string? FindViolationInArray(JsonElement array)
    {
        foreach (var item in array.EnumerateArray())
        {
            if (FindViolation(item) is { } violation) return violation;
        }
        return null;
    }

    private static string? FindViolationInObject(JsonElement value)
    {
        var count = 0;
        foreach (var property in value.EnumerateObject())
        {
            if (!IsWellFormed(JsonMarshal.GetRawUtf8PropertyName(property)))
                return "a member name is not well-formed text: invalid UTF-8 or a lone surrogate";
            if (FindViolation(property.Value) is { } violation) return violation;
            count++;
        }
        if (count < 2) return null;
        if (count <= MaxComparedInPlace && TryFindRepeatedRawName(value, count, out var repeated)) return repeated;
        // Every name is well-formed now, so reading names as strings cannot throw.
        var names = new HashSet<string>(count, StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            if (!names.Add(property.Name)) return Repeated(property);
        }
        return null;
    }

    private static string Repeated(JsonProperty property) => $"member '{Shortened(property.Name)}' appears more than once in one object";

    /// <summary>Objects of at most this many members have their names compared pair by pair, as they stand.</summary>
    private const int MaxComparedInPlace = 16;

    /// <summary>
    /// Compares the names' raw bytes pair by pair, without reading any name as a string: true with the repetition found,
    /// or null when no name repeats; false when a name holds an escape (two spellings of one name then differ in their
    /// bytes, so the names are compared as strings instead).
    /// </summary>
    private static bool TryFindRepeatedRawName(JsonElement value, int count, out string? repeated)
    {
        repeated = null;
        var members = System.Buffers.ArrayPool<JsonProperty>.Shared.Rent(count);
        try
        {
            var i = 0;
            foreach (var property in value.EnumerateObject())
            {
                var raw = JsonMarshal.GetRawUtf8PropertyName(property);
                if (raw.Contains((byte)'\\')) return false;
                for (var j = 0; j < i; j++)
                {
                    if (!JsonMarshal.GetRawUtf8PropertyName(members[j]).SequenceEqual(raw)) continue;
                    repeated = Repeated(property);
                    return true;
                }
                members[i++] = property;
            }
            return true;
        }
        finally
        {
            System.Buffers.ArrayPool<JsonProperty>.Shared.Return(members, clearArray: true);
        }
    }

    /// <summary>
    /// Whether the raw bytes of a string, as they stand between its quotes, are valid UTF-8 and every
    /// \u escape of a surrogate is a high one followed at once by a low one. The parser has already
    /// checked the escapes' syntax.
    /// </summary>
    private static bool IsWellFormed(ReadOnlySpan<byte> raw)
    {
        if (!Utf8.IsValid(raw)) return false;
        var highPending = false;
        for (var i = 0; i < raw.Length; i++)
        {
            var isUnicodeEscape = raw[i] == '\\' && i + 1 < raw.Length && raw[i + 1] == 'u';
            if (!isUnicodeEscape)
            {
                if (highPending) return false;
                if (raw[i] == '\\') i++;
                continue;
            }
            if (i + 6 > raw.Length || !TryParseHex4(raw.Slice(i + 2, 4), out var unit)) return false;
            i += 5;
            if (char.IsHighSurrogate(unit))
            {
                if (highPending) return false;
                highPending = true;
            }
            else if (char.IsLowSurrogate(unit))
            {
                if (!highPending) return false;
                highPending = false;
            }
            else if (highPending)
            {
                return false;
            }
        }
        return !highPending;
    }

    private static bool TryParseHex4(ReadOnlySpan<byte> digits, out char unit)
    {
        var value = 0;
        foreach (var digit in digits)
        {
            var nibble = digit switch
            {
                >= (byte)'0' and <= (byte)'9' => digit - '0',
                >= (byte)'a' and <= (byte)'f' => digit - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => digit - 'A' + 10,
                _ => -1,
            };
            if (nibble < 0)
            {
                unit = default;
                return false;
            }
            value = value * 16 + nibble;
        }
        unit = (char)value;
        return true;
    }

    private static ReadOnlySpan<byte> Unquoted(ReadOnlySpan<byte> raw) => raw.Length >= 2 ? raw[1..^1] : [];

    /// <summary>A long name cut for a description, never between the two halves of a surrogate pair.</summary>
    private static string Shortened(string name)
    {
        if (name.Length <= MaxNameInDescription) return name;
        var length = char.IsHighSurrogate(name[MaxNameInDescription - 1]) ? MaxNameInDescription - 1 : MaxNameInDescription;
        return name[..length] + "...";
    }
}
