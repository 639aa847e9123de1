using System.Text.Json;

namespace Energy.Wire;

/// <summary>One frame of a message as read: the frame, or the named error to answer in its place.</summary>
public readonly record struct FrameRead(GatewayFrame? Frame, GatewayError? Error)
{
    public static FrameRead Refused(GatewayError error) => new(null, error);
}

/// <summary>
/// Reads what a device sends: one WebSocket message into its frames, in order. Pure: it touches no
/// connection, and whatever the bytes, it answers rather than throws.
/// </summary>
public static class GatewayCodec
{
    /// <summary>
    /// Under <see cref="GatewayProtocol.BatchingSubprotocol"/> a message may be a JSON array of frames, each
    /// read and refused on its own; otherwise (and for anything but an array) it is one frame.
    /// </summary>
    public static IReadOnlyList<FrameRead> ReadMessage(ReadOnlyMemory<byte> message, bool batching)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(message, new JsonDocumentOptions { MaxDepth = batching ? GatewayProtocol.MaxFrameDepth + 1 : GatewayProtocol.MaxFrameDepth });
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return [FrameRead.Refused(new GatewayError.MalformedFrame(null, null, e.Message))];
        }
        if (!batching || root.ValueKind != JsonValueKind.Array) return [Read(root)];
        if (root.GetArrayLength() > GatewayProtocol.MaxFramesPerBatch)
            return [FrameRead.Refused(new GatewayError.MalformedFrame(null, null, $"a batch holds at most {GatewayProtocol.MaxFramesPerBatch} frames"))];
        // An empty batch asks nothing, but a sender waiting on it must still learn that it was read and refused.
        if (root.GetArrayLength() == 0) return [FrameRead.Refused(new GatewayError.MalformedFrame(null, null, "a batch holds at least one frame"))];
        return [.. root.EnumerateArray().Select(Read)];
    }

    private static FrameRead Read(JsonElement frame)
    {
        try
        {
            return new FrameRead(GatewayFrame.Parse(frame), null);
        }
        catch (FrameRefusedException e)
        {
            return FrameRead.Refused(e.Error);
        }
    }
}
