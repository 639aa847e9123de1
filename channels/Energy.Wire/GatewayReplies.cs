using System.Text.Json;
using Energy.Channels.Primitives;

namespace Energy.Wire;

// What a device reads from the results of its calls. A result is the answering entity's view in the
// network's JSON; these records name the part a device relies on, and a device ignores the rest.

/// <summary>An amount as the network writes it in results.</summary>
public sealed record MoneyBody(long MinorUnits, Currency Currency);

/// <summary>The answer to session calls: which session, and what is paid on it so far.</summary>
public sealed record SessionReply(SessionId Session, MoneyBody? Paid);

/// <summary>The answer to <see cref="TollPassCall"/>: the pass the gantry waits on.</summary>
public sealed record TollPassReply(PassId Pass);

/// <summary>The answer to <see cref="GetGantryCall"/>: the gantry's segment and current price (neither, before its operator configured it).</summary>
public sealed record GantryReply(SegmentId? Segment, MoneyBody? Price);

/// <summary>
/// The error frame as a device reads it: the code names the refusal (<see cref="GatewayError"/> or an entity's own); a
/// "busy, retry" refusal may say after how many seconds to try again.
/// </summary>
public sealed record ErrorReply(long? Id, DeviceId? Device, string Code, string Message, int? RetryAfter = null);

/// <summary>The challenge a device signs to authenticate: the encoded authentication challenge, without a signature.</summary>
public sealed record ChallengeReply(DeviceId Device, byte[] Challenge);

/// <summary>
/// The envelope of any frame the gateway sends, as a device reads it: the op, and where the op has them
/// the device, the id of the call it answers, the event's name and the body.
/// </summary>
public readonly record struct GatewayReply(string? Op, string? Device, long? Id, string? Event, JsonElement Body)
{
    public static GatewayReply Read(JsonElement frame) => new(
        frame.TryGetProperty("op", out var op) && op.ValueKind == JsonValueKind.String ? op.GetString() : null,
        frame.TryGetProperty("device", out var device) && device.ValueKind == JsonValueKind.String ? device.GetString() : null,
        frame.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var number) ? number : null,
        frame.TryGetProperty("event", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null,
        frame.TryGetProperty("body", out var body) ? body : default);
}
