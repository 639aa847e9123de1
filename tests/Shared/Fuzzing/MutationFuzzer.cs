using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Energy.Fuzzing;

/// <summary>
/// A small seeded mutation fuzzer for the decoders of outside bytes, run inside the normal test suite.
/// It starts from valid samples and mutates them: flipped bits, set, inserted, deleted and duplicated
/// bytes and ranges, splices of two inputs, values from a dictionary of hostile tokens, and nesting.
/// Every input the target accepts joins the corpus, so later inputs start from deeper ones. A run is
/// bounded by a number of inputs and by time, whichever comes first.
/// <para>
/// The inputs follow from the seed alone (the clock only decides where a run stops), so a failure is
/// replayed by setting <see cref="SeedVariable"/> to the seed it reports; its message also carries the
/// input itself, ready to become a regression case. <see cref="ScaleVariable"/> makes a run longer.
/// </para>
/// </summary>
public sealed class MutationFuzzer
{
    public const string SeedVariable = "ENERGY_FUZZ_SEED";

    /// <summary>Multiplies every run's bounds, for a deeper run by hand (ENERGY_FUZZ_SCALE=100); the suite runs at 1.</summary>
    public const string ScaleVariable = "ENERGY_FUZZ_SCALE";
    public const int DefaultMaxInputs = 50_000;
    public static readonly TimeSpan DefaultMaxTime = TimeSpan.FromSeconds(3);

    private const int MaxStackedMutations = 5;
    private const int MaxReportedInputBytes = 2_048;

    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0xC0, 0xC1, 0xED, 0xF4, 0xF5, 0xFE, 0xFF];

    private readonly string _target;
    private readonly List<byte[]> _corpus;
    private readonly int _samples;

    public MutationFuzzer(string target, IEnumerable<byte[]> samples)
    {
        _target = target;
        _corpus = [.. samples];
        _samples = _corpus.Count;
        if (_samples == 0) throw new ArgumentException("a fuzzer starts from at least one valid sample", nameof(samples));
    }

    /// <summary>Tokens inserted or written over the input: hostile values of the format under test.</summary>
    public IReadOnlyList<byte[]> Dictionary { get; init; } = [];

    /// <summary>Pairs that can wrap a range of the input, many times over, to nest it deeply.</summary>
    public IReadOnlyList<(byte[] Open, byte[] Close)> Wrappers { get; init; } = [];

    /// <summary>Inputs that once broke a target; each runs before any mutation.</summary>
    public IReadOnlyList<byte[]> Regressions { get; init; } = [];

    public int MaxInputs { get; init; } = DefaultMaxInputs;

    public TimeSpan MaxTime { get; init; } = DefaultMaxTime;

    /// <summary>No mutation grows an input beyond this.</summary>
    public int MaxInputBytes { get; init; } = 8 * 1024;

    /// <summary>How many accepted inputs the corpus keeps besides the samples.</summary>
    public int MaxCorpus { get; init; } = 512;

    /// <summary>
    /// Runs <paramref name="property"/> on the samples, the regressions, then mutated inputs until a
    /// bound is reached. The property answers whether it accepted the input (a valid value, not a named
    /// refusal) and throws when the input breaks it; the first failure ends the run with a
    /// <see cref="FuzzFailureException"/> that names the seed and the input.
    /// </summary>
    public FuzzReport Run(Func<byte[], bool> property)
    {
        var seed = ProcessSeed.Value;
        var scale = Scale();
        var maxInputs = (int)Math.Min(int.MaxValue, (long)MaxInputs * scale);
        var maxTime = MaxTime * scale;
        var random = new Random(unchecked(seed ^ StableHash(_target)));
        var clock = Stopwatch.StartNew();
        var accepted = 0;
        var fixedInputs = _corpus.Concat(Regressions).ToList();
        for (var i = 0; i < fixedInputs.Count; i++)
        {
            if (Check(property, fixedInputs[i], seed, i, "as given")) accepted++;
        }
        var inputs = fixedInputs.Count;
        var history = new List<string>(MaxStackedMutations);
        while (inputs < maxInputs && clock.Elapsed < maxTime)
        {
            history.Clear();
            var input = Mutate(random, _corpus[random.Next(_corpus.Count)], history);
            if (Check(property, input, seed, inputs, string.Join(", ", history)))
            {
                accepted++;
                Keep(random, input);
            }
            inputs++;
        }
        return new FuzzReport(_target, seed, inputs, accepted, clock.Elapsed);
    }

    private bool Check(Func<byte[], bool> property, byte[] input, int seed, int index, string mutations)
    {
        try
        {
            return property(input);
        }
        catch (Exception e)
        {
            throw new FuzzFailureException(Describe(seed, index, input, mutations, e), e);
        }
    }

    private void Keep(Random random, byte[] input)
    {
        if (_corpus.Count < _samples + MaxCorpus) _corpus.Add(input);
        else _corpus[_samples + random.Next(MaxCorpus)] = input;
    }

    private byte[] Mutate(Random random, byte[] start, List<string> history)
    {
        var input = start;
        // Mostly one or two mutations, sometimes a pile of them.
        var count = 1;
        while (count < MaxStackedMutations && random.Next(2) == 0) count++;
        for (var i = 0; i < count; i++)
        {
            var mutated = MutateOnce(random, input, history);
            if (mutated.Length <= MaxInputBytes) input = mutated;
        }
        return input;
    }

    private byte[] MutateOnce(Random random, byte[] input, List<string> history)
    {
        var at = random.Next(input.Length + 1);
        var choice = random.Next(12);
        if (input.Length == 0 && choice is < 2 or 3 or 4 or 8) choice = 2;
        switch (choice)
        {
            case 0:
                history.Add($"flip-bit@{at}");
                return With(input, Math.Min(at, input.Length - 1), b => (byte)(b ^ (1 << random.Next(8))));
            case 1:
                history.Add($"set-byte@{at}");
                return With(input, Math.Min(at, input.Length - 1), _ => random.Next(2) == 0 ? (byte)random.Next(256) : InterestingBytes[random.Next(InterestingBytes.Length)]);
            case 2:
                history.Add($"insert-bytes@{at}");
                return [.. input[..at], .. RandomBytes(random, 1 + random.Next(8)), .. input[at..]];
            case 3:
            {
                at = Math.Min(at, input.Length - 1);
                var length = 1 + random.Next(Math.Min(32, input.Length - at));
                history.Add($"delete-range@{at}+{length}");
                return [.. input[..at], .. input[Math.Min(input.Length, at + length)..]];
            }
            case 4:
            {
                at = Math.Min(at, input.Length - 1);
                var length = 1 + random.Next(Math.Min(64, input.Length - at));
                var copies = random.Next(4) == 0 ? 1 + random.Next(16) : 1;
                var to = random.Next(input.Length + 1);
                history.Add($"duplicate-range@{at}+{length}x{copies}->{to}");
                var range = input[at..(at + length)];
                return [.. input[..to], .. Enumerable.Repeat(range, copies).SelectMany(r => r), .. input[to..]];
            }
            case 5:
            {
                var other = _corpus[random.Next(_corpus.Count)];
                var from = random.Next(other.Length + 1);
                history.Add($"splice@{at}<-{from}");
                return [.. input[..at], .. other[from..]];
            }
            case 6 or 7 when Dictionary.Count > 0:
            {
                var token = Dictionary[random.Next(Dictionary.Count)];
                at = random.Next(2) == 0 ? AfterStructuralByte(random, input) : at;
                if (choice == 6)
                {
                    history.Add($"insert-token@{at}:{Printable(token)}");
                    return [.. input[..at], .. token, .. input[at..]];
                }
                history.Add($"overwrite-token@{at}:{Printable(token)}");
                return [.. input[..at], .. token, .. input[Math.Min(input.Length, at + token.Length)..]];
            }
            case 8:
            {
                at = Math.Min(at, input.Length - 1);
                var delta = random.Next(1, 9) * (random.Next(2) == 0 ? 1 : -1);
                history.Add($"add-byte@{at}{delta:+0;-0}");
                return With(input, at, b => unchecked((byte)(b + delta)));
            }
            case 9 when Wrappers.Count > 0:
            {
                var (open, close) = Wrappers[random.Next(Wrappers.Count)];
                var end = at + random.Next(input.Length - at + 1);
                var depth = 1 + random.Next(random.Next(2) == 0 ? 4 : 48);
                history.Add($"nest@{at}..{end}x{depth}:{Printable(open)}");
                var opens = Enumerable.Repeat(open, depth).SelectMany(b => b);
                var closes = Enumerable.Repeat(close, depth).SelectMany(b => b);
                return [.. input[..at], .. opens, .. input[at..end], .. closes, .. input[end..]];
            }
            case 10:
                history.Add($"truncate@{at}");
                return input[..at];
            default:
            {
                var token = InterestingInteger(random);
                at = Math.Min(at, Math.Max(0, input.Length - token.Length));
                history.Add($"overwrite-integer@{at}:{Convert.ToHexString(token)}");
                return [.. input[..at], .. token, .. input[Math.Min(input.Length, at + token.Length)..]];
            }
        }
    }

    /// <summary>A position just after a byte that opens or separates structure, where a token is most likely to be read as one.</summary>
    private static int AfterStructuralByte(Random random, byte[] input)
    {
        var start = random.Next(input.Length + 1);
        for (var i = 0; i < input.Length; i++)
        {
            var position = (start + i) % input.Length;
            if (input[position] is (byte)'{' or (byte)'[' or (byte)',' or (byte)':') return position + 1;
        }
        return start;
    }

    private static byte[] InterestingInteger(Random random)
    {
        long[] values = [0, 1, -1, 63, 64, 65, 127, 128, 255, 256, 1_023, 1_024, 1_025, int.MaxValue, (long)int.MaxValue + 1, int.MinValue,
            long.MaxValue, long.MinValue, 99_999_999_999];
        var value = values[random.Next(values.Length)];
        var width = random.Next(3) switch { 0 => 1, 1 => 4, _ => 8 };
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes[(8 - width)..];
    }

    private static byte[] With(byte[] input, int at, Func<byte, byte> change)
    {
        var copy = (byte[])input.Clone();
        copy[at] = change(copy[at]);
        return copy;
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>One seed for every target in the test process, so one variable replays them all.</summary>
    private static readonly Lazy<int> ProcessSeed = new(() =>
    {
        var configured = Environment.GetEnvironmentVariable(SeedVariable);
        return configured is not null && int.TryParse(configured, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : Random.Shared.Next();
    });

    private static int Scale()
    {
        var configured = Environment.GetEnvironmentVariable(ScaleVariable);
        return configured is not null && int.TryParse(configured, NumberStyles.Integer, CultureInfo.InvariantCulture, out var scale) && scale > 0 ? scale : 1;
    }

    /// <summary>FNV-1a: string.GetHashCode differs from process to process, and a seed must not.</summary>
    private static int StableHash(string text)
    {
        var hash = 2_166_136_261u;
        foreach (var c in text) hash = (hash ^ c) * 16_777_619u;
        return unchecked((int)hash);
    }

    private string Describe(int seed, int index, byte[] input, string mutations, Exception e)
    {
        var shown = input.Length <= MaxReportedInputBytes ? input : input[..MaxReportedInputBytes];
        var cut = shown.Length < input.Length ? $" (first {shown.Length} shown)" : "";
        return $"""
            fuzz target '{_target}' failed on input {index}; replay with {SeedVariable}={seed.ToString(CultureInfo.InvariantCulture)}
              mutations: {(mutations.Length == 0 ? "(none)" : mutations)}
              input, {input.Length} bytes{cut}: {Convert.ToHexString(shown)}
              as text: {Printable(shown)}
              {e.GetType().Name}: {e.Message}
            """;
    }

    /// <summary>The input as text, with every byte outside printable ASCII written as \xHH, so nothing in a report is lost or garbled.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and < 0x7F) text.Append((char)b);
            else text.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
        }
        return text.ToString();
    }
}

/// <summary>What a run did: how many inputs, how many of them the target accepted, how long it took, and its seed.</summary>
public sealed record FuzzReport(string Target, int Seed, int Inputs, int Accepted, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"{Target}: {Inputs} inputs ({Accepted} accepted) in {Elapsed.TotalMilliseconds:F0} ms, seed {Seed}";
}

/// <summary>An input broke a fuzz target's property; the message says how to replay it.</summary>
public sealed class FuzzFailureException(string message, Exception inner) : Exception(message, inner);

/// <summary>Hostile tokens for JSON text, for any fuzz target that reads JSON from outside.</summary>
public static class JsonTokens
{
    public static IReadOnlyList<byte[]> Hostile { get; } =
    [
        // Text that is not well-formed: lone and reversed surrogate escapes, overlong and invalid UTF-8, a UTF-8 surrogate.
        .. new[] { "\"\\ud800\"", "\\ud800", "\\udc00", "\\udfff\\ud800", "\\ud800\\ud800", "\\u0000", "\\uD83D\\uDE00", "\\u", "\\x" }.Select(Encoding.UTF8.GetBytes),
        [0xC0, 0x80], [0xC1, 0xBF], [0xFF], [0xFE], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xEF, 0xBB, 0xBF],
        // Numbers at and beyond the bounds readers assume.
        .. new[] { "99999999999", "-1", "0", "-0", "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
            "18446744073709551616", "1e309", "-1e309", "1e2", "1.0", "0.5", "1E-400", "79228162514264337593543950336", "00", "+1", "NaN" }.Select(Encoding.UTF8.GetBytes),
        // Repeated keys, empty and odd values, and what starts deep nesting.
        .. new[] { "\"a\":1,\"a\":2", "\"id\":1,", "\"op\":\"call\",", ",\"x\":{}", "null", "true", "\"\"", "{}", "[]", "[[[[[[[[[[[[[[[[",
            "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{", "\"", "\\", "\\\"", ",", ":", "}", "]", " ", "\t\r\n" }.Select(Encoding.UTF8.GetBytes),
    ];

    public static IReadOnlyList<(byte[] Open, byte[] Close)> Nesting { get; } =
    [
        ("["u8.ToArray(), "]"u8.ToArray()),
        ("{\"n\":"u8.ToArray(), "}"u8.ToArray()),
        ("[1,"u8.ToArray(), ",2]"u8.ToArray()),
    ];
}
