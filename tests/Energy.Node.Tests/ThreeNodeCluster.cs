using Energy.Agents;
using Energy.Lifecycles.Ledger;

namespace Energy.Node.Tests;

/// <summary>
/// Three node processes on loopback over one PostgreSQL database of their own, as several operators run the
/// network (<see cref="NodeCluster"/>): every node a seed of the others, one network authority configured on all.
/// </summary>
public sealed class ThreeNodeCluster : IAsyncLifetime
{
    public const int LedgerShards = 6;

    private NodeCluster _cluster = null!;

    public NodeCluster Cluster => _cluster;
    public NodeProcess[] Nodes => _cluster.Nodes;
    public IReadOnlyList<Uri> Urls => _cluster.Urls;
    public string AuthorityKeyFile => _cluster.AuthorityKeyFile;
    public OperatorAgent Grid => _cluster.Grid;

    public async Task InitializeAsync() => _cluster = await NodeCluster.StartAsync(3, Governance.Network, LedgerShards);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    public NodeClient Client(int node) => _cluster.Client(node);
    public NodeClient GridReader(int node) => _cluster.GridReader(node);
    public NetworkAuthorityAgent Authority(int node) => _cluster.Authority(node);
    public Task<IReadOnlyList<System.Text.Json.JsonElement>> MembersAsync(int via) => _cluster.MembersAsync(via);
    public Task<string> NodeKeyAsync(int node) => _cluster.NodeKeyAsync(node);
}
