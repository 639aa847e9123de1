using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Wire;

/// <summary>
/// A refusal the gateway answers with an error frame: the id and device of the frame it answers, when they
/// could be read, a stable code (the type's name) and a description for people. Each carries the values it
/// refused, so a test or a log names what was wrong without parsing a message.
/// </summary>
public abstract record GatewayError(long? Id, DeviceId? Device)
{
    /// <summary>The stable, machine-readable name of this error (the type name).</summary>
    public virtual string Code => GetType().Name;

    public abstract string Describe();

    /// <summary>For a "busy, retry" refusal, the seconds after which to try again (the error frame's retryAfter); null otherwise.</summary>
    public virtual int? RetryAfterSeconds => null;

    public override string ToString() => $"{Code}: {Describe()}";

    /// <summary>The message or one of its frames cannot be read: not JSON, not an object, over a bound, or a field of the wrong kind.</summary>
    public sealed record MalformedFrame(long? Id, DeviceId? Device, string Reason) : GatewayError(Id, Device)
    {
        public override string Describe() => Reason;
    }

    /// <summary>The message is over <see cref="GatewayProtocol.MaxFrameBytes"/>; the rest of it was read and dropped.</summary>
    public sealed record FrameTooLarge(int MaxBytes) : GatewayError(null, null)
    {
        public override string Describe() => $"a frame is at most {MaxBytes} bytes";
    }

    /// <summary>A binary WebSocket message: frames are JSON text.</summary>
    public sealed record BinaryMessage() : GatewayError(null, null)
    {
        // Devices have always been told MalformedFrame for this; the type says which malformation it was.
        public override string Code => nameof(MalformedFrame);

        public override string Describe() => "frames are JSON text";
    }

    public sealed record MissingField(long? Id, DeviceId? Device, string Field) : GatewayError(Id, Device)
    {
        public override string Describe() => $"{Field} is missing";
    }

    public sealed record UnknownOp(long? Id, DeviceId? Device, string Op) : GatewayError(Id, Device)
    {
        public override string Describe() => $"op '{Op}' is not {GatewayOps.Hello}, {GatewayOps.Auth} or {GatewayOps.Call}";
    }

    public sealed record UnknownAction(long? Id, DeviceId? Device, string Action) : GatewayError(Id, Device)
    {
        public override string Describe() => $"action '{Action}' is not known";
    }

    public sealed record InvalidSessionId(long? Id, DeviceId? Device, string Session) : GatewayError(Id, Device)
    {
        public override string Describe() => $"session id '{Session}' is not 1 to 64 of [a-z0-9._:-]";
    }

    public sealed record NotAuthenticated(long? Id, DeviceId Caller) : GatewayError(Id, Caller)
    {
        public override string Describe() => $"{Caller} has not authenticated on this connection";
    }

    public sealed record DeviceIsRevoked(long? Id, DeviceId Caller) : GatewayError(Id, Caller)
    {
        public override string Describe() => $"the key of {Caller} is revoked";
    }

    public sealed record DeviceNotFound(DeviceId Caller) : GatewayError(null, Caller)
    {
        public override string Describe() => $"{Caller} is not registered";
    }

    public sealed record TooManyDevices(DeviceId Caller, int Max) : GatewayError(null, Caller)
    {
        public override string Describe() => $"a connection carries at most {Max} devices";
    }

    public sealed record TooManyChallenges(DeviceId Caller, int Max, TimeSpan Lifetime) : GatewayError(null, Caller)
    {
        public override string Describe() => $"a connection holds at most {Max} unanswered challenges: answer them, or wait {Lifetime.TotalSeconds:0} s";
    }

    /// <summary>
    /// The node takes on no more devices now: it has as many authenticating as it allows (over every connection), or,
    /// with <paramref name="RetryAfter"/>, the devices it took on have waited too long already (it is waking them more
    /// slowly than they arrive) and the hello is to come again after that many seconds.
    /// </summary>
    public sealed record GatewayBusy(DeviceId Caller, int Max, int? RetryAfter = null) : GatewayError(null, Caller)
    {
        public override int? RetryAfterSeconds => RetryAfter;

        public override string Describe() => RetryAfter is { } seconds
            ? $"the node is behind with the devices it took on; say hello again in {seconds} s"
            : $"{Max} devices are authenticating on this node; try again shortly";
    }

    public sealed record NoChallenge(DeviceId Caller) : GatewayError(null, Caller)
    {
        public override string Describe() => $"say {GatewayOps.Hello} for {Caller} first: there is no challenge to answer";
    }

    public sealed record ChallengeMismatch(DeviceId Caller) : GatewayError(null, Caller)
    {
        public override string Describe() => "the signed challenge is not the one issued";
    }

    public sealed record ChallengeExpired(DeviceId Caller, TimeSpan Lifetime) : GatewayError(null, Caller)
    {
        public override string Describe() => $"a challenge must be answered within {Lifetime.TotalSeconds} s";
    }

    public sealed record InvalidSignature(DeviceId Caller) : GatewayError(null, Caller)
    {
        public override string Describe() => $"the challenge is not signed by the registered key of {Caller}";
    }

    /// <summary>The registry or an entity did not answer within the ask timeout.</summary>
    public sealed record Timeout(long? Id, DeviceId? Device, string Silent) : GatewayError(Id, Device)
    {
        public override string Describe() => $"the {Silent} did not answer in time";
    }

    /// <summary>The protocol refused what a frame carried (a signed challenge that does not decode, for instance).</summary>
    public sealed record Protocol(long? Id, DeviceId? Device, ProtocolError Error) : GatewayError(Id, Device)
    {
        public override string Code => Error.Code;

        public override string Describe() => Error.Describe();
    }

    /// <summary>An entity refused a call: its named error, passed on to the device by its code and description.</summary>
    public sealed record Refused(long? Id, DeviceId? Device, Energy.Channels.ProtocolError Error) : GatewayError(Id, Device)
    {
        public override string Code => Error.Code;

        public override string Describe() => Error.Describe();
    }
}
