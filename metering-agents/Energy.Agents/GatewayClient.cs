using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Agents;

/// <summary>
/// One WebSocket to the network's device gateway, shared by any number of devices (a capable device uses
/// its own; a gateway box carries many constrained ones). Each device authenticates by signing the
/// challenge the network sends; its key never leaves this process. Calls are pipelined and matched to
/// their answers by id; events for a device go to the handler it registered.
/// </summary>
public sealed class GatewayClient : IAsyncDisposable
{
    public const string Subprotocol = "energy.gateway.v1";

    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _calls = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _handshakes = new();
    private readonly ConcurrentDictionary<string, Func<string, JsonElement, ValueTask>> _handlers = new();
    private readonly Channel<byte[]> _outgoing = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(4_096) { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _reader = Task.CompletedTask;
    private Task _writer = Task.CompletedTask;
    private long _nextId;

    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Raised for frames the network sends that answer nothing (errors without an id, for instance).</summary>
    public event Action<JsonElement>? Unmatched;

    public static async Task<GatewayClient> ConnectAsync(Uri node, CancellationToken token = default)
    {
        var client = new GatewayClient();
        client._socket.Options.AddSubProtocol(Subprotocol);
        var scheme = node.Scheme == "https" ? "wss" : "ws";
        await client._socket.ConnectAsync(new UriBuilder(node) { Scheme = scheme, Path = "/gateway" }.Uri, token);
        client._reader = Task.Run(client.ReadAsync, CancellationToken.None);
        client._writer = Task.Run(client.WriteAsync, CancellationToken.None);
        return client;
    }

    /// <summary>Says hello for a device, signs the challenge with its key and waits for the welcome.</summary>
    public async Task<JsonElement> AuthenticateAsync(DeviceId device, DeviceKeyPair key, Func<string, JsonElement, ValueTask>? onEvent = null)
    {
        if (onEvent is not null) _handlers[device.Value] = onEvent;
        var challengeFrame = await HandshakeAsync(device, new { op = "hello", device = device.Value });
        if (challengeFrame.GetProperty("op").GetString() == "welcome") return challengeFrame;
        var body = Convert.FromBase64String(challengeFrame.GetProperty("challenge").GetString()!);
        var challenge = Signed<AuthenticationChallenge>.Decode([.. body, .. new byte[Ed25519Signatures.SignatureBytes]]).Unwrap().Payload;
        if (challenge.Device != device) throw new GatewayRefusedException("ChallengeMismatch", $"the challenge names {challenge.Device}, not {device}");
        var signed = Signed<AuthenticationChallenge>.Sign(challenge, key);
        return await HandshakeAsync(device, new { op = "auth", device = device.Value, signed = Convert.ToBase64String(signed.Wire) });
    }

    /// <summary>Sends a raw hello or auth frame (tests use it to play hostile clients) and returns the answer.</summary>
    public Task<JsonElement> HandshakeAsync(DeviceId device, object frame)
    {
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _handshakes[device.Value] = answer;
        return SendAndWaitAsync(JsonSerializer.SerializeToUtf8Bytes(frame), answer, () => _handshakes.TryRemove(device.Value, out _));
    }

    public void OnEvent(DeviceId device, Func<string, JsonElement, ValueTask> handler) => _handlers[device.Value] = handler;

    /// <summary>Calls an action as a device and returns the body of the result; a refusal throws <see cref="GatewayRefusedException"/>.</summary>
    public Task<JsonElement> CallAsync(DeviceId device, string action, object args)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _calls[id] = answer;
        var frame = JsonSerializer.SerializeToUtf8Bytes(new { op = "call", id, device = device.Value, action, args });
        return SendAndWaitAsync(frame, answer, () => _calls.TryRemove(id, out _));
    }

    /// <summary>Sends any text (tests send malformed frames with it).</summary>
    public ValueTask SendRawAsync(string text) => _outgoing.Writer.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), _stop.Token);

    private async Task<JsonElement> SendAndWaitAsync(byte[] frame, TaskCompletionSource<JsonElement> answer, Action forget)
    {
        await _outgoing.Writer.WriteAsync(frame, _stop.Token);
        try
        {
            return await answer.Task.WaitAsync(CallTimeout, _stop.Token);
        }
        catch (TimeoutException)
        {
            forget();
            throw new GatewayRefusedException("Timeout", $"no answer within {CallTimeout.TotalSeconds} s");
        }
    }

    private async Task WriteAsync()
    {
        try
        {
            await foreach (var frame in _outgoing.Reader.ReadAllAsync(_stop.Token))
                await _socket.SendAsync(frame, WebSocketMessageType.Text, true, _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token);
                    length += result.Count;
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close) break;
                await DispatchAsync(JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone());
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        var closed = new GatewayRefusedException("ConnectionClosed", _socket.CloseStatusDescription ?? "the gateway connection closed");
        foreach (var call in _calls.Values) call.TrySetException(closed);
        foreach (var handshake in _handshakes.Values) handshake.TrySetException(closed);
    }

    private async ValueTask DispatchAsync(JsonElement frame)
    {
        var op = frame.GetProperty("op").GetString();
        var device = frame.TryGetProperty("device", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : null;
        long? id = frame.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt64() : null;
        switch (op)
        {
            case "result" when id is not null && _calls.TryRemove(id.Value, out var call):
                call.TrySetResult(frame.GetProperty("body"));
                return;
            case "error" when id is not null && _calls.TryRemove(id.Value, out var failed):
                failed.TrySetException(GatewayRefusedException.From(frame));
                return;
            case "error" when id is null && device is not null && _handshakes.TryRemove(device, out var refused):
                refused.TrySetException(GatewayRefusedException.From(frame));
                return;
            case "challenge" or "welcome" when device is not null && _handshakes.TryRemove(device, out var handshake):
                handshake.TrySetResult(frame);
                return;
            case "event" when device is not null && _handlers.TryGetValue(device, out var handler):
                await handler(frame.GetProperty("event").GetString()!, frame.GetProperty("body"));
                return;
            default:
                Unmatched?.Invoke(frame);
                return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _outgoing.Writer.TryComplete();
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        await _stop.CancelAsync();
        await Task.WhenAll(_reader, _writer);
        _socket.Dispose();
        _stop.Dispose();
    }
}

public sealed class GatewayRefusedException(string code, string message) : Exception($"{code}: {message}")
{
    public string Code { get; } = code;

    public static GatewayRefusedException From(JsonElement frame) =>
        new(frame.GetProperty("code").GetString() ?? "Unknown", frame.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "");
}
