using System.Collections.Frozen;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Energy.Channels;

namespace Energy.Cluster.Serialization;

/// <summary>
/// Every named error of the network by its type name: those of the protocol library and of the cluster.
/// A refusal names the type of its error so that the node receiving it reads the same error back.
/// </summary>
public static class ErrorCatalog
{
    public static readonly FrozenDictionary<string, Type> ByName = Scan(typeof(ProtocolError).Assembly, typeof(Refusal).Assembly, typeof(ErrorCatalog).Assembly);

    public static FrozenDictionary<string, Type> Scan(params Assembly[] assemblies)
    {
        var types = assemblies.Distinct().SelectMany(a => a.GetTypes())
            .Where(t => t is { IsAbstract: false, IsClass: true } && typeof(ProtocolError).IsAssignableFrom(t)).ToList();
        var repeated = types.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new InvalidOperationException($"two errors are named {repeated.Key}: {string.Join(", ", repeated.Select(t => t.FullName))}");
        return types.ToFrozenDictionary(t => t.Name);
    }
}

/// <summary>
/// A refusal as <c>{"code", "message", "type", "error"}</c>: the code and sentence anyone can read, and the
/// error's type and values for a node that knows the type. An error this node cannot read back (a type it
/// does not know, values it cannot hold) is kept as a <see cref="RecordedError"/> with its code and sentence.
/// </summary>
public sealed class RefusalJsonConverter : JsonConverter<Refusal>
{
    public override Refusal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new JsonException("a refusal is an object");
        var code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : throw new JsonException("a refusal has a code");
        var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
        if (root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && ErrorCatalog.ByName.TryGetValue(t.GetString()!, out var type)
            && root.TryGetProperty("error", out var values))
        {
            try
            {
                if (values.Deserialize(type, options) is ProtocolError error && error.Code == code) return new Refusal(error);
            }
            catch (Exception exception) when (exception is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
            {
                // Values this node cannot hold: keep what anyone can read.
            }
        }
        return new Refusal(new RecordedError(code, message));
    }

    public override void Write(Utf8JsonWriter writer, Refusal refusal, JsonSerializerOptions options)
    {
        var error = refusal.Error;
        JsonElement? values = null;
        if (error is not RecordedError)
        {
            try { values = JsonSerializer.SerializeToElement(error, error.GetType(), options); }
            catch (Exception exception) when (exception is JsonException or NotSupportedException or InvalidOperationException)
            {
                // An error whose values do not write as JSON still travels by its code and sentence.
            }
        }
        writer.WriteStartObject();
        writer.WriteString("code", error.Code);
        writer.WriteString("message", error.Describe());
        if (values is { } written)
        {
            writer.WriteString("type", error.GetType().Name);
            writer.WritePropertyName("error");
            written.WriteTo(writer);
        }
        writer.WriteEndObject();
    }
}
