using Akka.Actor;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Hosting;
using Energy.Cluster.Network;

namespace Energy.Cluster.Tests;

/// <summary>A node started and stopped inside a test, to restart it over the same journal.</summary>
public sealed class TestNode : IAsyncDisposable
{
    private TestNode(ActorSystem system, EnergyRegions regions)
    {
        System = system;
        Regions = regions;
    }

    public ActorSystem System { get; }
    public EnergyRegions Regions { get; }

    public static async Task<TestNode> StartAsync(NodeOptions node, EnergySettings settings)
    {
        var (system, regions) = await LocalNode.StartAsync(node, settings);
        return new TestNode(system, regions);
    }

    public async ValueTask DisposeAsync() => await System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
}

/// <summary>Signed objects for the cluster tests.</summary>
public static class Signing
{
    public static byte[] Opening(ChannelId channel, PartyId payer, PartyId payee, long deposit, DeviceKeyPair payerKey, long windowMs = 60_000) =>
        Signed<StreamingOpening>.Sign(new StreamingOpening(ClusterTestKit.Network, channel, payer, payee,
            new Money(deposit, Currency.Eur), new DurationMs(windowMs)), payerKey).ToArray();

    /// <summary>A voucher adding <paramref name="increment"/> to the channel's accepted cumulative, for <paramref name="purpose"/>.</summary>
    public static byte[] Voucher(ChannelId channel, ulong sequence, long cumulative, long increment, DeviceKeyPair payerKey, PaymentPurpose purpose = default) =>
        Signed<Voucher>.Sign(new Voucher(ClusterTestKit.Network, channel, sequence, new Money(cumulative, Currency.Eur), new Money(increment, Currency.Eur), purpose),
            payerKey).ToArray();

    public static PaymentPurpose Session(string session) => PaymentPurpose.ForSession(session).Unwrap();
    public static PaymentPurpose Session(SessionId session) => session.Purpose;

    public static PaymentPurpose Pass(string pass) => PaymentPurpose.ForTollPass(pass).Unwrap();
    public static PaymentPurpose Pass(PassId pass) => pass.Purpose;

    public static byte[] Close(ChannelId channel, PartyId closer, DeviceKeyPair key, Timestamp at) =>
        Signed<CloseRequest>.Sign(new CloseRequest(ClusterTestKit.Network, ChannelKind.Streaming, channel, closer, at), key).ToArray();

    public static byte[] DuplexOpening(ChannelId channel, PartyId a, PartyId b, long depositA, long depositB, DeviceKeyPair keyA, DeviceKeyPair keyB,
        long windowMs = 30_000)
    {
        var opening = new Energy.Channels.Duplex.DuplexOpening(ClusterTestKit.Network, channel, a, b, new Money(depositA, Currency.Eur),
            new Money(depositB, Currency.Eur), new DurationMs(windowMs));
        var body = Signed<Energy.Channels.Duplex.DuplexOpening>.EncodeBody(opening);
        return Signed<Energy.Channels.Duplex.DuplexOpening>.Assemble(opening, keyA.Sign(body), keyB.Sign(body)).ToArray();
    }

    public static byte[] DuplexState(ChannelId channel, ulong version, long a, long b, DeviceKeyPair keyA, DeviceKeyPair keyB, bool isFinal = false)
    {
        var state = new Energy.Channels.Duplex.DuplexState(ClusterTestKit.Network, channel, version, new Money(a, Currency.Eur), new Money(b, Currency.Eur), isFinal);
        var body = Signed<Energy.Channels.Duplex.DuplexState>.EncodeBody(state);
        return Signed<Energy.Channels.Duplex.DuplexState>.Assemble(state, keyA.Sign(body), keyB.Sign(body)).ToArray();
    }

    public static byte[] DuplexClose(ChannelId channel, PartyId closer, DeviceKeyPair key, Timestamp at) =>
        Signed<CloseRequest>.Sign(new CloseRequest(ClusterTestKit.Network, ChannelKind.Duplex, channel, closer, at), key).ToArray();
}

/// <summary>Escrow ids for ledger tests that lock and release without a channel entity.</summary>
public static class TestEscrows
{
    /// <summary>A streaming channel's escrow, named by the hash of a made-up opening (its id's bytes).</summary>
    public static EscrowId Streaming(string channel) =>
        new(ChannelKind.Streaming, ChannelId.Of(channel), OpeningHash.Of(System.Text.Encoding.ASCII.GetBytes(channel)));
}
