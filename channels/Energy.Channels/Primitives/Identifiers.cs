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
