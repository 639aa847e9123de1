using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Identity;

/// <summary>
/// A challenge a device signs to prove it holds its registered key when it connects. The nonce comes
/// from the network and is used once.
/// </summary>
public sealed record AuthenticationChallenge(NetworkId Network, DeviceId Device, byte[] Nonce, Timestamp IssuedAt)
    : ISignable<AuthenticationChallenge>
{
    public const int NonceBytes = 32;

    public bool Equals(AuthenticationChallenge? other) =>
        other is not null && Network == other.Network && Device == other.Device && IssuedAt == other.IssuedAt && Nonce.AsSpan().SequenceEqual(other.Nonce);

    public override int GetHashCode() => HashCode.Combine(Network, Device, IssuedAt, Nonce.Length > 0 ? Nonce[0] : 0);

    public static ObjectKind Kind => ObjectKind.AuthenticationChallenge;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        if (Nonce.Length != NonceBytes) throw new ArgumentException($"a nonce has {NonceBytes} bytes");
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Device.Value);
        writer.WriteBytes(Nonce);
        writer.WriteInt64(IssuedAt.UnixMilliseconds);
    }

    public static AuthenticationChallenge Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var device = reader.ReadIdentifier("device");
        var nonce = reader.ReadBytes(NonceBytes).ToArray();
        var issuedAt = reader.ReadInt64();
        return reader.Failed ? null! : new AuthenticationChallenge(network, new DeviceId(device), nonce, new Timestamp(issuedAt));
    }
}
