using System.Buffers;
using System.Net.WebSockets;

namespace Energy.Cluster.Gateway;

/// <summary>
/// One WebSocket message at a time, read into a small buffer of the connection's own that grows (from the shared pool)
/// up to one byte past the protocol's bound; past the bound the rest of the message is read and dropped, so a message
/// never grows memory. Most messages of chargers and devices are a few hundred bytes: ten thousand idle connections
/// hold <paramref name="smallBytes"/> each, not the bound each.
/// </summary>
/// <param name="maxBytes">The protocol's bound: a message longer than it reads as <see cref="Length"/> = bound + 1.</param>
/// <param name="smallBytes">The connection's own buffer.</param>
internal sealed class MessageBuffer(int maxBytes, int smallBytes)
{
    private readonly int _bound = maxBytes + 1;
    private readonly byte[] _small = new byte[Math.Min(smallBytes, maxBytes + 1)];
    private byte[]? _rented;

    /// <summary>The bytes read of the last message, at most one past the bound.</summary>
    public int Length { get; private set; }

    /// <summary>Whether the last message was longer than the bound (its content is then cut).</summary>
    public bool TooLarge => Length > _bound - 1;

    public ReadOnlyMemory<byte> Content => (_rented ?? _small).AsMemory(0, Length);

    public async Task<WebSocketMessageType> ReceiveAsync(WebSocket socket, CancellationToken token)
    {
        Shrink();
        Length = 0;
        while (true)
        {
            var buffer = _rented ?? _small;
            var capacity = Math.Min(buffer.Length, _bound);
            if (Length == capacity && capacity < _bound)
            {
                buffer = Grow();
                capacity = Math.Min(buffer.Length, _bound);
            }
            // At the bound the message lives in the rented buffer, and the small one takes what is dropped.
            var target = Length < capacity ? buffer.AsMemory(Length, capacity - Length) : _small.AsMemory();
            var result = await socket.ReceiveAsync(target, token);
            if (result.MessageType == WebSocketMessageType.Close) return WebSocketMessageType.Close;
            Length = Math.Min(_bound, Length + result.Count);
            if (result.EndOfMessage) return result.MessageType;
        }
    }

    /// <summary>Gives a grown buffer back to the pool once its message is handled (also done by the next receive).</summary>
    public void Shrink()
    {
        if (_rented is null) return;
        ArrayPool<byte>.Shared.Return(_rented);
        _rented = null;
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
