namespace Energy.Wire;

/// <summary>
/// What a device must know to speak to the gateway: where it listens, the subprotocols it offers, and the
/// bounds it enforces. A device that keeps to these is never refused for size or count.
/// </summary>
public static class GatewayProtocol
{
    public const string Path = "/gateway";

    /// <summary>One frame per WebSocket message.</summary>
    public const string Subprotocol = "energy.gateway.v1";

    /// <summary>A message may also carry a JSON array of frames, in both directions.</summary>
    public const string BatchingSubprotocol = "energy.gateway.v2";

    /// <summary>The bound on one incoming message: a frame, or under batching a whole batch of them.</summary>
    public const int MaxFrameBytes = 16 * 1024;

    public const int MaxFramesPerBatch = 256;

    /// <summary>The bound on one batch the gateway sends; a device's read buffer must take it.</summary>
    public const int MaxBatchBytes = 64 * 1024;

    /// <summary>A frame nests at most this deep; a batch adds its array.</summary>
    public const int MaxFrameDepth = 8;

    public const int MaxDevicesPerConnection = 10_000;

    public const int MaxChallengesPerConnection = 16;

    /// <summary>Calls in flight on one connection; past it the gateway stops reading until one is answered.</summary>
    public const int MaxCallsInFlight = 512;

    /// <summary>How long a challenge can be answered after it was issued.</summary>
    public static readonly TimeSpan ChallengeLifetime = TimeSpan.FromSeconds(60);
}

/// <summary>The op of every frame: what a device sends (hello, auth, call) and what the gateway answers or pushes.</summary>
public static class GatewayOps
{
    public const string Hello = "hello";
    public const string Auth = "auth";
    public const string Call = "call";
    public const string Challenge = "challenge";
    public const string Welcome = "welcome";
    public const string Result = "result";
    public const string Error = "error";
    public const string Event = "event";
}

/// <summary>Every action a device can call. Each has its arguments' record in <see cref="GatewayCalls"/>.</summary>
public static class GatewayActions
{
    public const string SessionStart = "session.start";
    public const string SessionAccept = "session.accept";
    public const string SessionReading = "session.reading";
    public const string SessionPay = "session.pay";
    public const string SessionStop = "session.stop";
    public const string SessionGet = "session.get";
    public const string TollPass = "toll.pass";
    public const string TollPay = "toll.pay";
    public const string TollDecline = "toll.decline";
    public const string TollGantry = "toll.gantry";
    public const string ChannelVoucher = "channel.voucher";
    public const string ChannelGet = "channel.get";
}

/// <summary>Every event the network pushes to a device. Each has its body's record in <see cref="GatewayEventBodies"/>.</summary>
public static class GatewayEvents
{
    public const string SessionOffer = "session.offer";
    public const string SessionAccepted = "session.accepted";
    public const string SessionReading = "session.reading";
    public const string SessionPaid = "session.paid";
    public const string SessionSuspend = "session.suspend";
    public const string SessionResume = "session.resume";
    public const string SessionCompleted = "session.completed";
    public const string TollRequest = "toll.request";
    public const string TollPrice = "toll.price";
    public const string TollConfirmed = "toll.confirmed";
    public const string TollViolation = "toll.violation";
}
