using System.Buffers.Binary;
using Energy.Channels.Primitives;

namespace Energy.Channels.Encoding;

/// <summary>
/// Writes the one canonical binary form of a signed object. Layout: magic "EN", kind tag, format
/// version, network id, then the kind's fields. Integers are fixed-width big-endian; identifiers are a
/// length byte and ASCII; so each value has exactly one encoding.
/// </summary>
public ref struct CanonicalWriter
{
    public const byte Magic0 = (byte)'E';
    public const byte Magic1 = (byte)'N';
    /// <summary>Format 2: every party is written with its kind (operator or device); format 1 is refused.</summary>
    public const byte FormatVersion = 2;
    public const int MaxObjectBytes = 1024;

    private readonly Span<byte> _buffer;
    private int _position;

    public CanonicalWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Length => _position;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    public void WriteHeader(ObjectKind kind, NetworkId network)
    {
        WriteByte(Magic0);
        WriteByte(Magic1);
        WriteByte((byte)kind);
        WriteByte(FormatVersion);
        WriteIdentifier(network.Value);
    }

    public void WriteByte(byte value) => _buffer[_position++] = value;

    public void WriteBoolean(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public void WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_buffer.Slice(_position, 8), value);
        _position += 8;
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(_buffer.Slice(_position, 8), value);
        _position += 8;
    }

    public void WriteIdentifier(string value)
    {
        if (!IdentifierRules.IsValid(value)) throw new ArgumentException($"identifier '{value}' is not valid", nameof(value));
        WriteByte((byte)value.Length);
        foreach (var c in value) WriteByte((byte)c);
    }

    /// <summary>A party: its kind's byte, then its name as an identifier.</summary>
    public void WriteParty(PartyId party)
    {
        WriteByte((byte)party.Kind);
        WriteIdentifier(party.Name);
    }

    public void WriteMoney(Money money)
    {
        var code = money.Currency.Code;
        WriteByte((byte)code[0]);
        WriteByte((byte)code[1]);
        WriteByte((byte)code[2]);
        WriteInt64(money.MinorUnits);
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer[_position..]);
        _position += bytes.Length;
    }
}
