using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Channels.Tests;

/// <summary>Keys, terms and signed objects that the protocol tests share.</summary>
public sealed class TestParties : IDisposable
{
    public static readonly NetworkId Network = NetworkId.Of("energy-test");
    public static readonly ChannelId Channel = ChannelId.Of("ch-1");
    public static readonly Timestamp Now = new(1_800_000_000_000);
    public static readonly PartyId PayerId = PartyId.Of("vehicle-1");
    public static readonly PartyId PayeeId = PartyId.Of("cpo-1");

    public DeviceKeyPair PayerKey { get; } = DeviceKeyPair.Generate();
    public DeviceKeyPair PayeeKey { get; } = DeviceKeyPair.Generate();
    public DeviceKeyPair StrangerKey { get; } = DeviceKeyPair.Generate();

    public static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    public StreamingChannelTerms StreamingTerms(long deposit = 1_000, long windowMs = 60_000) =>
        new(Network, Channel, new ChannelParty(PayerId, PayerKey.PublicKey), new ChannelParty(PayeeId, PayeeKey.PublicKey),
            Eur(deposit), new DurationMs(windowMs));

    public StreamingChannel OpenStreaming(long deposit = 1_000) => StreamingChannels.Open(StreamingTerms(deposit)).Value;

    public Signed<Voucher> Voucher(ulong sequence, long cumulative, DeviceKeyPair? signer = null, ChannelId? channel = null, NetworkId? network = null) =>
        Signed<Voucher>.Sign(new Voucher(network ?? Network, channel ?? Channel, sequence, Eur(cumulative)), signer ?? PayerKey);

    public Signed<CloseRequest> Close(PartyId closer, DeviceKeyPair signer) =>
        Signed<CloseRequest>.Sign(new CloseRequest(Network, Channel, closer, Now), signer);

    public DuplexChannelTerms DuplexTerms(long depositA = 500, long depositB = 500) =>
        new(Network, Channel, new ChannelParty(PayerId, PayerKey.PublicKey), Eur(depositA),
            new ChannelParty(PayeeId, PayeeKey.PublicKey), Eur(depositB), new DurationMs(60_000));

    public DuplexChannel OpenDuplex(long depositA = 500, long depositB = 500) => DuplexChannels.Open(DuplexTerms(depositA, depositB)).Value;

    public Signed<DuplexState> State(ulong version, long balanceA, long balanceB, bool isFinal = false, DeviceKeyPair? signerA = null, DeviceKeyPair? signerB = null)
    {
        var state = new DuplexState(Network, Channel, version, Eur(balanceA), Eur(balanceB), isFinal);
        var body = Signed<DuplexState>.EncodeBody(state);
        return Signed<DuplexState>.Assemble(state, (signerA ?? PayerKey).Sign(body), (signerB ?? PayeeKey).Sign(body));
    }

    public static Timestamp At(long offsetMs) => new(Now.UnixMilliseconds + offsetMs);

    public void Dispose()
    {
        PayerKey.Dispose();
        PayeeKey.Dispose();
        StrangerKey.Dispose();
    }
}
