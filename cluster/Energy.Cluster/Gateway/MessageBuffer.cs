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
/// <para>
/// The socket's own wait for the next message (the frames of the WebSocket and of the server beneath it, drawn from their
/// pools) is started as soon as a message has been read, on the same thread, before the message is handed on: it takes the
/// frames the read that just ended gave back, so the same few serve the connection for its lifetime and grow old with it.
/// Started only when the caller asks, seconds later on another thread, it found those pools empty about half the time and
/// made new frames, which then lived until the next message. That wait reads nothing into the buffer (an empty read: it
/// ends once the next frame's header has come), so the message being handled is untouched by it.
/// </para>
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
    // The wait for the next message's first frame (see remarks): none, waiting, or come and kept until the caller asks.
    private readonly Lock _gate = new();
    private NextMessage _next;
    private bool _askedForNext;
    private ValueTask<ValueWebSocketReceiveResult> _waiting;
    private ValueWebSocketReceiveResult _arrived;
    private Exception? _arrivedError;
    private Action? _nextArrived;

    private enum NextMessage { NotWaited, Waiting, Arrived }

    /// <summary>The bytes read of the last message, at most one past the bound.</summary>
    public int Length { get; private set; }

    /// <summary>Whether the last message was longer than the bound (its content is then cut).</summary>
    public bool TooLarge => Length > _bound - 1;

    public ReadOnlyMemory<byte> Content => (_rented ?? _small).AsMemory(0, Length);

    /// <summary>Whether the next message's first frame (or a close, or an error) has come while the last message is handled.</summary>
    internal bool NextHasCome
    {
        get { lock (_gate) return _next == NextMessage.Arrived; }
    }

    /// <summary>Reads the next message whole, or a close; awaited once, before the next call.</summary>
    public ValueTask<WebSocketMessageType> ReceiveAsync(WebSocket socket, CancellationToken token)
    {
        Shrink();
        Length = 0;
        var message = _message.Start();
        _socket = socket;
        _token = token;
        ValueWebSocketReceiveResult arrived = default;
        Exception? error = null;
        NextMessage next;
        lock (_gate)
        {
            next = _next;
            if (next == NextMessage.Waiting) _askedForNext = true;
            else if (next == NextMessage.Arrived) (arrived, error, _arrived, _arrivedError, _next) = (_arrived, _arrivedError, default, null, NextMessage.NotWaited);
        }
        // Waiting: the wait goes on reading once the next message's first frame has come.
        if (next == NextMessage.Arrived) GoOn(arrived, error);
        else if (next == NextMessage.NotWaited) ReceiveFragments();
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

    /// <summary>Starts waiting for the next message's first frame, reading nothing (see remarks).</summary>
    private void WaitForNext()
    {
        ValueTask<ValueWebSocketReceiveResult> waiting;
        try
        {
            waiting = _socket!.ReceiveAsync(Memory<byte>.Empty, _token);
        }
        catch (Exception e)
        {
            lock (_gate) (_arrivedError, _next) = (e, NextMessage.Arrived);
            return;
        }
        lock (_gate) (_waiting, _next) = (waiting, NextMessage.Waiting);
        if (waiting.IsCompleted) NextArrived();
        else waiting.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_nextArrived ??= NextArrived);
    }

    /// <summary>The next message's first frame (or a close, or an error) came: kept until the caller asks, or read on at once if it has.</summary>
    private void NextArrived()
    {
        ValueWebSocketReceiveResult arrived = default;
        Exception? error = null;
        var waiting = _waiting;
        _waiting = default;
        try
        {
            arrived = waiting.GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            error = e;
        }
        lock (_gate)
        {
            if (!_askedForNext)
            {
                (_arrived, _arrivedError, _next) = (arrived, error, NextMessage.Arrived);
                return;
            }
            (_askedForNext, _next) = (false, NextMessage.NotWaited);
        }
        GoOn(arrived, error);
    }

    /// <summary>Reads on from a message's first fragment, or ends the message with the error its wait ended in.</summary>
    private void GoOn(ValueWebSocketReceiveResult first, Exception? error)
    {
        if (error is not null)
        {
            _message.SetException(error);
            return;
        }
        try
        {
            if (Ended(first)) return;
        }
        catch (Exception e)
        {
            _message.SetException(e);
            return;
        }
        ReceiveFragments();
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
        WaitForNext();
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
