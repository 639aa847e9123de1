using System.Diagnostics;
using System.Text.Json;
using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Network;

namespace Energy.Tests;

/// <summary>
/// Node processes on loopback that form one cluster over one PostgreSQL database of their own, each a seed node
/// of the others (a node restarted after a crash joins the survivors, never a cluster of its own), with one network
/// authority configured on every node, as several operators run the network. It holds the authority key and a grid
/// operator (who reads everything), kills a node the hard way and measures how long the survivors take to serve
/// what it ran. The tests and the benchmarks share it.
/// </summary>
public sealed class NodeCluster : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("energy-node-cluster-").FullName;
    private readonly List<HttpClient> _http = [];
    private string _database = "";

    private NodeCluster(NetworkId network) => Network = network;

    public NetworkId Network { get; }

    public NodeProcess[] Nodes { get; private set; } = [];

    /// <summary>The network authority's key, raw, as a node alone would keep it.</summary>
    public string AuthorityKeyFile => Path.Combine(_folder, "authority.key");

    /// <summary>The folder of sign-in cookie keys every node of this cluster shares.</summary>
    public string DataProtectionKeysDirectory => Path.Combine(_folder, "data-protection-keys");

    public OperatorAgent Grid { get; private set; } = null!;
    public DeviceKeyPair GridKey { get; } = DeviceKeyPair.Generate();

    public IReadOnlyList<Uri> Urls => Nodes.Select(n => n.Url).ToList();

    /// <summary>Starts <paramref name="count"/> nodes at once over a fresh database and waits until they are one cluster.</summary>
    public static async Task<NodeCluster> StartAsync(int count, NetworkId network, int ledgerShards, params string[] settings)
    {
        var cluster = new NodeCluster(network);
        try
        {
            await cluster.StartNodesAsync(count, ledgerShards, settings);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task StartNodesAsync(int count, int ledgerShards, string[] settings)
    {
        using (var authorityKey = DeviceKeyPair.Generate())
        {
            await File.WriteAllBytesAsync(AuthorityKeyFile, authorityKey.ExportSeed());
            (_database, var connection) = PostgreSql.FreshDatabase();
            var remotePorts = Enumerable.Range(0, count).Select(_ => NodeProcess.FreePort()).ToArray();
            var seeds = remotePorts.Select((port, i) => $"--Energy:SeedNodes:{i}=akka.tcp://energy@127.0.0.1:{port}").ToArray();
            Nodes = remotePorts.Select(port => new NodeProcess(null, [
                "--Energy:Store=postgresql", $"--Energy:ConnectionString={connection}", "--Energy:Hostname=127.0.0.1", $"--Energy:Port={port}",
                .. seeds, $"--Energy:Authority:Keys:0={authorityKey.PublicKey.Hex}", "--Energy:Authority:Threshold=1",
                $"--Energy:DataProtectionKeysDirectory={DataProtectionKeysDirectory}", .. settings,
            ]) { Network = Network.Value, LedgerShards = ledgerShards }).ToArray();
        }
        await Task.WhenAll(Nodes.Select(node => node.StartAsync()));
        using var authority = Authority(0);
        Grid = new OperatorAgent(Client(0), Network, OperatorId.Of($"grid-{Guid.NewGuid().ToString("N")[..6]}"), DeviceKeyPair.FromSeed(GridKey.ExportSeed()).Unwrap());
        await Grid.AdmitAsync(authority, OperatorRoles.GridOperator);
        await WaitForMembersAsync(count, TimeSpan.FromSeconds(90));
    }

    public ValueTask DisposeAsync()
    {
        foreach (var node in Nodes) node.Dispose();
        lock (_http) foreach (var http in _http) http.Dispose();
        Grid?.Dispose();
        GridKey.Dispose();
        PostgreSql.DropDatabase(_database);
        Directory.Delete(_folder, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>An unsigned client of one node.</summary>
    public NodeClient Client(int node)
    {
        var http = new HttpClient { BaseAddress = Nodes[node].Url, Timeout = TimeSpan.FromSeconds(30) };
        lock (_http) _http.Add(http);
        return new NodeClient(http);
    }

    /// <summary>One node's client reading as the grid operator.</summary>
    public NodeClient GridReader(int node) => Client(node).SignedBy(Grid.Party, GridKey, Network);

    /// <summary>The authority, posting what it signs to one node.</summary>
    public NetworkAuthorityAgent Authority(int node) => NetworkAuthorityAgent.FromKeyFile(Client(node), Network, Currency.Eur, AuthorityKeyFile);

    /// <summary>The cluster as one node sees it (/api/cluster).</summary>
    public async Task<IReadOnlyList<JsonElement>> MembersAsync(int via) => (await GridReader(via).ClusterAsync()).GetProperty("members").EnumerateArray().ToList();

    /// <summary>The key each node signs ledger blocks with, as its /health names it.</summary>
    public async Task<string> NodeKeyAsync(int node) => (await Client(node).GetAsync("/health")).GetProperty("node").GetString()!;

    /// <summary>
    /// Waits (bounded) until a node sees <paramref name="count"/> Up, reachable members whose keys it knows. Asks
    /// each node in turn, so that it goes on while one of them is down.
    /// </summary>
    public async Task WaitForMembersAsync(int count, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var last = "";
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var members = await MembersAsync(attempt % Nodes.Length);
                last = string.Join(", ", members.Select(m => $"{m.GetProperty("status")}/{(m.GetProperty("reachable").GetBoolean() ? "reachable" : "unreachable")}"));
                if (members.Count == count && members.All(m => m.GetProperty("status").GetString() == "Up" && m.GetProperty("reachable").GetBoolean()
                                                               && m.TryGetProperty("key", out var key) && key.ValueKind == JsonValueKind.String))
                    return;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or NodeClient.NodeRefusedException)
            {
                last = exception.Message;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the cluster did not show {count} Up, reachable members within {within}; last seen: {last}");
            await Task.Delay(200); // poll interval of a bounded wait on other processes
        }
    }

    /// <summary>What one kill showed: how many channels the node ran, how long until they served again, how long the node took to come back.</summary>
    public sealed record Failover(int Node, int Stranded, TimeSpan Served, TimeSpan Ready, TimeSpan Rejoined, DateTime KilledAt);

    /// <summary>
    /// Kills <paramref name="victim"/> like kill -9 while <paramref name="fleet"/> pays, waits until every channel it
    /// ran has been paid again by a payment sent after the kill (served by the survivors), then starts the node again
    /// and waits until it is ready and every node sees it as a member.
    /// </summary>
    public async Task<Failover> KillAndRestartAsync(int victim, FleetPayments fleet, TimeSpan within)
    {
        var shardOf = new EntityIdExtractor();
        var channelShards = fleet.Channels.Select(c => shardOf.ShardId(c.Value)).ToList();
        // A rebalance moving channels off the node as it dies would make its failover look shorter than it is.
        await WaitSettledAsync("channel", victim, TimeSpan.FromSeconds(15));
        // The vehicles whose channel entity runs on the node about to be killed, as the node itself says.
        var victimKey = await NodeKeyAsync(victim);
        var hosted = (await MembersAsync(victim)).Single(m => m.GetProperty("key").GetString() == victimKey).GetProperty("shards");
        var victimShards = hosted.TryGetProperty("channel", out var ids) ? ids.EnumerateArray().Select(i => i.GetString()).ToHashSet() : [];
        var stranded = Enumerable.Range(0, fleet.Vehicles).Where(v => victimShards.Contains(channelShards[v])).ToList();

        var killedAt = Stopwatch.GetTimestamp();
        var killedAtClock = DateTime.UtcNow;
        Nodes[victim].Kill();
        var served = await PaidSinceAsync(fleet, stranded, killedAt, within);
        var restart = Stopwatch.StartNew();
        await Nodes[victim].StartAsync();
        var ready = restart.Elapsed;
        await WaitForMembersAsync(Nodes.Length, within);
        return new Failover(victim, stranded.Count, served, ready, restart.Elapsed, killedAtClock);
    }

    /// <summary>
    /// Waits (bounded) until the shards of an entity type stay where they are between two looks a second apart: no
    /// rebalance is handing one over just then. Past the bound it goes on as they are.
    /// </summary>
    public async Task WaitSettledAsync(string typeName, int via, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var now = string.Join(";", (await MembersAsync(via)).Select(m => m.GetProperty("shards").TryGetProperty(typeName, out var ids)
                ? string.Join(",", ids.EnumerateArray().Select(i => i.GetString())) : ""));
            if (now == last) return;
            last = now;
            await Task.Delay(1_000); // a second between two looks at the shards' places
        }
    }

    /// <summary>The node, other than <paramref name="restarted"/>, that runs the most channel entities: it has the most to hand over.</summary>
    public async Task<int> BusiestNodeAsync(int restarted)
    {
        var keys = await Task.WhenAll(Enumerable.Range(0, Nodes.Length).Select(NodeKeyAsync));
        // Asked of every node but the restarted one, which may not know every member's key yet, nor their entities (it
        // would count them all as running none, and the choice would fall on a node that runs nothing). A member that a
        // view does not know counts as running none there; each member's count is the largest any view gives.
        var views = await Task.WhenAll(Enumerable.Range(0, Nodes.Length).Where(n => n != restarted).Select(MembersAsync));
        int Channels(int node) => views.SelectMany(members => members)
            .Where(m => m.TryGetProperty("key", out var key) && key.ValueKind == JsonValueKind.String && key.GetString() == keys[node])
            .Select(m => m.TryGetProperty("entities", out var entities) && entities.TryGetProperty("channel", out var count) ? count.GetInt32() : 0)
            .DefaultIfEmpty(0).Max();
        return Enumerable.Range(0, Nodes.Length).Where(n => n != restarted).OrderByDescending(Channels).First();
    }

    /// <summary>
    /// Waits (bounded) until each of the vehicles has been acknowledged a payment it sent after <paramref name="since"/>;
    /// how long that took.
    /// </summary>
    public static async Task<TimeSpan> PaidSinceAsync(FleetPayments fleet, List<int> vehicles, long since, TimeSpan within)
    {
        while (true)
        {
            var elapsed = Stopwatch.GetElapsedTime(since);
            if (vehicles.All(v => fleet.LastAcknowledgedSentAt(v) > since)) return elapsed;
            if (elapsed > within)
                throw new TimeoutException($"{vehicles.Count(v => fleet.LastAcknowledgedSentAt(v) <= since)} of {vehicles.Count} channels were not paid again within {within}");
            await Task.Delay(50); // poll interval of a bounded wait on other processes
        }
    }

    /// <summary>The payee closes every channel, then the ledger's totals once nothing is in transit or in escrow (bounded).</summary>
    public static async Task<JsonElement> SettleAsync(FleetPayments fleet, int via, TimeSpan within)
    {
        await fleet.CloseAllAsync(via);
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var totals = await fleet.TotalsAsync(via);
            if (totals.GetProperty("inTransitMinorUnits").GetInt64() == 0 && totals.GetProperty("escrowsMinorUnits").GetInt64() == 0) return totals;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the ledger did not settle within {within}: {totals}");
            await Task.Delay(200); // poll interval of a bounded wait on other processes
        }
    }
}

/// <summary>Databases of their own on the PostgreSQL server tests/setup/postgres.sh starts. Fails, never skips, when it is not there.</summary>
public static class PostgreSql
{
    /// <summary>The server: ENERGY_TEST_POSTGRES, or the one tests/setup/postgres.sh starts.</summary>
    public static string Server => Environment.GetEnvironmentVariable("ENERGY_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=25432;Username=energy;Password=energy;Database=postgres";

    public static (string Database, string ConnectionString) FreshDatabase()
    {
        var database = "energy_node_test_" + Guid.NewGuid().ToString("N");
        Execute($"CREATE DATABASE {database}");
        return (database, new Npgsql.NpgsqlConnectionStringBuilder(Server) { Database = database }.ConnectionString);
    }

    /// <summary>Drops a database made here, closing the connections that killed nodes left behind.</summary>
    public static void DropDatabase(string database)
    {
        if (database.Length > 0) Execute($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    }

    private static void Execute(string sql)
    {
        using var connection = new Npgsql.NpgsqlConnection(Server);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
