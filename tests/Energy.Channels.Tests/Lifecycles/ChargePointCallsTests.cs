using System.Text.Json;
using Energy.Channels.Primitives;
using Energy.Lifecycles.ChargePoints;
using Energy.Ocpp;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>A charge point's calls as the network reads them, and what it answers a booting charger.</summary>
public sealed class ChargePointCallsTests
{
    private static ChargePointCall Read(string action, string payload)
    {
        using var document = JsonDocument.Parse(payload);
        return ChargePointCalls.Read(action, document.RootElement.Clone());
    }

    [Fact]
    public void Each_implemented_call_is_read_into_the_fields_the_network_acts_on()
    {
        Assert.Equal(new BootNotificationCall("Energy", "Wallbox"), Read("BootNotification", """{"chargePointVendor":"Energy","chargePointModel":"Wallbox","firmwareVersion":"1"}"""));
        Assert.Equal(new HeartbeatCall(), Read("Heartbeat", "{}"));
        Assert.Equal(new StatusNotificationCall(1, "Charging"), Read("StatusNotification", """{"connectorId":1,"errorCode":"NoError","status":"Charging"}"""));
        Assert.Equal(new AuthorizeCall("vehicle-1"), Read("Authorize", """{"idTag":"vehicle-1"}"""));
        Assert.Equal(new StartTransactionCall(2, "vehicle-1", 1_500), Read("StartTransaction",
            """{"connectorId":2,"idTag":"vehicle-1","meterStart":1500,"timestamp":"2026-11-24T10:00:00Z"}"""));
        Assert.Equal(new MeterValuesCall(7, 2_250), Read("MeterValues",
            """{"connectorId":2,"transactionId":7,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"value":"2.25","unit":"kWh"}]}]}"""));
        Assert.Equal(new MeterValuesCall(null, null), Read("MeterValues",
            """{"connectorId":2,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"value":"230","measurand":"Voltage","unit":"V"}]}]}"""));
        Assert.Equal(new StopTransactionCall(7, 3_000, "Local"), Read("StopTransaction",
            """{"transactionId":7,"meterStop":3000,"timestamp":"2026-11-24T10:30:00Z","reason":"Local"}"""));
        Assert.Equal(new StopTransactionCall(7, 3_000, null), Read("StopTransaction", """{"transactionId":7,"meterStop":3000,"timestamp":"2026-11-24T10:30:00Z"}"""));
        Assert.Equal(new UnsupportedCall("DataTransfer"), Read("DataTransfer", """{"vendorId":"x"}"""));
    }

    [Fact]
    public void A_booting_charger_is_accepted_told_the_time_to_the_millisecond_and_asked_for_a_heartbeat_every_300_seconds()
    {
        var now = new Timestamp(1_800_000_000_123);
        Assert.Equal(new BootNotificationConf("Accepted", "2027-01-15T08:00:00.123Z", 300), ChargePointCalls.Booted(now));
        Assert.Equal(new HeartbeatConf("2027-01-15T08:00:00.123Z"), ChargePointCalls.Heartbeat(now));
        Assert.Equal(new IdTagInfo("Blocked"), ChargePointCalls.IdTag(OcppAuthorization.Blocked));
    }
}
