using System.Text.Json;
using Energy.Channels.Encoding;

namespace Energy.Ocpp;

/// <summary>The CALLERROR codes of OCPP-J 1.6 (spelling as in the specification, "Occurence" included).</summary>
public static class OcppErrorCode
{
    public const string NotImplemented = "NotImplemented";
    public const string NotSupported = "NotSupported";
    public const string InternalError = "InternalError";
    public const string ProtocolError = "ProtocolError";
    public const string SecurityError = "SecurityError";
    public const string FormationViolation = "FormationViolation";
    public const string PropertyConstraintViolation = "PropertyConstraintViolation";
    public const string OccurenceConstraintViolation = "OccurenceConstraintViolation";
    public const string TypeConstraintViolation = "TypeConstraintViolation";
    public const string GenericError = "GenericError";
}

/// <summary>A refusal to send back as a CALLERROR.</summary>
public sealed record OcppError(string Code, string Description);

public abstract record OcppFrame(string UniqueId);

/// <summary>[2, uniqueId, action, payload]</summary>
public sealed record OcppCall(string UniqueId, string Action, JsonElement Payload) : OcppFrame(UniqueId);

/// <summary>[3, uniqueId, payload]</summary>
public sealed record OcppCallResult(string UniqueId, JsonElement Payload) : OcppFrame(UniqueId);

/// <summary>[4, uniqueId, errorCode, errorDescription, errorDetails]</summary>
public sealed record OcppCallError(string UniqueId, string ErrorCode, string ErrorDescription, JsonElement ErrorDetails) : OcppFrame(UniqueId);

/// <summary>The outcome of reading one text message: a frame, or an error with the unique id when one could be read.</summary>
public sealed record OcppParse(OcppFrame? Frame, OcppError? Error, string? UniqueId);

public static class OcppFrames
{
    public const int MaxMessageBytes = 64 * 1024;
    public const int MaxUniqueIdLength = 36;

    public static OcppParse Parse(ReadOnlySpan<byte> utf8) =>
        utf8.Length > MaxMessageBytes ? TooLong(utf8.Length) : ParseInPlace(utf8.ToArray());

    /// <summary>
    /// Parses <paramref name="utf8"/> in place: it is read only while this runs (what the frame keeps is its own copy), so
    /// a caller that reuses its buffer for the next message need not copy this one.
    /// </summary>
    public static OcppParse ParseInPlace(ReadOnlyMemory<byte> utf8)
    {
        if (utf8.Length > MaxMessageBytes) return TooLong(utf8.Length);
        JsonDocument document;
        try { document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 32 }); }
        catch (JsonException exception) { return Fail(null, OcppErrorCode.FormationViolation, $"not JSON: {exception.Message}"); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array) return Fail(null, OcppErrorCode.FormationViolation, "a message is a JSON array");
            var length = root.GetArrayLength();
            if (length < 3) return Fail(null, OcppErrorCode.FormationViolation, "a message has at least three elements");
            if (root[1].ValueKind != JsonValueKind.String) return Fail(null, OcppErrorCode.FormationViolation, "the unique id is a string");
            if (InteroperableJson.FindViolation(root[1]) is { } badId) return Fail(null, OcppErrorCode.FormationViolation, $"the unique id: {badId}");
            var uniqueId = root[1].GetString()!;
            if (uniqueId.Length is 0 or > MaxUniqueIdLength)
                return Fail(null, OcppErrorCode.FormationViolation, $"the unique id has 1 to {MaxUniqueIdLength} characters");
            // Past this check every string in the message can be read without throwing.
            if (InteroperableJson.FindViolation(root) is { } violation) return Fail(uniqueId, OcppErrorCode.FormationViolation, violation);
            if (root[0].ValueKind != JsonValueKind.Number || !root[0].TryGetInt32(out var type))
                return Fail(uniqueId, OcppErrorCode.FormationViolation, "the message type is a number");
            switch (type)
            {
                case 2:
                    if (length != 4) return Fail(uniqueId, OcppErrorCode.FormationViolation, "a CALL has four elements");
                    if (root[2].ValueKind != JsonValueKind.String) return Fail(uniqueId, OcppErrorCode.FormationViolation, "the action is a string");
                    if (root[3].ValueKind != JsonValueKind.Object) return Fail(uniqueId, OcppErrorCode.FormationViolation, "the payload is an object");
                    return new OcppParse(new OcppCall(uniqueId, root[2].GetString()!, root[3].Clone()), null, uniqueId);
                case 3:
                    if (length != 3) return Fail(uniqueId, OcppErrorCode.FormationViolation, "a CALLRESULT has three elements");
                    if (root[2].ValueKind != JsonValueKind.Object) return Fail(uniqueId, OcppErrorCode.FormationViolation, "the payload is an object");
                    return new OcppParse(new OcppCallResult(uniqueId, root[2].Clone()), null, uniqueId);
                case 4:
                    if (length != 5 || root[2].ValueKind != JsonValueKind.String || root[3].ValueKind != JsonValueKind.String)
                        return Fail(uniqueId, OcppErrorCode.FormationViolation, "a CALLERROR has five elements: type, id, code, description, details");
                    return new OcppParse(new OcppCallError(uniqueId, root[2].GetString()!, root[3].GetString()!, root[4].Clone()), null, uniqueId);
                default:
                    return Fail(uniqueId, OcppErrorCode.ProtocolError, $"message type {type} is not 2, 3 or 4");
            }
        }
    }

    public static string CallResult(string uniqueId, object payload, JsonSerializerOptions? options = null) =>
        JsonSerializer.Serialize(new object[] { 3, uniqueId, payload }, options);

    public static string CallError(string uniqueId, OcppError error) =>
        JsonSerializer.Serialize(new object[] { 4, uniqueId, error.Code, error.Description, new Dictionary<string, object>() });

    private static OcppParse TooLong(int length) =>
        Fail(null, OcppErrorCode.FormationViolation, $"message of {length} bytes exceeds {MaxMessageBytes}");

    private static OcppParse Fail(string? uniqueId, string code, string description) => new(null, new OcppError(code, description), uniqueId);
}
