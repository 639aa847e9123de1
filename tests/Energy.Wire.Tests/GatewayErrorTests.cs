using System.Text.Json;
using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Wire.Tests;

/// <summary>
/// Every named error of the gateway: its code, what it says, and the error frame it is written as, byte for
/// byte the frame devices have always been sent for it.
/// </summary>
public sealed class GatewayErrorTests
{
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-1");

    /// <summary>Each error with the code and message devices read for it.</summary>
    public static TheoryData<GatewayError, string, string> Errors => new()
    {
        { new GatewayError.MalformedFrame(3, Vehicle, "op is missing"), "MalformedFrame", "op is missing" },
        { new GatewayError.FrameTooLarge(GatewayProtocol.MaxFrameBytes), "FrameTooLarge", "a frame is at most 16384 bytes" },
        { new GatewayError.BinaryMessage(), "MalformedFrame", "frames are JSON text" },
        { new GatewayError.MissingField(3, Vehicle, "channel"), "MissingField", "channel is missing" },
        { new GatewayError.UnknownOp(null, Vehicle, "fly"), "UnknownOp", "op 'fly' is not hello, auth or call" },
        { new GatewayError.UnknownAction(3, Vehicle, "channel.fly"), "UnknownAction", "action 'channel.fly' is not known" },
        { new GatewayError.InvalidSessionId(3, Vehicle, "S 1"), "InvalidSessionId", "session id 'S 1' is not 1 to 64 of [a-z0-9._:-]" },
        { new GatewayError.NotAuthenticated(3, Vehicle), "NotAuthenticated", "vehicle-1 has not authenticated on this connection" },
        { new GatewayError.DeviceIsRevoked(3, Vehicle), "DeviceIsRevoked", "the key of vehicle-1 is revoked" },
        { new GatewayError.DeviceNotFound(Vehicle), "DeviceNotFound", "vehicle-1 is not registered" },
        { new GatewayError.TooManyDevices(Vehicle, GatewayProtocol.MaxDevicesPerConnection), "TooManyDevices", "a connection carries at most 10000 devices" },
        { new GatewayError.TooManyChallenges(Vehicle, GatewayProtocol.MaxChallengesPerConnection, GatewayProtocol.ChallengeLifetime), "TooManyChallenges",
            "a connection holds at most 16 unanswered challenges: answer them, or wait 60 s" },
        { new GatewayError.GatewayBusy(Vehicle, 1000), "GatewayBusy", "1000 devices are authenticating on this node; try again shortly" },
        { new GatewayError.GatewayBusy(Vehicle, 1000, RetryAfter: 3), "GatewayBusy", "the node is behind with the devices it took on; say hello again in 3 s" },
        { new GatewayError.NoChallenge(Vehicle), "NoChallenge", "say hello for vehicle-1 first: there is no challenge to answer" },
        { new GatewayError.ChallengeMismatch(Vehicle), "ChallengeMismatch", "the signed challenge is not the one issued" },
        { new GatewayError.ChallengeExpired(Vehicle, GatewayProtocol.ChallengeLifetime), "ChallengeExpired", "a challenge must be answered within 60 s" },
        { new GatewayError.InvalidSignature(Vehicle), "InvalidSignature", "the challenge is not signed by the registered key of vehicle-1" },
        { new GatewayError.Timeout(null, Vehicle, "registry"), "Timeout", "the registry did not answer in time" },
        { new GatewayError.Timeout(3, Vehicle, "network"), "Timeout", "the network did not answer in time" },
        { new GatewayError.Protocol(null, Vehicle, new MalformedValue("signed", "AAAA", "a signed challenge")), "MalformedValue",
            "signed 'AAAA' is malformed; expected a signed challenge" },
        { new GatewayError.Refused(3, Vehicle, new MalformedValue("amount", "-1", "a positive amount")), "MalformedValue", "amount '-1' is malformed; expected a positive amount" },
        { new GatewayError.Refused(3, Vehicle, new RecordedError("SessionNotFound", "session s-1 has not been started")), "SessionNotFound", "session s-1 has not been started" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Each_error_has_its_code_and_says_what_it_refused(GatewayError error, string code, string message)
    {
        Assert.Equal((code, message), (error.Code, error.Describe()));
    }

    [Theory]
    [MemberData(nameof(Errors))]
    public void Each_error_is_written_as_the_frame_devices_have_always_been_sent(GatewayError error, string code, string message)
    {
        // The gateway wrote error frames from an anonymous object: the frame is the same, escaping included; a "busy,
        // retry" refusal that says when to come back adds retryAfter at the end.
        var expected = error.RetryAfterSeconds is { } retryAfter
            ? JsonSerializer.SerializeToUtf8Bytes(new { op = "error", id = error.Id, device = error.Device?.Value, code, message, retryAfter })
            : JsonSerializer.SerializeToUtf8Bytes(new { op = "error", id = error.Id, device = error.Device?.Value, code, message });
        Assert.Equal(expected, GatewayFrameWriter.Error(error));
    }

    [Fact]
    public void An_error_without_an_id_or_device_writes_them_as_null()
    {
        using var frame = JsonDocument.Parse(GatewayFrameWriter.Error(new GatewayError.MalformedFrame(null, null, "a frame is a JSON object")));
        Assert.Equal(JsonValueKind.Null, frame.RootElement.GetProperty("id").ValueKind);
        Assert.Equal(JsonValueKind.Null, frame.RootElement.GetProperty("device").ValueKind);
    }

    [Fact]
    public void Every_named_error_is_in_the_table_above()
    {
        var tested = Errors.Select(row => row[0].GetType()).ToHashSet();
        var named = typeof(GatewayError).GetNestedTypes().Where(t => t.IsSubclassOf(typeof(GatewayError)));
        Assert.Empty(named.Where(t => !tested.Contains(t)).Select(t => t.Name));
    }

    [Fact]
    public void A_device_reads_an_error_frame_back_as_its_code_and_message()
    {
        var written = GatewayFrameWriter.Error(new GatewayError.UnknownAction(9, Vehicle, "channel.fly"));
        using var frame = JsonDocument.Parse(written);
        var reply = WireJson.Read<ErrorReply>(frame.RootElement);
        Assert.Equal(new ErrorReply(9, Vehicle, "UnknownAction", "action 'channel.fly' is not known"), reply);
    }

    [Fact]
    public void A_busy_node_says_in_the_error_frame_when_to_say_hello_again_and_only_then()
    {
        using var behind = JsonDocument.Parse(GatewayFrameWriter.Error(new GatewayError.GatewayBusy(Vehicle, 1000, RetryAfter: 4)));
        Assert.Equal(4, WireJson.Read<ErrorReply>(behind.RootElement).RetryAfter);
        using var full = JsonDocument.Parse(GatewayFrameWriter.Error(new GatewayError.GatewayBusy(Vehicle, 1000)));
        Assert.False(full.RootElement.TryGetProperty("retryAfter", out _));
        Assert.Null(WireJson.Read<ErrorReply>(full.RootElement).RetryAfter);
    }
}
