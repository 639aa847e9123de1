using System.Text.Json;
using System.Text.Json.Serialization;
using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Wire;

/// <summary>
/// How the records of this library are written as JSON: names in camelCase, identifiers and currencies as
/// their plain strings, bytes as base64. Reading an identifier checks it as its type's parser does.
/// </summary>
public static class WireJson
{
    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
        options.Converters.Add(new TextConverter<DeviceId>(DeviceId.Of, id => id.Value));
        options.Converters.Add(new TextConverter<ChannelId>(ChannelId.Of, id => id.Value));
        options.Converters.Add(new TextConverter<SegmentId>(SegmentId.Of, id => id.Value));
        options.Converters.Add(new TextConverter<PartyId>(PartyId.Of, id => id.Value));
        options.Converters.Add(new TextConverter<Currency>(Currency.Of, currency => currency.Code));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>A body the network sent, read as its record; a body that does not fit throws <see cref="JsonException"/>.</summary>
    public static T Read<T>(JsonElement body) =>
        body.Deserialize<T>(Options) ?? throw new JsonException($"the body is not a {typeof(T).Name}");

    private sealed class TextConverter<T>(Func<string, T> parse, Func<T, string> text) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var value = reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException($"{typeof(T).Name} must be a string");
            try { return parse(value); }
            catch (ProtocolException e) { throw new JsonException($"'{value}' is not a {typeof(T).Name}", e); }
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(text(value));
    }
}
