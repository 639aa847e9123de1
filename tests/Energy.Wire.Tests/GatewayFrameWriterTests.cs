using System.Text.Json;
using Energy.Channels.Primitives;

namespace Energy.Wire.Tests;

/// <summary>The frames the gateway and devices write: the same bytes as before the contract had its own library, and readable by the other side.</summary>
public sealed class GatewayFrameWriterTests
{
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-1");

    private static readonly JsonSerializerOptions WebOptions = new(JsonSerializerDefaults.Web);

    // Bytes whose base64 holds '+' and '/', which the default JSON encoder escapes.
    private static readonly byte[] Bytes = [0xFB, 0xFF, 0xBF, 1, 2];

    [Fact]
    public void Handshake_frames_are_the_ones_devices_have_always_read_and_sent()
    {
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(new { op = "hello", device = "vehicle-1" }), GatewayFrameWriter.Hello(Vehicle));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(new { op = "auth", device = "vehicle-1", signed = Convert.ToBase64String(Bytes) }), GatewayFrameWriter.Auth(Vehicle, Bytes));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(new { op = "challenge", device = "vehicle-1", challenge = Convert.ToBase64String(Bytes) }), GatewayFrameWriter.Challenge(Vehicle, Bytes));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(new { op = "welcome", device = "vehicle-1" }), GatewayFrameWriter.Welcome(Vehicle));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(new { op = "welcome", device = "vehicle-1", role = "Vehicle", @operator = "fleet-1" }),
            GatewayFrameWriter.Welcome(Vehicle, "Vehicle", "fleet-1"));
    }

    [Fact]
    public void A_device_reads_its_challenge_back_as_the_bytes_the_gateway_wrote()
    {
        using var frame = JsonDocument.Parse(GatewayFrameWriter.Challenge(Vehicle, Bytes));
        var challenge = WireJson.Read<ChallengeReply>(frame.RootElement);
        Assert.Equal(Vehicle, challenge.Device);
        Assert.Equal(Bytes, challenge.Challenge);
    }

    [Fact]
    public void A_result_carries_the_answer_in_the_options_given()
    {
        var written = GatewayFrameWriter.Result(7, Vehicle, new SessionReply(SessionId.Of("s-1"), null), WebOptions);
        using var frame = JsonDocument.Parse(written);
        var reply = GatewayReply.Read(frame.RootElement);
        Assert.Equal((GatewayOps.Result, "vehicle-1", 7L), (reply.Op, reply.Device, reply.Id));
        Assert.Equal("s-1", reply.Body.GetProperty("session").GetString());
    }

    [Fact]
    public void A_typed_event_is_the_frame_of_the_body_its_entity_shaped_by_hand()
    {
        // Bodies without bytes are written exactly as the anonymous bodies entities pushed.
        var confirmed = new TollConfirmedEvent(PassId.Of("gantry-1.17"), Vehicle, 150, 1_800_000_000_000);
        var byHand = new { pass = "gantry-1.17", vehicle = "vehicle-1", paid = 150L, passedAt = 1_800_000_000_000L };
        Assert.Equal(GatewayFrameWriter.Event(Vehicle, GatewayEvents.TollConfirmed, byHand), GatewayFrameWriter.Event(Vehicle, confirmed));
        var suspend = new SessionSuspendEvent(SessionId.Of("s-1"), 90, 30, 50);
        Assert.Equal(GatewayFrameWriter.Event(Vehicle, GatewayEvents.SessionSuspend, new { session = "s-1", owed = 90L, paid = 30L, credit = 50L }),
            GatewayFrameWriter.Event(Vehicle, suspend));
    }

    [Fact]
    public void An_event_frame_names_its_event_and_device()
    {
        using var frame = JsonDocument.Parse(GatewayFrameWriter.Event(Vehicle, new SessionPaidEvent(SessionId.Of("s-1"), 90, 60)));
        var reply = GatewayReply.Read(frame.RootElement);
        Assert.Equal((GatewayOps.Event, "vehicle-1", GatewayEvents.SessionPaid, (long?)null), (reply.Op, reply.Device, reply.Event, reply.Id));
        Assert.Equal(new SessionPaidEvent(SessionId.Of("s-1"), 90, 60), WireJson.Read<SessionPaidEvent>(reply.Body));
    }

    /// <summary>
    /// Devices read each event as its record from the bodies the entities push today, written field by field
    /// (anonymous objects, default JSON options), so switching an entity to the record changes nothing a device sees.
    /// </summary>
    [Fact]
    public void Devices_read_every_event_body_the_entities_push()
    {
        var base64 = Convert.ToBase64String(Bytes);
        var offer = Read<SessionOfferEvent>(new { session = "s-1", charger = "charger-1", payee = "operator:cpo-1", meterKey = "ab", witnessed = false,
            pricePerKwh = 30L, credit = 50L, currency = "EUR", startReading = base64 });
        Assert.Equal((DeviceId.Of("charger-1"), PartyId.Of("operator:cpo-1"), Currency.Eur), (offer.Charger, offer.Payee, offer.Currency));
        Assert.Equal(Bytes, offer.StartReading);
        Assert.Equal(ChannelId.Of("ch-1"), Read<SessionAcceptedEvent>(new { session = "s-1", channel = "ch-1" }).Channel);
        var reading = Read<SessionReadingEvent>(new { session = "s-1", reading = base64, energyWh = 100L, owed = 3L, paid = 0L, final = true });
        Assert.Equal((100L, true), (reading.EnergyWh, reading.Final));
        Assert.Equal(Bytes, reading.Reading);
        Assert.Equal(60, Read<SessionPaidEvent>(new { session = "s-1", owed = 90L, paid = 60L }).Paid);
        Assert.Equal(50, Read<SessionSuspendEvent>(new { session = "s-1", owed = 90L, paid = 30L, credit = 50L }).Credit);
        Assert.Equal(90, Read<SessionResumeEvent>(new { session = "s-1", owed = 90L, paid = 90L }).Paid);
        var request = Read<TollRequestEvent>(new { pass = "gantry-1.17", request = base64, gantryKey = "ab", payee = "operator:tolls-1", price = 150L, currency = "EUR" });
        Assert.Equal((PassId.Of("gantry-1.17"), PartyId.Of("operator:tolls-1"), 150L), (request.Pass, request.Payee, request.Price));
        Assert.Equal(Bytes, request.Request);
        var price = Read<TollPriceEvent>(new { gantry = "gantry-1", price = 180L, currency = "EUR", vehiclesInZone = 12 });
        Assert.Equal((DeviceId.Of("gantry-1"), 180L, 12), (price.Gantry, price.Price, price.VehiclesInZone));
        Assert.Equal(150, Read<TollConfirmedEvent>(new { pass = "gantry-1.17", vehicle = "vehicle-1", paid = 150L, passedAt = 1L }).Paid);
        Assert.Equal("noChannel", Read<TollViolationEvent>(new { pass = "gantry-1.17", vehicle = "vehicle-1", cause = "noChannel", detail = "x" }).Cause);
    }

    private static T Read<T>(object body)
    {
        using var frame = JsonDocument.Parse(GatewayFrameWriter.Event(Vehicle, "any", body));
        return WireJson.Read<T>(GatewayReply.Read(frame.RootElement).Body);
    }

    [Fact]
    public void A_body_that_is_not_the_events_record_is_a_JsonException()
    {
        using var body = JsonDocument.Parse("""{"gantry":"Not An Id","price":1,"currency":"EUR","vehiclesInZone":0}""");
        Assert.Throws<JsonException>(() => WireJson.Read<TollPriceEvent>(body.RootElement));
    }
}
