using System.Runtime.InteropServices;
using System.Text.Json;
using Energy.Channels.Encoding;

namespace Energy.Ocpp;

/// <summary>
/// The part of JSON Schema that the OCPP 1.6 schemas use (objects without additional properties,
/// required fields, strings with a maximum length, enumerations, date-times, integers, numbers,
/// arrays), with the CALLERROR code each violation maps to. A conforming message is checked without
/// allocating: names and enumerations are compared as UTF-8, and the path of a field is spelled only
/// for the violation that is reported.
/// </summary>
public abstract record OcppSchema
{
    /// <summary>The first violation of this schema in <paramref name="value"/>, described at <paramref name="path"/>, or null.</summary>
    public OcppError? Check(JsonElement value, string path) => Find(value)?.At(path);

    internal abstract OcppViolation? Find(JsonElement value);

    private protected static OcppViolation Type(string expected) => new(OcppErrorCode.TypeConstraintViolation, path => $"{path} must be {expected}");
}

/// <summary>
/// A violation found inside a value, whose path is known only on the way out: each enclosing object or array adds its
/// step, and <see cref="At"/> spells the whole path from the root's.
/// </summary>
internal sealed class OcppViolation(string code, Func<string, string> describe)
{
    // Steps from the violating value outwards: ".field", "[2]".
    private readonly List<string> _steps = [];

    public OcppViolation Within(string step)
    {
        _steps.Add(step);
        return this;
    }

    public OcppError At(string root)
    {
        var path = new System.Text.StringBuilder(root);
        for (var i = _steps.Count - 1; i >= 0; i--) path.Append(_steps[i]);
        return new OcppError(code, describe(path.ToString()));
    }
}

public sealed record OcppString(int MaxLength = int.MaxValue, IReadOnlySet<string>? Enum = null, bool DateTime = false) : OcppSchema
{
    /// <summary>The longest date-time <see cref="OcppDateTime"/> accepts: seconds, nine digits of fraction and an offset.</summary>
    private const int MaxDateTimeLength = 19 + 1 + OcppDateTime.MaxFractionDigits + 6;

    private readonly byte[][] _enumUtf8 = Enum?.Select(System.Text.Encoding.UTF8.GetBytes).ToArray() ?? [];

    internal override OcppViolation? Find(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String) return Type("a string");
        // The raw value is what the document validated as UTF-8, quotes included; an escape needs the decoded text.
        var raw = JsonMarshal.GetRawUtf8Value(value)[1..^1];
        var escaped = raw.Contains((byte)'\\');
        var length = escaped ? value.GetString()!.Length : System.Text.Encoding.UTF8.GetCharCount(raw);
        if (length > MaxLength) return new(OcppErrorCode.PropertyConstraintViolation, path => $"{path} is longer than {MaxLength} characters");
        if (Enum is not null && !IsOneOf(value))
        {
            var text = value.GetString();
            return new(OcppErrorCode.PropertyConstraintViolation, path => $"{path} '{text}' is not one of the allowed values");
        }
        if (DateTime && !IsDateTime(value, raw, escaped, length))
            return new(OcppErrorCode.PropertyConstraintViolation, path => $"{path} is not a date-time of the form yyyy-MM-ddTHH:mm:ss[.fraction](Z|+hh:mm|-hh:mm)");
        return null;
    }

    private bool IsOneOf(JsonElement value)
    {
        foreach (var allowed in _enumUtf8)
        {
            if (value.ValueEquals(allowed)) return true;
        }
        return false;
    }

    private static bool IsDateTime(JsonElement value, ReadOnlySpan<byte> raw, bool escaped, int length)
    {
        if (length > MaxDateTimeLength) return false;
        if (escaped) return OcppDateTime.IsValid(value.GetString()!);
        Span<char> text = stackalloc char[MaxDateTimeLength];
        return OcppDateTime.IsValid(text[..System.Text.Encoding.UTF8.GetChars(raw, text)]);
    }
}

/// <summary>
/// The date-time of the OCPP-J schemas (JSON Schema's "date-time", RFC 3339 section 5.6), read
/// strictly: yyyy-MM-ddTHH:mm:ss, optionally a fraction of 1 to 9 digits, then Z or an offset
/// +hh:mm or -hh:mm; every field within its calendar range; nothing before, between or after.
/// Leap seconds (:60), a lower-case t or z, an offset beyond 14 hours (no zone has one) and an instant
/// outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:58Z (a fraction may round up to the next second)
/// are refused: no charger needs them, and none of them has a DateTimeOffset to read it into.
/// </summary>
public static class OcppDateTime
{
    public const int MaxFractionDigits = 9;
    public const int MaxOffsetMinutes = 14 * 60;

    public static bool IsValid(string text) => IsValid(text.AsSpan());

    public static bool IsValid(ReadOnlySpan<char> text)
    {
        // yyyy-MM-ddTHH:mm:ss is 19 characters; the shortest zone is "Z".
        if (text.Length < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') return false;
        if (!TryDigits(text, 0, 4, out var year) || !TryDigits(text, 5, 2, out var month) || !TryDigits(text, 8, 2, out var day)
            || !TryDigits(text, 11, 2, out var hour) || !TryDigits(text, 14, 2, out var minute) || !TryDigits(text, 17, 2, out var second))
            return false;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > System.DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
            return false;
        var zoneAt = 19;
        if (text[zoneAt] == '.')
        {
            var digits = 0;
            while (zoneAt + 1 + digits < text.Length && char.IsAsciiDigit(text[zoneAt + 1 + digits])) digits++;
            if (digits is 0 or > MaxFractionDigits) return false;
            zoneAt += 1 + digits;
        }
        if (!TryOffset(text[zoneAt..], out var offsetMinutes)) return false;
        // Every field is in range, so this cannot throw; the instant in UTC must stay within the calendar too.
        var utc = new System.DateTime(year, month, day, hour, minute, second).Ticks - offsetMinutes * TimeSpan.TicksPerMinute;
        return utc >= System.DateTime.MinValue.Ticks && utc <= System.DateTime.MaxValue.Ticks - TimeSpan.TicksPerSecond;
    }

    private static bool TryOffset(ReadOnlySpan<char> zone, out int offsetMinutes)
    {
        offsetMinutes = 0;
        if (zone is "Z") return true;
        if (zone.Length != 6 || zone[0] is not ('+' or '-') || zone[3] != ':') return false;
        if (!TryDigits(zone, 1, 2, out var hours) || !TryDigits(zone, 4, 2, out var minutes) || minutes > 59) return false;
        offsetMinutes = (zone[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
        return Math.Abs(offsetMinutes) <= MaxOffsetMinutes;
    }

    private static bool TryDigits(ReadOnlySpan<char> text, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            if (!char.IsAsciiDigit(text[i])) return false;
            value = value * 10 + (text[i] - '0');
        }
        return true;
    }
}

/// <summary>
/// An OCPP 1.6 integer: the specification's integer type is 32 bits, so a whole number beyond Int32
/// violates the field's data type just as a fraction does.
/// </summary>
public sealed record OcppInteger : OcppSchema
{
    internal override OcppViolation? Find(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _) ? null : Type("an integer of 32 bits");
}

public sealed record OcppArray(OcppSchema Items) : OcppSchema
{
    internal override OcppViolation? Find(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array) return Type("an array");
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (Items.Find(item) is { } violation) return violation.Within($"[{index}]");
            index++;
        }
        return null;
    }
}

public sealed record OcppProperty(string Name, OcppSchema Schema, bool Required = false);

public sealed record OcppObject(params OcppProperty[] Properties) : OcppSchema
{
    private readonly byte[][] _namesUtf8 = Properties.Select(p => System.Text.Encoding.UTF8.GetBytes(p.Name)).ToArray();

    internal override OcppViolation? Find(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object) return Type("an object");
        foreach (var property in value.EnumerateObject())
        {
            if (!Declares(property))
                return new OcppViolation(OcppErrorCode.FormationViolation, path => $"{path} is not a field of this message").Within("." + property.Name);
        }
        for (var i = 0; i < Properties.Length; i++)
        {
            var property = Properties[i];
            if (!value.TryGetProperty(_namesUtf8[i], out var field))
            {
                if (property.Required) return new OcppViolation(OcppErrorCode.OccurenceConstraintViolation, path => $"{path} is required").Within("." + property.Name);
                continue;
            }
            if (property.Schema.Find(field) is { } violation) return violation.Within("." + property.Name);
        }
        return null;
    }

    private bool Declares(JsonProperty property)
    {
        foreach (var name in _namesUtf8)
        {
            if (property.NameEquals(name)) return true;
        }
        return false;
    }
}

/// <summary>The requests a charge point sends in OCPP 1.6 that this network handles, as the official schemas define them.</summary>
public static class Ocpp16
{
    public const string Subprotocol = "ocpp1.6";

    private static OcppString Text(int max) => new(max);
    private static OcppString OneOf(params string[] values) => new(Enum: values.ToHashSet(StringComparer.Ordinal));
    private static readonly OcppString DateTime = new(DateTime: true);
    private static readonly OcppInteger Integer = new();

    private static readonly OcppObject SampledValue = new(
        new("value", new OcppString(), Required: true),
        new("context", OneOf("Interruption.Begin", "Interruption.End", "Sample.Clock", "Sample.Periodic", "Transaction.Begin", "Transaction.End", "Trigger", "Other")),
        new("format", OneOf("Raw", "SignedData")),
        new("measurand", OneOf("Energy.Active.Export.Register", "Energy.Active.Import.Register", "Energy.Reactive.Export.Register",
            "Energy.Reactive.Import.Register", "Energy.Active.Export.Interval", "Energy.Active.Import.Interval", "Energy.Reactive.Export.Interval",
            "Energy.Reactive.Import.Interval", "Power.Active.Export", "Power.Active.Import", "Power.Offered", "Power.Reactive.Export",
            "Power.Reactive.Import", "Power.Factor", "Current.Import", "Current.Export", "Current.Offered", "Voltage", "Frequency",
            "Temperature", "SoC", "RPM")),
        new("phase", OneOf("L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1")),
        new("location", OneOf("Cable", "EV", "Inlet", "Outlet", "Body")),
        new("unit", OneOf("Wh", "kWh", "varh", "kvarh", "W", "kW", "VA", "kVA", "var", "kvar", "A", "V", "K", "Celcius", "Celsius", "Fahrenheit", "Percent")));

    private static readonly OcppObject MeterValue = new(
        new("timestamp", DateTime, Required: true),
        new("sampledValue", new OcppArray(SampledValue), Required: true));

    public static readonly IReadOnlyDictionary<string, OcppObject> Requests = new Dictionary<string, OcppObject>(StringComparer.Ordinal)
    {
        ["BootNotification"] = new(
            new("chargePointVendor", Text(20), Required: true),
            new("chargePointModel", Text(20), Required: true),
            new("chargePointSerialNumber", Text(25)),
            new("chargeBoxSerialNumber", Text(25)),
            new("firmwareVersion", Text(50)),
            new("iccid", Text(20)),
            new("imsi", Text(20)),
            new("meterType", Text(25)),
            new("meterSerialNumber", Text(25))),
        ["Heartbeat"] = new(),
        ["StatusNotification"] = new(
            new("connectorId", Integer, Required: true),
            new("errorCode", OneOf("ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature", "InternalError",
                "LocalListConflict", "NoError", "OtherError", "OverCurrentFailure", "PowerMeterFailure", "PowerSwitchFailure",
                "ReaderFailure", "ResetFailure", "UnderVoltage", "OverVoltage", "WeakSignal"), Required: true),
            new("info", Text(50)),
            new("status", OneOf("Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV", "Finishing", "Reserved",
                "Unavailable", "Faulted"), Required: true),
            new("timestamp", DateTime),
            new("vendorId", Text(255)),
            new("vendorErrorCode", Text(50))),
        ["Authorize"] = new(new OcppProperty("idTag", Text(20), Required: true)),
        ["StartTransaction"] = new(
            new("connectorId", Integer, Required: true),
            new("idTag", Text(20), Required: true),
            new("meterStart", Integer, Required: true),
            new("reservationId", Integer),
            new("timestamp", DateTime, Required: true)),
        ["MeterValues"] = new(
            new("connectorId", Integer, Required: true),
            new("transactionId", Integer),
            new("meterValue", new OcppArray(MeterValue), Required: true)),
        ["StopTransaction"] = new(
            new("idTag", Text(20)),
            new("meterStop", Integer, Required: true),
            new("timestamp", DateTime, Required: true),
            new("transactionId", Integer, Required: true),
            new("reason", OneOf("EmergencyStop", "EVDisconnected", "HardReset", "Local", "Other", "PowerLoss", "Reboot", "Remote",
                "SoftReset", "UnlockCommand", "DeAuthorized")),
            new("transactionData", new OcppArray(MeterValue))),
    };

    /// <summary>
    /// Validates a CALL: a known action and a payload that conforms to its schema. A payload that is not
    /// well-formed JSON text is a FormationViolation, whether or not it came through <see cref="OcppFrames.Parse"/>.
    /// </summary>
    public static OcppError? Validate(OcppCall call)
    {
        if (!Requests.TryGetValue(call.Action, out var schema)) return new OcppError(OcppErrorCode.NotImplemented, $"action {call.Action} is not implemented");
        if (InteroperableJson.FindViolation(call.Payload) is { } violation) return new OcppError(OcppErrorCode.FormationViolation, $"{call.Action}: {violation}");
        return schema.Check(call.Payload, call.Action);
    }
}
