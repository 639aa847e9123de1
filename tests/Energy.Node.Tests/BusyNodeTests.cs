using System.Net;
using System.Net.WebSockets;
using Energy.Wire;

namespace Energy.Node.Tests;

/// <summary>A node configured to hold no charge point calls and no gateway lookups or calls at all: always busy.</summary>
public sealed class BusyNodeFixture() : AgentNodeFixture("--Energy:OcppMaxHeldCalls=0", "--Energy:GatewayMaxHeldCalls=0");

/// <summary>A busy node refuses a new OCPP or gateway connection at the door, the way HTTP says "come back later", before any upgrade.</summary>
public sealed class BusyNodeTests(BusyNodeFixture fixture) : IClassFixture<BusyNodeFixture>
{
    [Fact]
    public async Task A_busy_node_refuses_a_new_charge_point_connection_with_503_and_Retry_After_even_with_the_right_password()
    {
        const string Password = "a busy charger's password";
        using (var chargers = new OcppChargers(fixture.Node, "cpo-busy"))
        {
            await chargers.AdmitAsync();
            await chargers.ChargerAsync("cp-busy-1", Password);
        }
        using var attempt = await OcppClient.TryConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Node.Port}/ocpp/"), "cp-busy-1", Password);
        Assert.Equal(503, attempt.Status);
        Assert.Null(attempt.Socket);
        Assert.Equal("1", attempt.RetryAfter);
        // A stranger learns nothing more from a busy node than that it is busy.
        using var stranger = await OcppClient.TryConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Node.Port}/ocpp/"), "cp-nobody", "guess");
        Assert.Equal(503, stranger.Status);
    }

    [Fact]
    public async Task A_busy_node_refuses_a_new_gateway_connection_with_503_and_Retry_After_before_any_hello()
    {
        foreach (var subprotocol in new[] { GatewayProtocol.BatchingSubprotocol, GatewayProtocol.Subprotocol })
        {
            using var socket = new ClientWebSocket();
            socket.Options.AddSubProtocol(subprotocol);
            socket.Options.CollectHttpResponseDetails = true;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.Node.Port}{GatewayProtocol.Path}"), timeout.Token));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, socket.HttpStatusCode);
            Assert.Equal("1", Assert.Single(socket.HttpResponseHeaders!["Retry-After"]));
        }
    }

    [Fact]
    public async Task A_device_agent_honours_a_busy_gateway_s_Retry_After_and_gives_up_with_its_refusal()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<WebSocketException>(() =>
            Energy.Agents.GatewayClient.ConnectAsync(new Uri($"http://127.0.0.1:{fixture.Node.Port}/"), batching: true, busyRetries: 1));
        // One retry after the node's Retry-After of a second: an agent that did not wait would have failed at once.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"gave up after {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Contains("503", refused.Message, StringComparison.Ordinal);
    }
}

/// <summary>A node whose gateway holds no challenge at all: every hello that would take one is refused GatewayBusy.</summary>
public sealed class NoChallengeBudgetNodeFixture() : AgentNodeFixture("--Energy:GatewayMaxChallenges=0");

/// <summary>A device agent told GatewayBusy at its hello says hello again after the wait, as many times as it was given; then the refusal is its caller's.</summary>
public sealed class GatewayBusyHelloTests(NoChallengeBudgetNodeFixture fixture) : AgentTest(fixture), IClassFixture<NoChallengeBudgetNodeFixture>
{
    [Fact]
    public async Task A_device_agent_says_hello_again_after_a_busy_gateway_s_wait_and_then_gives_up_with_GatewayBusy()
    {
        var (_, devices) = await ChargersAsync(1);
        await using var gateway = await Energy.Agents.GatewayClient.ConnectAsync(fixture.Node.Url, batching: true, busyRetries: 2);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var refused = await Assert.ThrowsAsync<Energy.Agents.GatewayRefusedException>(() => gateway.AuthenticateAsync(devices[0].Id, devices[0].Key));

        Assert.Equal(nameof(GatewayError.GatewayBusy), refused.Code);
        Assert.Null(refused.RetryAfterSeconds);
        // Two hellos again, each a second after the last (the wait when the node names none): an agent that did not wait,
        // or did not say hello again, would have had its refusal at once.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"gave up after {clock.Elapsed.TotalMilliseconds:0} ms");
    }
}
