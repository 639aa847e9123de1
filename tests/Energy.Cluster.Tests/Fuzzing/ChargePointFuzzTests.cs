using System.Text;
using System.Text.Json;
using Energy.Lifecycles.ChargePoints;
using Energy.Cluster.Gateway;
using Energy.Cluster.Serialization;
using Energy.Fuzzing;
using Energy.Ocpp;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests.Fuzzing;

/// <summary>
/// The fuzz target for the way from a charger to its charge point entity: a CALL that passes validation
/// crosses the wire between nodes unchanged, and the entity's reads of it (its integers, its energy
/// register) never throw.
/// </summary>
public sealed class ChargePointFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void A_validated_call_crosses_nodes_unchanged_and_the_charge_point_reads_it_without_throwing()
    {
        var fuzzer = new MutationFuzzer("OCPP call to ChargePointEntity", OcppSamples.Messages.Select(Encoding.UTF8.GetBytes))
        {
            Dictionary = [.. JsonTokens.Hostile, .. OcppSamples.FieldTokens],
            Wrappers = JsonTokens.Nesting,
            Regressions = OcppSamples.Regressions,
            MaxInputs = 20_000,
            MaxTime = TimeSpan.FromSeconds(2),
            MaxInputBytes = 16 * 1024,
        };
        var report = fuzzer.Run(ReachesTheEntityIntact);
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted >= 7, report.ToString());
    }

    private static bool ReachesTheEntityIntact(byte[] input)
    {
        if (OcppFrames.Parse(input).Frame is not OcppCall call || Ocpp16.Validate(call) is not null) return false;
        var request = new ChargePointRequest("cp-1", call.Action, call.Payload);
        var crossed = JsonSerializer.Deserialize<ChargePointRequest>(JsonSerializer.SerializeToUtf8Bytes(request, EnergyJson.Options), EnergyJson.Options)!;
        Assert.Equal(call.Action, crossed.Action);
        Assert.True(JsonElement.DeepEquals(call.Payload, crossed.Payload), $"the payload changed between nodes: {crossed.Payload.GetRawText()}");
        ReadAsTheEntityDoes(call.Action, crossed.Payload);
        return true;
    }

    /// <summary>The fields ChargePointEntity reads from each request, read by the same function; and the register of a stop's transaction data.</summary>
    private static void ReadAsTheEntityDoes(string action, JsonElement p)
    {
        _ = ChargePointCalls.Read(action, p);
        if (action == "StopTransaction" && p.TryGetProperty("transactionData", out var data)) _ = ChargePointCalls.EnergyRegister(data);
    }
}
