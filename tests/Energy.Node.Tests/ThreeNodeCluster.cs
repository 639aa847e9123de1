using System.Text.Json;
using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Node.Tests;

/// <summary>
/// Three node processes on loopback that form one cluster over one PostgreSQL database of their own, each a seed
/// node of the others (a node restarted after a crash joins the survivors, never a cluster of its own), with one
/// network authority configured on every node, as several operators run it. The governance holds the authority key,
/// a grid operator (it reads everything) and a settlement bank.
/// </summary>
public sealed class ThreeNodeCluster : IAsyncLifetime
{
    public const int LedgerShards = 6;

    private readonly string _folder = Directory.CreateTempSubdirectory("energy-three-nodes-").FullName;
    private readonly List<HttpClient> _http = [];
    private string _database = "";

    public NodeProcess[] Nodes { get; private set; } = [];

    /// <summary>The network authority's key, raw, as a node alone would keep it.</summary>
    public string AuthorityKeyFile => Path.Combine(_folder, "authority.key");

    public OperatorAgent Grid { get; private set; } = null!;
    public DeviceKeyPair GridKey { get; } = DeviceKeyPair.Generate();

    public async Task InitializeAsync()
    {
        using (var authorityKey = DeviceKeyPair.Generate())
        {
            await File.WriteAllBytesAsync(AuthorityKeyFile, authorityKey.ExportSeed());
            (_database, var connection) = PostgreSql.FreshDatabase();
            var remotePorts = Enumerable.Range(0, 3).Select(_ => NodeProcess.FreePort()).ToArray();
            var seeds = remotePorts.Select((port, i) => $"--Energy:SeedNodes:{i}=akka.tcp://energy@127.0.0.1:{port}").ToArray();
            Nodes = remotePorts.Select(port => new NodeProcess(null, [
                "--Energy:Store=postgresql", $"--Energy:ConnectionString={connection}", "--Energy:Hostname=127.0.0.1", $"--Energy:Port={port}",
                .. seeds, $"--Energy:Authority:Keys:0={authorityKey.PublicKey.Hex}", "--Energy:Authority:Threshold=1",
            ]) { LedgerShards = LedgerShards }).ToArray();
        }
        await Task.WhenAll(Nodes.Select(node => node.StartAsync()));
        using var authority = Authority(0);
        Grid = new OperatorAgent(Client(0), Governance.Network, OperatorId.Of($"grid-{Guid.NewGuid().ToString("N")[..6]}"),
            DeviceKeyPair.FromSeed(GridKey.ExportSeed()).Unwrap());
        await Grid.AdmitAsync(authority, OperatorRoles.GridOperator);
        await WaitForMembersAsync(3, TimeSpan.FromSeconds(90));
    }

    public Task DisposeAsync()
    {
        foreach (var node in Nodes) node.Dispose();
        foreach (var http in _http) http.Dispose();
        Grid.Dispose();
        GridKey.Dispose();
        PostgreSql.DropDatabase(_database);
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    public IReadOnlyList<Uri> Urls => Nodes.Select(n => n.Url).ToList();

    /// <summary>An unsigned client of one node.</summary>
    public NodeClient Client(int node)
    {
        var http = new HttpClient { BaseAddress = Nodes[node].Url, Timeout = TimeSpan.FromSeconds(30) };
        lock (_http) _http.Add(http);
        return new NodeClient(http);
    }

    /// <summary>One node's client reading as the grid operator.</summary>
    public NodeClient GridReader(int node) => Client(node).SignedBy(Grid.Party, GridKey, Governance.Network);

    /// <summary>The authority, posting what it signs to one node.</summary>
    public NetworkAuthorityAgent Authority(int node) => NetworkAuthorityAgent.FromKeyFile(Client(node), Governance.Network, Currency.Eur, AuthorityKeyFile);

    /// <summary>The cluster as one node sees it (/api/cluster).</summary>
    public async Task<IReadOnlyList<JsonElement>> MembersAsync(int via) => (await GridReader(via).ClusterAsync()).GetProperty("members").EnumerateArray().ToList();

    /// <summary>The key each node signs ledger blocks with, as its /health names it.</summary>
    public async Task<string> NodeKeyAsync(int node) => (await Client(node).GetAsync("/health")).GetProperty("node").GetString()!;

    /// <summary>
    /// Waits (bounded) until a node sees <paramref name="count"/> Up, reachable members whose keys it knows. Asks
    /// each node in turn, so that it goes on while one of them is down.
    /// </summary>
    public async Task WaitForMembersAsync(int count, TimeSpan within, int? skip = null)
    {
        var deadline = DateTime.UtcNow + within;
        var last = "";
        for (var attempt = 0; ; attempt++)
        {
            var via = attempt % Nodes.Length;
            if (via != skip)
            {
                try
                {
                    var members = await MembersAsync(via);
                    last = string.Join(", ", members.Select(m => $"{m.GetProperty("status")}/{(m.GetProperty("reachable").GetBoolean() ? "reachable" : "unreachable")}"));
                    if (members.Count == count && members.All(m => m.GetProperty("status").GetString() == "Up" && m.GetProperty("reachable").GetBoolean()
                                                                   && m.TryGetProperty("key", out var key) && key.ValueKind == JsonValueKind.String))
                        return;
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or NodeClient.NodeRefusedException)
                {
                    last = exception.Message;
                }
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the cluster did not show {count} Up, reachable members within {within}; last seen: {last}");
            await Task.Delay(200); // poll interval of a bounded wait on other processes
        }
    }
}

/// <summary>Databases of their own on the PostgreSQL server tests/setup/postgres.sh starts. Fails, never skips, when it is not there.</summary>
public static class PostgreSql
{
    private static string Server => Environment.GetEnvironmentVariable("ENERGY_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=25432;Username=energy;Password=energy;Database=postgres";

    public static (string Database, string ConnectionString) FreshDatabase()
    {
        var database = "energy_node_test_" + Guid.NewGuid().ToString("N");
        Execute($"CREATE DATABASE {database}");
        return (database, new Npgsql.NpgsqlConnectionStringBuilder(Server) { Database = database }.ConnectionString);
    }

    /// <summary>Drops a database the tests made, closing the connections that killed nodes left behind.</summary>
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
