using System.Text;
using System.Text.Json;
using Energy.Channels.Primitives;

namespace Energy.Wire.Tests;

/// <summary>How a call's arguments read into their record, and how a device writes them so that they read back the same.</summary>
public sealed class GatewayCallTests
{
    /// <summary>Hands back what it was given: the record, and for toll answers the gantry read from the pass.</summary>
    private readonly struct Echo : IGatewayCallHandler<object>
    {
        public object StartSession(in StartSessionCall call) => call;
        public object AcceptSession(in AcceptSessionCall call) => call;
        public object SessionReading(in SessionReadingCall call) => call;
        public object PaySession(in PaySessionCall call) => call;
        public object StopSession(in StopSessionCall call) => call;
        public object GetSession(in GetSessionCall call) => call;
        public object TollPass(in TollPassCall call) => call;
        public object PayToll(in PayTollCall call) => call;
        public object DeclineToll(in DeclineTollCall call) => call;
        public object GetGantry(in GetGantryCall call) => call;
        public object SubmitVoucher(in SubmitVoucherCall call) => call;
        public object GetChannel(in GetChannelCall call) => call;
    }

    private static readonly DeviceId Caller = DeviceId.Of("vehicle-1");

    private static CallRead<object> Decode(byte[] message) =>
        GatewayCalls.Read<Echo, object>(Assert.Single(GatewayCodec.ReadMessage(message, batching: false)).Frame!, default);

    private static CallRead<object> Decode(string text) => Decode(Encoding.UTF8.GetBytes(text));

    private static string Call(string action, string args) => $$"""{"op":"call","id":1,"device":"vehicle-1","action":"{{action}}","args":{""" + args + "}}";

    /// <summary>What a device writes for a call reads back at the gateway as the same record (compared as the JSON they write).</summary>
    private static void RoundTrips<TCall>(TCall call) where TCall : IGatewayCall
    {
        var read = Decode(GatewayFrameWriter.Call(41, Caller, call));
        Assert.True(read.IsOk, read.Error?.ToString());
        var value = read.Value;
        Assert.Equal(JsonSerializer.Serialize(call, WireJson.Options), JsonSerializer.Serialize(Assert.IsType<TCall>(value), WireJson.Options));
    }

    [Fact]
    public void Every_call_a_device_writes_reads_back_as_its_record()
    {
        byte[] bytes = [0, 1, 2, 0xFB, 0xFF];
        RoundTrips(new StartSessionCall(SessionId.Of("s-1"), DeviceId.Of("vehicle-2"), 30, 500, bytes, SegmentId.Of("zone-north")));
        RoundTrips(new StartSessionCall(SessionId.Of("s-1"), DeviceId.Of("vehicle-2"), 30, 500, bytes, null));
        RoundTrips(new AcceptSessionCall(SessionId.Of("s-1"), ChannelId.Of("ch-1")));
        RoundTrips(new SessionReadingCall(SessionId.Of("s-1"), bytes));
        RoundTrips(new PaySessionCall(SessionId.Of("s-1"), bytes));
        RoundTrips(new StopSessionCall(SessionId.Of("s-1"), bytes));
        RoundTrips(new GetSessionCall(SessionId.Of("s-1")));
        RoundTrips(new TollPassCall(bytes));
        RoundTrips(new PayTollCall(PassId.Of("gantry-1.17"), bytes));
        RoundTrips(new DeclineTollCall(PassId.Of("gantry-1.17"), "NoChannel"));
        RoundTrips(new GetGantryCall());
        RoundTrips(new SubmitVoucherCall(ChannelId.Of("ch-1"), bytes));
        RoundTrips(new GetChannelCall(ChannelId.Of("ch-1")));
    }

    [Fact]
    public void A_call_is_written_as_the_frame_devices_have_always_sent()
    {
        var args = new { session = "s-1", channel = "ch-1" };
        var expected = JsonSerializer.SerializeToUtf8Bytes(new { op = "call", id = 5L, device = "vehicle-1", action = "session.accept", args });
        Assert.Equal(expected, GatewayFrameWriter.Call(5, Caller, new AcceptSessionCall(SessionId.Of("s-1"), ChannelId.Of("ch-1"))));
        Assert.Equal(expected, GatewayFrameWriter.Call(5, Caller, GatewayActions.SessionAccept, args));
    }

    [Fact]
    public void A_toll_answer_names_the_gantry_of_its_pass()
    {
        var pay = Assert.IsType<PayTollCall>(Decode(Call("toll.pay", """ "pass":"gantry-1.north.17","voucher":"AQID" """)).Value);
        Assert.Equal((DeviceId.Of("gantry-1.north"), 17UL), (pay.Pass.Gantry, pay.Pass.Number));
    }

    [Fact]
    public void A_zone_may_be_absent_or_null()
    {
        var absent = Assert.IsType<StartSessionCall>(Decode(Call("session.start", """ "session":"s-1","vehicle":"vehicle-2","pricePerKwh":30,"credit":500,"reading":"AA==" """)).Value);
        var nulled = Assert.IsType<StartSessionCall>(Decode(Call("session.start", """ "session":"s-1","vehicle":"vehicle-2","pricePerKwh":30,"credit":500,"reading":"AA==","zone":null """)).Value);
        Assert.Null(absent.Zone);
        Assert.Null(nulled.Zone);
    }

    [Fact]
    public void An_action_that_is_not_known_is_UnknownAction_with_the_action()
    {
        var error = Assert.IsType<GatewayError.UnknownAction>(Decode(Call("channel.fly", "")).Error);
        Assert.Equal(("channel.fly", 1L, Caller), (error.Action, error.Id, error.Device));
    }

    [Theory]
    [InlineData("channel.get", "", "channel")]
    [InlineData("session.start", """ "session":"s-1","pricePerKwh":30 """, "vehicle")]
    [InlineData("toll.decline", """ "pass":"gantry-1.17" """, "reason")]
    public void A_missing_argument_is_MissingField_with_its_name(string action, string args, string field)
    {
        var error = Assert.IsType<GatewayError.MissingField>(Decode(Call(action, args)).Error);
        Assert.Equal((field, 1L, Caller), (error.Field, error.Id, error.Device));
    }

    [Theory]
    [InlineData("channel.get", """ "channel":7 """, "channel must be a JSON string")]
    [InlineData("channel.voucher", """ "channel":"ch-1","voucher":"not base64!" """, "voucher is not base64")]
    [InlineData("toll.decline", """ "pass":"nodot","reason":"x" """, "pass 'nodot' is not a gantry id, a dot and a number")]
    [InlineData("session.start", """ "session":"s-1","vehicle":"vehicle-2","pricePerKwh":1.5,"credit":500,"reading":"AA==" """, "pricePerKwh must be an integer of minor units")]
    [InlineData("session.start", """ "session":"s-1","vehicle":"vehicle-2","pricePerKwh":30,"credit":500,"reading":"AA==","zone":7 """, "zone must be a zone id")]
    public void A_malformed_argument_is_MalformedFrame_saying_what_is_wrong(string action, string args, string reason)
    {
        var error = Assert.IsType<GatewayError.MalformedFrame>(Decode(Call(action, args)).Error);
        Assert.Equal((reason, 1L, Caller), (error.Reason, error.Id, error.Device));
    }

    [Fact]
    public void A_session_id_outside_its_syntax_is_InvalidSessionId_with_the_id()
    {
        var error = Assert.IsType<GatewayError.InvalidSessionId>(Decode(Call("session.get", """ "session":"S 1" """)).Error);
        Assert.Equal(("S 1", 1L), (error.Session, error.Id));
        Assert.True(SessionId.IsValid(new string('a', IdentifierRules.MaxLength)));
        Assert.False(SessionId.IsValid(new string('a', IdentifierRules.MaxLength + 1)));
    }

    [Fact]
    public void The_first_bad_argument_in_the_records_order_is_the_one_named()
    {
        // The session is checked before the vehicle, as the record lists them.
        Assert.IsType<GatewayError.InvalidSessionId>(Decode(Call("session.start", """ "session":"S 1" """)).Error);
    }
}
