using System.Buffers;
using System.Text.Json;
using Energy.Channels.Primitives;

namespace Energy.Wire;

/// <summary>
/// Writes frames, each in one pass into a buffer the thread keeps (no intermediate document, one array per
/// frame). The gateway writes challenges, welcomes, results, events and errors; a device writes hellos,
/// auths and calls. Every op and field name on the wire is spelled here, once.
/// </summary>
public static class GatewayFrameWriter
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    // What the gateway sends.

    public static byte[] Challenge(DeviceId device, ReadOnlySpan<byte> challenge)
    {
        var writer = Start(GatewayOps.Challenge);
        writer.WriteString("device", device.Value);
        // The same escaping as every other string: a device reads a JSON string and decodes it as base64.
        writer.WriteString("challenge", Convert.ToBase64String(challenge));
        return Finish(writer);
    }

    /// <summary>The welcome for a device already authenticated on the connection.</summary>
    public static byte[] Welcome(DeviceId device)
    {
        var writer = Start(GatewayOps.Welcome);
        writer.WriteString("device", device.Value);
        return Finish(writer);
    }

    /// <summary>The welcome for a device that has just authenticated: its role and operator as registered.</summary>
    public static byte[] Welcome(DeviceId device, string role, string operatorId)
    {
        var writer = Start(GatewayOps.Welcome);
        writer.WriteString("device", device.Value);
        writer.WriteString("role", role);
        writer.WriteString("operator", operatorId);
        return Finish(writer);
    }

    /// <summary>A call's result: the entity's answer in the JSON of <paramref name="options"/> (the network's own).</summary>
    public static byte[] Result(long id, DeviceId device, object answer, JsonSerializerOptions options)
    {
        var writer = Start(GatewayOps.Result);
        writer.WriteNumber("id", id);
        writer.WriteString("device", device.Value);
        writer.WritePropertyName("body");
        JsonSerializer.Serialize(writer, answer, answer.GetType(), options);
        return Finish(writer);
    }

    /// <summary>An event with its typed body.</summary>
    public static byte[] Event<TEvent>(DeviceId device, TEvent body) where TEvent : IGatewayEvent
    {
        var writer = StartEvent(device, TEvent.Name);
        JsonSerializer.Serialize(writer, body, WireJson.Options);
        return Finish(writer);
    }

    /// <summary>An event whose body its entity gave as it gave it: a JSON element, or an object written with its own names.</summary>
    public static byte[] Event(DeviceId device, string name, object body)
    {
        var writer = StartEvent(device, name);
        if (body is JsonElement element) element.WriteTo(writer);
        else JsonSerializer.Serialize(writer, body, body.GetType());
        return Finish(writer);
    }

    public static byte[] Error(GatewayError error)
    {
        var writer = Start(GatewayOps.Error);
        if (error.Id is { } id) writer.WriteNumber("id", id);
        else writer.WriteNull("id");
        if (error.Device is { } device) writer.WriteString("device", device.Value);
        else writer.WriteNull("device");
        writer.WriteString("code", error.Code);
        writer.WriteString("message", error.Describe());
        if (error.RetryAfterSeconds is { } retryAfter) writer.WriteNumber("retryAfter", retryAfter);
        return Finish(writer);
    }

    // What a device sends.

    public static byte[] Hello(DeviceId device)
    {
        var writer = Start(GatewayOps.Hello);
        writer.WriteString("device", device.Value);
        return Finish(writer);
    }

    public static byte[] Auth(DeviceId device, ReadOnlySpan<byte> signed)
    {
        var writer = Start(GatewayOps.Auth);
        writer.WriteString("device", device.Value);
        writer.WriteString("signed", Convert.ToBase64String(signed));
        return Finish(writer);
    }

    public static byte[] Call<TCall>(long id, DeviceId device, TCall args) where TCall : IGatewayCall
    {
        var writer = StartCall(id, device, TCall.Action);
        JsonSerializer.Serialize(writer, args, WireJson.Options);
        return Finish(writer);
    }

    /// <summary>A call with any action and arguments, written with their own names (a hostile or experimental client).</summary>
    public static byte[] Call(long id, DeviceId device, string action, object args)
    {
        var writer = StartCall(id, device, action);
        JsonSerializer.Serialize(writer, args, args.GetType());
        return Finish(writer);
    }

    private static Utf8JsonWriter StartEvent(DeviceId device, string name)
    {
        var writer = Start(GatewayOps.Event);
        writer.WriteString("device", device.Value);
        writer.WriteString("event", name);
        writer.WritePropertyName("body");
        return writer;
    }

    private static Utf8JsonWriter StartCall(long id, DeviceId device, string action)
    {
        var writer = Start(GatewayOps.Call);
        writer.WriteNumber("id", id);
        writer.WriteString("device", device.Value);
        writer.WriteString("action", action);
        writer.WritePropertyName("args");
        return writer;
    }

    private static Utf8JsonWriter Start(string op)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteString("op", op);
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
