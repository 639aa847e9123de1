using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Agents.Cli;

/// <summary>Runs the city round after round and checks, after each round, its errors, the ledger's conservation and every chain's audit.</summary>
public sealed class CityRun(Uri nodeUrl, NetworkId network, Currency currency, string authorityKeyFile, string gridKeyFile, string dashboardKeyFile, TextWriter output)
{
    /// <summary>Where the outcome of the last round is written, if anywhere.</summary>
    public string? StatusFile { get; init; }

    /// <summary>Runs the rounds (0: until cancelled); 0 when every round was clean, 1 when any was not.</summary>
    public async Task<int> RunAsync(CityScenario.Options options, int rounds, CancellationToken token)
    {
        using var http = new HttpClient { BaseAddress = nodeUrl, Timeout = TimeSpan.FromSeconds(30) };
        var node = new NodeClient(http);
        output.WriteLine($"City against {nodeUrl}: {options.Vehicles} vehicles, {options.Chargers} chargers, {options.Gantries} gantries, {options.Homes} homes");
        // The scenario acts as the network's governance through the authority key the node made for itself.
        using var authority = NetworkAuthorityAgent.FromKeyFile(node, network, currency, authorityKeyFile);
        // The grid operator's key is kept in a file, made on first use; its dashboard signs in with a viewer key it endorses.
        using var grid = await GridOperatorAsync(node, authority);
        await DashboardKeyFile.WriteAsync(grid, dashboardKeyFile);
        output.WriteLine($"Dashboard: {new Uri(nodeUrl, "/dashboard")} (sign in as {grid.Id} with the viewer key in {dashboardKeyFile})");
        var failedRounds = new List<int>();
        for (var round = 1; rounds == 0 || round <= rounds; round++)
        {
            if (round > 1) output.WriteLine($"== city, round {round}");
            var summary = await new CityScenario(grid.Node, authority, nodeUrl, network, currency, output.WriteLine).RunAsync(options, token, grid);
            output.WriteLine(summary.Describe(currency));
            var ledgerSound = await LedgerIsSoundAsync(grid.Node);
            var clean = summary.Errors == 0 && ledgerSound;
            if (StatusFile is not null) await WriteStatusAsync(StatusFile, $"{(clean ? "clean" : "failed")} round {round}");
            if (clean) continue;
            failedRounds.Add(round);
            output.WriteLine($"Round {round} failed: {summary.Errors} errors{(ledgerSound ? "" : ", the ledger is not conserved or a chain is not intact")}");
        }
        if (failedRounds.Count > 0) output.WriteLine($"Failed rounds: {string.Join(", ", failedRounds)}");
        return failedRounds.Count == 0 ? 0 : 1;
    }

    /// <summary>Replaces the status file whole (written beside it, then moved), so that a reader never sees half a line.</summary>
    private static async Task WriteStatusAsync(string path, string status)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var next = full + ".next";
        await File.WriteAllTextAsync(next, status + "\n");
        File.Move(next, full, overwrite: true);
    }

    /// <summary>Prints the ledger totals and the audit of every shard's chain; whether value is conserved and every chain intact.</summary>
    private async Task<bool> LedgerIsSoundAsync(NodeClient node)
    {
        var totals = await node.TotalsAsync();
        output.WriteLine($"Ledger: {totals}");
        var sound = totals.GetProperty("conserved").GetBoolean();
        foreach (var shard in (await node.ShardsAsync()).EnumerateArray())
        {
            var audit = await node.AuditAsync(shard.GetString()!);
            output.WriteLine($"  audit {shard.GetString()}: intact={audit.GetProperty("intact")} blocks={audit.GetProperty("blocksChecked")}");
            sound &= audit.GetProperty("intact").GetBoolean();
        }
        return sound;
    }

    private async Task<OperatorAgent> GridOperatorAsync(NodeClient node, NetworkAuthorityAgent authority)
    {
        if (File.Exists(gridKeyFile))
        {
            var lines = await File.ReadAllLinesAsync(gridKeyFile);
            var key = DeviceKeyPair.FromSeed(Convert.FromHexString(lines[1].Trim())).Unwrap();
            var known = new OperatorAgent(node, network, OperatorId.Of(lines[0].Trim()), key);
            // Admitted on an earlier run with this key, or admitted now (the same admission again is taken once).
            try { await known.AdmitAsync(authority, OperatorRoles.GridOperator); }
            catch (NodeClient.NodeRefusedException refused) when (refused.Code is "AdmissionVersionReused") { }
            return known;
        }
        var grid = new OperatorAgent(node, network, OperatorId.Of($"grid-{Guid.NewGuid().ToString("N")[..6]}"));
        await grid.AdmitAsync(authority, OperatorRoles.GridOperator);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(gridKeyFile))!);
        await File.WriteAllLinesAsync(gridKeyFile, [grid.Id.Value, grid.ExportKeyHex()]);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(gridKeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return grid;
    }
}
