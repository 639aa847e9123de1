using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Energy.Fuzzing;
using Xunit.Abstractions;

namespace Energy.Ocpp.Tests.Fuzzing;

/// <summary>
/// The fuzz target for what a charger sends: OcppFrames.Parse, then Ocpp16.Validate for a CALL. Whatever
/// the bytes, the answer is a frame or a CALLERROR with a code of OCPP-J 1.6 that can be written back,
/// never an exception; and a CALL that passes validation can be read the way the charge point reads it.
/// </summary>
public sealed partial class OcppFuzzTests(ITestOutputHelper output)
{
    private static readonly IReadOnlySet<string> ErrorCodes = typeof(OcppErrorCode).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(field => (string)field.GetValue(null)!).ToHashSet(StringComparer.Ordinal);

    [Fact]
    public void Hostile_bytes_get_a_named_CALLERROR_or_a_frame_the_charge_point_can_read()
    {
        var fuzzer = new MutationFuzzer("OcppFrames.Parse + Ocpp16.Validate", OcppSamples.Messages.Select(Encoding.UTF8.GetBytes))
        {
            Dictionary = [.. JsonTokens.Hostile, .. OcppSamples.FieldTokens],
            Wrappers = JsonTokens.Nesting,
            Regressions = OcppSamples.Regressions,
            MaxInputBytes = 16 * 1024,
        };
        var report = fuzzer.Run(AnswersWithoutThrowing);
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted >= OcppSamples.Messages.Count, report.ToString());
        Assert.True(report.Accepted < report.Inputs, report.ToString());
    }

    private static bool AnswersWithoutThrowing(byte[] input)
    {
        var parsed = OcppFrames.Parse(input);
        Assert.True(parsed.Frame is null != parsed.Error is null, "a parse answers a frame or an error");
        if (parsed.Error is { } error)
        {
            AssertAnswerable(parsed.UniqueId, error);
            return false;
        }
        Assert.Equal(parsed.Frame!.UniqueId, parsed.UniqueId);
        if (parsed.Frame is not OcppCall call)
        {
            // A CALLRESULT or CALLERROR is not validated here, but every string in it can be read.
            AssertReadable(parsed.Frame switch { OcppCallResult r => r.Payload, OcppCallError e => e.ErrorDetails, _ => default });
            return true;
        }
        var invalid = Ocpp16.Validate(call);
        if (invalid is not null)
        {
            AssertAnswerable(call.UniqueId, invalid);
            return false;
        }
        AssertReadable(call.Payload);
        AssertReadableAs(Ocpp16.Requests[call.Action], call.Payload);
        return true;
    }

    /// <summary>The CALLERROR the endpoint would send: a code of OCPP-J 1.6, written as a frame that itself parses back.</summary>
    private static void AssertAnswerable(string? uniqueId, OcppError error)
    {
        Assert.Contains(error.Code, ErrorCodes);
        Assert.False(string.IsNullOrEmpty(error.Description));
        var answer = OcppFrames.CallError(uniqueId ?? "-1", error);
        var echoed = Assert.IsType<OcppCallError>(OcppFrames.Parse(Encoding.UTF8.GetBytes(answer)).Frame);
        Assert.Equal((uniqueId ?? "-1", error.Code), (echoed.UniqueId, echoed.ErrorCode));
    }

    /// <summary>Every string and name can be read, and no object repeats a name.</summary>
    private static void AssertReadable(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                _ = value.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray()) AssertReadable(item);
                break;
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in value.EnumerateObject())
                {
                    Assert.True(names.Add(property.Name), $"'{property.Name}' appears twice in an accepted object");
                    AssertReadable(property.Value);
                }
                break;
        }
    }

    /// <summary>What the charge point does with a valid payload: integers read as Int32, date-times strict and within the calendar.</summary>
    private static void AssertReadableAs(OcppSchema schema, JsonElement value)
    {
        switch (schema)
        {
            case OcppInteger:
                _ = value.GetInt32();
                break;
            case OcppString { DateTime: true }:
                var text = value.GetString()!;
                Assert.Matches(StrictDateTime(), text);
                Assert.True(DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out _), $"'{text}' is no instant");
                break;
            case OcppArray array:
                foreach (var item in value.EnumerateArray()) AssertReadableAs(array.Items, item);
                break;
            case OcppObject shape:
                foreach (var property in shape.Properties)
                {
                    if (value.TryGetProperty(property.Name, out var field)) AssertReadableAs(property.Schema, field);
                }
                break;
        }
    }

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex StrictDateTime();
}
