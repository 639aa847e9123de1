using System.Text;
using Energy.Channels.Primitives;

namespace Energy.Wire.Tests;

/// <summary>How a WebSocket message a device sends reads into frames, each a frame or a named error.</summary>
public sealed class GatewayCodecTests
{
    private static IReadOnlyList<FrameRead> Read(string text, bool batching = false) =>
        GatewayCodec.ReadMessage(Encoding.UTF8.GetBytes(text), batching);

    private static GatewayFrame ReadOne(string text) => Assert.Single(Read(text)).Frame!;

    private static GatewayError Refused(FrameRead read)
    {
        Assert.Null(read.Frame);
        return read.Error!;
    }

    [Fact]
    public void A_hello_is_read_with_its_op_and_device()
    {
        var frame = ReadOne("""{"op":"hello","device":"vehicle-1"}""");
        Assert.Equal((GatewayOps.Hello, DeviceId.Of("vehicle-1")), (frame.Op, frame.Device));
    }

    [Fact]
    public void A_call_is_read_with_its_id_and_action()
    {
        var frame = ReadOne("""{"op":"call","id":7,"device":"vehicle-1","action":"channel.get","args":{"channel":"ch-1"}}""");
        Assert.Equal((GatewayOps.Call, 7L, GatewayActions.ChannelGet), (frame.Op, frame.Id, frame.Action));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,")]
    [InlineData("""{"op":"hello","device":"vehicle-1"}{}""")]
    public void A_message_that_is_not_JSON_is_one_MalformedFrame(string text)
    {
        var error = Assert.IsType<GatewayError.MalformedFrame>(Refused(Assert.Single(Read(text, batching: true))));
        Assert.Null(error.Id);
        Assert.Null(error.Device);
    }

    [Fact]
    public void An_empty_batch_is_one_MalformedFrame_so_its_sender_gets_an_answer()
    {
        var error = Assert.IsType<GatewayError.MalformedFrame>(Refused(Assert.Single(Read("[]", batching: true))));
        Assert.Equal("a batch holds at least one frame", error.Reason);
    }

    [Theory]
    [InlineData("""[{"op":"hello","device":"vehicle-1"}]""", null)]
    [InlineData("""{"device":"vehicle-1"}""", null)]
    [InlineData("""{"op":"hello"}""", null)]
    [InlineData("""{"op":"hello","device":"Vehicle 1"}""", null)]
    [InlineData("""{"op":"call","device":"vehicle-1","action":"channel.get","args":{}}""", null)]
    [InlineData("""{"op":"call","id":3,"device":"vehicle-1","args":{}}""", 3L)]
    [InlineData("""{"op":"call","id":3,"device":"vehicle-1","action":"channel.get","args":[]}""", 3L)]
    public void A_frame_without_what_it_needs_is_a_MalformedFrame_answered_to_its_id(string text, long? id)
    {
        var error = Assert.IsType<GatewayError.MalformedFrame>(Refused(Assert.Single(Read(text))));
        Assert.Equal(id, error.Id);
    }

    [Theory]
    // The connection read these while authenticating, where a refusal escaped and dropped the connection.
    [InlineData("""{"op":"auth","device":"vehicle-1"}""", "MissingField")]
    [InlineData("""{"op":"auth","device":"vehicle-1","signed":7}""", "MalformedFrame")]
    [InlineData("""{"op":"auth","device":"vehicle-1","signed":"not base64!"}""", "MalformedFrame")]
    public void An_auth_without_a_base64_signed_challenge_is_refused_as_it_is_read(string text, string code)
    {
        var error = Refused(Assert.Single(Read(text)));
        Assert.Equal((code, DeviceId.Of("vehicle-1")), (error.Code, error.Device));
    }

    [Fact]
    public void An_auth_without_its_signed_challenge_names_the_missing_field()
    {
        var error = Assert.IsType<GatewayError.MissingField>(Refused(Assert.Single(Read("""{"op":"auth","device":"vehicle-1"}"""))));
        Assert.Equal("signed", error.Field);
    }

    [Fact]
    public void An_auth_is_read_with_its_signed_challenge()
    {
        Assert.Equal([1, 2, 3], ReadOne("""{"op":"auth","device":"vehicle-1","signed":"AQID"}""").Signed);
    }

    [Fact]
    public void An_op_the_gateway_does_not_know_is_read_for_the_gateway_to_refuse_by_name()
    {
        Assert.Equal("fly", ReadOne("""{"op":"fly","device":"vehicle-1"}""").Op);
    }

    [Fact]
    public void A_batch_is_read_frame_by_frame_and_a_bad_frame_does_not_spoil_the_others()
    {
        var reads = Read("""[{"op":"hello","device":"vehicle-1"},{"op":"hello"},{"op":"hello","device":"vehicle-2"}]""", batching: true);
        Assert.Equal(3, reads.Count);
        Assert.Equal(DeviceId.Of("vehicle-1"), reads[0].Frame!.Device);
        Assert.IsType<GatewayError.MalformedFrame>(Refused(reads[1]));
        Assert.Equal(DeviceId.Of("vehicle-2"), reads[2].Frame!.Device);
    }

    [Fact]
    public void Without_batching_an_array_is_one_MalformedFrame()
    {
        Assert.IsType<GatewayError.MalformedFrame>(Refused(Assert.Single(Read("""[{"op":"hello","device":"vehicle-1"}]"""))));
    }

    [Fact]
    public void A_batch_at_its_bound_is_read_and_one_over_it_is_one_MalformedFrame()
    {
        string Batch(int count) => $"[{string.Join(',', Enumerable.Repeat("""{"op":"hello","device":"vehicle-1"}""", count))}]";
        Assert.Equal(GatewayProtocol.MaxFramesPerBatch, Read(Batch(GatewayProtocol.MaxFramesPerBatch), batching: true).Count(r => r.Frame is not null));
        var error = Assert.IsType<GatewayError.MalformedFrame>(Refused(Assert.Single(Read(Batch(GatewayProtocol.MaxFramesPerBatch + 1), batching: true))));
        Assert.Equal($"a batch holds at most {GatewayProtocol.MaxFramesPerBatch} frames", error.Reason);
    }

    [Fact]
    public void A_frame_nested_deeper_than_its_bound_is_a_MalformedFrame()
    {
        Assert.IsType<GatewayError.MalformedFrame>(Refused(Assert.Single(Read("""{"op":"hello","device":"vehicle-1","x":[[[[[[[[1]]]]]]]]}"""))));
        Assert.NotNull(Assert.Single(Read("""{"op":"hello","device":"vehicle-1","x":[[[[[[1]]]]]]}""")).Frame);
    }

    public static TheoryData<byte[], long?> IllFormedFrames => new()
    {
        // A lone surrogate as the device, before any device has authenticated.
        { "{\"op\":\"hello\",\"device\":\"\\ud800\"}"u8.ToArray(), null },
        // A byte that is never UTF-8, and an overlong NUL, beside valid fields.
        { [.. "{\"op\":\"hello\",\"device\":\"vehicle-1\",\"x\":\""u8, 0xFF, .. "\"}"u8], null },
        { [.. "{\"op\":\"hello\",\"device\":\"vehicle-1\",\"x\":\""u8, 0xC0, 0x80, .. "\"}"u8], null },
        // In a call's argument: the call is answered by its id.
        { "{\"op\":\"call\",\"id\":9,\"device\":\"vehicle-1\",\"action\":\"channel.get\",\"args\":{\"channel\":\"\\udc00\"}}"u8.ToArray(), 9 },
        // In a member name, where looking up another name of the same length threw.
        { "{\"\\ud800\":1,\"id\":5,\"op\":\"hello\",\"device\":\"vehicle-1\"}"u8.ToArray(), 5 },
        { "{\"op\":\"hello\",\"\\ud800\":\"vehicle-1\"}"u8.ToArray(), null },
        { "{\"\\udc00\":6,\"id\":3,\"op\":\"call\",\"device\":\"vehicle-1\",\"action\":\"channel.get\",\"args\":{}}"u8.ToArray(), 3 },
        // A repeated key: which op or device would count?
        { "{\"op\":\"hello\",\"op\":\"call\",\"device\":\"vehicle-1\"}"u8.ToArray(), null },
        { "{\"op\":\"call\",\"id\":4,\"device\":\"vehicle-1\",\"action\":\"channel.get\",\"args\":{\"channel\":\"ch-1\",\"channel\":\"ch-2\"}}"u8.ToArray(), 4 },
    };

    [Theory]
    [MemberData(nameof(IllFormedFrames))]
    public void A_frame_with_ill_formed_text_or_a_repeated_key_is_a_MalformedFrame(byte[] message, long? id)
    {
        var error = Assert.IsType<GatewayError.MalformedFrame>(Refused(Assert.Single(GatewayCodec.ReadMessage(message, batching: false))));
        Assert.Equal(id, error.Id);
    }

    [Fact]
    public void In_a_batch_only_the_frame_with_ill_formed_text_is_refused()
    {
        var reads = Read("""[{"op":"hello","device":"vehicle-1"},{"op":"hello","device":"\ud800"},{"op":"hello","device":"vehicle-3"}]""", batching: true);
        Assert.Equal(3, reads.Count);
        Assert.Equal(DeviceId.Of("vehicle-1"), reads[0].Frame!.Device);
        Assert.IsType<GatewayError.MalformedFrame>(Refused(reads[1]));
        Assert.Equal(DeviceId.Of("vehicle-3"), reads[2].Frame!.Device);
    }
}
