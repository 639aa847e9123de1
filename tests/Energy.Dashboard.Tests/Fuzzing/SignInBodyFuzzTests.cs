using System.Text;
using System.Text.Json;
using Energy.Cluster.Serialization;
using Energy.Fuzzing;
using Xunit.Abstractions;

namespace Energy.Dashboard.Tests.Fuzzing;

/// <summary>
/// The fuzz target for the JSON body of the dashboard's sign-in, read with the node's HTTP options: a body
/// is a value or a JsonException (which ASP.NET answers with 400), never another exception (which would be a 500).
/// </summary>
public sealed class SignInBodyFuzzTests(ITestOutputHelper output)
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
    public void Hostile_sign_in_bodies_are_a_value_or_a_JsonException()
    {
        string[] samples =
        [
            """{"operator":"cpo-1","key":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a","challenge":"RU4CCA==","signature":"AAEC"}""",
        ];
        var fuzzer = new MutationFuzzer("dashboard sign-in bodies", samples.Select(Encoding.UTF8.GetBytes))
        {
            Dictionary = [.. JsonTokens.Hostile, .. new[] { "\"key\":", "\"operator\":", "\"challenge\":", "\"signature\":", "99" }.Select(Encoding.UTF8.GetBytes)],
            Wrappers = JsonTokens.Nesting,
            Regressions = [[.. "{\"operator\":\""u8, 0xFF, .. "\"}"u8], "{\"key\":\"\\ud800\"}"u8.ToArray()],
            MaxInputs = 20_000,
            MaxTime = TimeSpan.FromSeconds(2),
        };
        var report = fuzzer.Run(ReadsOrRefuses<DashboardEndpoints.SignInRequest>);
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
