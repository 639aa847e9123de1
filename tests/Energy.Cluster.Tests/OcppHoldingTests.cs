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
    private static ReadOnlyMemory<byte> Frame(string id, string action, object payload) =>
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new object[] { 2, id, action, payload }));

    private static readonly ReadOnlyMemory<byte> Boot = Frame("b1", "BootNotification", new { chargePointVendor = "Test", chargePointModel = "Busy" });

    private static JsonElement Parse(string? text) => JsonDocument.Parse(text ?? throw new InvalidOperationException("no answer")).RootElement.Clone();

    [Fact]
    public async Task A_busy_node_answers_a_boot_Pending_with_an_interval_and_holds_every_other_call_until_its_entity_answers()
    {
        using var nodeKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var settings = new EnergySettings(ClusterTestKit.Network, Currency.Eur, 4, nodeKey, clock) { Authority = TestAuthority.Authority };
        await using var node = await TestNode.StartAsync(TestStores.Sqlite(), settings);
        var network = new EnergyNetwork(node.System, node.Regions, settings);
        var held = new HeldCalls(2);

        var busy = held.Hold();
        var second = held.Hold();
        Assert.True(held.Busy);
        var pending = Parse(await OcppEndpoint.AnswerAsync("cp-busy", Boot, network, held, CancellationToken.None));
        Assert.Equal(3, pending[0].GetInt32());
        Assert.Equal("b1", pending[1].GetString());
        Assert.Equal("Pending", pending[2].GetProperty("status").GetString());
        Assert.InRange(pending[2].GetProperty("interval").GetInt32(), 1, 30);
        // Anything else is held for the entity (which answers here at once), never answered busy or with an error.
        var heartbeat = Parse(await OcppEndpoint.AnswerAsync("cp-busy", Frame("h1", "Heartbeat", new { }), network, held, CancellationToken.None));
        Assert.Equal(3, heartbeat[0].GetInt32());
        Assert.True(heartbeat[2].TryGetProperty("currentTime", out _));
        Assert.Equal(2, held.Count);

        busy.Dispose();
        second.Dispose();
        Assert.False(held.Busy);
        var accepted = Parse(await OcppEndpoint.AnswerAsync("cp-busy", Boot, network, held, CancellationToken.None));
        Assert.Equal("Accepted", accepted[2].GetProperty("status").GetString());
        Assert.Equal(0, held.Count);
    }

    [Fact]
    public void Held_calls_count_each_hold_once_and_ask_for_longer_the_more_are_held()
    {
        var held = new HeldCalls(10);
        var scopes = Enumerable.Range(0, 35).Select(_ => held.Hold()).ToList();
        Assert.Equal(35, held.Count);
        Assert.True(held.Busy);
        Assert.Equal(TimeSpan.FromSeconds(3), held.RetryAfter);
        foreach (var scope in scopes) scope.Dispose();
        Assert.Equal(0, held.Count);
        Assert.Equal(TimeSpan.FromSeconds(1), held.RetryAfter);
        Assert.True(new HeldCalls(0).Busy);
    }
}
