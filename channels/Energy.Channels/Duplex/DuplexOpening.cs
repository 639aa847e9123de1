using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Duplex;

/// <summary>
/// Both parties' signed agreement to open a duplex channel: each authorizes the network to lock its own
/// deposit. Signed by party A, then party B.
/// </summary>
public sealed record DuplexOpening(NetworkId Network, ChannelId ChannelId, PartyId PartyA, PartyId PartyB, Money DepositA, Money DepositB, DurationMs ChallengeWindow)
    : ISignable<DuplexOpening>
{
    public static ObjectKind Kind => ObjectKind.DuplexOpening;
    public static int SignatureCount => 2;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(ChannelId.Value);
        writer.WriteParty(PartyA);
        writer.WriteParty(PartyB);
        writer.WriteMoney(DepositA);
        writer.WriteMoney(DepositB);
        writer.WriteInt64(ChallengeWindow.Milliseconds);
    }

    public static DuplexOpening Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var channel = reader.ReadIdentifier("channel");
        var partyA = reader.ReadParty("partyA");
        var partyB = reader.ReadParty("partyB");
        var depositA = reader.ReadMoney("depositA");
        var depositB = reader.ReadMoney("depositB");
        var window = reader.ReadInt64();
        return reader.Failed
            ? null!
            : new DuplexOpening(network, new ChannelId(channel), partyA, partyB, depositA, depositB, new DurationMs(window));
    }
}
