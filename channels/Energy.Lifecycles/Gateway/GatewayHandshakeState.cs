using System.Collections.Immutable;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;
using Energy.Wire;

namespace Energy.Lifecycles.Gateway;

/// <summary>
/// What one gateway connection knows of its devices: those authenticated on it, the challenges it issued that are
/// not answered yet (at most one per device), and whether any device ever authenticated on it (a connection on which
/// none did is closed after a bound).
/// </summary>
public sealed record GatewayHandshakeState(
    ImmutableHashSet<DeviceId> Authenticated,
    ImmutableDictionary<DeviceId, IssuedChallenge> Challenges,
    bool EverAuthenticated)
{
    public static readonly GatewayHandshakeState Empty =
        new(ImmutableHashSet<DeviceId>.Empty, ImmutableDictionary<DeviceId, IssuedChallenge>.Empty, false);

    public bool IsAuthenticated(DeviceId device) => Authenticated.Contains(device);
}

/// <summary>
/// A challenge issued to a device, with what the registry said of the device when it was issued: the answer is checked
/// against that registration without asking the registry again. A device's key never changes once endorsed, and a
/// revocation since reaches the node's revocation list before it is recorded, so nothing the second answer could say
/// is missed.
/// </summary>
public sealed record IssuedChallenge(AuthenticationChallenge Challenge, DeviceView Registered);

/// <summary>
/// The node's answer when a hello asked it for one more challenge place: given or not, and how many challenges the node
/// holds at most over every connection; when the node is behind (the devices it took on have waited too long), the
/// seconds after which to say hello again.
/// </summary>
public readonly record struct ChallengePlace(bool Given, int NodeMax, int? RetryAfter = null)
{
    /// <summary>No place: the node is behind, and a device is to come back after <paramref name="retryAfter"/> seconds.</summary>
    public static ChallengePlace Behind(int nodeMax, int retryAfter) => new(false, nodeMax, retryAfter);
}

/// <summary>A frame's outcome: the connection's next state and what it answers (or must learn before it can).</summary>
public readonly record struct HandshakeStep(GatewayHandshakeState State, HandshakeAnswer Answer);

/// <summary>What the connection does with a frame: an answer to send, a question for the registry, or a call to serve.</summary>
public abstract record HandshakeAnswer
{
    private HandshakeAnswer()
    {
    }

    /// <summary>The frame is refused with this named error.</summary>
    public sealed record Refused(GatewayError Error) : HandshakeAnswer;

    /// <summary>The device is authenticated on this connection; <paramref name="Registered"/> is its registration when it has just authenticated.</summary>
    public sealed record Welcome(DeviceId Device, DeviceView? Registered) : HandshakeAnswer;

    /// <summary>A fresh challenge for the device to sign with its registered key.</summary>
    public sealed record Challenge(DeviceId Device, AuthenticationChallenge Issued) : HandshakeAnswer;

    /// <summary>
    /// A hello that is answered once the registry has said what it knows of the device. A challenge for a device that
    /// holds none on the connection takes one of the node's places (<paramref name="TakesPlace"/>).
    /// </summary>
    public sealed record LookUpToChallenge(DeviceId Device, bool TakesPlace) : HandshakeAnswer;

    /// <summary>A call of a device authenticated on this connection: it goes to its entity.</summary>
    public sealed record Serve(GatewayFrame Call) : HandshakeAnswer;

    /// <summary>The device's key was revoked while it was connected: the call is refused and the device is no longer served here.</summary>
    public sealed record Revoked(DeviceId Device, GatewayError Error) : HandshakeAnswer;

    /// <summary>Every device of the connection authenticated on a newer one: the connection closes.</summary>
    public sealed record Replaced : HandshakeAnswer
    {
        public static readonly Replaced Instance = new();
    }

    /// <summary>Nothing to send.</summary>
    public sealed record NothingToSend : HandshakeAnswer
    {
        public static readonly NothingToSend Instance = new();
    }
}
