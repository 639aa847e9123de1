using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;
using Energy.Wire;

namespace Energy.Lifecycles.Gateway;

/// <summary>
/// The rules of a device gateway connection, pure: a device says hello and gets a fresh challenge, signs it with its
/// registered key and is welcomed; only then are its calls served. Each frame takes the connection's state (and the
/// time, handed in) to the next state and what to answer; a frame refused gets a named <see cref="GatewayError"/> and
/// leaves the state as it was, but for the challenge it answered, which is spent whatever the outcome. What the
/// registry knows of a device (asked once, at its hello, and kept with the challenge), whether the node holds its key
/// revoked and whether the node has a place for one more challenge are looked up by the shell and handed in.
/// </summary>
public static class GatewayHandshake
{
    /// <summary>A frame of any op; an op the gateway does not know is refused by name.</summary>
    public static HandshakeStep Receive(GatewayHandshakeState state, GatewayFrame frame, Timestamp now, bool revokedOnNode) => frame.Op switch
    {
        GatewayOps.Hello => Hello(state, frame.Device, now),
        GatewayOps.Auth => Answer(state, frame.Device, frame.Signed, now, revokedOnNode),
        GatewayOps.Call => Call(state, frame, revokedOnNode),
        _ => Refuse(state, new GatewayError.UnknownOp(frame.Id, frame.Device, frame.Op)),
    };

    /// <summary>
    /// A hello: a device already authenticated here is welcomed again; otherwise, within the connection's bounds (expired
    /// challenges dropped first), the registry is to be asked about the device. A hello again for a device holding a
    /// challenge replaces it and takes no new place.
    /// </summary>
    public static HandshakeStep Hello(GatewayHandshakeState state, DeviceId device, Timestamp now)
    {
        if (state.IsAuthenticated(device)) return new(state, new HandshakeAnswer.Welcome(device, null));
        if (state.Authenticated.Count >= GatewayProtocol.MaxDevicesPerConnection)
            return Refuse(state, new GatewayError.TooManyDevices(device, GatewayProtocol.MaxDevicesPerConnection));
        var live = WithoutExpiredChallenges(state, now);
        var replacing = live.Challenges.ContainsKey(device);
        if (!replacing && live.Challenges.Count >= GatewayProtocol.MaxChallengesPerConnection)
            return Refuse(live, new GatewayError.TooManyChallenges(device, GatewayProtocol.MaxChallengesPerConnection, GatewayProtocol.ChallengeLifetime));
        return new(live, new HandshakeAnswer.LookUpToChallenge(device, TakesPlace: !replacing));
    }

    /// <summary>
    /// Whether the registry's answer admits the device to a challenge or an authentication: registered, and its key
    /// revoked neither in the registry nor on this node. The shell asks it before it takes a place for a challenge.
    /// </summary>
    public static bool Admits(DeviceView? registered, bool revokedOnNode) => registered is { Revoked: false } && !revokedOnNode;

    /// <summary>
    /// The challenge for a hello once the registry answered (null: it does not know the device) and, when the challenge
    /// takes a place, the node gave one or not. The challenge is built from the nonce and the time handed in.
    /// </summary>
    public static HandshakeStep Challenge(
        GatewayHandshakeState state, HandshakeAnswer.LookUpToChallenge hello, DeviceView? registered, bool revokedOnNode, ChallengePlace place,
        NetworkId network, byte[] nonce, Timestamp now)
    {
        if (Registration(hello.Device, registered, revokedOnNode) is { } refused) return Refuse(state, refused);
        // Only the one hello in flight changes the challenges: what was counted before the registry answered still holds.
        if (hello.TakesPlace && !place.Given) return Refuse(state, new GatewayError.GatewayBusy(hello.Device, place.NodeMax, place.RetryAfter));
        var challenge = new AuthenticationChallenge(network, PartyId.From(hello.Device), nonce, now);
        return new(state with { Challenges = state.Challenges.SetItem(hello.Device, new IssuedChallenge(challenge, registered!)) }, new HandshakeAnswer.Challenge(hello.Device, challenge));
    }

    /// <summary>
    /// A hello that would take a place while the node is behind: refused before the registry is asked (asking it is the
    /// work the node is behind with), saying when to come back; nothing changes. A hello that replaces a challenge the
    /// device holds takes no place and goes on.
    /// </summary>
    public static HandshakeStep? Defer(GatewayHandshakeState state, HandshakeAnswer.LookUpToChallenge hello, ChallengePlace behind) =>
        hello.TakesPlace && !behind.Given ? Refuse(state, new GatewayError.GatewayBusy(hello.Device, behind.NodeMax, behind.RetryAfter)) : null;

    /// <summary>
    /// An auth: the signed challenge must be the one issued to the device on this connection and still live, and signed
    /// by the key the registry held for the device when the challenge was issued, not revoked since on this node; the
    /// device is then authenticated. The challenge is spent whatever the outcome: only this connection could answer it,
    /// and a wrong answer is not tried twice.
    /// </summary>
    public static HandshakeStep Answer(GatewayHandshakeState state, DeviceId device, byte[] signed, Timestamp now, bool revokedOnNode)
    {
        if (!state.Challenges.TryGetValue(device, out var issued)) return Refuse(state, new GatewayError.NoChallenge(device));
        var spent = state with { Challenges = state.Challenges.Remove(device) };
        var decoded = Signed<AuthenticationChallenge>.Decode(signed);
        if (!decoded.IsOk) return Refuse(spent, new GatewayError.Protocol(null, device, decoded.Error));
        if (!decoded.Value.Payload.Equals(issued.Challenge)) return Refuse(spent, new GatewayError.ChallengeMismatch(device));
        if (Expired(issued.Challenge, now)) return Refuse(spent, new GatewayError.ChallengeExpired(device, GatewayProtocol.ChallengeLifetime));
        if (Registration(device, issued.Registered, revokedOnNode) is { } refused) return Refuse(spent, refused);
        var key = DevicePublicKey.FromHex(issued.Registered.PublicKeyHex);
        if (!key.IsOk || !decoded.Value.IsSignedBy(key.Value)) return Refuse(spent, new GatewayError.InvalidSignature(device));
        var next = spent with { Authenticated = spent.Authenticated.Add(device), EverAuthenticated = true };
        return new(next, new HandshakeAnswer.Welcome(device, issued.Registered));
    }

    /// <summary>A call: served for a device authenticated here; a device whose key the node holds revoked is refused and forgotten.</summary>
    public static HandshakeStep Call(GatewayHandshakeState state, GatewayFrame call, bool revokedOnNode)
    {
        if (!state.IsAuthenticated(call.Device)) return Refuse(state, new GatewayError.NotAuthenticated(call.Id, call.Device));
        if (revokedOnNode)
            return new(state with { Authenticated = state.Authenticated.Remove(call.Device) }, new HandshakeAnswer.Revoked(call.Device, new GatewayError.DeviceIsRevoked(call.Id, call.Device)));
        return new(state, new HandshakeAnswer.Serve(call));
    }

    /// <summary>
    /// The device authenticated on a newer connection, which alone serves it from now on: its calls here are refused as
    /// not authenticated, and once no device is left here the connection closes.
    /// </summary>
    public static HandshakeStep Replaced(GatewayHandshakeState state, DeviceId device)
    {
        var next = state with { Authenticated = state.Authenticated.Remove(device) };
        return new(next, next.Authenticated.IsEmpty ? HandshakeAnswer.Replaced.Instance : HandshakeAnswer.NothingToSend.Instance);
    }

    /// <summary>Whether a challenge issued at <paramref name="issued"/> can no longer be answered at <paramref name="now"/>.</summary>
    public static bool Expired(AuthenticationChallenge issued, Timestamp now) =>
        now.UnixMilliseconds - issued.IssuedAt.UnixMilliseconds > (long)GatewayProtocol.ChallengeLifetime.TotalMilliseconds;

    private static GatewayHandshakeState WithoutExpiredChallenges(GatewayHandshakeState state, Timestamp now)
    {
        var expired = state.Challenges.Where(c => Expired(c.Value.Challenge, now)).Select(c => c.Key).ToList();
        return expired.Count == 0 ? state : state with { Challenges = state.Challenges.RemoveRange(expired) };
    }

    private static GatewayError? Registration(DeviceId device, DeviceView? registered, bool revokedOnNode) =>
        registered is null ? new GatewayError.DeviceNotFound(device)
        : !Admits(registered, revokedOnNode) ? new GatewayError.DeviceIsRevoked(null, device)
        : null;

    private static HandshakeStep Refuse(GatewayHandshakeState state, GatewayError error) => new(state, new HandshakeAnswer.Refused(error));
}
