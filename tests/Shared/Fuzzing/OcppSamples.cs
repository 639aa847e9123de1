using System.Text;

namespace Energy.Fuzzing;

/// <summary>What the OCPP fuzz targets start from: a valid message of every handled action, and the inputs of past failures.</summary>
public static class OcppSamples
{
    public static IReadOnlyList<string> Messages { get; } =
    [
        """[2,"boot-1","BootNotification",{"chargePointVendor":"Energy","chargePointModel":"Wallbox 22","chargePointSerialNumber":"sn-1","chargeBoxSerialNumber":"cb-1","firmwareVersion":"1.2.3","iccid":"8901","imsi":"2620","meterType":"AC","meterSerialNumber":"m-1"}]""",
        """[2,"hb-2","Heartbeat",{}]""",
        """[2,"st-3","StatusNotification",{"connectorId":1,"errorCode":"NoError","info":"ok","status":"Available","timestamp":"2026-11-24T10:00:00Z","vendorId":"energy","vendorErrorCode":"0"}]""",
        """[2,"au-4","Authorize",{"idTag":"vehicle-1"}]""",
        """[2,"tx-5","StartTransaction",{"connectorId":1,"idTag":"vehicle-1","meterStart":1000,"reservationId":7,"timestamp":"2026-11-24T10:00:00.123+01:00"}]""",
        """[2,"mv-6","MeterValues",{"connectorId":1,"transactionId":5,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"value":"1.25","context":"Sample.Periodic","format":"Raw","measurand":"Energy.Active.Import.Register","phase":"L1","location":"Outlet","unit":"kWh"},{"value":"7.2","measurand":"Power.Active.Import","unit":"kW"}]}]}]""",
        """[2,"sp-7","StopTransaction",{"idTag":"vehicle-1","meterStop":2500,"timestamp":"2026-11-24T10:30:00Z","transactionId":5,"reason":"EVDisconnected","transactionData":[{"timestamp":"2026-11-24T10:30:00Z","sampledValue":[{"value":"2500","unit":"Wh"}]}]}]""",
        """[3,"cs-8",{"status":"Accepted","currentTime":"2026-11-24T10:00:00Z","interval":300}]""",
        """[4,"ce-9","NotImplemented","not here",{"detail":["a",1,null,true]}]""",
    ];

    /// <summary>Inputs that once made the parser or the charge point throw, or passed although they should not have.</summary>
    public static IReadOnlyList<byte[]> Regressions { get; } =
    [
        "[3,\"\\ud800\",0]"u8.ToArray(),
        [.. "[2,\""u8, 0xFF, .. "\",\"Heartbeat\",{}]"u8],
        [.. "[2,\"id\",\"Authorize\",{\"idTag\":\""u8, 0xC0, 0x80, .. "\"}]"u8],
        """[2,"id","StartTransaction",{"connectorId":99999999999,"idTag":"v","meterStart":1,"timestamp":"2026-11-24T10:00:00Z"}]"""u8.ToArray(),
        """[2,"id","StartTransaction",{"connectorId":"x","connectorId":1,"idTag":"v","meterStart":1,"timestamp":"2026-11-24T10:00:00Z"}]"""u8.ToArray(),
        """[2,"id","StopTransaction",{"meterStop":1,"timestamp":"0:9","transactionId":5}]"""u8.ToArray(),
        """[2,"id","StopTransaction",{"meterStop":1,"timestamp":"2026-11-24T10:00:00.123+21:00","transactionId":5}]"""u8.ToArray(),
        """[2,"id","MeterValues",{"connectorId":1,"transactionId":5,"meterValue":[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"value":"79228162514264337593543950335","unit":"kWh"}]}]}]"""u8.ToArray(),
    ];

    /// <summary>Fields of the schemas, to repeat keys and put values where they do not belong.</summary>
    public static IReadOnlyList<byte[]> FieldTokens { get; } =
    [
        .. new[] { "connectorId", "idTag", "meterStart", "meterStop", "transactionId", "timestamp", "meterValue", "sampledValue", "value", "status" }
            .Select(name => Encoding.UTF8.GetBytes($"\"{name}\":1,")),
        .. new[] { "\"2026-11-24T10:00:00Z\"", "\"2026-02-30T10:00:00Z\"", "\"0:9\"", "\"2026-11-24T10:00:00+14:00\"", "\"Heartbeat\"", "\"BootNotification\"" }
            .Select(Encoding.UTF8.GetBytes),
    ];
}
