using System.Text;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Charging;
using Energy.Cluster.Gateway;
using Energy.Wire;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Charging;

namespace Energy.Cluster.Tests;

/// <summary>
/// How the device gateway turns a call into the command of the entity that answers it, without a node.
/// How a message reads into frames is the wire contract's, tested in Energy.Wire.Tests.
/// </summary>
public sealed class GatewayFrameTests
{
    private const string ReplyPath = "akka://test/user/connection";

    private static GatewayFrame ReadOne(string text) => Assert.Single(GatewayCodec.ReadMessage(Encoding.UTF8.GetBytes(text), batching: false)).Frame!;

    private static CallRead<object> Command(string text) => GatewayCommands.Of(ReadOne(text), Currency.Eur, ReplyPath);

    [Fact]
    public void A_call_becomes_its_command_with_the_frames_device()
    {
        var command = Assert.IsType<SubmitVoucher>(Command("""{"op":"call","id":7,"device":"vehicle-1","action":"channel.voucher","args":{"channel":"ch-1","voucher":"AQID"}}""").Value);
        Assert.Equal(ChannelId.Of("ch-1"), command.ChannelId);
        Assert.Equal([1, 2, 3], command.Voucher);
        var start = Assert.IsType<StartSession>(Command("""{"op":"call","id":8,"device":"charger-1","action":"session.start","args":{"session":"s-1","vehicle":"vehicle-1","pricePerKwh":30,"credit":500,"reading":"AA==","zone":"zone-north"}}""").Value);
        Assert.Equal((DeviceId.Of("charger-1"), new Money(30, Currency.Eur), new Money(500, Currency.Eur), ReplyPath, SegmentId.Of("zone-north")),
            (start.Charger, start.PricePerKwh, start.Credit, start.Connection, start.Zone));
    }

    [Fact]
    public void A_toll_payment_goes_to_the_gantry_its_pass_names_as_the_calling_vehicle()
    {
        var pay = Assert.IsType<Energy.Lifecycles.Tolls.PayToll>(Command("""{"op":"call","id":9,"device":"vehicle-1","action":"toll.pay","args":{"pass":"gantry-1.17","voucher":"AQID"}}""").Value);
        Assert.Equal((DeviceId.Of("gantry-1"), PassId.Of("gantry-1.17"), DeviceId.Of("vehicle-1")), (pay.Gantry, pay.Pass, pay.Vehicle));
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
        var read = Command(text);
        Assert.False(read.IsOk);
        Assert.Equal((code, 1L), (read.Error!.Code, read.Error.Id));
    }
}
