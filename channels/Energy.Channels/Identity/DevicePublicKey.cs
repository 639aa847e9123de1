using NSec.Cryptography;

namespace Energy.Channels.Identity;

/// <summary>
/// An Ed25519 public key the network accepts. Import refuses a wrong length, a non-canonical point
/// encoding and the small-order points, whose signatures could verify for many messages.
/// </summary>
public sealed class DevicePublicKey : IEquatable<DevicePublicKey>
{
    private readonly byte[] _raw;

    private DevicePublicKey(byte[] raw, PublicKey key)
    {
        _raw = raw;
        Key = key;
    }

    internal PublicKey Key { get; }

    public ReadOnlySpan<byte> Raw => _raw;

    public string Hex => Convert.ToHexStringLower(_raw);

    public static Result<DevicePublicKey> FromRaw(ReadOnlySpan<byte> raw)
    {
        if (raw.Length != Ed25519Signatures.PublicKeyBytes)
            return new WeakPublicKey($"{raw.Length} bytes, an Ed25519 public key has {Ed25519Signatures.PublicKeyBytes}");
        if (!IsCanonicalPoint(raw)) return new WeakPublicKey("the point encoding is not canonical (y >= p)");
        if (IsSmallOrder(raw)) return new WeakPublicKey("the point has small order");
        if (!IsOnCurve(raw)) return new WeakPublicKey("not a point on the curve");
        if (!PublicKey.TryImport(Ed25519Signatures.Algorithm, raw, KeyBlobFormat.RawPublicKey, out var key) || key is null)
            return new WeakPublicKey("not a point on the curve");
        return new DevicePublicKey(raw.ToArray(), key);
    }

    public static Result<DevicePublicKey> FromHex(string? hex)
    {
        if (hex is not null && Accepted.TryGetValue(hex, out var known)) return known;
        if (hex is null || hex.Length != 2 * Ed25519Signatures.PublicKeyBytes)
            return new MalformedValue("public key", hex ?? "(null)", "64 hexadecimal characters");
        byte[] raw;
        try { raw = Convert.FromHexString(hex); }
        catch (FormatException) { return new MalformedValue("public key", hex, "64 hexadecimal characters"); }
        var parsed = FromRaw(raw);
        if (parsed.IsOk)
        {
            if (Accepted.Count >= MaxAccepted) Accepted.Clear();
            Accepted[hex] = parsed.Value;
        }
        return parsed;
    }

    // A process meets the same few keys again and again, by hex on the wire: the accepted ones are kept, boundedly.
    private const int MaxAccepted = 16_384;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DevicePublicKey> Accepted = new(StringComparer.Ordinal);

    public bool Verifies(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        signature.Length == Ed25519Signatures.SignatureBytes && Ed25519Signatures.Algorithm.Verify(Key, message, signature);

    // y is the low 255 bits, little-endian; canonical means y < p = 2^255 - 19.
    private static bool IsCanonicalPoint(ReadOnlySpan<byte> raw)
    {
        if ((raw[31] & 0x7f) != 0x7f) return true;
        for (var i = 30; i >= 1; i--)
            if (raw[i] != 0xff) return true;
        return raw[0] < 0xed;
    }

    // A y has a point when x^2 = (y^2 - 1) / (d y^2 + 1) has a root mod p. libsodium decompresses the point to add it
    // to the base point and refuses one that is not on the curve; it does not ask for the prime-order subgroup, so the
    // keys accepted are exactly the canonical, non-small-order points on the curve. This is arithmetic on public data:
    // the field's square root takes microseconds where big integers took most of a millisecond, and every device
    // twin decodes its key again when it wakes.
    private static bool IsOnCurve(ReadOnlySpan<byte> raw)
    {
        var sum = new byte[32];
        return Sodium.crypto_core_ed25519_add(sum, raw.ToArray(), BasePoint) == 0;
    }

    // The Ed25519 base point B (y = 4/5), encoded.
    private static readonly byte[] BasePoint = Convert.FromHexString("5866666666666666666666666666666666666666666666666666666666666666");

    private static class Sodium
    {
        [System.Runtime.InteropServices.DllImport("libsodium", CallingConvention = System.Runtime.InteropServices.CallingConvention.Cdecl)]
        internal static extern int crypto_core_ed25519_add(byte[] sum, byte[] p, byte[] q);
    }

    // Encodings (ignoring the sign bit) of the points of order 1, 2, 4 and 8.
    private static readonly byte[][] SmallOrderPoints =
    [
        Convert.FromHexString("0000000000000000000000000000000000000000000000000000000000000000"),
        Convert.FromHexString("0100000000000000000000000000000000000000000000000000000000000000"),
        Convert.FromHexString("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        Convert.FromHexString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        Convert.FromHexString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ];

    private static bool IsSmallOrder(ReadOnlySpan<byte> raw)
    {
        foreach (var point in SmallOrderPoints)
        {
            if (raw[..31].SequenceEqual(point.AsSpan(0, 31)) && (raw[31] & 0x7f) == point[31]) return true;
        }
        return false;
    }

    public bool Equals(DevicePublicKey? other) => other is not null && _raw.AsSpan().SequenceEqual(other._raw);
    public override bool Equals(object? obj) => Equals(obj as DevicePublicKey);
    public override int GetHashCode() => BitConverter.ToInt32(_raw, 0);
    public override string ToString() => Hex;
}
