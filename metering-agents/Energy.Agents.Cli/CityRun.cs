using Energy.Agents;
using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Agents.Cli;

/// <summary>
/// Runs the city round after round and checks, after each round, its errors, the ledger's conservation and every
/// chain's audit; before each round the governance admits the ledger key of every node it has not spoken about.
/// </summary>
public sealed class CityRun(Uri nodeUrl, NetworkId network, Currency currency, string authorityKeyFile, string gridKeyFile, string dashboardKeyFile, TextWriter output)
{
    /// <summary>Where the outcome of the last round is written, if anywhere.</summary>
    public string? StatusFile { get; init; }

    /// <summary>Runs the rounds (0: until cancelled); 0 when every round was clean, 1 when any was not (<see cref="CityRounds"/>).</summary>
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
        var city = new CityRounds(output)
        {
            AfterRound = StatusFile is null ? null : outcome => WriteStatusAsync(StatusFile, $"{(outcome.Clean ? "clean" : "failed")} round {outcome.Round}"),
        };
        return await city.RunAsync(async (round, roundToken) =>
        {
            if (round > 1) output.WriteLine($"== city, round {round}");
            await AdmitLedgerNodesAsync(grid.Node, authority);
            var summary = await new CityScenario(grid.Node, authority, nodeUrl, network, currency, output.WriteLine).RunAsync(options, roundToken, grid);
            output.WriteLine(summary.Describe(currency));
            var (conserved, notIntact) = await CheckLedgerAsync(grid.Node);
            return new RoundOutcome(round, summary.Errors, conserved, notIntact);
        }, rounds, token);
    }

    /// <summary>
    /// The governance admits the ledger key of every member of the cluster that the authority has never spoken about
    /// (a key it withdrew stays withdrawn), so that the blocks any node signs audit as intact on every node. Whoever
    /// runs this scenario holds the authority key and runs the nodes it sees.
    /// </summary>
    private async Task AdmitLedgerNodesAsync(NodeClient node, NetworkAuthorityAgent authority)
    {
        var known = (await node.LedgerNodesAsync()).GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("key").GetString()).ToHashSet(StringComparer.Ordinal);
        foreach (var member in (await node.ClusterAsync()).GetProperty("members").EnumerateArray())
        {
            if (!member.TryGetProperty("key", out var keyElement) || keyElement.GetString() is not { } key || known.Contains(key)) continue;
            if (!member.TryGetProperty("ledgerSigner", out var standing) || standing.GetString() != "notTrusted") continue;
            await authority.AdmitLedgerNodeAsync(DevicePublicKey.FromHex(key).Unwrap());
            output.WriteLine($"ledger node {key} admitted by the authority: the blocks it signs audit as intact on every node");
        }
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

    /// <summary>Prints the ledger totals and the audit of every shard's chain; whether value is conserved, and the shards not intact.</summary>
    private async Task<(bool Conserved, IReadOnlyList<string> NotIntact)> CheckLedgerAsync(NodeClient node)
    {
        var totals = await node.TotalsAsync();
        output.WriteLine($"Ledger: {totals}");
        var notIntact = new List<string>();
        foreach (var shard in (await node.ShardsAsync()).EnumerateArray())
        {
            var audit = await node.AuditAsync(shard.GetString()!);
            var intact = audit.GetProperty("intact").GetBoolean();
            output.WriteLine($"  audit {shard.GetString()}: intact={intact} blocks={audit.GetProperty("blocksChecked")}"
                + (intact ? "" : $" first bad block {audit.GetProperty("firstBadHeight")}: {audit.GetProperty("reason")}"));
            if (!intact) notIntact.Add(shard.GetString()!);
        }
        return (totals.GetProperty("conserved").GetBoolean(), notIntact);
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
            catch (NodeClient.NodeRefusedException refused) when (ErrorCodes.Is<AdmissionVersionReused>(refused.Code)) { }
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
