using System.Text.Json;

namespace Energy.Ocpp.Tests;

/// <summary>What the network tells a charge point: each body as OCPP 1.6 spells it, field for field and byte for byte.</summary>
public class Ocpp16MessagesTests
{
    private static string Written(object body) => Ocpp16Json.ToElement(body).GetRawText();

    private static string Spelled(object body) => JsonSerializer.Serialize(body);

    [Fact]
    public void Each_answer_is_written_with_OCPP_field_names_in_order()
    {
        Assert.Equal(Spelled(new { status = "Accepted", currentTime = "2026-11-24T10:00:00.000Z", interval = 300 }),
            Written(new BootNotificationConf("Accepted", "2026-11-24T10:00:00.000Z", 300)));
        Assert.Equal(Spelled(new { currentTime = "2026-11-24T10:00:00.000Z" }), Written(new HeartbeatConf("2026-11-24T10:00:00.000Z")));
        Assert.Equal(Spelled(new { idTagInfo = new { status = "Invalid" } }), Written(new AuthorizeConf(new IdTagInfo("Invalid"))));
        Assert.Equal(Spelled(new { transactionId = 42, idTagInfo = new { status = "Accepted" } }), Written(new StartTransactionConf(42, new IdTagInfo("Accepted"))));
        Assert.Equal(Spelled(new { idTagInfo = new { status = "Blocked" } }), Written(new StopTransactionConf(new IdTagInfo("Blocked"))));
        Assert.Equal("{}", Written(EmptyConf.Instance));
        Assert.Equal(Spelled(new { transactionId = 7 }), Written(new RemoteStopTransactionReq(7)));
    }

    [Fact]
    public void An_instant_is_written_in_UTC_to_the_millisecond_with_a_Z()
    {
        Assert.Equal("2026-11-24T10:00:00.007Z", Ocpp16Json.FormatInstant(new DateTimeOffset(2026, 11, 24, 10, 0, 0, 7, TimeSpan.Zero)));
        Assert.Equal("2026-11-24T10:00:00.007Z", Ocpp16Json.FormatInstant(new DateTimeOffset(2026, 11, 24, 12, 0, 0, 7, TimeSpan.FromHours(2))));
        Assert.True(OcppDateTime.IsValid(Ocpp16Json.FormatInstant(DateTimeOffset.UnixEpoch)));
    }
}
