using System.Security.Cryptography;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>
/// An operator's endorsement of a key for its dashboard (role viewer): the page signs in with this key, so
/// the operator's own key never enters a browser. It sees what its operator sees, until it expires.
/// </summary>
public sealed record ViewerKey(NetworkId Network, OperatorId Operator, DevicePublicKey Key, Timestamp ExpiresAt) : ISignable<ViewerKey>
{
    public static ObjectKind Kind => ObjectKind.ViewerKey;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteParty(PartyId.From(Operator));
        writer.WriteBytes(Key.Raw);
        writer.WriteInt64(ExpiresAt.UnixMilliseconds);
    }

    public static ViewerKey Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var party = reader.ReadParty("operator");
        var key = reader.ReadBytes(Ed25519Signatures.PublicKeyBytes);
        var expires = reader.ReadInt64();
        if (reader.Failed) return null!;
        if (!party.IsOperator) { reader.Fail(new NonCanonicalEncoding(Kind, "operator", $"{party} is not an operator")); return null!; }
        var publicKey = DevicePublicKey.FromRaw(key);
        if (!publicKey.IsOk) { reader.Fail(publicKey.Error); return null!; }
        return new ViewerKey(network, party.AsOperator(), publicKey.Value, new Timestamp(expires));
    }
}

/// <summary>
/// A charge point operator's signed setting of the password with which one of its chargers authenticates
/// on OCPP (HTTP Basic authentication, security profiles 1 and 2). It carries only a salted PBKDF2-SHA256
/// hash, never the password; a higher version replaces a lower one. <see cref="AllowUnauthenticated"/>
/// lets the charger connect without any password (profile 0): only where the operator says so.
/// A password people choose is hashed with <see cref="MinIterations"/> or more PBKDF2 iterations, because the object
/// travels to every node, other operators' too, and a weak password must not be guessed from it offline. A key the
/// operator's tooling generated (<see cref="GenerateKey"/>: 160 random bits, written as OCPP's longest password) is
/// hashed with <see cref="KeyIterations"/>: nobody can search 2^160 keys, so more iterations would protect nothing and
/// would only make a node spend a core's millisecond on each charger that connects. Such an object matches only a
/// password shaped like a generated key.
/// </summary>
public sealed record ChargePointPassword(
    NetworkId Network,
    OperatorId Operator,
    DeviceId ChargePoint,
    byte[] Salt,
    byte[] Hash,
    uint Iterations,
    bool AllowUnauthenticated,
    ulong Version,
    Timestamp At) : ISignable<ChargePointPassword>
{
    public const int SaltBytes = 16;
    public const int HashBytes = 32;
    public const uint MinIterations = 10_000;
    public const uint MaxIterations = 1_000_000;
    public const uint DefaultIterations = 100_000;

    /// <summary>The iterations of an object that holds a generated key's hash, not a chosen password's.</summary>
    public const uint KeyIterations = 1;

    /// <summary>A generated key's random bytes; written as lowercase hex it is 40 characters, OCPP's longest password.</summary>
    public const int GeneratedKeyBytes = 20;

    public static ObjectKind Kind => ObjectKind.ChargePointPassword;
    public static int SignatureCount => 1;

    /// <summary>The object for a password chosen by the operator: a fresh salt, the hash of the password under it.</summary>
    public static ChargePointPassword For(NetworkId network, OperatorId operatorId, DeviceId chargePoint, string password, bool allowUnauthenticated,
        ulong version, Timestamp at, uint iterations = DefaultIterations)
    {
        if (iterations == KeyIterations && !IsGeneratedKeyShape(password))
            throw new ArgumentException($"one iteration is for a generated key ({GeneratedKeyBytes * 2} lowercase hex characters), not a chosen password");
        if (iterations != KeyIterations && iterations is < MinIterations or > MaxIterations)
            throw new ArgumentOutOfRangeException(nameof(iterations), $"{iterations} is outside {MinIterations}..{MaxIterations}");
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return new ChargePointPassword(network, operatorId, chargePoint, salt, HashOf(password, salt, iterations), iterations, allowUnauthenticated, version, at);
    }

    public static byte[] HashOf(string password, byte[] salt, uint iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(System.Text.Encoding.UTF8.GetBytes(password), salt, (int)iterations, HashAlgorithmName.SHA256, HashBytes);

    /// <summary>A new random key for a charger: <see cref="GeneratedKeyBytes"/> bytes as lowercase hex.</summary>
    public static string GenerateKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(GeneratedKeyBytes));

    /// <summary>Whether a password is shaped like a generated key: exactly 40 lowercase hex characters.</summary>
    public static bool IsGeneratedKeyShape(string password) =>
        password.Length == GeneratedKeyBytes * 2 && password.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    /// <summary>Whether this object holds a generated key's hash, which one HMAC checks.</summary>
    public bool IsGeneratedKey => Iterations == KeyIterations;

    /// <summary>
    /// Whether the password matches, in time that does not depend on where it differs. A generated key's object
    /// refuses anything not shaped like a generated key before hashing, so a chosen password never meets a single iteration.
    /// </summary>
    public bool Matches(string password) =>
        (!IsGeneratedKey || IsGeneratedKeyShape(password)) && CryptographicOperations.FixedTimeEquals(HashOf(password, Salt, Iterations), Hash);

    public bool Equals(ChargePointPassword? other) =>
        other is not null && Network == other.Network && Operator == other.Operator && ChargePoint == other.ChargePoint
        && Salt.AsSpan().SequenceEqual(other.Salt) && Hash.AsSpan().SequenceEqual(other.Hash) && Iterations == other.Iterations
        && AllowUnauthenticated == other.AllowUnauthenticated && Version == other.Version && At == other.At;

    public override int GetHashCode() => HashCode.Combine(ChargePoint, Version, Hash.Length > 0 ? Hash[0] : 0);

    public void Write(ref CanonicalWriter writer)
    {
        if (Salt.Length != SaltBytes || Hash.Length != HashBytes) throw new ArgumentException($"a salt has {SaltBytes} bytes and a hash {HashBytes}");
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Operator.Value);
        writer.WriteParty(PartyId.From(ChargePoint));
        writer.WriteBytes(Salt);
        writer.WriteBytes(Hash);
        writer.WriteUInt64(Iterations);
        writer.WriteBoolean(AllowUnauthenticated);
        writer.WriteUInt64(Version);
        writer.WriteInt64(At.UnixMilliseconds);
    }

    public static ChargePointPassword Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var op = reader.ReadIdentifier("operator");
        var chargePoint = reader.ReadDevice("chargePoint");
        var salt = reader.ReadBytes(SaltBytes).ToArray();
        var hash = reader.ReadBytes(HashBytes).ToArray();
        var iterations = reader.ReadUInt64();
        var allow = reader.ReadBoolean("allowUnauthenticated");
        var version = reader.ReadUInt64();
        var at = reader.ReadInt64();
        if (reader.Failed) return null!;
        if (iterations != KeyIterations && iterations is < MinIterations or > MaxIterations)
        {
            reader.Fail(new NonCanonicalEncoding(Kind, "iterations", $"{iterations} is neither {KeyIterations} (a generated key) nor within {MinIterations}..{MaxIterations}"));
            return null!;
        }
        return new ChargePointPassword(network, new OperatorId(op), chargePoint, salt, hash, (uint)iterations, allow, version, new Timestamp(at));
    }
}

/// <summary>
/// A signed call of the HTTP API: who calls (a party, or an operator's viewer key), when, a fresh nonce,
/// and the SHA-256 of the request (method, path with query, and the SHA-256 of the body). A node takes it
/// once, within a short window around its own clock.
/// </summary>
public sealed record ApiRequest(NetworkId Network, PartyId Caller, Timestamp At, byte[] Nonce, byte[] RequestHash) : ISignable<ApiRequest>
{
    public const int NonceBytes = 16;
    public const int HashBytes = 32;

    public static ObjectKind Kind => ObjectKind.ApiRequest;
    public static int SignatureCount => 1;

    /// <summary>What is signed of an HTTP request: SHA-256 of "METHOD path?query", a newline, and the SHA-256 of the body.</summary>
    public static byte[] HashOf(string method, string pathAndQuery, ReadOnlySpan<byte> body)
    {
        var head = System.Text.Encoding.UTF8.GetBytes(method.ToUpperInvariant() + " " + pathAndQuery + "\n");
        var buffer = new byte[head.Length + 32];
        head.CopyTo(buffer, 0);
        SHA256.HashData(body, buffer.AsSpan(head.Length));
        return SHA256.HashData(buffer);
    }

    public bool Equals(ApiRequest? other) =>
        other is not null && Network == other.Network && Caller == other.Caller && At == other.At
        && Nonce.AsSpan().SequenceEqual(other.Nonce) && RequestHash.AsSpan().SequenceEqual(other.RequestHash);

    public override int GetHashCode() => HashCode.Combine(Caller, At, Nonce.Length > 0 ? Nonce[0] : 0);

    public void Write(ref CanonicalWriter writer)
    {
        if (Nonce.Length != NonceBytes || RequestHash.Length != HashBytes) throw new ArgumentException($"a nonce has {NonceBytes} bytes and a hash {HashBytes}");
        writer.WriteHeader(Kind, Network);
        writer.WriteParty(Caller);
        writer.WriteInt64(At.UnixMilliseconds);
        writer.WriteBytes(Nonce);
        writer.WriteBytes(RequestHash);
    }

    public static ApiRequest Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var caller = reader.ReadParty("caller");
        var at = reader.ReadInt64();
        var nonce = reader.ReadBytes(NonceBytes).ToArray();
        var hash = reader.ReadBytes(HashBytes).ToArray();
        return reader.Failed ? null! : new ApiRequest(network, caller, new Timestamp(at), nonce, hash);
    }
}
