using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Channels.Encoding;

/// <summary>An object with one canonical encoding that is signed by one or more parties.</summary>
public interface ISignable<TSelf> where TSelf : ISignable<TSelf>
{
    static abstract ObjectKind Kind { get; }

    /// <summary>How many signatures follow the body on the wire (two for co-signed duplex states).</summary>
    static abstract int SignatureCount { get; }

    NetworkId Network { get; }

    /// <summary>Writes header and fields.</summary>
    void Write(ref CanonicalWriter writer);

    /// <summary>Reads header and fields; on failure the reader holds the error and the result is ignored.</summary>
    static abstract TSelf Read(ref CanonicalReader reader);
}

/// <summary>
/// A payload with its canonical bytes and signatures: wire form = body || signature[0] || ... . The
/// signatures are over the body exactly as received, so verifying never re-encodes.
/// </summary>
public sealed class Signed<T> : IEquatable<Signed<T>> where T : ISignable<T>
{
    private readonly byte[] _wire;

    private Signed(T payload, byte[] wire, int bodyLength)
    {
        Payload = payload;
        _wire = wire;
        BodyLength = bodyLength;
    }

    public T Payload { get; }

    public int BodyLength { get; }

    public ReadOnlySpan<byte> Wire => _wire;

    public ReadOnlySpan<byte> Body => _wire.AsSpan(0, BodyLength);

    public ReadOnlySpan<byte> SignatureAt(int index) =>
        _wire.AsSpan(BodyLength + index * Ed25519Signatures.SignatureBytes, Ed25519Signatures.SignatureBytes);

    public byte[] ToArray() => (byte[])_wire.Clone();

    public static byte[] EncodeBody(T payload)
    {
        Span<byte> buffer = stackalloc byte[CanonicalWriter.MaxObjectBytes];
        var writer = new CanonicalWriter(buffer);
        payload.Write(ref writer);
        return writer.Written.ToArray();
    }

    /// <summary>Signs a single-signer object.</summary>
    public static Signed<T> Sign(T payload, DeviceKeyPair signer)
    {
        if (T.SignatureCount != 1) throw new InvalidOperationException($"{T.Kind} needs {T.SignatureCount} signatures; use Assemble");
        Span<byte> buffer = stackalloc byte[CanonicalWriter.MaxObjectBytes];
        var writer = new CanonicalWriter(buffer);
        payload.Write(ref writer);
        var bodyLength = writer.Length;
        var wire = new byte[bodyLength + Ed25519Signatures.SignatureBytes];
        writer.Written.CopyTo(wire);
        signer.Sign(wire.AsSpan(0, bodyLength), wire.AsSpan(bodyLength));
        return new Signed<T>(payload, wire, bodyLength);
    }

    /// <summary>Puts together an object from signatures each party made over <see cref="EncodeBody"/> on its own device.</summary>
    public static Signed<T> Assemble(T payload, params ReadOnlySpan<byte[]> signatures)
    {
        if (signatures.Length != T.SignatureCount)
            throw new ArgumentException($"{T.Kind} needs {T.SignatureCount} signatures, got {signatures.Length}", nameof(signatures));
        var body = EncodeBody(payload);
        var wire = new byte[body.Length + signatures.Length * Ed25519Signatures.SignatureBytes];
        body.CopyTo(wire, 0);
        for (var i = 0; i < signatures.Length; i++)
        {
            if (signatures[i].Length != Ed25519Signatures.SignatureBytes)
                throw new ArgumentException($"signature {i} has {signatures[i].Length} bytes", nameof(signatures));
            signatures[i].CopyTo(wire, body.Length + i * Ed25519Signatures.SignatureBytes);
        }
        return new Signed<T>(payload, wire, body.Length);
    }

    /// <summary>Decodes the wire form: refuses unknown kinds and versions, non-canonical fields, and any byte too many or too few.</summary>
    public static Result<Signed<T>> Decode(ReadOnlySpan<byte> wire)
    {
        var reader = new CanonicalReader(wire, T.Kind);
        if (reader.Failed) return reader.Error!;
        var payload = T.Read(ref reader);
        var bodyLength = reader.Position;
        reader.ExpectRemaining(T.SignatureCount * Ed25519Signatures.SignatureBytes);
        if (reader.Failed) return reader.Error!;
        return new Signed<T>(payload, wire.ToArray(), bodyLength);
    }

    public bool IsSignedBy(DevicePublicKey key, int index = 0) => key.Verifies(Body, SignatureAt(index));

    public bool Equals(Signed<T>? other) => other is not null && _wire.AsSpan().SequenceEqual(other._wire);
    public override bool Equals(object? obj) => Equals(obj as Signed<T>);
    public override int GetHashCode() => HashCode.Combine(BodyLength, _wire.Length, _wire[^1], _wire[^2]);
    public override string ToString() => $"Signed<{T.Kind}>({Payload})";
}
