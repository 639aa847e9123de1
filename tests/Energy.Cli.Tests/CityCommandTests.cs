using System.CommandLine;
using System.Text.Json;
using Energy.Agents.Cli;

namespace Energy.Cli.Tests;

/// <summary>
/// <c>energy-agents city</c> against a node process: the governance it plays admits the node's ledger key, every
/// round is checked, and the exit code is 0 only when every round was clean.
/// </summary>
public sealed class CityCommandTests(CliNode node) : IClassFixture<CliNode>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("energy-cli-city-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Two_clean_rounds_with_homes_trading_in_zone_markets_exit_0_after_the_city_admits_the_node_s_ledger_key_and_the_node_s_readiness_says_it_is_admitted()
    {
        using var output = new StringWriter();
        var exitCode = await AgentsCommandLine.Build().Parse(["city", "--node", node.Url.ToString(), "--network", CliNode.Network, "--rounds", "2",
                "--vehicles", "3", "--chargers", "1", "--gantries", "2", "--homes", "2", "--readings", "4", "--interval-ms", "10",
                "--market-interval-ms", CliNode.MarketIntervalMs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--market-gate-closure-ms", "1000",
                "--market-intervals", "2", "--market-homes", "4",
                "--authority-key", node.AuthorityKeyFile, "--grid-key-file", Path.Combine(_folder, "grid.key"),
                "--dashboard-key-file", Path.Combine(_folder, "dashboard.key")])
            .InvokeAsync(new InvocationConfiguration { Output = output });

        var text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Contains("admitted by the authority", text, StringComparison.Ordinal);
        Assert.Contains("== city, round 2", text, StringComparison.Ordinal);
        // Each round: two zones, two intervals each, settled by the grid operator and checked against the ledger.
        Assert.Equal(2, text.Split("4 market intervals settled").Length - 1);
        Assert.Equal(2, text.Split("market value conserved").Length - 1);
        Assert.DoesNotContain("intact=False", text, StringComparison.Ordinal);
        Assert.Equal("Healthy", await LedgerNodeCheckAsync(node, "Healthy"));
    }

    /// <summary>The state of the readiness answer's ledger-node check, polled (bounded) until it is <paramref name="awaited"/>.</summary>
    public static async Task<string> LedgerNodeCheckAsync(CliNode node, string awaited)
    {
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (true)
        {
            using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
            var check = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("ledger-node");
            var status = check.GetProperty("status").GetString()!;
            // A node whose key is not admitted is still ready: the check is Degraded, the answer 200.
            Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
            if (status == awaited || DateTime.UtcNow > deadline) return status;
            await Task.Delay(200); // poll interval of a bounded wait on another process
        }
    }
}
