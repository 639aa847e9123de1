using NSec.Cryptography;

namespace Energy.Channels.Identity;

/// <summary>
/// A private Ed25519 key held by a device or an operator. It signs on the device; the network never
/// holds one for a device.
/// </summary>
public sealed class DeviceKeyPair : IDisposable
{
    private readonly Key _key;

    private DeviceKeyPair(Key key)
    {
        _key = key;
        PublicKey = DevicePublicKey.FromRaw(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)).Unwrap();
    }

    public DevicePublicKey PublicKey { get; }

    public static DeviceKeyPair Generate() =>
        new(Key.Create(Ed25519Signatures.Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextArchiving }));

    /// <summary>Rebuilds a key from its 32-byte seed, as a device does when it loads its own key store.</summary>
    public static Result<DeviceKeyPair> FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32) return new MalformedValue("private key seed", $"{seed.Length} bytes", "32 bytes");
        var key = Key.Import(Ed25519Signatures.Algorithm, seed, KeyBlobFormat.RawPrivateKey,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextArchiving });
        return new DeviceKeyPair(key);
    }

    /// <summary>The seed, for the device's own key store. It never goes on the wire.</summary>
    public byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

    public byte[] Sign(ReadOnlySpan<byte> message) => Ed25519Signatures.Algorithm.Sign(_key, message);

    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature) => Ed25519Signatures.Algorithm.Sign(_key, message, signature);

    public void Dispose() => _key.Dispose();
}
