using System.Globalization;
using System.Text.Json;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Ocpp;

namespace Energy.Lifecycles.ChargePoints;

/// <summary>A charge point's call as the network reads it from its validated payload: only the fields it acts on.</summary>
public abstract record ChargePointCall;

public sealed record BootNotificationCall(string Vendor, string Model) : ChargePointCall;

public sealed record HeartbeatCall : ChargePointCall;

public sealed record StatusNotificationCall(int ConnectorId, string Status) : ChargePointCall;

public sealed record AuthorizeCall(string IdTag) : ChargePointCall;

public sealed record StartTransactionCall(int ConnectorId, string IdTag, long MeterStartWh) : ChargePointCall;

/// <summary>Meter values, with the energy register they end on (none when they carry no readable one).</summary>
public sealed record MeterValuesCall(int? TransactionId, long? RegisterWh) : ChargePointCall;

public sealed record StopTransactionCall(int TransactionId, long MeterStopWh, string? Reason) : ChargePointCall;

/// <summary>An action the network does not implement.</summary>
public sealed record UnsupportedCall(string Action) : ChargePointCall;

/// <summary>
/// Reads a charge point's calls, pure. The payload was validated against the OCPP 1.6 schema where it entered
/// (required fields are there, integers are integers), so reading it never throws.
/// </summary>
public static class ChargePointCalls
{
    public static ChargePointCall Read(string action, JsonElement p) => action switch
    {
        Ocpp16Actions.BootNotification => new BootNotificationCall(p.GetProperty("chargePointVendor").GetString()!, p.GetProperty("chargePointModel").GetString()!),
        Ocpp16Actions.Heartbeat => new HeartbeatCall(),
        Ocpp16Actions.StatusNotification => new StatusNotificationCall(p.GetProperty("connectorId").GetInt32(), p.GetProperty("status").GetString()!),
        Ocpp16Actions.Authorize => new AuthorizeCall(p.GetProperty("idTag").GetString()!),
        Ocpp16Actions.StartTransaction => new StartTransactionCall(p.GetProperty("connectorId").GetInt32(), p.GetProperty("idTag").GetString()!,
            p.GetProperty("meterStart").GetInt64()),
        Ocpp16Actions.MeterValues => new MeterValuesCall(p.TryGetProperty("transactionId", out var id) ? id.GetInt32() : null,
            EnergyRegister(p.GetProperty("meterValue"))),
        Ocpp16Actions.StopTransaction => new StopTransactionCall(p.GetProperty("transactionId").GetInt32(), p.GetProperty("meterStop").GetInt64(),
            p.TryGetProperty("reason", out var reason) ? reason.GetString() : null),
        _ => new UnsupportedCall(action),
    };

    /// <summary>Every charge point that boots is accepted, told the network's time, and asked for a heartbeat every 300 s.</summary>
    public static BootNotificationConf Booted(Timestamp now) => new("Accepted", Time(now), HeartbeatIntervalSeconds);

    public const int HeartbeatIntervalSeconds = 300;

    /// <summary>A busy node's answer to a boot: not yet accepted; boot again after <paramref name="retryAfter"/> (at least 1 s).</summary>
    public static BootNotificationConf Pending(Timestamp now, TimeSpan retryAfter) => new("Pending", Time(now), Math.Max(1, (int)retryAfter.TotalSeconds));

    public static HeartbeatConf Heartbeat(Timestamp now) => new(Time(now));

    public static IdTagInfo IdTag(OcppAuthorization authorization) => new(authorization.ToWire());

    /// <summary>The idTag a call asks the network to authorize before it is decided (an Authorize, a StartTransaction), or none.</summary>
    public static string? IdTagToAuthorize(ChargePointCall call) => call switch
    {
        AuthorizeCall authorize => authorize.IdTag,
        StartTransactionCall start => start.IdTag,
        _ => null,
    };

    /// <summary>The CALLRESULT carrying <paramref name="body"/>.</summary>
    public static ChargePointResponse Answer(object body) => body is EmptyConf ? Empty : new(Ocpp16Json.ToElement(body), null, null);

    // The answer to most calls (MeterValues, StatusNotification), made once: an element is read-only and may be shared.
    private static readonly ChargePointResponse Empty = new(Ocpp16Json.ToElement(EmptyConf.Instance), null, null);

    /// <summary>A call the network refuses by name: the charger reads the CALLERROR's code and the error's sentence.</summary>
    public static ChargePointResponse Refused(ProtocolError error) => new(null, OcppErrorCode.InternalError, error.Describe());

    /// <summary>An action the network does not implement.</summary>
    public static ChargePointResponse NotImplemented(UnsupportedCall call) => new(null, OcppErrorCode.NotImplemented, $"action {call.Action} is not implemented");

    private static string Time(Timestamp now) => Ocpp16Json.FormatInstant(now.ToDateTimeOffset());

    /// <summary>The last Energy.Active.Import.Register sample (the default measurand), in Wh; kWh is converted.</summary>
    public static long? EnergyRegister(JsonElement meterValues)
    {
        long? register = null;
        foreach (var meterValue in meterValues.EnumerateArray())
        {
            foreach (var sample in meterValue.GetProperty("sampledValue").EnumerateArray())
            {
                if (sample.TryGetProperty("measurand"u8, out var m) && !m.ValueEquals("Energy.Active.Import.Register"u8)) continue;
                var scale = !sample.TryGetProperty("unit"u8, out var u) || u.ValueEquals("Wh"u8) ? 1m : u.ValueEquals("kWh"u8) ? 1000m : (decimal?)null;
                if (scale is null || !TryDecimal(sample.GetProperty("value"u8), out var value)) continue;
                // Decimal arithmetic throws on overflow: a value beyond any register is passed over before it is scaled.
                if (value > long.MaxValue) continue;
                var wh = value * scale.Value;
                if (wh < 0 || wh > long.MaxValue) continue;
                register = (long)Math.Round(wh, MidpointRounding.AwayFromZero);
            }
        }
        return register;
    }

    /// <summary>A decimal read from a JSON string, from its UTF-8 bytes unless it holds an escape.</summary>
    private static bool TryDecimal(JsonElement text, out decimal value)
    {
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(text)[1..^1];
        return raw.Contains((byte)'\\')
            ? decimal.TryParse(text.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            : decimal.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
