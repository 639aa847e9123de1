using System.Text;
using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Gateway;
using Energy.Fuzzing;
using Energy.Wire;
using Xunit.Abstractions;
using Energy.Lifecycles.Charging;

namespace Energy.Cluster.Tests.Fuzzing;

/// <summary>
/// The fuzz target for what a device sends the gateway, under both subprotocols: a message reads into
/// frames, each a frame or a named error that can be written back; a frame's fields read into a command
/// or a named refusal; never an exception, so no hostile message can drop a connection.
/// </summary>
public sealed class GatewayFuzzTests(ITestOutputHelper output)
{
    private const string ReplyPath = "akka://energy/user/gateway-connection";

    /// <summary>The codes a frame can be refused with before it reaches an entity.</summary>
    private static readonly IReadOnlySet<string> FrameCodes = new HashSet<string>(StringComparer.Ordinal)
    {
        "MalformedFrame", "MissingField", "UnknownAction", "InvalidSessionId",
    };

    private static readonly string[] Frames = Build();

    private static string[] Build()
    {
        var key = DeviceKeyPair.Generate();
        var challenge = new AuthenticationChallenge(NetworkId.Of("energy"), PartyId.From(DeviceId.Of("vehicle-1")), new byte[AuthenticationChallenge.NonceBytes], new Timestamp(1_800_000_000_000));
        var signed = Convert.ToBase64String(Signed<AuthenticationChallenge>.Sign(challenge, key).ToArray());
        string Call(int id, string device, string action, string args) =>
            $$"""{"op":"call","id":{{id}},"device":"{{device}}","action":"{{action}}","args":{""" + args + "}}";
        return
        [
            """{"op":"hello","device":"vehicle-1"}""",
            $$"""{"op":"auth","device":"vehicle-1","signed":"{{signed}}"}""",
            Call(1, "charger-1", "session.start", """ "session":"s-1","vehicle":"vehicle-1","pricePerKwh":30,"credit":500,"reading":"AAEC","zone":"zone-north" """),
            Call(2, "vehicle-1", "session.accept", """ "session":"s-1","channel":"ch-1" """),
            Call(3, "charger-1", "session.reading", """ "session":"s-1","reading":"AAEC" """),
            Call(4, "vehicle-1", "session.pay", """ "session":"s-1","voucher":"AAEC" """),
            Call(5, "charger-1", "session.stop", """ "session":"s-1","reading":"AAEC" """),
            Call(6, "vehicle-1", "session.get", """ "session":"s-1" """),
            Call(7, "gantry-1", "toll.pass", """ "request":"AAEC" """),
            Call(8, "vehicle-1", "toll.pay", """ "pass":"gantry-1.17","voucher":"AAEC" """),
            Call(9, "vehicle-1", "toll.decline", """ "pass":"gantry-1.17","reason":"no channel" """),
            Call(10, "gantry-1", "toll.gantry", ""),
            Call(11, "vehicle-1", "channel.voucher", """ "channel":"ch-1","voucher":"AAEC" """),
            Call(12, "vehicle-1", "channel.get", """ "channel":"ch-1" """),
        ];
    }

    private static IEnumerable<byte[]> Samples(bool batching)
    {
        foreach (var frame in Frames) yield return Encoding.UTF8.GetBytes(frame);
        if (!batching) yield break;
        yield return Encoding.UTF8.GetBytes($"[{string.Join(',', Frames)}]");
        yield return Encoding.UTF8.GetBytes($"[{Frames[0]},{Frames[1]}]");
    }

    /// <summary>Frames that once threw out of the connection's reader, or reached an entity with a second value for a key.</summary>
    private static readonly byte[][] Regressions =
    [
        "{\"op\":\"hello\",\"device\":\"\\ud800\"}"u8.ToArray(),
        "[{\"op\":\"hello\",\"device\":\"vehicle-1\"},{\"op\":\"hello\",\"device\":\"\\udc00\"}]"u8.ToArray(),
        [.. "{\"op\":\"hello\",\"device\":\""u8, 0xFF, .. "\"}"u8],
        [.. "{\"op\":\"call\",\"id\":1,\"device\":\"vehicle-1\",\"action\":\"channel.get\",\"args\":{\"channel\":\""u8, 0xC0, 0x80, .. "\"}}"u8],
        "{\"op\":\"call\",\"id\":1,\"device\":\"vehicle-1\",\"action\":\"channel.get\",\"args\":{\"channel\":\"ch-1\",\"channel\":\"ch-2\"}}"u8.ToArray(),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Hostile_messages_read_into_frames_and_commands_or_named_errors(bool batching)
    {
        var fuzzer = new MutationFuzzer($"GatewayCodec.ReadMessage (batching: {batching}) + GatewayCommands.Of", Samples(batching))
        {
            Dictionary = [.. JsonTokens.Hostile, .. FieldTokens],
            Wrappers = JsonTokens.Nesting,
            Regressions = Regressions,
            MaxInputBytes = GatewayProtocol.MaxFrameBytes,
        };
        var report = fuzzer.Run(input => AnswersWithoutThrowing(input, batching));
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted >= Frames.Length, report.ToString());
        Assert.True(report.Accepted < report.Inputs, report.ToString());
    }

    private static readonly byte[][] FieldTokens =
    [
        .. new[] { "op", "id", "device", "action", "args", "session", "channel", "voucher", "reading", "pass", "credit", "zone" }
            .Select(name => Encoding.UTF8.GetBytes($"\"{name}\":\"x\",")),
        .. new[] { "\"call\"", "\"auth\"", "\"hello\"", "\"session.start\"", "\"toll.pay\"", "\"vehicle-1\"", "\"gantry-1.\"", "\".17\"", "\"AAEC\"", "\"A===\"" }
            .Select(Encoding.UTF8.GetBytes),
    ];

    /// <summary>The property: every read is a frame or an answerable named error; reading a frame's fields throws nothing but a named refusal.</summary>
    private static bool AnswersWithoutThrowing(byte[] input, bool batching)
    {
        var reads = GatewayCodec.ReadMessage(input, batching);
        // An empty batch holds no frame to answer; anything else reads into at least one frame or error.
        Assert.InRange(reads.Count, batching ? 0 : 1, GatewayProtocol.MaxFramesPerBatch);
        var accepted = false;
        foreach (var read in reads)
        {
            Assert.True(read.Frame is null != read.Error is null, "a read is a frame or an error");
            if (read.Error is { } error)
            {
                Assert.Contains(error.Code, FrameCodes);
                AssertAnswerable(error);
                continue;
            }
            accepted |= ReadsFields(read.Frame!);
        }
        return accepted;
    }

    /// <summary>
    /// What the connection does with a frame before any entity sees it. Only a call's command may be
    /// refused here (the connection answers that refusal); an auth's challenge was read with the frame.
    /// </summary>
    private static bool ReadsFields(GatewayFrame frame)
    {
        Assert.True(IdentifierRules.IsValid(frame.Device.Value));
        if (frame.Op == GatewayOps.Auth)
        {
            var decoded = Signed<AuthenticationChallenge>.Decode(frame.Signed);
            if (!decoded.IsOk) AssertAnswerable(new GatewayError.Protocol(null, frame.Device, decoded.Error));
        }
        if (frame.Op != GatewayOps.Call) return true;
        Assert.NotNull(frame.Id);
        var read = GatewayCommands.Of(frame, Currency.Eur, ReplyPath);
        if (read.IsOk)
        {
            Assert.NotNull(read.Value);
            return true;
        }
        Assert.Contains(read.Error!.Code, FrameCodes);
        Assert.Equal((frame.Id, frame.Device), (read.Error.Id, read.Error.Device));
        AssertAnswerable(read.Error);
        return false;
    }

    /// <summary>The error frame the gateway would send: JSON whose op is error and whose code is the one named.</summary>
    private static void AssertAnswerable(GatewayError error)
    {
        Assert.False(string.IsNullOrEmpty(error.Code), $"no code for: {error.Describe()}");
        using var answer = JsonDocument.Parse(DeviceGateway.Error(error));
        Assert.Equal("error", answer.RootElement.GetProperty("op").GetString());
        Assert.Equal(error.Code, answer.RootElement.GetProperty("code").GetString());
        if (error.Id is { } id) Assert.Equal(id, answer.RootElement.GetProperty("id").GetInt64());
    }
}
