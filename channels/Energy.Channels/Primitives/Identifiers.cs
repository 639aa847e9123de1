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
/// A party to a channel: the owner of a ledger account, a device (a vehicle paying) or an operator
/// (a charge point operator being paid).
/// </summary>
public readonly record struct PartyId(string Value)
{
    public static Result<PartyId> Parse(string? value) => IdentifierRules.Parse(value, "party id", v => new PartyId(v));
    public static PartyId Of(string value) => Parse(value).Unwrap();
    public static PartyId From(DeviceId device) => new(device.Value);
    public static PartyId From(OperatorId operatorId) => new(operatorId.Value);
    public override string ToString() => Value;
}
