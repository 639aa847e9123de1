using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Ocpp;

namespace Energy.Node.Tests;

/// <summary>
/// Chargers made ready for OCPP the way their operator does it: the operator is admitted by the node's own
/// authority (the key the single node made in its data folder), endorses each charger and sets its password.
/// </summary>
public sealed class OcppChargers : IDisposable
{
    public static readonly NetworkId Network = NetworkId.Of("energy-test");

    private readonly HttpClient _http;
    private readonly NetworkAuthorityAgent _authority;

    public OcppChargers(NodeProcess node, string operatorName)
    {
        _http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(30) };
        Client = new NodeClient(_http);
        _authority = NetworkAuthorityAgent.FromKeyFile(Client, Network, Currency.Eur, Path.Combine(node.DataDirectory, "authority.key"));
        Operator = new OperatorAgent(Client, Network, OperatorId.Of(operatorName));
    }

    public NodeClient Client { get; }
    public OperatorAgent Operator { get; }
    public NetworkAuthorityAgent Authority => _authority;

    public Task AdmitAsync(OperatorRoles roles = OperatorRoles.ChargePointOperator) => Operator.AdmitAsync(_authority, roles);

    /// <summary>Endorses a charger of this operator and, unless <paramref name="password"/> is null, sets its OCPP password.</summary>
    public async Task<DeviceId> ChargerAsync(string id, string? password, bool allowUnauthenticated = false)
    {
        var charger = DeviceId.Of(id);
        using var key = DeviceKeyPair.Generate();
        await Operator.EndorseAsync(charger, DeviceRole.Charger, key.PublicKey);
        if (password is not null) await Operator.SetChargePointPasswordAsync(charger, password, allowUnauthenticated, iterations: ChargePointPassword.MinIterations);
        return charger;
    }

    public void Dispose()
    {
        Operator.Dispose();
        _authority.Dispose();
        _http.Dispose();
    }
}

/// <summary>An OCPP upgrade attempt: the HTTP status (101 when upgraded), the socket if it was, and the Retry-After of a refusal.</summary>
public sealed record OcppAttempt(int Status, ClientWebSocket? Socket, string? RetryAfter) : IDisposable
{
    public void Dispose() => Socket?.Dispose();
}

/// <summary>A plain OCPP 1.6J client for tests: Basic authentication, optionally from a chosen loopback address or over TLS.</summary>
public static class OcppClient
{
    public static async Task<OcppAttempt> TryConnectAsync(Uri endpoint, string chargePoint, string? password, IPAddress? from = null,
        Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("ocpp1.6");
        socket.Options.CollectHttpResponseDetails = true;
        if (password is not null) socket.Options.SetRequestHeader("Authorization", OcppBasicAuthentication.Header(chargePoint, password));
        configure?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var invoker = from is null ? null : new HttpMessageInvoker(From(from));
        try
        {
            await socket.ConnectAsync(new Uri(endpoint, chargePoint), invoker, timeout.Token);
            return new OcppAttempt((int)socket.HttpStatusCode, socket, null);
        }
        catch (WebSocketException)
        {
            var status = (int)socket.HttpStatusCode;
            var retryAfter = socket.HttpResponseHeaders is { } headers && headers.TryGetValue("Retry-After", out var values) ? values.FirstOrDefault() : null;
            socket.Dispose();
            return new OcppAttempt(status, null, retryAfter);
        }
    }

    /// <summary>Connections that leave from one loopback address (Linux routes all of 127.0.0.0/8 to the loopback interface).</summary>
    private static SocketsHttpHandler From(IPAddress local) => new()
    {
        ConnectCallback = async (context, token) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>Sends one CALL and reads its answer.</summary>
    public static async Task<JsonElement> CallAsync(ClientWebSocket socket, string uniqueId, string action, object payload)
    {
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new object[] { 2, uniqueId, action, payload }), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[65_536];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        return JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.Clone();
    }

    public static Task<JsonElement> BootAsync(ClientWebSocket socket) =>
        CallAsync(socket, "boot", "BootNotification", new { chargePointVendor = "Energy", chargePointModel = "Test" });
}
