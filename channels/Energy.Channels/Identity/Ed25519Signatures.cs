using NSec.Cryptography;

namespace Energy.Channels;

/// <summary>Ed25519 through NSec (libsodium), which rejects non-canonical S and small-order points when verifying.</summary>
public static class Ed25519Signatures
{
    public const int PublicKeyBytes = 32;
    public const int SignatureBytes = 64;

    internal static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;
}
