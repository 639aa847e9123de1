using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Wire;

namespace Energy.Agents;

/// <summary>
/// One WebSocket to the network's device gateway, shared by any number of devices (a capable device uses
/// its own; a gateway box carries many constrained ones). Each device authenticates by signing the
/// challenge the network sends; its key never leaves this process. Calls are pipelined and matched to
/// their answers by id; events for a device go to the handler it registered. It asks for the batching
/// subprotocol: frames that are ready together then travel as one message, both ways. A busy node's "busy, retry"
/// (HTTP 503 at the upgrade, GatewayBusy to a hello) is honoured: tried again after the wait it names, a few times.
/// </summary>
public sealed class GatewayClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<long, PendingCall> _calls = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _handshakes = new();
    private readonly ConcurrentDictionary<string, Func<string, JsonElement, ValueTask>> _handlers = new();
    private readonly Channel<Outgoing> _outgoing = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(4_096) { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Timer? _overdue;
    private Task _reader = Task.CompletedTask;
    private Task _writer = Task.CompletedTask;
    private long _nextId;
    private int _busyRetries = BusyRetries;

    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times a busy node is tried again, by default, before its refusal is the caller's.</summary>
    public const int BusyRetries = 10;

    /// <summary>The wait when a busy node names none, and the longest one honoured.</summary>
    private static readonly TimeSpan BusyWait = TimeSpan.FromSeconds(1), LongestBusyWait = TimeSpan.FromSeconds(60);

    /// <summary>Raised for frames the network sends that answer nothing (errors without an id, for instance).</summary>
    public event Action<JsonElement>? Unmatched;

    /// <summary>WebSocket messages and the frames in them, sent and received so far.</summary>
    public long MessagesSent => Interlocked.Read(ref _messagesSent);
    public long FramesSent => Interlocked.Read(ref _framesSent);
    public long MessagesReceived => Interlocked.Read(ref _messagesReceived);
    public long FramesReceived => Interlocked.Read(ref _framesReceived);
    private long _messagesSent, _framesSent, _messagesReceived, _framesReceived;

    /// <summary>Whether the gateway agreed to batching (the subprotocol it chose).</summary>
    public bool Batching => _socket.SubProtocol == GatewayProtocol.BatchingSubprotocol;

    public static Task<GatewayClient> ConnectAsync(Uri node, CancellationToken token = default) => ConnectAsync(node, batching: true, token);

    /// <summary>
    /// Connects, asking for batching unless <paramref name="batching"/> is false. A node that answers 503 (busy) is tried
    /// again after its Retry-After, at most <paramref name="busyRetries"/> times; then its refusal is thrown. The same
    /// bound holds for each hello the node answers GatewayBusy.
    /// </summary>
    public static Task<GatewayClient> ConnectAsync(Uri node, bool batching, CancellationToken token = default) => ConnectAsync(node, batching, BusyRetries, token);

    /// <inheritdoc cref="ConnectAsync(Uri, bool, CancellationToken)"/>
    public static async Task<GatewayClient> ConnectAsync(Uri node, bool batching, int busyRetries, CancellationToken token = default)
    {
        var scheme = node.Scheme == "https" ? "wss" : "ws";
        var uri = new UriBuilder(node) { Scheme = scheme, Path = GatewayProtocol.Path }.Uri;
        for (var attempt = 0; ; attempt++)
        {
            var client = new GatewayClient { _busyRetries = busyRetries };
            if (batching) client._socket.Options.AddSubProtocol(GatewayProtocol.BatchingSubprotocol);
            client._socket.Options.AddSubProtocol(GatewayProtocol.Subprotocol);
            client._socket.Options.CollectHttpResponseDetails = true;
            try
            {
                await client._socket.ConnectAsync(uri, token);
                return client.Start();
            }
            catch (WebSocketException) when (client._socket.HttpStatusCode == HttpStatusCode.ServiceUnavailable && attempt < busyRetries)
            {
                var retryAfter = client._socket.HttpResponseHeaders?.GetValueOrDefault("Retry-After")?.FirstOrDefault();
                client._socket.Dispose();
                client._stop.Dispose();
                await Task.Delay(BusyWaitOf(int.TryParse(retryAfter, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? seconds : null), token);
            }
        }
    }

    private static TimeSpan BusyWaitOf(int? seconds) =>
        seconds is { } named ? TimeSpan.FromSeconds(Math.Clamp(named, 1, LongestBusyWait.TotalSeconds)) : BusyWait;

    private GatewayClient Start()
    {
        _reader = Task.Run(ReadAsync, CancellationToken.None);
        _overdue = new Timer(static state => ((GatewayClient)state!).FailOverdueCalls(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        _writer = Task.Run(WriteAsync, CancellationToken.None);
        return this;
    }

    /// <summary>Says hello for a device, signs the challenge with its key and waits for the welcome.</summary>
    public async Task<JsonElement> AuthenticateAsync(DeviceId device, DeviceKeyPair key, Func<string, JsonElement, ValueTask>? onEvent = null)
    {
        if (onEvent is not null) _handlers[device.Value] = onEvent;
        var challengeFrame = await HelloAsync(device);
        if (GatewayReply.Read(challengeFrame).Op == GatewayOps.Welcome) return challengeFrame;
        var body = WireJson.Read<ChallengeReply>(challengeFrame).Challenge;
        var challenge = Signed<AuthenticationChallenge>.Decode([.. body, .. new byte[Ed25519Signatures.SignatureBytes]]).Unwrap().Payload;
        if (!challenge.Party.Is(device)) throw new GatewayRefusedException(nameof(GatewayError.ChallengeMismatch), $"the challenge names {challenge.Party}, not {device}");
        var signed = Signed<AuthenticationChallenge>.Sign(challenge, key);
        return await HandshakeAsync(device, GatewayFrameWriter.Auth(device, signed.Wire));
    }

    /// <summary>A hello, said again after the wait a busy node names (GatewayBusy), at most as many times as the connection was given (<see cref="BusyRetries"/> by default).</summary>
    private async Task<JsonElement> HelloAsync(DeviceId device)
    {
        for (var attempt = 0; ; attempt++)
        {
            try { return await HandshakeAsync(device, GatewayFrameWriter.Hello(device)); }
            catch (GatewayRefusedException busy) when (busy.Code == nameof(GatewayError.GatewayBusy) && attempt < _busyRetries)
            {
                await Task.Delay(BusyWaitOf(busy.RetryAfterSeconds), _stop.Token);
            }
        }
    }

    /// <summary>Sends a raw hello or auth frame (tests use it to play hostile clients) and returns the answer.</summary>
    public Task<JsonElement> HandshakeAsync(DeviceId device, object frame) => HandshakeAsync(device, JsonSerializer.SerializeToUtf8Bytes(frame));

    private Task<JsonElement> HandshakeAsync(DeviceId device, byte[] frame)
    {
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _handshakes[device.Value] = answer;
        return SendAndWaitAsync(frame, answer, () => _handshakes.TryRemove(device.Value, out _));
    }

    public void OnEvent(DeviceId device, Func<string, JsonElement, ValueTask> handler) => _handlers[device.Value] = handler;

    /// <summary>Calls the action of <typeparamref name="TCall"/> as a device and returns the body of the result; a refusal throws <see cref="GatewayRefusedException"/>.</summary>
    public Task<JsonElement> CallAsync<TCall>(DeviceId device, TCall args) where TCall : IGatewayCall
    {
        var id = Interlocked.Increment(ref _nextId);
        return SendCallAsync(id, GatewayFrameWriter.Call(id, device, args));
    }

    /// <summary>Calls any action with any arguments, written with their own names (tests use it to play hostile or outdated clients).</summary>
    public Task<JsonElement> CallAsync(DeviceId device, string action, object args)
    {
        var id = Interlocked.Increment(ref _nextId);
        return SendCallAsync(id, GatewayFrameWriter.Call(id, device, action, args));
    }

    private Task<JsonElement> SendCallAsync(long id, byte[] frame)
    {
        var call = new PendingCall(Environment.TickCount64 + (long)CallTimeout.TotalMilliseconds);
        _calls[id] = call;
        var queued = _outgoing.Writer.WriteAsync(new Outgoing(frame, Alone: false), _stop.Token);
        return queued.IsCompletedSuccessfully ? call.Answer.Task : QueueThenWaitAsync(queued, call.Answer.Task);
    }

    private static async Task<JsonElement> QueueThenWaitAsync(ValueTask queued, Task<JsonElement> answer)
    {
        await queued;
        return await answer;
    }

    /// <summary>A call waiting for its answer; one timer fails those past their deadline (no timer per call).</summary>
    private sealed class PendingCall(long deadline)
    {
        public long Deadline { get; } = deadline;
        public TaskCompletionSource<JsonElement> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private void FailOverdueCalls()
    {
        var now = Environment.TickCount64;
        foreach (var (id, call) in _calls)
        {
            if (call.Deadline <= now && _calls.TryRemove(id, out _))
                call.Answer.TrySetException(new GatewayRefusedException(nameof(GatewayError.Timeout), $"no answer within {CallTimeout.TotalSeconds} s"));
        }
    }

    /// <summary>Sends any text as a message of its own (tests send malformed frames with it).</summary>
    public ValueTask SendRawAsync(string text) => _outgoing.Writer.WriteAsync(new Outgoing(System.Text.Encoding.UTF8.GetBytes(text), Alone: true), _stop.Token);

    private readonly record struct Outgoing(byte[] Frame, bool Alone);

    private async Task<JsonElement> SendAndWaitAsync(byte[] frame, TaskCompletionSource<JsonElement> answer, Action forget)
    {
        await _outgoing.Writer.WriteAsync(new Outgoing(frame, Alone: false), _stop.Token);
        try
        {
            return await answer.Task.WaitAsync(CallTimeout, _stop.Token);
        }
        catch (TimeoutException)
        {
            forget();
            throw new GatewayRefusedException(nameof(GatewayError.Timeout), $"no answer within {CallTimeout.TotalSeconds} s");
        }
    }

    private async Task WriteAsync()
    {
        try
        {
            // Frames that queued up while the last message was being sent go out together; a raw one goes alone.
            var batch = new FrameBatch(GatewayProtocol.MaxFrameBytes, Batching ? GatewayProtocol.MaxFramesPerBatch : 1);
            Outgoing? carried = null;
            while (carried is not null || await _outgoing.Reader.WaitToReadAsync(_stop.Token))
            {
                batch.Clear();
                if (carried is { } first) batch.TryAdd(first.Frame);
                var alone = carried?.Alone ?? false;
                carried = null;
                while (!alone && _outgoing.Reader.TryRead(out var next))
                {
                    if ((!next.Alone || batch.Count == 0) && batch.TryAdd(next.Frame))
                    {
                        alone = next.Alone;
                        continue;
                    }
                    carried = next;
                    break;
                }
                if (batch.Count == 0) continue;
                await _socket.SendAsync(batch.Seal(), WebSocketMessageType.Text, true, _stop.Token);
                Interlocked.Increment(ref _messagesSent);
                Interlocked.Add(ref _framesSent, batch.Count);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[GatewayProtocol.MaxBatchBytes];
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
                var message = JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone();
                Interlocked.Increment(ref _messagesReceived);
                if (message.ValueKind == JsonValueKind.Array)
                {
                    Interlocked.Add(ref _framesReceived, message.GetArrayLength());
                    foreach (var frame in message.EnumerateArray()) await DispatchAsync(frame);
                }
                else
                {
                    Interlocked.Increment(ref _framesReceived);
                    await DispatchAsync(message);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        var closed = new GatewayRefusedException("ConnectionClosed", _socket.CloseStatusDescription ?? "the gateway connection closed");
        foreach (var call in _calls.Values) call.Answer.TrySetException(closed);
        foreach (var handshake in _handshakes.Values) handshake.TrySetException(closed);
    }

    private async ValueTask DispatchAsync(JsonElement frame)
    {
        var (op, device, id, name, body) = GatewayReply.Read(frame);
        switch (op)
        {
            case GatewayOps.Result when id is not null && _calls.TryRemove(id.Value, out var call):
                call.Answer.TrySetResult(body);
                return;
            case GatewayOps.Error when id is not null && _calls.TryRemove(id.Value, out var failed):
                failed.Answer.TrySetException(GatewayRefusedException.From(frame));
                return;
            case GatewayOps.Error when id is null && device is not null && _handshakes.TryRemove(device, out var refused):
                refused.TrySetException(GatewayRefusedException.From(frame));
                return;
            case GatewayOps.Challenge or GatewayOps.Welcome when device is not null && _handshakes.TryRemove(device, out var handshake):
                handshake.TrySetResult(frame);
                return;
            case GatewayOps.Event when device is not null && _handlers.TryGetValue(device, out var handler):
                await handler(name ?? "", body);
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
        if (_overdue is not null) await _overdue.DisposeAsync();
        await _stop.CancelAsync();
        await Task.WhenAll(_reader, _writer);
        _socket.Dispose();
        _stop.Dispose();
    }
}

public sealed class GatewayRefusedException(string code, string message, int? retryAfterSeconds = null) : Exception($"{code}: {message}")
{
    public string Code { get; } = code;

    /// <summary>For a "busy, retry" refusal, the seconds after which to try again, when the node named them.</summary>
    public int? RetryAfterSeconds { get; } = retryAfterSeconds;

    public static GatewayRefusedException From(JsonElement frame)
    {
        var error = WireJson.Read<ErrorReply>(frame);
        return new(error.Code ?? "Unknown", error.Message ?? "", error.RetryAfter);
    }
}
