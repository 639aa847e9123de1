using System.Buffers;

namespace Energy.Channels.Encoding;

/// <summary>
/// Gathers JSON frames that are ready to go into one message: a single frame goes as it is, several go
/// as a JSON array of them (the frames are copied, never re-encoded). Bounded in bytes and in frames; a
/// frame that does not fit is refused and starts the next message. A frame larger than the bound on its
/// own still goes, alone: the bound is the receiver's to enforce.
/// </summary>
public sealed class FrameBatch(int maxBytes, int maxFrames)
{
    private readonly ArrayBufferWriter<byte> _array = new(Math.Min(maxBytes, 64 * 1024));
    private byte[]? _first;
    private bool _sealed;

    public int Count { get; private set; }

    public void Clear()
    {
        _array.ResetWrittenCount();
        _first = null;
        _sealed = false;
        Count = 0;
    }

    public bool TryAdd(byte[] frame)
    {
        if (_sealed) throw new InvalidOperationException("the batch was sealed; clear it first");
        if (Count == 0)
        {
            _first = frame;
            Count = 1;
            return true;
        }
        var size = (Count == 1 ? _first!.Length + 1 : _array.WrittenCount) + 1 + frame.Length + 1;
        if (Count >= maxFrames || size > maxBytes) return false;
        if (Count == 1)
        {
            Append((byte)'[');
            Append(_first!);
        }
        Append((byte)',');
        Append(frame);
        Count++;
        return true;
    }

    /// <summary>The message to send: the one frame, or the array of all of them.</summary>
    public ReadOnlyMemory<byte> Seal()
    {
        if (Count == 0) throw new InvalidOperationException("an empty batch has no message");
        if (Count == 1) return _first;
        if (!_sealed)
        {
            Append((byte)']');
            _sealed = true;
        }
        return _array.WrittenMemory;
    }

    private void Append(byte value) => _array.Write([value]);

    private void Append(byte[] bytes) => _array.Write(bytes);
}
