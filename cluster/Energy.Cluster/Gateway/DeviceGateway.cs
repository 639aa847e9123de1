using System.Globalization;
using Energy.Cluster.Network;
using Energy.Lifecycles.Gateway;
using Energy.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The device gateway: a WebSocket at /gateway through which device agents reach the network. One
/// connection carries one capable device or many constrained ones: each device says hello, gets a fresh
/// challenge, and signs it with its registered key; only then do its calls reach an entity, and the
/// entity is told which device the gateway authenticated, never a name taken from the frame. Those rules are
/// <see cref="GatewayHandshake"/>'s, pure; a <see cref="DeviceConnection"/> is their shell on one socket. The frames,
/// their names, bounds and bodies are the wire contract of Energy.Wire (<see cref="GatewayProtocol"/>,
/// <see cref="GatewayCodec"/>); each error is a named <see cref="GatewayError"/>. Calls are pipelined (at
/// most <see cref="GatewayProtocol.MaxCallsInFlight"/> per connection) and answered by id; events the network pushes to
/// a device arrive on the same connection. Under <see cref="GatewayProtocol.BatchingSubprotocol"/> a WebSocket message
/// may also carry a JSON array of frames, in both directions: a busy connection then pays for one
/// message, not one per frame; each frame in a batch is handled and answered as if it came alone.
/// A stranger's cost is bounded: a challenge is issued only for a registered, unrevoked device, at most
/// <see cref="GatewayProtocol.MaxChallengesPerConnection"/> outstanding on a connection and
/// <see cref="EnergySettings.MaxGatewayChallenges"/> on the node; a connection on which no device has
/// authenticated within <see cref="EnergySettings.GatewayAuthenticationTimeout"/> is closed.
/// The node holds its registry lookups and its devices' calls (<see cref="HeldCalls"/>, keyed <see cref="HeldCallsKey"/>);
/// once the oldest of them have waited too long it is waking entities more slowly than devices arrive, and it takes on
/// no more until it has caught up: a new connection is refused at the door with 503 and Retry-After, a hello that would
/// take a challenge place with GatewayBusy naming when to come back. Calls of authenticated devices are still held.
/// </summary>
public static class DeviceGateway
{
    /// <summary>Frames waiting for the socket on one connection: past it the connection waits (answers) or is cut (pushed events).</summary>
    public const int MaxQueuedFrames = 8_192;

    /// <summary>How long a connection closed for want of authentication waits for the client's close before it is cut.</summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    /// <summary>The service key of the gateway's <see cref="HeldCalls"/> (the unkeyed one is OCPP's).</summary>
    public const string HeldCallsKey = "gateway";

    public static IEndpointRouteBuilder MapDeviceGateway(this IEndpointRouteBuilder app)
    {
        app.Map(GatewayProtocol.Path, HandleAsync);
        return app;
    }

    private static async Task HandleAsync(HttpContext context, EnergyNetwork network, GatewayChallengeBudget budget,
        [FromKeyedServices(HeldCallsKey)] HeldCalls held, SchedulingDelay scheduling, IHostApplicationLifetime lifetime)
    {
        var requested = context.WebSockets.WebSocketRequestedProtocols;
        var subprotocol = requested.Contains(GatewayProtocol.BatchingSubprotocol) ? GatewayProtocol.BatchingSubprotocol
            : requested.Contains(GatewayProtocol.Subprotocol) ? GatewayProtocol.Subprotocol : null;
        if (!context.WebSockets.IsWebSocketRequest || subprotocol is null)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"a WebSocket connection with the {GatewayProtocol.BatchingSubprotocol} or {GatewayProtocol.Subprotocol} subprotocol is expected");
            return;
        }
        if (held.Busy)
        {
            // Behind with the devices it took on: a new connection comes back later rather than adding to what the node holds.
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = ((int)held.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await context.Response.WriteAsync("the node is busy; connect again after Retry-After seconds");
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync(subprotocol);
        using var session = new DeviceConnection(socket, network, budget, held, scheduling, subprotocol == GatewayProtocol.BatchingSubprotocol, context.RequestAborted);
        using var stopping = lifetime.ApplicationStopping.Register(session.NodeStopping);
        EnergyMetrics.GatewayConnections.Add(1);
        try { await session.RunAsync(); }
        finally { EnergyMetrics.GatewayConnections.Add(-1); }
    }

    internal static byte[] Error(GatewayError error) => GatewayFrameWriter.Error(error);
}
