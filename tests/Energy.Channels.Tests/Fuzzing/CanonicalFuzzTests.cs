using System.Buffers.Binary;
using System.Reflection;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Tolls;
using Energy.Fuzzing;
using Xunit.Abstractions;

namespace Energy.Channels.Tests.Fuzzing;

/// <summary>
/// Fuzz targets for the canonical decoders: for every signed kind, mutated wire forms decode to a named
/// error or to an object whose encoding is exactly the bytes it came from, and never throw.
/// </summary>
public sealed class CanonicalFuzzTests(ITestOutputHelper output)
{
    /// <summary>The kinds run one after another, so each gets less than a target of its own would.</summary>
    private const int MaxInputsPerKind = 20_000;
    private static readonly TimeSpan MaxTimePerKind = TimeSpan.FromSeconds(1);

    /// <summary>Every type that implements ISignable, by the name its sample carries.</summary>
    private static readonly IReadOnlyDictionary<string, Type> SignableTypes = typeof(ObjectKind).Assembly.GetTypes()
        .Where(type => type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ISignable<>)))
        .ToDictionary(type => type.Name);

    [Fact]
    public void Every_defined_kind_has_a_signable_type_and_a_sample_to_fuzz_from()
    {
        var kinds = Enumerable.Range(0, 256).Where(tag => ObjectKinds.IsDefined((byte)tag)).Select(tag => (ObjectKind)tag).ToList();
        var typed = SignableTypes.Values.Select(KindOf).ToList();
        Assert.Equal(kinds.Order(), typed.Order());
        Assert.Equal(kinds.Order(), Samples.All.Select(sample => sample.Kind).Order());
        Assert.All(Samples.All, sample => Assert.Contains(sample.Name, SignableTypes.Keys));
    }

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Hostile_bytes_decode_to_a_named_error_or_to_an_object_that_encodes_to_the_same_bytes(string name)
    {
        var sample = Samples.Named(name);
        // Admissions are approved by the authority's keys, not signed like the rest: their own decoder, the same property.
        var property = name switch
        {
            nameof(Admission) => ApprovedDecodesToANamedErrorOrToItsOwnEncoding<Admission>,
            nameof(LedgerNodeAdmission) => ApprovedDecodesToANamedErrorOrToItsOwnEncoding<LedgerNodeAdmission>,
            _ => PropertyOf(SignableTypes[name]),
        };
        var fuzzer = new MutationFuzzer($"Signed<{name}>.Decode", [sample.Wire])
        {
            Dictionary = Tokens,
            Regressions = Regressions(sample),
            MaxInputs = MaxInputsPerKind,
            MaxTime = MaxTimePerKind,
            MaxInputBytes = CanonicalWriter.MaxObjectBytes + 3 * 64 + 16,
        };
        var report = fuzzer.Run(property);
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted > 0, $"{report}: no input decoded, not even the sample");
        Assert.True(report.Accepted < report.Inputs, $"{report}: every input decoded");
    }

    /// <summary>The property for one kind: a refusal is a named error that can be described; a value re-encodes to its own body and wire.</summary>
    private static bool DecodesToANamedErrorOrToItsOwnEncoding<T>(byte[] input) where T : ISignable<T>
    {
        var decoded = Signed<T>.Decode(input);
        if (!decoded.IsOk)
        {
            Assert.False(string.IsNullOrEmpty(decoded.Error.Code));
            Assert.False(string.IsNullOrEmpty(decoded.Error.Describe()));
            return false;
        }
        var signed = decoded.Value;
        Assert.Equal(input, signed.ToArray());
        Assert.True(signed.BodyLength <= CanonicalWriter.MaxObjectBytes, $"a body of {signed.BodyLength} bytes decoded");
        Assert.Equal(signed.Body.ToArray(), Signed<T>.EncodeBody(signed.Payload));
        Assert.Equal(input.Length, signed.BodyLength + T.SignatureCount * Ed25519Signatures.SignatureBytes);
        return true;
    }

    private static bool ApprovedDecodesToANamedErrorOrToItsOwnEncoding<T>(byte[] input) where T : ISignable<T>
    {
        var decoded = AuthorityApproved<T>.Decode(input);
        if (!decoded.IsOk)
        {
            Assert.False(string.IsNullOrEmpty(decoded.Error.Describe()));
            return false;
        }
        Assert.Equal(input, decoded.Value.ToArray());
        Assert.Equal(decoded.Value.Body.ToArray(), Signed<T>.EncodeBody(decoded.Value.Payload));
        return true;
    }

    private static ObjectKind KindOf<T>() where T : ISignable<T> => T.Kind;

    private static ObjectKind KindOf(Type type) =>
        (ObjectKind)typeof(CanonicalFuzzTests).GetMethod(nameof(KindOf), 1, BindingFlags.NonPublic | BindingFlags.Static, null, [], null)!
            .MakeGenericMethod(type).Invoke(null, null)!;

    private static Func<byte[], bool> PropertyOf(Type type) =>
        typeof(CanonicalFuzzTests).GetMethod(nameof(DecodesToANamedErrorOrToItsOwnEncoding), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(type).CreateDelegate<Func<byte[], bool>>();

    /// <summary>Bytes of the layout: the magic, every tag and version, identifier lengths at and past their bounds, big-endian edges.</summary>
    private static readonly IReadOnlyList<byte[]> Tokens =
    [
        "EN"u8.ToArray(),
        .. Enumerable.Range(0, 0x18).Select(tag => new byte[] { (byte)'E', (byte)'N', (byte)tag, CanonicalWriter.FormatVersion }),
        [0], [1], [2], [63], [64], [65], [255],
        "EUR"u8.ToArray(), "eur"u8.ToArray(), "E\0R"u8.ToArray(),
        "energy-test"u8.ToArray(), "ENERGY"u8.ToArray(), "a/b"u8.ToArray(), [0xC3, 0xA9],
        BigEndian(long.MaxValue), BigEndian(long.MinValue), BigEndian(-1), BigEndian(0), BigEndian(int.MaxValue + 1L), BigEndian(1_440),
        new byte[32], new byte[64], Enumerable.Repeat((byte)0xFF, 32).ToArray(),
    ];

    private static byte[] BigEndian(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>Inputs that once decoded although they should not have, and the edges of the size bound.</summary>
    private static List<byte[]> Regressions(KindSample sample)
    {
        List<byte[]> inputs = [[], sample.Wire[..4], [.. sample.Wire, 0], new byte[1_152], new byte[1_153]];
        var padded = new byte[1_152];
        sample.Wire.CopyTo(padded, 0);
        inputs.Add(padded);
        if (sample.Kind == ObjectKind.GantryTariff)
        {
            // Tariff bodies of 1,028 and 1,088 bytes: they decoded although the writer cannot write them.
            inputs.Add(GantryTariffTests.OversizedTariff(45).Wire);
            inputs.Add(GantryTariffTests.OversizedTariff(60).Wire);
            inputs.Add(GantryTariffTests.OversizedTariff(44).Wire);
        }
        return inputs;
    }
}
