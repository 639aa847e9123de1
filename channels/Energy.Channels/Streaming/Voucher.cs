using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Streaming;

/// <summary>
/// The payer's promise: "on this channel, I owe the payee this much in total; this voucher adds
/// <see cref="Increment"/>, for <see cref="Purpose"/>". Cumulative, so only the newest voucher matters to
/// settlement and a lost one is replaced by the next; the increment and the purpose say what each
/// voucher paid for, so the network counts every increment for the one session or toll pass it names.
/// The channel accepts a voucher only if its increment is exactly its cumulative minus the accepted one.
/// </summary>
public sealed record Voucher(NetworkId Network, ChannelId ChannelId, ulong Sequence, Money Cumulative, Money Increment, PaymentPurpose Purpose)
    : ISignable<Voucher>
{
    public static ObjectKind Kind => ObjectKind.Voucher;
    public static int SignatureCount => 1;

    /// <summary>The increment is in the cumulative's currency, so only its minor units are written.</summary>
    public void Write(ref CanonicalWriter writer)
    {
        if (Increment.Currency != Cumulative.Currency)
            throw new InvalidOperationException($"increment in {Increment.Currency}, cumulative in {Cumulative.Currency}");
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(ChannelId.Value);
        writer.WriteUInt64(Sequence);
        writer.WriteMoney(Cumulative);
        writer.WriteInt64(Increment.MinorUnits);
        Purpose.Write(ref writer);
    }

    public static Voucher Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var channel = reader.ReadIdentifier("channel");
        var sequence = reader.ReadUInt64();
        var cumulative = reader.ReadMoney("cumulative");
        var increment = reader.ReadInt64();
        var purpose = PaymentPurpose.Read(ref reader);
        return reader.Failed
            ? null!
            : new Voucher(network, new ChannelId(channel), sequence, cumulative, new Money(increment, cumulative.Currency), purpose);
    }
}

/// <summary>
/// A party's signed request to close a channel. The channel's kind is inside the signed bytes: a streaming
/// and a duplex channel may share an id, and a close signed for one must never close the other.
/// </summary>
public sealed record CloseRequest(NetworkId Network, ChannelKind ChannelKind, ChannelId ChannelId, PartyId Closer, Timestamp RequestedAt)
    : ISignable<CloseRequest>
{
    public static ObjectKind Kind => ObjectKind.CloseRequest;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteByte((byte)ChannelKind);
        writer.WriteIdentifier(ChannelId.Value);
        writer.WriteParty(Closer);
        writer.WriteInt64(RequestedAt.UnixMilliseconds);
    }

    public static CloseRequest Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var channelKind = reader.ReadByte();
        if (channelKind is not ((byte)ChannelKind.Streaming or (byte)ChannelKind.Duplex))
            reader.Fail(new NonCanonicalEncoding(Kind, "channelKind", $"channel kind byte 0x{channelKind:x2} is neither streaming nor duplex"));
        var channel = reader.ReadIdentifier("channel");
        var closer = reader.ReadParty("closer");
        var requestedAt = reader.ReadInt64();
        return reader.Failed ? null! : new CloseRequest(network, (ChannelKind)channelKind, new ChannelId(channel), closer, new Timestamp(requestedAt));
    }
}
