using System.Net;
using System.Text.Json;
using Energy.Tests;

namespace Energy.Node.Tests;

/// <summary>What an orchestrator asks a node process: is it live, and is it ready for traffic.</summary>
public sealed class NodeHealthTests
{
    [Fact]
    public async Task A_started_node_is_live_and_ready_and_names_each_check()
    {
        using var node = new NodeProcess();
        await node.StartAsync();
        using var http = new HttpClient { BaseAddress = node.Url };

        using var live = await http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var ready = await http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = await ready.Content.ReadAsStringAsync();
        var checks = Checks(body);
        Assert.Equal(["cluster", "device-directory", "entities", "journal", "ledger-node", "ocpp-credentials"], checks.Keys.Order());
        Assert.All(["cluster", "device-directory", "entities", "journal", "ocpp-credentials"], check => Assert.Equal("Healthy", checks[check]));
        // Its key is neither configured nor admitted by the authority yet: it serves, and says that its blocks will not audit as trusted elsewhere.
        Assert.Equal("Degraded", checks["ledger-node"]);
        Assert.Contains("will not audit as trusted", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_whose_key_is_configured_as_a_ledger_node_says_its_blocks_audit_as_trusted()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "energy-node-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        using var key = Energy.Channels.Identity.DeviceKeyPair.Generate();
        await File.WriteAllBytesAsync(Path.Combine(dataDirectory, "node.key"), key.ExportSeed());
        using var node = new NodeProcess(dataDirectory, $"--Energy:TrustedNodeKeys:0={key.PublicKey.Hex}");
        await node.StartAsync();
        using var http = new HttpClient { BaseAddress = node.Url };

        using var ready = await http.GetAsync("/health/ready");
        var checks = Checks(await ready.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", checks["ledger-node"]);
    }

    [Fact]
    public async Task A_node_whose_journal_does_not_answer_is_live_but_not_ready_and_says_why()
    {
        // A PostgreSQL store on a port where nothing listens: the process serves HTTP, its journal cannot.
        using var node = new NodeProcess(null, "--Energy:Store=postgresql",
            "--Energy:ConnectionString=Host=127.0.0.1;Port=1;Username=energy;Password=energy;Database=energy;Timeout=1")
        {
            WaitUntilReady = false,
        };
        await node.StartAsync();
        using var http = new HttpClient { BaseAddress = node.Url };

        using var live = await http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var ready = await http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = await ready.Content.ReadAsStringAsync();
        var checks = Checks(body);
        Assert.Equal("Unhealthy", checks["journal"]);
        // A stranger may ask; the answer does not tell it where the database is.
        Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
        Assert.Equal("Unhealthy", checks["entities"]);
        // Nor can it read the charge points' credentials: no charger is sent to a node that would keep it waiting.
        Assert.Equal("Unhealthy", checks["ocpp-credentials"]);
        // Nor the devices' registrations: their hellos would wake every twin at once.
        Assert.Equal("Unhealthy", checks["device-directory"]);
    }

    private static Dictionary<string, string> Checks(string body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("checks").EnumerateObject()
            .ToDictionary(c => c.Name, c => c.Value.GetProperty("status").GetString()!);
    }
}
