namespace Energy.Channels.Primitives;

/// <summary>
/// Rules shared by every textual identifier: 1 to 64 characters from [a-z0-9._:-]. One spelling per
/// identifier keeps the encoding canonical and keeps identifiers safe in URLs, logs and entity ids.
/// </summary>
public static class IdentifierRules
{
    public const int MaxLength = 64;

    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength) return false;
        foreach (var c in value)
        {
            var ok = c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or ':' or '-';
            if (!ok) return false;
        }
        return true;
    }

    internal static Result<T> Parse<T>(string? value, string kind, Func<string, T> create)
    {
        if (!IsValid(value))
            return new MalformedValue(kind, value ?? "(null)", $"1 to {MaxLength} characters of [a-z0-9._:-]");
        return create(value!);
    }
}

/// <summary>The network a signed object belongs to; it is inside every signature, so an object signed for one network never verifies on another.</summary>
public readonly record struct NetworkId(string Value)
{
    public static Result<NetworkId> Parse(string? value) => IdentifierRules.Parse(value, "network id", v => new NetworkId(v));
    public static NetworkId Of(string value) => Parse(value).Unwrap();
    public override string ToString() => Value;
}

/// <summary>An operator: a charge point operator, toll operator, grid operator or fleet owner.</summary>
public readonly record struct OperatorId(string Value)
{
    public static Result<OperatorId> Parse(string? value) => IdentifierRules.Parse(value, "operator id", v => new OperatorId(v));
    public static OperatorId Of(string value) => Parse(value).Unwrap();
    public override string ToString() => Value;
}

/// <summary>A device: a vehicle, charger, meter or gantry.</summary>
public readonly record struct DeviceId(string Value)
{
    public static Result<DeviceId> Parse(string? value) => IdentifierRules.Parse(value, "device id", v => new DeviceId(v));
    public static DeviceId Of(string value) => Parse(value).Unwrap();
    public override string ToString() => Value;
}

/// <summary>A payment channel.</summary>
public readonly record struct ChannelId(string Value)
{
    /// <summary>Stands in for "no channel" in errors raised outside any channel.</summary>
    public static readonly ChannelId None = new("-");

    public static Result<ChannelId> Parse(string? value) => IdentifierRules.Parse(value, "channel id", v => new ChannelId(v));
    public static ChannelId Of(string value) => Parse(value).Unwrap();
    public override string ToString() => Value;
}

/// <summary>A road segment covered by a toll gantry.</summary>
public readonly record struct SegmentId(string Value)
{
    public static Result<SegmentId> Parse(string? value) => IdentifierRules.Parse(value, "segment id", v => new SegmentId(v));
    public static SegmentId Of(string value) => Parse(value).Unwrap();
    public override string ToString() => Value;
}

/// <summary>
/// A charging session: 1 to 64 characters of [a-z0-9._:-]. Its payments name it as their purpose (see
/// <see cref="Streaming.PaymentPurpose"/>); a value that is not an identifier names no purpose and takes no payment.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(SessionIdJson))]
public readonly record struct SessionId
{
    public SessionId(string value)
    {
        Value = value;
        Purpose = Streaming.PaymentPurpose.ForSession(value) is { IsOk: true } purpose ? purpose.Value : Streaming.PaymentPurpose.None;
    }

    public string Value { get; }

    /// <summary>What a voucher paying for this session names; none when the value is not an identifier.</summary>
    public Streaming.PaymentPurpose Purpose { get; }

    public static Result<SessionId> Parse(string? value) => IdentifierRules.Parse(value, "session id", v => new SessionId(v));
    public static SessionId Of(string value) => Parse(value).Unwrap();
    public static bool IsValid(string? value) => IdentifierRules.IsValid(value);

    /// <summary>The session of an OCPP charge point's transaction: the same sessions, payments and records as agent chargers have.</summary>
    public static SessionId OfTransaction(string chargePoint, int transactionId) => new($"ocpp:{chargePoint}:{transactionId}");

    /// <summary>The OCPP transaction this session is of, or null for a session of an agent charger.</summary>
    public (string ChargePoint, int TransactionId)? Transaction
    {
        get
        {
            if (Value is null || !Value.StartsWith("ocpp:", StringComparison.Ordinal)) return null;
            var last = Value.LastIndexOf(':');
            return last > 5 && int.TryParse(Value.AsSpan(last + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var transaction)
                ? (Value[5..last], transaction)
                : null;
        }
    }

    public bool Equals(SessionId other) => string.Equals(Value, other.Value, StringComparison.Ordinal);
    public override int GetHashCode() => Value is null ? 0 : StringComparer.Ordinal.GetHashCode(Value);
    public override string ToString() => Value ?? "";
}

/// <summary>
/// A toll pass: the gantry that recorded it and its number there, from 1. Its text form is
/// <c>{gantry}.{number}</c> (which may be longer than one identifier); its payments name it as their purpose.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(PassIdJson))]
public readonly record struct PassId(DeviceId Gantry, ulong Number)
{
    public static Result<PassId> Parse(string? value)
    {
        var dot = value?.LastIndexOf('.') ?? -1;
        if (dot <= 0
            || !ulong.TryParse(value.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) || number == 0
            || DeviceId.Parse(value![..dot]) is not { IsOk: true } gantry)
            return new MalformedValue("pass id", value ?? "(null)", "<gantry>.<number>, the number from 1");
        return new PassId(gantry.Value, number);
    }

    public static PassId Of(string value) => Parse(value).Unwrap();

    /// <summary>The text form: gantry, dot, number.</summary>
    public string Value => $"{Gantry.Value}.{Number.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>What a voucher paying for this pass names.</summary>
    public Streaming.PaymentPurpose Purpose => Streaming.PaymentPurpose.ForTollPass(Gantry, Number);

    public override string ToString() => Value;
}

/// <summary>A session id in JSON is its plain string, whatever the options; reading checks it as <see cref="SessionId.Parse"/> does.</summary>
public sealed class SessionIdJson : System.Text.Json.Serialization.JsonConverter<SessionId>
{
    public override SessionId Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        reader.TokenType == System.Text.Json.JsonTokenType.String && SessionId.Parse(reader.GetString()) is { IsOk: true } session
            ? session.Value
            : throw new System.Text.Json.JsonException("a session id is a string of 1 to 64 characters of [a-z0-9._:-]");

    public override void Write(System.Text.Json.Utf8JsonWriter writer, SessionId value, System.Text.Json.JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}

/// <summary>A pass id in JSON is its text form, whatever the options; reading checks it as <see cref="PassId.Parse"/> does.</summary>
public sealed class PassIdJson : System.Text.Json.Serialization.JsonConverter<PassId>
{
    public override PassId Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        reader.TokenType == System.Text.Json.JsonTokenType.String && PassId.Parse(reader.GetString()) is { IsOk: true } pass
            ? pass.Value
            : throw new System.Text.Json.JsonException("a pass id is a string: a gantry id, a dot and a number from 1");

    public override void Write(System.Text.Json.Utf8JsonWriter writer, PassId value, System.Text.Json.JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}

/// <summary>The kind of a party. Stable byte values: they are signed inside every object that names a party.</summary>
public enum PartyKind : byte
{
    Operator = 1,
    Device = 2,
}

/// <summary>
/// A party: the owner of a ledger account, a side of a channel, a signer. Operators and devices are
/// different kinds of party with separate namespaces, so the operator <c>acme</c> and a device <c>acme</c>
/// are never confused: the text form is <c>operator:acme</c> or <c>device:acme</c>, and the canonical
/// encoding writes the kind's byte before the name.
/// </summary>
public readonly record struct PartyId
{
    public const string OperatorPrefix = "operator:";
    public const string DevicePrefix = "device:";

    private PartyId(PartyKind kind, string name)
    {
        Kind = kind;
        Name = name;
        Value = (kind == PartyKind.Operator ? OperatorPrefix : DevicePrefix) + name;
    }

    public PartyKind Kind { get; }

    /// <summary>The operator's or device's own id, without the kind.</summary>
    public string Name { get; }

    /// <summary>The text form: kind, colon, name.</summary>
    public string Value { get; }

    public bool IsOperator => Kind == PartyKind.Operator;
    public bool IsDevice => Kind == PartyKind.Device;

    public static bool IsDefinedKind(byte kind) => kind is (byte)PartyKind.Operator or (byte)PartyKind.Device;

    public static Result<PartyId> Parse(string? value)
    {
        if (value is not null && value.StartsWith(OperatorPrefix, StringComparison.Ordinal))
            return Create(PartyKind.Operator, value[OperatorPrefix.Length..]);
        if (value is not null && value.StartsWith(DevicePrefix, StringComparison.Ordinal))
            return Create(PartyKind.Device, value[DevicePrefix.Length..]);
        return new MalformedValue("party id", value ?? "(null)", $"{OperatorPrefix}<id> or {DevicePrefix}<id>");
    }

    public static Result<PartyId> Create(PartyKind kind, string? name)
    {
        if (kind is not (PartyKind.Operator or PartyKind.Device)) return new MalformedValue("party kind", ((byte)kind).ToString(), "operator or device");
        return IdentifierRules.Parse(name, kind == PartyKind.Operator ? "operator id" : "device id", n => new PartyId(kind, n));
    }

    public static PartyId Of(string value) => Parse(value).Unwrap();
    public static PartyId From(DeviceId device) => new(PartyKind.Device, device.Value);
    public static PartyId From(OperatorId operatorId) => new(PartyKind.Operator, operatorId.Value);

    public DeviceId AsDevice() => IsDevice ? new DeviceId(Name) : throw new InvalidOperationException($"{Value} is not a device");
    public OperatorId AsOperator() => IsOperator ? new OperatorId(Name) : throw new InvalidOperationException($"{Value} is not an operator");

    public bool Is(DeviceId device) => IsDevice && Name == device.Value;
    public bool Is(OperatorId operatorId) => IsOperator && Name == operatorId.Value;

    /// <summary>The kind and the name are read from the text form, so the text alone decides equality (one string compare, one hash).</summary>
    public bool Equals(PartyId other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override int GetHashCode() => Value is null ? 0 : StringComparer.Ordinal.GetHashCode(Value);

    public override string ToString() => Value ?? "";
}
