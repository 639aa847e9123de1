using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>
/// The authority that governs a network: n Ed25519 keys, of which any <see cref="Threshold"/> must sign
/// what it decides (k of n). Every node of a network is configured with the same authority.
/// </summary>
public sealed class NetworkAuthority
{
    public const int MaxKeys = 9;

    private NetworkAuthority(IReadOnlyList<DevicePublicKey> keys, int threshold)
    {
        Keys = keys;
        Threshold = threshold;
    }

    public IReadOnlyList<DevicePublicKey> Keys { get; }

    public int Threshold { get; }

    public static Result<NetworkAuthority> Create(IReadOnlyList<DevicePublicKey> keys, int threshold)
    {
        if (keys.Count is 0 or > MaxKeys) return new MalformedValue("authority keys", keys.Count.ToString(), $"1 to {MaxKeys} keys");
        if (keys.Distinct().Count() != keys.Count) return new MalformedValue("authority keys", "(a key twice)", "distinct keys");
        if (threshold < 1 || threshold > keys.Count) return new MalformedValue("authority threshold", threshold.ToString(), $"1 to {keys.Count}");
        return new NetworkAuthority(keys.ToArray(), threshold);
    }

    /// <summary>Checks that at least <see cref="Threshold"/> distinct keys of this authority signed the object.</summary>
    public Result<T> Verify<T>(AuthorityApproved<T> approved, NetworkId network) where T : ISignable<T>
    {
        if (approved.Payload.Network != network) return new WrongNetwork(ChannelId.None, network, approved.Payload.Network);
        var valid = 0;
        foreach (var (index, signature) in approved.Signatures)
        {
            if (index >= Keys.Count) return new UnknownAuthorityKey(T.Kind, index, Keys.Count);
            if (!Keys[index].Verifies(approved.Body, signature)) return new InvalidSignature(ChannelId.None, T.Kind, $"authority key {index}");
            valid++;
        }
        return valid >= Threshold ? approved.Payload : new AuthorityThresholdNotMet(T.Kind, valid, Threshold);
    }
}

/// <summary>
/// An object signed by some of the authority's keys. Wire form: the canonical body, a count byte, then
/// for each signature the index of the authority key (ascending, no repeats) and the 64-byte signature.
/// </summary>
public sealed class AuthorityApproved<T> where T : ISignable<T>
{
    private readonly byte[] _body;

    private AuthorityApproved(T payload, byte[] body, IReadOnlyList<(byte Index, byte[] Signature)> signatures)
    {
        Payload = payload;
        _body = body;
        Signatures = signatures;
    }

    public T Payload { get; }

    public ReadOnlySpan<byte> Body => _body;

    public IReadOnlyList<(byte Index, byte[] Signature)> Signatures { get; }

    /// <summary>Signs with the given keys of the authority, each named by its index in the authority's list.</summary>
    public static AuthorityApproved<T> Sign(T payload, IReadOnlyList<(byte Index, DeviceKeyPair Key)> signers)
    {
        var body = Signed<T>.EncodeBody(payload);
        var signatures = signers.OrderBy(s => s.Index).Select(s =>
        {
            var signature = new byte[Ed25519Signatures.SignatureBytes];
            s.Key.Sign(body, signature);
            return (s.Index, signature);
        }).ToArray();
        return new AuthorityApproved<T>(payload, body, signatures);
    }

    public byte[] ToArray()
    {
        var wire = new byte[_body.Length + 1 + Signatures.Count * (1 + Ed25519Signatures.SignatureBytes)];
        _body.CopyTo(wire, 0);
        var position = _body.Length;
        wire[position++] = (byte)Signatures.Count;
        foreach (var (index, signature) in Signatures)
        {
            wire[position++] = index;
            signature.CopyTo(wire, position);
            position += signature.Length;
        }
        return wire;
    }

    public static Result<AuthorityApproved<T>> Decode(ReadOnlySpan<byte> wire)
    {
        var maxWire = CanonicalWriter.MaxObjectBytes + 1 + NetworkAuthority.MaxKeys * (1 + Ed25519Signatures.SignatureBytes);
        if (wire.Length > maxWire) return new EncodingTooLarge(wire.Length, maxWire);
        // The body alone is read under the bound of any signed object; the approvals follow it.
        var reader = new CanonicalReader(wire[..Math.Min(wire.Length, CanonicalWriter.MaxObjectBytes)], T.Kind);
        if (reader.Failed) return reader.Error!;
        var payload = T.Read(ref reader);
        if (reader.Failed) return reader.Error!;
        var bodyLength = reader.Position;
        var rest = wire[bodyLength..];
        if (rest.Length < 1) return new Truncated(T.Kind, 1, 0);
        var count = rest[0];
        if (count is 0 or > NetworkAuthority.MaxKeys) return new LengthOutOfBounds(T.Kind, "approvals", count, NetworkAuthority.MaxKeys);
        var expected = 1 + count * (1 + Ed25519Signatures.SignatureBytes);
        if (rest.Length < expected) return new Truncated(T.Kind, expected, rest.Length);
        if (rest.Length > expected) return new TrailingBytes(T.Kind, rest.Length - expected);
        var signatures = new List<(byte, byte[])>(count);
        var position = 1;
        var last = -1;
        for (var i = 0; i < count; i++)
        {
            var index = rest[position++];
            if (index <= last) return new NonCanonicalEncoding(T.Kind, "approvals", "key indexes must ascend without repeats");
            last = index;
            signatures.Add((index, rest.Slice(position, Ed25519Signatures.SignatureBytes).ToArray()));
            position += Ed25519Signatures.SignatureBytes;
        }
        return new AuthorityApproved<T>(payload, wire[..bodyLength].ToArray(), signatures);
    }
}
