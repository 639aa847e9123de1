using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Streaming;

/// <summary>
/// The payer's signed request to open a streaming channel: it authorizes the network to lock the
/// deposit from the payer's account in escrow for this payee.
/// </summary>
public sealed record StreamingOpening(NetworkId Network, ChannelId ChannelId, PartyId Payer, PartyId Payee, Money Deposit, DurationMs ChallengeWindow)
    : ISignable<StreamingOpening>
{
    public static ObjectKind Kind => ObjectKind.StreamingOpening;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(ChannelId.Value);
        writer.WriteParty(Payer);
        writer.WriteParty(Payee);
        writer.WriteMoney(Deposit);
        writer.WriteInt64(ChallengeWindow.Milliseconds);
    }

    public static StreamingOpening Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var channel = reader.ReadIdentifier("channel");
        var payer = reader.ReadParty("payer");
        var payee = reader.ReadParty("payee");
        var deposit = reader.ReadMoney("deposit");
        var window = reader.ReadInt64();
        return reader.Failed
            ? null!
            : new StreamingOpening(network, new ChannelId(channel), payer, payee, deposit, new DurationMs(window));
    }
}
