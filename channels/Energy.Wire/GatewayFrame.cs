using System.Runtime.InteropServices;
using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Wire;

/// <summary>
/// A frame a device sent: op, device, and for calls an id, an action and arguments; for an auth, the signed
/// challenge. Every field is checked where it is read; a field that is missing or malformed is a named
/// <see cref="GatewayError"/> carrying the frame's id and device.
/// </summary>
public sealed class GatewayFrame
{
    private JsonElement _args;

    public string Op { get; private init; } = "";
    public DeviceId Device { get; private init; }
    public long? Id { get; private init; }
    public string Action { get; private init; } = "";

    /// <summary>For an auth, the signed challenge it answers with.</summary>
    public byte[] Signed { get; private init; } = [];

    private JsonElement Root { get; init; }

    internal static GatewayFrame Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw Refuse(new GatewayError.MalformedFrame(null, null, "a frame is a JSON object"));
        // Past this check every string and name in the frame can be read, looked up included, and each name has one value.
        if (InteroperableJson.FindViolation(root) is { } violation) throw Refuse(new GatewayError.MalformedFrame(RawId(root), null, violation));
        long? id = root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.Number && i.TryGetInt64(out var n) ? n : null;
        var op = root.TryGetProperty("op", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()! : throw Refuse(new GatewayError.MalformedFrame(id, null, "op is missing"));
        var deviceText = root.TryGetProperty("device", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : throw Refuse(new GatewayError.MalformedFrame(id, null, "device is missing"));
        var device = DeviceId.Parse(deviceText);
        if (!device.IsOk) throw Refuse(new GatewayError.MalformedFrame(id, null, device.Error!.Describe()));
        var frame = new GatewayFrame { Op = op, Device = device.Value, Id = id, Root = root };
        // An auth's signed challenge is read here, where a refusal is answered, not where the connection authenticates.
        if (op == GatewayOps.Auth) return new GatewayFrame { Op = op, Device = device.Value, Id = id, Root = root, Signed = frame.Bytes("signed") };
        if (op != GatewayOps.Call) return frame;
        if (id is null) throw Refuse(new GatewayError.MalformedFrame(null, device.Value, "a call needs a numeric id"));
        var action = root.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : throw Refuse(new GatewayError.MalformedFrame(id, device.Value, "action is missing"));
        var args = root.TryGetProperty("args", out var g) && g.ValueKind == JsonValueKind.Object ? g : throw Refuse(new GatewayError.MalformedFrame(id, device.Value, "args is missing"));
        return new GatewayFrame { Op = op, Device = device.Value, Id = id, Action = action, Root = root, _args = args };
    }

    /// <summary>
    /// The id of a frame that is not well-formed, so its refusal can still be matched to the call: found
    /// by its raw name, as looking a name up can throw when another name in the object is ill-formed.
    /// </summary>
    private static long? RawId(JsonElement root)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (JsonMarshal.GetRawUtf8PropertyName(property).SequenceEqual("id"u8))
                return property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt64(out var id) ? id : null;
        }
        return null;
    }

    private static FrameRefusedException Refuse(GatewayError error) => new(error);

    private FrameRefusedException Malformed(string reason) => Refuse(new GatewayError.MalformedFrame(Id, Device, reason));

    private JsonElement Field(string name, JsonValueKind kind)
    {
        var source = Op == GatewayOps.Call ? _args : Root;
        if (!source.TryGetProperty(name, out var value)) throw Refuse(new GatewayError.MissingField(Id, Device, name));
        if (value.ValueKind != kind) throw Malformed($"{name} must be a JSON {KindName(kind)}");
        return value;
    }

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        _ => kind.ToString(),
    };

    internal string Text(string name) => Field(name, JsonValueKind.String).GetString()!;

    // Decoded from the frame's own bytes: no string of the base64 text on the way.
    internal byte[] Bytes(string name) =>
        Field(name, JsonValueKind.String).TryGetBytesFromBase64(out var bytes) ? bytes : throw Malformed($"{name} is not base64");

    internal SessionId Session()
    {
        var session = Text("session");
        return SessionId.IsValid(session) ? new SessionId(session) : throw Refuse(new GatewayError.InvalidSessionId(Id, Device, session));
    }

    internal DeviceId DeviceArg(string name)
    {
        var parsed = DeviceId.Parse(Text(name));
        return parsed.IsOk ? parsed.Value : throw Malformed(parsed.Error!.Describe());
    }

    /// <summary>A pass: the gantry's id, a dot, and the pass's number there.</summary>
    internal PassId Pass()
    {
        var pass = Text("pass");
        return PassId.Parse(pass) is { IsOk: true } parsed ? parsed.Value : throw Malformed($"pass '{pass}' is not a gantry id, a dot and a number");
    }

    internal SegmentId? OptionalZone()
    {
        var source = Op == GatewayOps.Call ? _args : Root;
        if (!source.TryGetProperty("zone", out var zone) || zone.ValueKind == JsonValueKind.Null) return null;
        var parsed = zone.ValueKind == JsonValueKind.String ? SegmentId.Parse(zone.GetString()) : SegmentId.Parse(null);
        return parsed.IsOk ? parsed.Value : throw Malformed("zone must be a zone id");
    }

    internal ChannelId Channel(string name)
    {
        var parsed = ChannelId.Parse(Text(name));
        return parsed.IsOk ? parsed.Value : throw Malformed(parsed.Error!.Describe());
    }

    internal long MinorUnits(string name)
    {
        var value = Field(name, JsonValueKind.Number);
        return value.TryGetInt64(out var minor) ? minor : throw Malformed($"{name} must be an integer of minor units");
    }
}

/// <summary>
/// How a field check leaves the middle of a decode: always caught in this library and answered as its
/// <see cref="GatewayError"/>; it never crosses the library's surface.
/// </summary>
internal sealed class FrameRefusedException(GatewayError error) : Exception(error.Describe())
{
    public GatewayError Error { get; } = error;
}
