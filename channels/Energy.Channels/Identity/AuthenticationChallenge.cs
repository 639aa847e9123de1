using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>
/// A challenge a party signs to prove it holds its registered key: a device connecting to the gateway,
/// an operator (or its dashboard key) signing in. The nonce comes from the network and is used once.
/// </summary>
public sealed record AuthenticationChallenge(NetworkId Network, PartyId Party, byte[] Nonce, Timestamp IssuedAt)
    : ISignable<AuthenticationChallenge>
{
    public const int NonceBytes = 32;

    public bool Equals(AuthenticationChallenge? other) =>
        other is not null && Network == other.Network && Party == other.Party && IssuedAt == other.IssuedAt && Nonce.AsSpan().SequenceEqual(other.Nonce);

    public override int GetHashCode() => HashCode.Combine(Network, Party, IssuedAt, Nonce.Length > 0 ? Nonce[0] : 0);

    public static ObjectKind Kind => ObjectKind.AuthenticationChallenge;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        if (Nonce.Length != NonceBytes) throw new ArgumentException($"a nonce has {NonceBytes} bytes");
        writer.WriteHeader(Kind, Network);
        writer.WriteParty(Party);
        writer.WriteBytes(Nonce);
        writer.WriteInt64(IssuedAt.UnixMilliseconds);
    }

    public static AuthenticationChallenge Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var party = reader.ReadParty("party");
        var nonce = reader.ReadBytes(NonceBytes).ToArray();
        var issuedAt = reader.ReadInt64();
        return reader.Failed ? null! : new AuthenticationChallenge(network, party, nonce, new Timestamp(issuedAt));
    }
}
