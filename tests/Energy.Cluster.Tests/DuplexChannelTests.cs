using Akka.Actor;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Registry;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;

namespace Energy.Cluster.Tests;

public sealed class DuplexChannelsOnSqlite(ITestOutputHelper output) : DuplexChannelTests(TestStores.Sqlite(), output);

public sealed class DuplexChannelsOnPostgreSql(ITestOutputHelper output) : DuplexChannelTests(TestStores.PostgreSql(), output);

/// <summary>Duplex channels between two homes trading energy: both deposit, both sign every state.</summary>
public abstract class DuplexChannelTests(NodeOptions node, ITestOutputHelper output) : TwoHomesTestKit(node, output)
{
    private byte[] Opening(ChannelId channel, long depositA, long depositB, DeviceKeyPair? signerB = null) =>
        DuplexOpening(channel, depositA, depositB, signerB: signerB);

    private byte[] State(ChannelId channel, ulong version, long a, long b, bool isFinal = false) => DuplexState(channel, version, a, b, isFinal);

    private long Balance(PartyId party) =>
        Assert.IsType<AccountView>(Ask(new GetAccount(LedgerShards.For(party, Settings.LedgerShardCount), party), Regions.Ledger)).Balance.MinorUnits;

    [Fact]
    public void Both_deposit_trade_both_ways_and_close_cooperatively()
    {
        Setup(1_000, 1_000);
        var channel = ChannelId.Of("duplex-1");
        Assert.IsType<DuplexChannelOpened>(Ask(new OpenDuplexChannel(channel, Opening(channel, 600, 400)), Regions.DuplexChannels));
        Assert.Equal((400L, 600L), (Balance(Alice), Balance(Bob)));
        Assert.IsType<DuplexStateAcknowledged>(Ask(new SubmitDuplexState(channel, State(channel, 1, 300, 700)), Regions.DuplexChannels));
        Assert.IsType<DuplexStateAcknowledged>(Ask(new SubmitDuplexState(channel, State(channel, 2, 450, 550)), Regions.DuplexChannels));
        Assert.Equal("StateNotNewer", Assert.IsType<Refusal>(Ask(new SubmitDuplexState(channel, State(channel, 2, 0, 1_000)), Regions.DuplexChannels)).Code);
        Assert.Equal("BalancesDoNotMatchDeposits", Assert.IsType<Refusal>(Ask(new SubmitDuplexState(channel, State(channel, 3, 0, 999)), Regions.DuplexChannels)).Code);

        var settled = Assert.IsType<ChannelSettled>(Ask(new SubmitDuplexState(channel, State(channel, 3, 250, 750, isFinal: true)), Regions.DuplexChannels));
        Assert.Equal(250, settled.Payouts.Single(p => p.Account == Alice).Amount.MinorUnits);
        Assert.Equal(750, settled.Payouts.Single(p => p.Account == Bob).Amount.MinorUnits);
        AwaitAssert(() => Assert.Equal((650L, 1_350L), (Balance(Alice), Balance(Bob))), TimeSpan.FromSeconds(10));
        var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Duplex, channel, Alice, Clock.Now), AliceKey).ToArray();
        Assert.Equal(settled, Ask(new CloseDuplexChannel(channel, close), Regions.DuplexChannels));
    }

    [Fact]
    public void In_a_unilateral_close_the_higher_version_wins()
    {
        Setup(1_000, 1_000);
        var channel = ChannelId.Of("duplex-2");
        Assert.IsType<DuplexChannelOpened>(Ask(new OpenDuplexChannel(channel, Opening(channel, 500, 500)), Regions.DuplexChannels));
        Assert.IsType<DuplexStateAcknowledged>(Ask(new SubmitDuplexState(channel, State(channel, 1, 900, 100)), Regions.DuplexChannels));
        var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Duplex, channel, Alice, Clock.Now), AliceKey).ToArray();
        Assert.IsType<ChannelClosing>(Ask(new CloseDuplexChannel(channel, close), Regions.DuplexChannels));
        // Bob, the watchtower's client, presents the newer state he holds.
        Assert.IsType<DuplexStateAcknowledged>(Ask(new SubmitDuplexState(channel, State(channel, 2, 200, 800)), Regions.DuplexChannels));
        Clock.Advance(DurationMs.FromSeconds(31));
        Assert.Equal("ChallengeWindowOver", Assert.IsType<Refusal>(Ask(new SubmitDuplexState(channel, State(channel, 3, 1_000, 0)), Regions.DuplexChannels)).Code);
        AwaitAssert(() =>
        {
            var view = Assert.IsType<DuplexChannelView>(Ask(new GetDuplexChannel(channel), Regions.DuplexChannels));
            Assert.Equal("settled", view.Status);
        }, TimeSpan.FromSeconds(15));
        AwaitAssert(() => Assert.Equal((700L, 1_300L), (Balance(Alice), Balance(Bob))), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void An_opening_without_both_signatures_or_funds_changes_nothing()
    {
        Setup(1_000, 100);
        using var stranger = DeviceKeyPair.Generate();
        var forged = ChannelId.Of("duplex-forged");
        Assert.Equal("InvalidSignature", Assert.IsType<Refusal>(Ask(new OpenDuplexChannel(forged, Opening(forged, 500, 50, signerB: stranger)), Regions.DuplexChannels)).Code);

        // Alice's deposit is locked first; Bob's cannot be: Alice is paid back. The id stays taken by the
        // refused opening (its escrow was released and is never locked again); a new opening takes a new id.
        var poor = ChannelId.Of("duplex-poor");
        Assert.Equal("InsufficientFunds", Assert.IsType<Refusal>(Ask(new OpenDuplexChannel(poor, Opening(poor, 500, 101)), Regions.DuplexChannels)).Code);
        AwaitAssert(() =>
        {
            Assert.Equal((1_000L, 100L), (Balance(Alice), Balance(Bob)));
            Assert.Equal("refused", Assert.IsType<DuplexChannelView>(Ask(new GetDuplexChannel(poor), Regions.DuplexChannels)).Status);
        }, TimeSpan.FromSeconds(15));
        Assert.Equal("ChannelAlreadyExists", Assert.IsType<Refusal>(Ask(new OpenDuplexChannel(poor, Opening(poor, 500, 100)), Regions.DuplexChannels)).Code);
        Assert.Equal((1_000L, 100L), (Balance(Alice), Balance(Bob)));
        var funded = ChannelId.Of("duplex-funded");
        Assert.IsType<DuplexChannelOpened>(Ask(new OpenDuplexChannel(funded, Opening(funded, 500, 100)), Regions.DuplexChannels));
    }
}
