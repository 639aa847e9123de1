using System.Buffers;
using System.Text.Json;
using Energy.Channels.Primitives;
using Energy.Cluster.Serialization;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The gateway's outgoing frames, written in one pass into a buffer the thread keeps (no intermediate
/// document, one array per frame). Results carry an entity's answer in the network's JSON; events carry
/// the body their entity gave, as it gave it.
/// </summary>
public static class GatewayFrames
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    public static byte[] Result(long id, DeviceId device, object answer)
    {
        var writer = Start();
        writer.WriteString("op", "result");
        writer.WriteNumber("id", id);
        writer.WriteString("device", device.Value);
        writer.WritePropertyName("body");
        JsonSerializer.Serialize(writer, answer, answer.GetType(), EnergyJson.Options);
        return Finish(writer);
    }

    public static byte[] Event(DeviceId device, string name, object body)
    {
        var writer = Start();
        writer.WriteString("op", "event");
        writer.WriteString("device", device.Value);
        writer.WriteString("event", name);
        writer.WritePropertyName("body");
        if (body is JsonElement element) element.WriteTo(writer);
        else JsonSerializer.Serialize(writer, body, body.GetType());
        return Finish(writer);
    }

    private static Utf8JsonWriter Start()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        return writer;
    }

    private static byte[] Finish(Utf8JsonWriter writer)
    {
        writer.WriteEndObject();
        writer.Flush();
        var frame = t_buffer!.WrittenSpan.ToArray();
        // A rare large frame does not keep its buffer alive on the thread.
        if (t_buffer.Capacity > 64 * 1024) (t_buffer, t_writer) = (null, null);
        return frame;
    }
}
