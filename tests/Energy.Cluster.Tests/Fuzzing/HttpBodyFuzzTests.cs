using System.Text;
using System.Text.Json;
using Energy.Cluster.Api;
using Energy.Cluster.Serialization;
using Energy.Fuzzing;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests.Fuzzing;

/// <summary>
/// The fuzz target for the JSON bodies of the HTTP API, read with the node's HTTP options: a body is a
/// value or a JsonException (which ASP.NET answers with 400), never another exception (which would be a
/// 500). The dashboard's sign-in body has its own target in the dashboard's tests.
/// </summary>
public sealed class HttpBodyFuzzTests(ITestOutputHelper output)
{
    /// <summary>The options the node gives ASP.NET: web defaults and the network's converters.</summary>
    private static readonly JsonSerializerOptions HttpOptions = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        EnergyJson.AddConverters(options);
        return options;
    }

    [Fact]
    public void Hostile_request_bodies_are_a_value_or_a_JsonException()
    {
        string[] samples =
        [
            """{"signed":"RU4BAQtlbmVyZ3ktdGVzdA=="}""",
        ];
        var fuzzer = new MutationFuzzer("HTTP request bodies", samples.Select(Encoding.UTF8.GetBytes))
        {
            Dictionary = [.. JsonTokens.Hostile, .. new[] { "\"signed\":", "99" }.Select(Encoding.UTF8.GetBytes)],
            Wrappers = JsonTokens.Nesting,
            Regressions = ["{\"signed\":\"\\ud800\"}"u8.ToArray()],
            MaxInputs = 20_000,
            MaxTime = TimeSpan.FromSeconds(2),
        };
        var report = fuzzer.Run(ReadsOrRefuses<SignedObjectRequest>);
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted > 0 && report.Accepted < report.Inputs, report.ToString());
    }

    [Fact]
    public void Hostile_market_settlement_bodies_are_proofs_a_named_error_or_a_JsonException()
    {
        string[] samples =
        [
            """{"evidence":[{"participant":"meter-1","side":"offer","start":"RU4BAQtlbmVyZ3ktdGVzdA==","end":null}]}""",
            """{"evidence":[]}""",
        ];
        var fuzzer = new MutationFuzzer("market settlement bodies", samples.Select(Encoding.UTF8.GetBytes))
        {
            Dictionary = [.. JsonTokens.Hostile, .. new[] { "\"evidence\":", "\"side\":\"bid\"", "\"participant\":", "null" }.Select(Encoding.UTF8.GetBytes)],
            Wrappers = JsonTokens.Nesting,
            Regressions = ["{\"evidence\":[null]}"u8.ToArray(), "{\"evidence\":null}"u8.ToArray()],
            MaxInputs = 20_000,
            MaxTime = TimeSpan.FromSeconds(2),
        };
        var report = fuzzer.Run(input =>
        {
            try
            {
                var body = JsonSerializer.Deserialize<Energy.Cluster.Api.MarketSettlementRequest>(input, HttpOptions);
                return Energy.Cluster.Api.MarketSettlementRequest.Proofs(body, 20_000).IsOk;
            }
            catch (JsonException)
            {
                return false;
            }
        });
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted > 0 && report.Accepted < report.Inputs, report.ToString());
    }

    private static bool ReadsOrRefuses<T>(byte[] input)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(input, HttpOptions) is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
