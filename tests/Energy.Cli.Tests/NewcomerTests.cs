using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Energy.Cli.Tests;

/// <summary>
/// The energy tool against a real node process: what a newcomer does on a running network, end to end, and
/// what the node refuses.
/// </summary>
public sealed class NewcomerTests(CliNode node) : IClassFixture<CliNode>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("energy-cli-newcomer-").FullName;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    private async Task<string> NewKeyAsync(string name) => (await Tool.SucceedsAsync(Tool.RunAsync(["keys", "new", "--out", PathOf(name)]))).Output.Trim();

    private Task<ToolRun> AdmitAsync(string operatorId, string roles, string keyFile, params string[] more) =>
        Tool.AgainstAsync(node, ["authority", "admit", "--authority-key", node.AuthorityKeyFile, "--operator", operatorId, "--roles", roles,
            "--operator-key", PathOf(keyFile), .. more]);

    private static JsonElement Json(ToolRun run) => JsonDocument.Parse(run.Output).RootElement;

    [Fact]
    public async Task A_newcomer_makes_a_key_is_admitted_as_charge_point_operator_endorses_a_charger_and_reads_it_back()
    {
        var cpo = $"cpo-{_run}";
        var charger = $"charger-{_run}";
        var operatorKey = await NewKeyAsync("cpo.key");
        var chargerKey = await NewKeyAsync("charger.key");

        var admitted = Json(await Tool.SucceedsAsync(AdmitAsync(cpo, "chargePointOperator", "cpo.key")));
        var endorsed = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, "device", "endorse", "--operator", cpo, "--operator-key", PathOf("cpo.key"),
            "--device", charger, "--role", "charger", "--device-public-key", chargerKey)));
        var read = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, "get", $"/api/devices/{charger}", "--as", $"operator:{cpo}", "--key", PathOf("cpo.key"))));
        var me = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, "get", "me", "--as", $"device:{charger}", "--key", PathOf("charger.key"))));

        Assert.Equal(operatorKey, admitted.GetProperty("publicKeyHex").GetString());
        Assert.Equal("chargePointOperator", admitted.GetProperty("roles").GetString());
        Assert.Equal(cpo, endorsed.GetProperty("operator").GetString());
        Assert.Equal("charger", read.GetProperty("role").GetString());
        Assert.Equal(chargerKey, read.GetProperty("publicKeyHex").GetString());
        Assert.False(read.GetProperty("revoked").GetBoolean());
        Assert.Contains(charger, me.ToString());
    }

    [Fact]
    public async Task The_charger_connects_over_OCPP_with_Basic_authentication_and_the_password_its_operator_set()
    {
        var cpo = $"cpo-{_run}";
        var charger = $"charger-{_run}";
        const string password = "a-charger-password-0042";
        await NewKeyAsync("cpo.key");
        var chargerKey = await NewKeyAsync("charger.key");
        await Tool.SucceedsAsync(AdmitAsync(cpo, "chargePointOperator", "cpo.key"));
        await Tool.SucceedsAsync(Tool.AgainstAsync(node, "device", "endorse", "--operator", cpo, "--operator-key", PathOf("cpo.key"),
            "--device", charger, "--role", "charger", "--device-public-key", chargerKey));

        var set = await Tool.RunAsync(["charge-point", "password", "--operator", cpo, "--operator-key", PathOf("cpo.key"), "--charge-point", charger,
            "--password-stdin", "--node", node.Url.ToString(), "--network", CliNode.Network], input: password + "\n");

        if (set.ExitCode == ExitCodes.Refused && set.Error.Contains("Http404", StringComparison.Ordinal))
        {
            // A node without the password route: the tool must say so plainly. Nothing more can be proved on such a node.
            Assert.Contains("no such route", set.Error);
            return;
        }
        Assert.True(set.ExitCode == ExitCodes.Done, set.ToString());
        Assert.Equal("[3,\"boot-1\"", (await BootAsync(charger, password))[..11]);
        await Assert.ThrowsAnyAsync<WebSocketException>(() => BootAsync(charger, password + "-wrong"));
    }

    [Fact]
    public async Task A_settlement_bank_funds_an_account_and_its_owner_withdraws_part_of_it()
    {
        var bank = $"bank-{_run}";
        var cpo = $"cpo-{_run}";
        await NewKeyAsync("bank.key");
        await NewKeyAsync("cpo.key");
        await Tool.SucceedsAsync(AdmitAsync(bank, "settlementBank", "bank.key", "--issuance-limit", "1000000"));
        await Tool.SucceedsAsync(AdmitAsync(cpo, "chargePointOperator", "cpo.key"));

        await Tool.SucceedsAsync(Tool.AgainstAsync(node, "money", "fund", "--bank", bank, "--bank-key", PathOf("bank.key"), "--account", $"operator:{cpo}",
            "--amount", "5000", "--request-id", "fund-1"));
        // The same order again takes effect once.
        await Tool.SucceedsAsync(Tool.AgainstAsync(node, "money", "fund", "--bank", bank, "--bank-key", PathOf("bank.key"), "--account", $"operator:{cpo}",
            "--amount", "5000", "--request-id", "fund-1"));
        await Tool.SucceedsAsync(Tool.AgainstAsync(node, "money", "withdraw", "--owner", $"operator:{cpo}", "--key", PathOf("cpo.key"),
            "--amount", "1250", "--request-id", "withdraw-1"));
        var account = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, "get", $"accounts/operator:{cpo}", "--as", $"operator:{cpo}", "--key", PathOf("cpo.key"))));

        Assert.Equal(3750, account.GetProperty("balance").GetProperty("minorUnits").GetInt64());
    }

    [Fact]
    public async Task Funding_by_an_operator_that_is_not_a_settlement_bank_is_refused_with_exit_1_and_the_node_s_error_code()
    {
        var cpo = $"cpo-{_run}";
        await NewKeyAsync("cpo.key");
        await Tool.SucceedsAsync(AdmitAsync(cpo, "chargePointOperator", "cpo.key"));

        var run = await Tool.AgainstAsync(node, "money", "fund", "--bank", cpo, "--bank-key", PathOf("cpo.key"), "--account", $"operator:{cpo}",
            "--amount", "5000", "--request-id", "fund-1");

        Assert.Equal(ExitCodes.Refused, run.ExitCode);
        Assert.StartsWith("refused: NotASettlementBank:", run.Error);
        Assert.Equal("", run.Output);
    }

    [Fact]
    public async Task An_admission_signed_by_a_key_that_is_not_the_authority_s_or_under_a_wrong_index_is_refused()
    {
        await NewKeyAsync("cpo.key");
        await NewKeyAsync("stranger.key");

        var stranger = await Tool.AgainstAsync(node, "authority", "admit", "--authority-key", PathOf("stranger.key"), "--operator", $"cpo-{_run}",
            "--roles", "chargePointOperator", "--operator-key", PathOf("cpo.key"));
        var wrongIndex = await Tool.AgainstAsync(node, "authority", "admit", "--authority-key", node.AuthorityKeyFile, "--index", "1",
            "--operator", $"cpo-{_run}", "--roles", "chargePointOperator", "--operator-key", PathOf("cpo.key"));

        Assert.Equal(ExitCodes.Refused, stranger.ExitCode);
        Assert.Contains("InvalidSignature", stranger.Error);
        Assert.Equal(ExitCodes.Refused, wrongIndex.ExitCode);
        Assert.Contains("UnknownAuthorityKey", wrongIndex.Error);
    }

    [Fact]
    public async Task The_authority_admits_the_node_s_ledger_key_its_readiness_says_so_and_a_stranger_s_admission_or_a_replay_is_refused()
    {
        var nodeKeyFile = Path.Combine(node.DataDirectory, "node.key");
        var nodeKey = (await Tool.SucceedsAsync(Tool.RunAsync(["keys", "show", "--key", nodeKeyFile]))).Output.Trim();
        await NewKeyAsync("stranger.key");
        Assert.Equal("Degraded", await CityCommandTests.LedgerNodeCheckAsync(node, "Degraded"));

        var stranger = await Tool.AgainstAsync(node, "authority", "admit-node", "--authority-key", PathOf("stranger.key"), "--node-key", nodeKeyFile);
        var admitted = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, "authority", "admit-node", "--authority-key", node.AuthorityKeyFile,
            "--node-public-key", nodeKey)));
        Assert.Equal("Healthy", await CityCommandTests.LedgerNodeCheckAsync(node, "Healthy"));
        var withdrawn = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, "authority", "admit-node", "--authority-key", node.AuthorityKeyFile,
            "--node-key", nodeKeyFile, "--withdraw", "--version", "2")));
        var replay = await Tool.AgainstAsync(node, "authority", "admit-node", "--authority-key", node.AuthorityKeyFile, "--node-key", nodeKeyFile);
        var readmitted = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, "authority", "admit-node", "--authority-key", node.AuthorityKeyFile,
            "--node-key", nodeKeyFile, "--version", "3")));

        Assert.Equal(ExitCodes.Refused, stranger.ExitCode);
        Assert.Contains("InvalidSignature", stranger.Error);
        Assert.Equal((nodeKey, true, 1), (admitted.GetProperty("key").GetString(), admitted.GetProperty("admitted").GetBoolean(), admitted.GetProperty("version").GetInt32()));
        Assert.Equal((false, 2), (withdrawn.GetProperty("admitted").GetBoolean(), withdrawn.GetProperty("version").GetInt32()));
        Assert.Equal(ExitCodes.Refused, replay.ExitCode);
        Assert.Contains("StaleOrder", replay.Error);
        Assert.True(readmitted.GetProperty("admitted").GetBoolean());
    }

    [Fact]
    public async Task An_operator_quarantines_releases_and_revokes_its_device_and_a_stranger_may_not_read_it()
    {
        var cpo = $"cpo-{_run}";
        var other = $"other-{_run}";
        var vehicle = $"vehicle-{_run}";
        await NewKeyAsync("cpo.key");
        await NewKeyAsync("other.key");
        await NewKeyAsync("vehicle.key");
        await Tool.SucceedsAsync(AdmitAsync(cpo, "fleetOwner", "cpo.key"));
        await Tool.SucceedsAsync(AdmitAsync(other, "fleetOwner", "other.key"));
        await Tool.SucceedsAsync(Tool.AgainstAsync(node, "device", "endorse", "--operator", cpo, "--operator-key", PathOf("cpo.key"),
            "--device", vehicle, "--role", "vehicle", "--device-key", PathOf("vehicle.key")));
        string[] signer = ["--operator", cpo, "--operator-key", PathOf("cpo.key"), "--device", vehicle];

        var quarantined = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, ["device", "quarantine", .. signer])));
        var released = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, ["device", "quarantine", .. signer, "--release"])));
        var stale = await Tool.AgainstAsync(node, ["device", "quarantine", .. signer, "--version", "1"]);
        var byStranger = await Tool.AgainstAsync(node, "get", $"devices/{vehicle}", "--as", $"operator:{other}", "--key", PathOf("other.key"));
        var revoked = Json(await Tool.SucceedsAsync(Tool.AgainstAsync(node, ["device", "revoke", .. signer])));

        Assert.True(quarantined.GetProperty("quarantined").GetBoolean());
        Assert.False(released.GetProperty("quarantined").GetBoolean());
        Assert.Equal(ExitCodes.Refused, stale.ExitCode);
        Assert.Contains("StaleOrder", stale.Error);
        Assert.Equal(ExitCodes.Refused, byStranger.ExitCode);
        Assert.Contains("NotVisible", byStranger.Error);
        Assert.True(revoked.GetProperty("revoked").GetBoolean());
    }

    [Fact]
    public async Task A_dashboard_key_is_written_only_once_the_node_took_it()
    {
        var cpo = $"cpo-{_run}";
        await NewKeyAsync("cpo.key");
        await Tool.SucceedsAsync(AdmitAsync(cpo, "chargePointOperator", "cpo.key"));

        var run = await Tool.AgainstAsync(node, "dashboard-key", "--operator", cpo, "--operator-key", PathOf("cpo.key"), "--out", PathOf("viewer.key"), "--days", "7");

        if (run.ExitCode == ExitCodes.Refused)
        {
            // A node that does not take the key (without the route, or refusing it): no key file is left behind.
            Assert.False(File.Exists(PathOf("viewer.key")), run.ToString());
            return;
        }
        Assert.True(run.ExitCode == ExitCodes.Done, run.ToString());
        var lines = File.ReadAllLines(PathOf("viewer.key"));
        Assert.Equal(cpo, lines[0]);
        Assert.Matches("^[0-9a-f]{64}$", lines[1]);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, Tool.ModeOf(PathOf("viewer.key")));
    }

    /// <summary>Connects as the charge point with HTTP Basic authentication and sends a BootNotification; returns the answer.</summary>
    private async Task<string> BootAsync(string chargePoint, string password)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("ocpp1.6");
        socket.Options.SetRequestHeader("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{chargePoint}:{password}")));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await socket.ConnectAsync(new Uri($"ws://{node.Url.Authority}/ocpp/{chargePoint}"), timeout.Token);
        var boot = Encoding.UTF8.GetBytes("[2,\"boot-1\",\"BootNotification\",{\"chargePointVendor\":\"Energy\",\"chargePointModel\":\"cli-test\"}]");
        await socket.SendAsync(boot, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        var buffer = new byte[8 * 1024];
        var received = await socket.ReceiveAsync(buffer, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, received.Count);
    }
}
