using System.Globalization;
using System.Text.Json;

namespace Energy.Ocpp;

/// <summary>The OCPP 1.6 actions the network answers, and the one it calls.</summary>
public static class Ocpp16Actions
{
    public const string BootNotification = "BootNotification";
    public const string Heartbeat = "Heartbeat";
    public const string StatusNotification = "StatusNotification";
    public const string Authorize = "Authorize";
    public const string StartTransaction = "StartTransaction";
    public const string MeterValues = "MeterValues";
    public const string StopTransaction = "StopTransaction";
    public const string RemoteStopTransaction = "RemoteStopTransaction";
}

/// <summary>
/// The bodies of what the network tells a charge point, as OCPP 1.6 spells them: a record's properties are the
/// body's fields, in order, with their names in camel case (<see cref="Ocpp16Json.Options"/>).
/// </summary>
public sealed record IdTagInfo(string Status);

public sealed record BootNotificationConf(string Status, string CurrentTime, int Interval);

public sealed record HeartbeatConf(string CurrentTime);

public sealed record AuthorizeConf(IdTagInfo IdTagInfo);

public sealed record StartTransactionConf(int TransactionId, IdTagInfo IdTagInfo);

public sealed record StopTransactionConf(IdTagInfo IdTagInfo);

/// <summary>The answer with no fields (StatusNotification.conf, MeterValues.conf).</summary>
public sealed record EmptyConf
{
    public static readonly EmptyConf Instance = new();
}

/// <summary>The network asks a charge point to stop a transaction.</summary>
public sealed record RemoteStopTransactionReq(int TransactionId);

public static class Ocpp16Json
{
    /// <summary>OCPP's field names: camel case, as the records' properties are named in Pascal case.</summary>
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>A body as the JSON element a frame carries.</summary>
    public static JsonElement ToElement(object body) => JsonSerializer.SerializeToElement(body, body.GetType(), Options);

    /// <summary>An instant as the network writes it to a charge point: UTC, to the millisecond, with a Z.</summary>
    public static string FormatInstant(DateTimeOffset instant) =>
        instant.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
