using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;

namespace Energy.Node.Tests;

/// <summary>A node process with the settings a suite needs, and the agents' client for it.</summary>
public abstract class AgentNodeFixture(params string[] settings) : IAsyncLifetime
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public NodeProcess Node { get; } = new(null, settings);
    public ApiClient Api { get; private set; } = null!;
    public NodeClient Client { get; private set; } = null!;
    public Governance Governance { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Node.StartAsync();
        Api = new ApiClient(Node, TimeSpan.FromSeconds(5));
        _http.BaseAddress = Node.Url;
        Client = new NodeClient(_http);
        Governance = await Governance.StartAsync(Node, Client, Api);
        Client = Governance.Grid.Node;
    }

    public Task DisposeAsync()
    {
        Governance.Dispose();
        Api.Dispose();
        _http.Dispose();
        Node.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>A node whose stopped sessions wait two seconds for a final payment, and OCPP sessions three for the vehicle's consent.</summary>
public sealed class ChargingNodeFixture() : AgentNodeFixture("--Energy:SessionSettleSeconds=2", "--Energy:SessionConsentSeconds=3");

/// <summary>
/// A node whose gantries wait five seconds for a payment: a silent vehicle is late soon enough for a test, and a vehicle
/// that answers is never late only because the machine running the tests is loaded.
/// </summary>
public sealed class TollNodeFixture() : AgentNodeFixture("--Energy:TollAnswerMs=5000");

/// <summary>A node serving the dashboard page from the repository's dashboard/web, its zone markets clearing every three seconds.</summary>
public sealed class DashboardNodeFixture() : AgentNodeFixture($"--Energy:DashboardDirectory={Path.Combine(Repository, "dashboard", "web")}",
    $"--Energy:Market:IntervalMs={MarketIntervalMs}", "--Energy:Market:GateClosureMs=1000")
{
    public const int MarketIntervalMs = 3_000;

    public static readonly string Repository = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
}

/// <summary>Bounded polling for state that is reached asynchronously (another process, a push).</summary>
public static class Eventually
{
    public static Task Holds(Func<bool> condition, int seconds = 20) => Holds(() => Task.FromResult(condition()), seconds);

    public static async Task Holds(Func<Task<bool>> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"the condition did not hold within {seconds} s");
            await Task.Delay(50);
        }
    }
}

/// <summary>
/// What an agent suite's test keeps for its own run: a run id for unique names, and the gateway
/// connections and agents it made, closed when the test ends.
/// </summary>
public abstract class AgentTest(AgentNodeFixture node) : IAsyncLifetime
{
    protected static readonly Energy.Channels.Primitives.NetworkId Network = Energy.Channels.Primitives.NetworkId.Of("energy-test");

    private readonly List<GatewayClient> _connections = [];
    private readonly List<IDisposable> _agents = [];

    protected string Run { get; } = Guid.NewGuid().ToString("N")[..8];

    protected IReadOnlyList<GatewayClient> Connections => _connections;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var connection in _connections) await connection.DisposeAsync();
        foreach (var agent in _agents) agent.Dispose();
    }

    protected T Keep<T>(T agent) where T : IDisposable
    {
        _agents.Add(agent);
        return agent;
    }

    /// <summary>A device of the test and its key.</summary>
    protected sealed record Device(DeviceId Id, DeviceKeyPair Key) : IDisposable
    {
        public void Dispose() => Key.Dispose();
    }

    /// <summary>A charge point operator admitted by the node's own authority, with <paramref name="count"/> endorsed chargers.</summary>
    protected async Task<(OperatorAgent Operator, List<Device> Devices)> ChargersAsync(int count)
    {
        var cpo = Keep(new OperatorAgent(node.Client, Network, OperatorId.Of($"cpo-{Run}")));
        using (var authority = NetworkAuthorityAgent.FromKeyFile(node.Client, Network, Currency.Eur,
                   Path.Combine(node.Node.DataDirectory, Energy.Cluster.Hosting.NodeHost.AuthorityKeyFile)))
            await cpo.AdmitAsync(authority, OperatorRoles.ChargePointOperator);
        var devices = new List<Device>();
        for (var i = 0; i < count; i++)
        {
            var device = Keep(new Device(DeviceId.Of($"charger-{Run}-{i}"), DeviceKeyPair.Generate()));
            await cpo.EndorseAsync(device.Id, DeviceRole.Charger, device.Key.PublicKey);
            devices.Add(device);
        }
        return (cpo, devices);
    }

    protected async Task<GatewayClient> ConnectAsync(bool batching = true)
    {
        var gateway = await GatewayClient.ConnectAsync(node.Node.Url, batching);
        _connections.Add(gateway);
        return gateway;
    }
}
