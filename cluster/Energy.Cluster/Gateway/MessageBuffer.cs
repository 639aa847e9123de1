using System.Buffers;
using System.Net.WebSockets;

namespace Energy.Cluster.Gateway;

/// <summary>
/// One WebSocket message at a time, read into a small buffer of the connection's own that grows (from the shared pool)
/// up to one byte past the protocol's bound; past the bound the rest of the message is read and dropped, so a message
/// never grows memory. Most messages of chargers and devices are a few hundred bytes: ten thousand idle connections
/// hold <paramref name="smallBytes"/> each, not the bound each.
/// </summary>
/// <remarks>
/// A connection waits for its next message most of the time, and ten thousand of them wait at once. The wait is this
/// buffer's own, reused for every message, not an asynchronous frame made for each: a frame made per message would live
/// until the next one arrives, seconds later, and every young collection would have to copy ten thousand of them into an
/// older generation.
/// </remarks>
/// <param name="maxBytes">The protocol's bound: a message longer than it reads as <see cref="Length"/> = bound + 1.</param>
/// <param name="smallBytes">The connection's own buffer.</param>
internal sealed class MessageBuffer(int maxBytes, int smallBytes)
{
    private readonly int _bound = maxBytes + 1;
    private readonly byte[] _small = new byte[Math.Min(smallBytes, maxBytes + 1)];
    private byte[]? _rented;
    private readonly ReusableWait<WebSocketMessageType> _message = new(runContinuationsAsynchronously: false);
    private WebSocket? _socket;
    private CancellationToken _token;
    private ValueTask<ValueWebSocketReceiveResult> _receiving;
    private Action? _received;

    /// <summary>The bytes read of the last message, at most one past the bound.</summary>
    public int Length { get; private set; }

    /// <summary>Whether the last message was longer than the bound (its content is then cut).</summary>
    public bool TooLarge => Length > _bound - 1;

    public ReadOnlyMemory<byte> Content => (_rented ?? _small).AsMemory(0, Length);

    /// <summary>Reads the next message whole, or a close; awaited once, before the next call.</summary>
    public ValueTask<WebSocketMessageType> ReceiveAsync(WebSocket socket, CancellationToken token)
    {
        Shrink();
        Length = 0;
        var message = _message.Start();
        _socket = socket;
        _token = token;
        ReceiveFragments();
        return message;
    }

    /// <summary>Gives a grown buffer back to the pool once its message is handled (also done by the next receive).</summary>
    public void Shrink()
    {
        if (_rented is null) return;
        ArrayPool<byte>.Shared.Return(_rented);
        _rented = null;
    }

    /// <summary>Receives fragments until the message ends, or until one has to be waited for (then <see cref="OnReceived"/> goes on).</summary>
    private void ReceiveFragments()
    {
        try
        {
            while (true)
            {
                var receiving = _socket!.ReceiveAsync(NextTarget(), _token);
                if (!receiving.IsCompleted)
                {
                    _receiving = receiving;
                    receiving.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_received ??= OnReceived);
                    return;
                }
                if (Ended(receiving.GetAwaiter().GetResult())) return;
            }
        }
        catch (Exception e)
        {
            _message.SetException(e);
        }
    }

    private void OnReceived()
    {
        var receiving = _receiving;
        _receiving = default;
        try
        {
            if (Ended(receiving.GetAwaiter().GetResult())) return;
        }
        catch (Exception e)
        {
            _message.SetException(e);
            return;
        }
        ReceiveFragments();
    }

    /// <summary>Counts a fragment; true once the message (or a close) is complete and its waiter told.</summary>
    private bool Ended(ValueWebSocketReceiveResult result)
    {
        if (result.MessageType == WebSocketMessageType.Close)
        {
            _message.SetResult(WebSocketMessageType.Close);
            return true;
        }
        Length = Math.Min(_bound, Length + result.Count);
        if (!result.EndOfMessage) return false;
        _message.SetResult(result.MessageType);
        return true;
    }

    /// <summary>Where the next fragment goes: the buffer, grown when full below the bound; at the bound the small one takes what is dropped.</summary>
    private Memory<byte> NextTarget()
    {
        var buffer = _rented ?? _small;
        var capacity = Math.Min(buffer.Length, _bound);
        if (Length == capacity && capacity < _bound)
        {
            buffer = Grow();
            capacity = Math.Min(buffer.Length, _bound);
        }
        return Length < capacity ? buffer.AsMemory(Length, capacity - Length) : _small.AsMemory();
    }

    private byte[] Grow()
    {
        var grown = ArrayPool<byte>.Shared.Rent(Math.Min(_bound, Math.Max(Length * 4, _small.Length * 2)));
        (_rented ?? _small).AsSpan(0, Length).CopyTo(grown);
        if (_rented is not null) ArrayPool<byte>.Shared.Return(_rented);
        _rented = grown;
        return grown;
    }
}
