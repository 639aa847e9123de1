using System.Net.WebSockets;

namespace Energy.Wire;

/// <summary>
/// Why the gateway closes a connection: the WebSocket close status and a description that starts with a stable name,
/// which a device reads to know whether to connect again now, later, or not with these devices.
/// </summary>
public sealed record GatewayClose(WebSocketCloseStatus Status, string Reason)
{
    /// <summary>The node is stopping (1001, going away): what was queued went out first; connect again, to another node.</summary>
    public static readonly GatewayClose NodeStopping = new(WebSocketCloseStatus.EndpointUnavailable, "NodeStopping: the node is stopping; connect again");

    /// <summary>Every device of the connection authenticated on a newer one, which serves them from now on.</summary>
    public static readonly GatewayClose ConnectionReplaced =
        new(WebSocketCloseStatus.PolicyViolation, "ConnectionReplaced: every device of this connection authenticated on a newer one");

    /// <summary>No device authenticated on the connection within <paramref name="bound"/>.</summary>
    public static GatewayClose AuthenticationTimeout(TimeSpan bound) =>
        new(WebSocketCloseStatus.PolicyViolation, $"AuthenticationTimeout: no device authenticated within {bound.TotalSeconds:0.###} s");
}
