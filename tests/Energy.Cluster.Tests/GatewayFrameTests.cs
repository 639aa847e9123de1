using System.Text;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Charging;
using Energy.Cluster.Gateway;

namespace Energy.Cluster.Tests;

/// <summary>How the device gateway reads a WebSocket message into frames and a call into a command, without a node.</summary>
public sealed class GatewayFrameTests
{
    private const string ReplyPath = "akka://test/user/connection";

    private static IReadOnlyList<DeviceGateway.FrameRead> Read(string text, bool batching = false) =>
        DeviceGateway.ReadMessage(Encoding.UTF8.GetBytes(text), batching);

    private static DeviceGateway.Frame ReadOne(string text) => Assert.Single(Read(text)).Frame!;

    private static DeviceGateway.FrameError Refused(DeviceGateway.FrameRead read)
    {
        Assert.Null(read.Frame);
        return read.Error!;
    }

    private static object Command(string text) => DeviceGateway.Command(ReadOne(text), Currency.Eur, ReplyPath);

    [Fact]
    public void A_hello_is_read_with_its_op_and_device()
    {
        var frame = ReadOne("""{"op":"hello","device":"vehicle-1"}""");
        Assert.Equal(("hello", DeviceId.Of("vehicle-1")), (frame.Op, frame.Device));
    }

    [Fact]
    public void A_call_becomes_its_command_with_the_frames_device()
    {
        var command = Assert.IsType<SubmitVoucher>(Command("""{"op":"call","id":7,"device":"vehicle-1","action":"channel.voucher","args":{"channel":"ch-1","voucher":"AQID"}}"""));
        Assert.Equal(ChannelId.Of("ch-1"), command.ChannelId);
        Assert.Equal([1, 2, 3], command.Voucher);
        var start = Assert.IsType<StartSession>(Command("""{"op":"call","id":8,"device":"charger-1","action":"session.start","args":{"session":"s-1","vehicle":"vehicle-1","pricePerKwh":30,"credit":500,"reading":"AA=="}}"""));
        Assert.Equal((DeviceId.Of("charger-1"), new Money(30, Currency.Eur), ReplyPath), (start.Charger, start.PricePerKwh, start.Connection));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,")]
    [InlineData("""{"op":"hello","device":"vehicle-1"}{}""")]
    public void A_message_that_is_not_JSON_is_one_MalformedFrame(string text)
    {
        var error = Refused(Assert.Single(Read(text, batching: true)));
        Assert.Equal(("MalformedFrame", null, null), (error.Code, error.Id, error.Device));
    }

    [Fact]
    public void An_empty_batch_is_one_MalformedFrame_so_its_sender_gets_an_answer()
    {
        var error = Refused(Assert.Single(Read("[]", batching: true)));
        Assert.Equal(("MalformedFrame", null, null), (error.Code, error.Id, error.Device));
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
        var error = Refused(Assert.Single(Read(text)));
        Assert.Equal(("MalformedFrame", id), (error.Code, error.Id));
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
    public void An_auth_is_read_with_its_signed_challenge()
    {
        Assert.Equal([1, 2, 3], ReadOne("""{"op":"auth","device":"vehicle-1","signed":"AQID"}""").Signed);
    }

    [Fact]
    public void A_batch_is_read_frame_by_frame_and_a_bad_frame_does_not_spoil_the_others()
    {
        var reads = Read("""[{"op":"hello","device":"vehicle-1"},{"op":"hello"},{"op":"hello","device":"vehicle-2"}]""", batching: true);
        Assert.Equal(3, reads.Count);
        Assert.Equal(DeviceId.Of("vehicle-1"), reads[0].Frame!.Device);
        Assert.Equal("MalformedFrame", Refused(reads[1]).Code);
        Assert.Equal(DeviceId.Of("vehicle-2"), reads[2].Frame!.Device);
    }

    [Fact]
    public void A_batch_over_its_bound_is_one_MalformedFrame()
    {
        var frames = string.Join(',', Enumerable.Repeat("""{"op":"hello","device":"vehicle-1"}""", DeviceGateway.MaxFramesPerBatch + 1));
        Assert.Equal("MalformedFrame", Refused(Assert.Single(Read($"[{frames}]", batching: true))).Code);
    }

    [Fact]
    public void A_frame_nested_deeper_than_8_is_a_MalformedFrame()
    {
        Assert.Equal("MalformedFrame", Refused(Assert.Single(Read("""{"op":"hello","device":"vehicle-1","x":[[[[[[[[1]]]]]]]]}"""))).Code);
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
        var error = Refused(Assert.Single(DeviceGateway.ReadMessage(message, batching: false)));
        Assert.Equal(("MalformedFrame", id), (error.Code, error.Id));
    }

    [Fact]
    public void In_a_batch_only_the_frame_with_ill_formed_text_is_refused()
    {
        var reads = Read("""[{"op":"hello","device":"vehicle-1"},{"op":"hello","device":"\ud800"},{"op":"hello","device":"vehicle-3"}]""", batching: true);
        Assert.Equal(3, reads.Count);
        Assert.Equal(DeviceId.Of("vehicle-1"), reads[0].Frame!.Device);
        Assert.Equal("MalformedFrame", Refused(reads[1]).Code);
        Assert.Equal(DeviceId.Of("vehicle-3"), reads[2].Frame!.Device);
    }

    [Theory]
    [InlineData("""{"op":"call","id":1,"device":"vehicle-1","action":"channel.fly","args":{}}""", "UnknownAction")]
    [InlineData("""{"op":"call","id":1,"device":"vehicle-1","action":"channel.get","args":{}}""", "MissingField")]
    [InlineData("""{"op":"call","id":1,"device":"vehicle-1","action":"channel.get","args":{"channel":7}}""", "MalformedFrame")]
    [InlineData("""{"op":"call","id":1,"device":"vehicle-1","action":"channel.voucher","args":{"channel":"ch-1","voucher":"not base64!"}}""", "MalformedFrame")]
    [InlineData("""{"op":"call","id":1,"device":"vehicle-1","action":"session.get","args":{"session":"S 1"}}""", "InvalidSessionId")]
    [InlineData("""{"op":"call","id":1,"device":"gantry-1","action":"toll.decline","args":{"pass":"nodot","reason":"x"}}""", "MalformedFrame")]
    public void A_call_with_a_bad_argument_is_refused_by_name(string text, string code)
    {
        var error = Assert.Throws<DeviceGateway.FrameException>(() => Command(text));
        Assert.Equal((code, 1L), (error.Code, error.Id));
    }
}
