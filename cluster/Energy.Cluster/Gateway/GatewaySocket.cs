using System.Net.WebSockets;
using System.Threading.Channels;
using Energy.Channels.Encoding;
using Energy.Wire;

namespace Energy.Cluster.Gateway;

/// <summary>
/// One gateway WebSocket as messages. What comes in is read within <see cref="GatewayProtocol.MaxFrameBytes"/> (a
/// message over it, or a binary one, is answered with its named error and dropped); what goes out waits in a queue of
/// at most <see cref="DeviceGateway.MaxQueuedFrames"/> frames drained by one writer. Once the queue is completed, the
/// writer sends what is left and then a close frame with the reason the connection gives, if it gives one.
/// </summary>
internal sealed class GatewaySocket(WebSocket socket, bool batching, CancellationTokenSource stop)
{
    private readonly Channel<byte[]> _outgoing = System.Threading.Channels.Channel.CreateBounded<byte[]>(
        new BoundedChannelOptions(DeviceGateway.MaxQueuedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Where events pushed to the connection's devices are queued without waiting (a full queue cuts the connection).</summary>
    public ChannelWriter<byte[]> Outgoing => _outgoing.Writer;

    /// <summary>Each connection's own read buffer: a device's frames are a few hundred bytes; a longer one borrows from the pool while it is read.</summary>
    private const int SmallMessageBytes = 2 * 1024;

    /// <summary>Queues a frame, waiting while the queue is full; a frame queued after the queue completed is dropped.</summary>
    public async Task SendAsync(byte[] frame)
    {
        try { await _outgoing.Writer.WriteAsync(frame, stop.Token); }
        catch (ChannelClosedException) { }
    }

    /// <summary>No frame is queued from now on: the writer sends what is left, then closes.</summary>
    public void Complete() => _outgoing.Writer.TryComplete();

    /// <summary>Reads messages until the client closes or the connection stops; each message is handed on whole.</summary>
    public async Task ReadAsync(Func<ReadOnlyMemory<byte>, Task> onMessage)
    {
        var message = new MessageBuffer(GatewayProtocol.MaxFrameBytes, SmallMessageBytes);
        try
        {
            while (socket.State == WebSocketState.Open && !stop.IsCancellationRequested)
            {
                var kind = await message.ReceiveAsync(socket, stop.Token);
                if (kind == WebSocketMessageType.Close)
                {
                    if (socket.State == WebSocketState.CloseReceived)
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }
                if (message.TooLarge) await SendAsync(DeviceGateway.Error(new GatewayError.FrameTooLarge(GatewayProtocol.MaxFrameBytes)));
                else if (kind == WebSocketMessageType.Binary) await SendAsync(DeviceGateway.Error(new GatewayError.BinaryMessage()));
                else await onMessage(message.Content);
            }
        }
        finally
        {
            message.Shrink();
        }
    }

    /// <summary>
    /// Drains the queue into the socket until it is completed, then closes with <paramref name="closing"/>'s reason. Under
    /// batching, whatever queued up while the last message was being sent goes out as one message.
    /// </summary>
    public async Task WriteAsync(Func<GatewayClose?> closing)
    {
        if (!batching)
        {
            await foreach (var frame in _outgoing.Reader.ReadAllAsync(stop.Token))
                await socket.SendAsync(frame, WebSocketMessageType.Text, true, stop.Token);
        }
        else
        {
            await WriteBatchesAsync();
        }
        if (closing() is not { } close) return;
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            await socket.CloseOutputAsync(close.Status, close.Reason, stop.Token);
        stop.CancelAfter(DeviceGateway.CloseGrace);
    }

    private async Task WriteBatchesAsync()
    {
        var batch = new FrameBatch(GatewayProtocol.MaxBatchBytes, GatewayProtocol.MaxFramesPerBatch);
        byte[]? carried = null;
        while (carried is not null || await _outgoing.Reader.WaitToReadAsync(stop.Token))
        {
            batch.Clear();
            if (carried is not null) batch.TryAdd(carried);
            carried = null;
            while (_outgoing.Reader.TryRead(out var frame))
            {
                if (batch.TryAdd(frame)) continue;
                carried = frame;
                break;
            }
            if (batch.Count > 0) await socket.SendAsync(batch.Seal(), WebSocketMessageType.Text, true, stop.Token);
        }
    }
}
