using System.Text;
using System.Text.Json;
using Akka.TestKit.Xunit2;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Gateway;
using Energy.Cluster.Hosting;
using Xunit.Abstractions;
using Energy.Cluster.Network;

namespace Energy.Cluster.Tests;

/// <summary>
/// A node that holds as many charge point calls as it allows is busy: it answers a boot Pending (OCPP's "boot again
/// after the interval") without waking the charge point, and holds every other call for its entity's answer.
/// </summary>
public sealed class OcppHoldingTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static ReadOnlyMemory<byte> Frame(string id, string action, object payload) => OcppTestNode.Frame(id, action, payload);

    private static readonly ReadOnlyMemory<byte> Boot = Frame("b1", "BootNotification", new { chargePointVendor = "Test", chargePointModel = "Busy" });

    private static JsonElement Parse(string? text) => OcppTestNode.Parse(text);

    [Fact]
    public async Task A_busy_node_answers_a_boot_Pending_with_an_interval_and_holds_every_other_call_until_its_entity_answers()
    {
        await using var ocpp = await OcppTestNode.StartAsync();
        var (node, network) = (ocpp.Node, ocpp.Network);
        var held = new HeldCalls(2, TimeSpan.FromSeconds(25));
        using var answers = new ChargePointAnswers(node.System, CancellationToken.None);

        var busy = held.Hold();
        var second = held.Hold();
        Assert.True(held.Busy);
        var pending = Parse(await OcppEndpoint.AnswerAsync("cp-busy", Boot, network, held, answers, CancellationToken.None));
        Assert.Equal(3, pending[0].GetInt32());
        Assert.Equal("b1", pending[1].GetString());
        Assert.Equal("Pending", pending[2].GetProperty("status").GetString());
        Assert.InRange(pending[2].GetProperty("interval").GetInt32(), 1, 30);
        // Anything else is held for the entity (which answers here at once), never answered busy or with an error.
        var heartbeat = Parse(await OcppEndpoint.AnswerAsync("cp-busy", Frame("h1", "Heartbeat", new { }), network, held, answers, CancellationToken.None));
        Assert.Equal(3, heartbeat[0].GetInt32());
        Assert.True(heartbeat[2].TryGetProperty("currentTime", out _));
        Assert.Equal(2, held.Count);

        busy.Dispose();
        second.Dispose();
        Assert.False(held.Busy);
        var accepted = Parse(await OcppEndpoint.AnswerAsync("cp-busy", Boot, network, held, answers, CancellationToken.None));
        Assert.Equal("Accepted", accepted[2].GetProperty("status").GetString());
        Assert.Equal(0, held.Count);
    }

    [Fact]
    public void Held_calls_count_each_hold_once_and_ask_for_longer_the_more_are_held()
    {
        var held = new HeldCalls(10, TimeSpan.FromSeconds(25));
        var scopes = Enumerable.Range(0, 35).Select(_ => held.Hold()).ToList();
        Assert.Equal(35, held.Count);
        Assert.True(held.Busy);
        Assert.Equal(TimeSpan.FromSeconds(3), held.RetryAfter);
        foreach (var scope in scopes) scope.Dispose();
        Assert.Equal(0, held.Count);
        Assert.Equal(TimeSpan.FromSeconds(1), held.RetryAfter);
        Assert.True(new HeldCalls(0, TimeSpan.FromSeconds(25)).Busy);
    }

    [Fact]
    public void A_node_whose_backlog_of_held_calls_waited_past_the_longest_hold_is_busy_and_a_few_slow_calls_are_no_backlog()
    {
        var now = TimeSpan.Zero;
        var held = new HeldCalls(1_000, TimeSpan.FromMilliseconds(500), backlog: 3, elapsed: () => now);
        // One call stuck for seconds (its entity waits on a node that is down) does not make the node busy.
        var stuck = held.Hold();
        now = TimeSpan.FromSeconds(5);
        var second = held.Hold();
        Assert.Equal(TimeSpan.Zero, held.BacklogWait);
        Assert.False(held.Busy);
        Assert.False(held.HoldsBacklog);

        // Three held, the third oldest since 5.3 s: a backlog, busy once it has waited over 500 ms.
        now = TimeSpan.FromMilliseconds(5_300);
        var third = held.Hold();
        Assert.True(held.HoldsBacklog);
        now = TimeSpan.FromMilliseconds(5_700);
        Assert.False(held.Busy);
        now = TimeSpan.FromMilliseconds(5_900);
        Assert.Equal(TimeSpan.FromMilliseconds(600), held.BacklogWait);
        Assert.True(held.Busy);
        now = TimeSpan.FromMilliseconds(7_400);
        Assert.Equal(TimeSpan.FromSeconds(3), held.RetryAfter);

        // Answered twice, the stuck call counts once: two held, no backlog, not busy, and a charger comes back in 1 s.
        stuck.Dispose();
        stuck.Dispose();
        Assert.Equal(2, held.Count);
        Assert.False(held.Busy);
        Assert.False(held.HoldsBacklog);
        Assert.Equal(TimeSpan.FromSeconds(1), held.RetryAfter);

        // New calls make a backlog again only once they too have waited.
        var fourth = held.Hold();
        Assert.False(held.Busy);
        now = TimeSpan.FromMilliseconds(8_000);
        Assert.True(held.Busy);
        foreach (var scope in new[] { second, third, fourth }) scope.Dispose();
        Assert.Equal(0, held.Count);
        Assert.False(held.Busy);
    }
}

/// <summary>A node on SQLite for calling its OCPP endpoint's answers directly, and the frames and answers of those calls.</summary>
internal sealed class OcppTestNode : IAsyncDisposable
{
    private readonly DeviceKeyPair _nodeKey;

    private OcppTestNode(DeviceKeyPair nodeKey, TestNode node, EnergyNetwork network) => (_nodeKey, Node, Network) = (nodeKey, node, network);

    public TestNode Node { get; }

    public EnergyNetwork Network { get; }

    public static async Task<OcppTestNode> StartAsync()
    {
        var nodeKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var settings = new EnergySettings(ClusterTestKit.Network, Currency.Eur, 4, nodeKey, clock) { Authority = TestAuthority.Authority };
        var node = await TestNode.StartAsync(TestStores.Sqlite(), settings);
        return new OcppTestNode(nodeKey, node, new EnergyNetwork(node.System, node.Regions, settings));
    }

    public static ReadOnlyMemory<byte> Frame(string id, string action, object payload) =>
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new object[] { 2, id, action, payload }));

    public static JsonElement Parse(string? text) => JsonDocument.Parse(text ?? throw new InvalidOperationException("no answer")).RootElement.Clone();

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        _nodeKey.Dispose();
    }
}
