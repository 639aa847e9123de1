using System.Net.WebSockets;
using Energy.Wire;

namespace Energy.Node.Tests;

/// <summary>
/// A node told to stop (SIGTERM, as an orchestrator or a restart does it) closes the WebSockets of its chargers and
/// devices itself, saying it is going away, instead of waiting for them until the host gives up.
/// </summary>
public sealed class NodeStopTests
{
    private const string Password = "a stopping node's charger";

    [Fact]
    public async Task A_stopping_node_says_going_away_to_its_chargers_and_devices_and_exits_without_waiting_for_them()
    {
        using var node = new NodeProcess(null, "--Energy:GatewayAuthenticationMs=300000");
        await node.StartAsync();
        using (var chargers = new OcppChargers(node, "cpo-stopping"))
        {
            await chargers.AdmitAsync();
            await chargers.ChargerAsync("cp-stopping-1", Password);
        }
        using var charger = await OcppClient.TryConnectAsync(new Uri($"ws://127.0.0.1:{node.Port}/ocpp/"), "cp-stopping-1", Password);
        Assert.NotNull(charger.Socket);
        using var device = new ClientWebSocket();
        device.Options.AddSubProtocol(GatewayProtocol.Subprotocol);
        await device.ConnectAsync(new Uri($"ws://127.0.0.1:{node.Port}{GatewayProtocol.Path}"), CancellationToken.None);

        var chargerClosed = CloseOfAsync(charger.Socket!);
        var deviceClosed = CloseOfAsync(device);
        // Well before the 30 s a host waits for open requests when nothing closes them.
        await node.StopAsync(TimeSpan.FromSeconds(20));

        var (chargerStatus, chargerReason) = await chargerClosed;
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, chargerStatus);
        Assert.Equal("the node is stopping", chargerReason);
        var (deviceStatus, deviceReason) = await deviceClosed;
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, deviceStatus);
        Assert.StartsWith("NodeStopping", deviceReason);
    }

    /// <summary>Reads until the server's close frame, answers it, and returns its status and reason.</summary>
    private static async Task<(WebSocketCloseStatus? Status, string? Reason)> CloseOfAsync(WebSocket socket)
    {
        var buffer = new byte[4_096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType != WebSocketMessageType.Close) continue;
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            return (result.CloseStatus, result.CloseStatusDescription);
        }
    }
}
