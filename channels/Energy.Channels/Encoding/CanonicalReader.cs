using System.Buffers.Binary;
using Energy.Channels.Primitives;

namespace Energy.Channels.Encoding;

/// <summary>
/// Reads the canonical form written by <see cref="CanonicalWriter"/>. Every read is bounded; the first
/// failure is kept in <see cref="Error"/> and every later read fails too, so decoders can read all fields
/// and check once.
/// </summary>
public ref struct CanonicalReader
{
    private readonly ReadOnlySpan<byte> _input;
    private int _position;

    public CanonicalReader(ReadOnlySpan<byte> input, ObjectKind expectedKind)
    {
        _input = input;
        _position = 0;
        Kind = expectedKind;
        Error = input.Length > CanonicalWriter.MaxObjectBytes + 2 * Ed25519Signatures.SignatureBytes
            ? new EncodingTooLarge(input.Length, CanonicalWriter.MaxObjectBytes)
            : null;
    }

    public ObjectKind Kind { get; }

    public ProtocolError? Error { get; private set; }

    public readonly int Position => _position;

    public readonly int Remaining => _input.Length - _position;

    public bool Failed => Error is not null;

    public void Fail(ProtocolError error) => Error ??= error;

    private bool Need(int count)
    {
        if (Error is not null) return false;
        if (Remaining >= count) return WithinBodyBound(count);
        Error = new Truncated(Kind, count, Remaining);
        return false;
    }

    /// <summary>
    /// A body is at most what the writer can write (<see cref="CanonicalWriter.MaxObjectBytes"/>): a read
    /// past it is refused, so whatever decodes encodes again to the same bytes. The bound on the whole
    /// input in the constructor leaves room for signatures after the body, and alone would let a body
    /// of a single-signature kind grow to 1 KiB plus one signature.
    /// </summary>
    private bool WithinBodyBound(int count)
    {
        if (_position + count <= CanonicalWriter.MaxObjectBytes) return true;
        Error = new EncodingTooLarge(_position + count, CanonicalWriter.MaxObjectBytes);
        return false;
    }

    /// <summary>Reads magic, kind, version and network id.</summary>
    public NetworkId ReadHeader()
    {
        if (!Need(4)) return default;
        if (_input[0] != CanonicalWriter.Magic0 || _input[1] != CanonicalWriter.Magic1)
        {
            Fail(new NotAnEnergyObject(_input[0], _input[1]));
            return default;
        }
        var tag = _input[2];
        if (tag == ObjectKinds.RetiredVoucher) { Fail(new UnsupportedVoucherVersion(tag, (byte)ObjectKind.Voucher)); return default; }
        if (!ObjectKinds.IsDefined(tag)) { Fail(new UnknownKind(tag)); return default; }
        if ((ObjectKind)tag != Kind) { Fail(new WrongKind(Kind, (ObjectKind)tag)); return default; }
        if (_input[3] != CanonicalWriter.FormatVersion)
        {
            Fail(new UnsupportedVersion(Kind, _input[3], CanonicalWriter.FormatVersion));
            return default;
        }
        _position = 4;
        var network = ReadIdentifier("network");
        return Failed ? default : new NetworkId(network);
    }

    public byte ReadByte()
    {
        if (!Need(1)) return 0;
        return _input[_position++];
    }

    public bool ReadBoolean(string field)
    {
        var value = ReadByte();
        if (value > 1) Fail(new NonCanonicalEncoding(Kind, field, $"boolean byte 0x{value:x2} is neither 0 nor 1"));
        return value == 1;
    }

    public ulong ReadUInt64()
    {
        if (!Need(8)) return 0;
        var value = BinaryPrimitives.ReadUInt64BigEndian(_input.Slice(_position, 8));
        _position += 8;
        return value;
    }

    public long ReadInt64()
    {
        if (!Need(8)) return 0;
        var value = BinaryPrimitives.ReadInt64BigEndian(_input.Slice(_position, 8));
        _position += 8;
        return value;
    }

    public string ReadIdentifier(string field)
    {
        var length = ReadByte();
        if (Failed) return string.Empty;
        if (length is 0 or > IdentifierRules.MaxLength)
        {
            Fail(new LengthOutOfBounds(Kind, field, length, IdentifierRules.MaxLength));
            return string.Empty;
        }
        if (!Need(length)) return string.Empty;
        var value = IdentifierPool.Get(_input.Slice(_position, length));
        _position += length;
        if (!IdentifierRules.IsValid(value))
        {
            Fail(new NonCanonicalEncoding(Kind, field, "characters outside [a-z0-9._:-]"));
            return string.Empty;
        }
        return value;
    }

    public PartyId ReadParty(string field)
    {
        var kind = ReadByte();
        if (Failed) return default;
        if (!PartyId.IsDefinedKind(kind))
        {
            Fail(new NonCanonicalEncoding(Kind, field, $"party kind byte 0x{kind:x2} is neither operator nor device"));
            return default;
        }
        var name = ReadIdentifier(field);
        return Failed ? default : PartyId.Create((PartyKind)kind, name).Unwrap();
    }

    /// <summary>A party that must be a device (objects that only ever name devices still write the kind).</summary>
    public DeviceId ReadDevice(string field)
    {
        var party = ReadParty(field);
        if (Failed) return default;
        if (!party.IsDevice)
        {
            Fail(new NonCanonicalEncoding(Kind, field, $"{party} is not a device"));
            return default;
        }
        return party.AsDevice();
    }

    public Money ReadMoney(string field)
    {
        if (!Need(3)) return default;
        var code = System.Text.Encoding.ASCII.GetString(_input.Slice(_position, 3));
        _position += 3;
        var currency = Currency.Parse(code);
        if (!currency.IsOk)
        {
            Fail(new NonCanonicalEncoding(Kind, field, $"currency bytes '{code}' are not three upper-case letters"));
            return default;
        }
        return new Money(ReadInt64(), currency.Value);
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (!Need(count)) return [];
        var slice = _input.Slice(_position, count);
        _position += count;
        return slice;
    }

    /// <summary>Fails with <see cref="TrailingBytes"/> unless exactly <paramref name="expected"/> bytes remain.</summary>
    public void ExpectRemaining(int expected)
    {
        if (Failed) return;
        if (Remaining > expected) Fail(new TrailingBytes(Kind, Remaining - expected));
        else if (Remaining < expected) Fail(new Truncated(Kind, expected, Remaining));
    }
}
