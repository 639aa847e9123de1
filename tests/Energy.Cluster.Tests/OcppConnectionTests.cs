using System.Net.WebSockets;
using Akka.TestKit.Xunit2;
using Energy.Cluster.Gateway;
using Energy.Cluster.Kernel;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// A charge point's OCPP connection as the cluster reaches it, by its registered path: a replacement naming another charge
/// point changes nothing; its own closes the socket saying why; after the connection ended its path leads nowhere.
/// </summary>
public sealed class OcppConnectionTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static WebSocket ServerSocket() => WebSocket.CreateFromStream(new MemoryStream(), isServer: true, subProtocol: "ocpp1.6", TimeSpan.Zero);

    [Fact]
    public void Only_its_own_charge_points_replacement_closes_it()
    {
        var socket = ServerSocket();
        using var sending = new SemaphoreSlim(1, 1);
        using var served = new CancellationTokenSource();
        using var connection = new OcppConnection(Sys, "cp-own-1", socket, sending, served);

        LiveConnections.TellReplaced(Sys, connection.Address, "cp-other-2");
        Assert.Equal(WebSocketState.Open, socket.State);
        Assert.False(served.IsCancellationRequested);

        LiveConnections.TellReplaced(Sys, connection.Address, "cp-own-1");
        AwaitAssert(() => Assert.Equal(WebSocketState.CloseSent, socket.State));
    }

    [Fact]
    public void An_ended_connection_is_not_reached_by_its_path()
    {
        var socket = ServerSocket();
        using var sending = new SemaphoreSlim(1, 1);
        using var served = new CancellationTokenSource();
        var connection = new OcppConnection(Sys, "cp-own-3", socket, sending, served);
        var address = connection.Address;
        connection.Dispose();

        LiveConnections.TellReplaced(Sys, address, "cp-own-3");
        Assert.Equal(WebSocketState.Open, socket.State);
    }
}
