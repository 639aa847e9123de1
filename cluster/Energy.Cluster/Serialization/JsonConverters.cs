using System.Text.Json;
using System.Text.Json.Serialization;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Serialization;

/// <summary>Writes an identifier struct as its plain string.</summary>
internal sealed class IdentifierConverter<T>(Func<string, T> create, Func<T, string> value) : JsonConverter<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        create(reader.GetString() ?? throw new JsonException($"{typeof(T).Name} must be a string"));

    public override void Write(Utf8JsonWriter writer, T item, JsonSerializerOptions options) => writer.WriteStringValue(value(item));
}

internal sealed class MoneyConverter : JsonConverter<Money>
{
    public override Money Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        long? minor = null;
        string? currency = null;
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("money must be an object");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            if (name == "minorUnits") minor = reader.GetInt64();
            else if (name == "currency") currency = reader.GetString();
            else reader.Skip();
        }
        var parsed = Currency.Parse(currency);
        if (minor is null || !parsed.IsOk) throw new JsonException("money needs minorUnits and a currency");
        return new Money(minor.Value, parsed.Value);
    }

    public override void Write(Utf8JsonWriter writer, Money money, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("minorUnits", money.MinorUnits);
        writer.WriteString("currency", money.Currency.Code);
        writer.WriteEndObject();
    }
}

internal sealed class Int64Converter<T>(Func<long, T> create, Func<T, long> value) : JsonConverter<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => create(reader.GetInt64());
    public override void Write(Utf8JsonWriter writer, T item, JsonSerializerOptions options) => writer.WriteNumberValue(value(item));
}

public static class EnergyJson
{
    /// <summary>The JSON options used for the journal, the wire between nodes and the HTTP API.</summary>
    public static readonly JsonSerializerOptions Options = Create();

    public static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        AddConverters(options);
        return options;
    }

    public static void AddConverters(JsonSerializerOptions options)
    {
        options.Converters.Add(new IdentifierConverter<NetworkId>(v => new NetworkId(v), v => v.Value));
        options.Converters.Add(new IdentifierConverter<OperatorId>(v => new OperatorId(v), v => v.Value));
        options.Converters.Add(new IdentifierConverter<DeviceId>(v => new DeviceId(v), v => v.Value));
        options.Converters.Add(new IdentifierConverter<ChannelId>(v => new ChannelId(v), v => v.Value));
        options.Converters.Add(new IdentifierConverter<PartyId>(v => PartyId.Parse(v) is { IsOk: true } party ? party.Value : throw new JsonException($"'{v}' is not a party id (operator:<id> or device:<id>)"), v => v.Value));
        options.Converters.Add(new IdentifierConverter<SegmentId>(v => new SegmentId(v), v => v.Value));
        options.Converters.Add(new IdentifierConverter<Energy.Channels.Market.ZoneId>(v => new Energy.Channels.Market.ZoneId(v), v => v.Value));
        options.Converters.Add(new IdentifierConverter<EscrowId>(v => EscrowId.Parse(v) is { IsOk: true } escrow ? escrow.Value : throw new JsonException($"'{v}' is not an escrow id"), v => v.ToString()));
        options.Converters.Add(new IdentifierConverter<Currency>(v => Currency.Of(v), v => v.Code));
        options.Converters.Add(new IdentifierConverter<Energy.Channels.Streaming.PaymentPurpose>(
            v => Energy.Channels.Streaming.PaymentPurpose.Parse(v) is { IsOk: true } purpose ? purpose.Value : throw new JsonException($"'{v}' is not a payment purpose"),
            v => v.ToString()));
        options.Converters.Add(new MoneyConverter());
        options.Converters.Add(new RefusalJsonConverter());
        options.Converters.Add(new Int64Converter<Timestamp>(v => new Timestamp(v), v => v.UnixMilliseconds));
        options.Converters.Add(new Int64Converter<DurationMs>(v => new DurationMs(v), v => v.Milliseconds));
        options.Converters.Add(new Int64Converter<EnergyWh>(v => new EnergyWh(v), v => v.WattHours));
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
    }
}
