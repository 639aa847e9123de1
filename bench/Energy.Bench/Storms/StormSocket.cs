using System.Globalization;
using System.Net;
using System.Net.WebSockets;

namespace Energy.Bench.Storms;

/// <summary>
/// One client WebSocket sized for ten thousand in a process: no keep-alive pings, 1 KiB buffers, one message
/// read at a time into a buffer that grows only for a longer message. The upgrade's answer is kept, so that a
/// refused upgrade says its status and, for 503, how long the server asked the client to wait.
/// </summary>
public sealed class StormSocket : IDisposable
{
    public static readonly TimeSpan UpgradeTimeout = TimeSpan.FromSeconds(30);
    private const int BufferBytes = 1_024;
    private const int MaxMessageBytes = 64 * 1024;

    private readonly ClientWebSocket _socket;
    private byte[] _buffer = new byte[BufferBytes];

    private StormSocket(ClientWebSocket socket) => _socket = socket;

    /// <summary>Why the server closed the connection, as its close frame says (once it has).</summary>
    public string CloseReason => _socket.CloseStatusDescription is { Length: > 0 } reason ? reason : $"{_socket.CloseStatus}";

    /// <summary>The last message read (valid until the next read).</summary>
    public ReadOnlyMemory<byte> Message { get; private set; }

    /// <summary>
    /// Opens the WebSocket, or says why not: a 503 with Retry-After is the server's "busy, retry" (its wait is
    /// returned); anything else is a refusal, named by its status.
    /// </summary>
    public static async Task<Upgrade> ConnectAsync(Uri uri, string subprotocol, string? authorization)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(subprotocol);
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        socket.Options.SetBuffer(BufferBytes, BufferBytes);
        socket.Options.CollectHttpResponseDetails = true;
        if (authorization is not null) socket.Options.SetRequestHeader("Authorization", authorization);
        using var timeout = new CancellationTokenSource(UpgradeTimeout);
        try
        {
            await socket.ConnectAsync(uri, timeout.Token);
            return new Upgrade(new StormSocket(socket), null, null);
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            return new Upgrade(null, null, "upgrade timeout");
        }
        catch (WebSocketException e)
        {
            var status = socket.HttpStatusCode;
            var retryAfter = socket.HttpResponseHeaders?.TryGetValue("Retry-After", out var values) == true
                && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
            socket.Dispose();
            if (status == HttpStatusCode.ServiceUnavailable && retryAfter is not null) return new Upgrade(null, retryAfter, null);
            return new Upgrade(null, null, status == 0 ? $"upgrade failed ({e.WebSocketErrorCode})" : $"upgrade HTTP {(int)status}");
        }
    }

    public sealed record Upgrade(StormSocket? Socket, TimeSpan? RetryAfter, string? Refusal);

    public Task SendAsync(byte[] message, CancellationToken token) =>
        _socket.SendAsync(message, WebSocketMessageType.Text, true, token);

    /// <summary>Reads one whole message into <see cref="Message"/>; false when the server closed the connection.</summary>
    public async Task<bool> ReceiveAsync(CancellationToken token)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                if (_buffer.Length >= MaxMessageBytes) throw new InvalidOperationException($"a message over {MaxMessageBytes} bytes");
                Array.Resize(ref _buffer, _buffer.Length * 4);
            }
            var result = await _socket.ReceiveAsync(_buffer.AsMemory(length), token);
            if (result.MessageType == WebSocketMessageType.Close) return false;
            length += result.Count;
            if (!result.EndOfMessage) continue;
            Message = _buffer.AsMemory(0, length);
            if (_buffer.Length > BufferBytes && length <= BufferBytes)
            {
                // Keep the small buffer between messages: ten thousand idle clients must not each hold a large one.
                var small = new byte[BufferBytes];
                _buffer.AsSpan(0, length).CopyTo(small);
                _buffer = small;
                Message = _buffer.AsMemory(0, length);
            }
            return true;
        }
    }

    /// <summary>Says goodbye with a close frame when the connection is still open, without waiting long for the answer.</summary>
    public async Task CloseAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        _socket.Dispose();
    }

    public void Dispose() => _socket.Dispose();
}
