using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using Energy.Cluster.Kernel;
using Energy.Cluster.Hosting;
using Energy.Cluster.Registry;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

public sealed class EscrowIdentityOnSqlite(ITestOutputHelper output) : EscrowIdentityTests(TestStores.Sqlite(), output);

public sealed class EscrowIdentityOnPostgreSql(ITestOutputHelper output) : EscrowIdentityTests(TestStores.PostgreSql(), output);

/// <summary>
/// Streaming and duplex channels of one id, through the entities and the ledger: each holds its own
/// escrow, funded from a real balance; what is signed for one kind never acts on the other; a channel
/// opens only with a window the network allows; and duplex payments stop for a quarantined or revoked key.
/// </summary>
public abstract class EscrowIdentityTests(NodeOptions node, ITestOutputHelper output) : TwoHomesTestKit(node, output)
{
    private string Refused(object message, IActorRef region) => Assert.IsType<Refusal>(Ask(message, region)).Code;

    private ulong HeightOf(PartyId party) =>
        Assert.IsType<ShardTotals>(Ask(new GetShardTotals(LedgerShards.For(party, Settings.LedgerShardCount)), Regions.Ledger)).Height;

    /// <summary>Balance, escrow and block height of both parties' shards: what an attack must leave as it was.</summary>
    private (long, long, long, long, ulong, ulong) Ledger() =>
        (Account(Alice).Balance.MinorUnits, Account(Alice).Escrowed.MinorUnits, Account(Bob).Balance.MinorUnits, Account(Bob).Escrowed.MinorUnits,
            HeightOf(Alice), HeightOf(Bob));

    [Fact]
    public void A_refunded_duplex_opening_does_not_let_a_streaming_channel_of_its_id_open_without_funds()
    {
        Setup(1_000, 100);
        var x1 = ChannelId.Of("x1");
        // Bob cannot fund his side: Alice's deposit is locked, then paid back.
        Assert.Equal(nameof(InsufficientFunds), Refused(new OpenDuplexChannel(x1, DuplexOpening(x1, 500, 101)), Regions.DuplexChannels));
        AwaitAssert(() => Assert.Equal((1_000L, 0L), (Account(Alice).Balance.MinorUnits, Account(Alice).Escrowed.MinorUnits)), TimeSpan.FromSeconds(15));
        var before = Ledger();

        // The streaming channel of the same id, paying a million from Alice's thousand.
        Assert.Equal(nameof(InsufficientFunds), Refused(new OpenChannel(x1, Signing.Opening(x1, Alice, Bob, 1_000_000, AliceKey)), Regions.Channels));

        Assert.Equal(nameof(ChannelNotFound), Refused(new SubmitVoucher(x1, Signing.Voucher(x1, 1, 400_000, 400_000, AliceKey)), Regions.Channels));
        Assert.Equal("none", Assert.IsType<ChannelView>(Ask(new GetChannel(x1), Regions.Channels)).Status);
        Assert.Equal(before, Ledger());
        Assert.Equal((1_000L, 0L, 100L, 0L), (before.Item1, before.Item2, before.Item3, before.Item4));
    }

    [Fact]
    public void A_refunded_duplex_opening_keeps_its_channel_id()
    {
        Setup(1_000, 100);
        var x1 = ChannelId.Of("x1");
        var opening = DuplexOpening(x1, 500, 101);
        Assert.Equal(nameof(InsufficientFunds), Refused(new OpenDuplexChannel(x1, opening), Regions.DuplexChannels));
        AwaitAssert(() => Assert.Equal((1_000L, 0L), (Account(Alice).Balance.MinorUnits, Account(Alice).Escrowed.MinorUnits)), TimeSpan.FromSeconds(15));
        var before = Ledger();

        Assert.Equal("refused", Assert.IsType<DuplexChannelView>(Ask(new GetDuplexChannel(x1), Regions.DuplexChannels)).Status);
        Assert.Equal(nameof(InsufficientFunds), Refused(new OpenDuplexChannel(x1, opening), Regions.DuplexChannels));
        Assert.Equal(nameof(ChannelAlreadyExists), Refused(new OpenDuplexChannel(x1, DuplexOpening(x1, 500, 100)), Regions.DuplexChannels));
        Assert.Equal(before, Ledger());
    }

    [Fact]
    public void A_streaming_channel_cannot_open_on_the_escrow_a_duplex_channel_of_its_id_holds()
    {
        Setup(300, 0);
        var x1 = ChannelId.Of("x1");
        Assert.IsType<DuplexChannelOpened>(Ask(new OpenDuplexChannel(x1, DuplexOpening(x1, 300, 0)), Regions.DuplexChannels));
        var before = Ledger();
        Assert.Equal((0L, 300L), (before.Item1, before.Item2));

        Assert.Equal(nameof(InsufficientFunds), Refused(new OpenChannel(x1, Signing.Opening(x1, Alice, Bob, 300, AliceKey)), Regions.Channels));

        Assert.Equal(nameof(ChannelNotFound), Refused(new SubmitVoucher(x1, Signing.Voucher(x1, 1, 300, 300, AliceKey)), Regions.Channels));
        Assert.Equal(before, Ledger());
    }

    [Fact]
    public void A_close_request_signed_for_the_streaming_channel_does_not_close_the_duplex_channel_of_its_id()
    {
        Setup(1_000, 1_000);
        var x1 = ChannelId.Of("x1");
        Assert.IsType<ChannelOpened>(Ask(new OpenChannel(x1, Signing.Opening(x1, Alice, Bob, 200, AliceKey)), Regions.Channels));
        Assert.IsType<DuplexChannelOpened>(Ask(new OpenDuplexChannel(x1, DuplexOpening(x1, 300, 300)), Regions.DuplexChannels));
        var before = Ledger();

        Assert.Equal(nameof(WrongChannelKind), Refused(new CloseDuplexChannel(x1, Signing.Close(x1, Alice, AliceKey, Clock.Now)), Regions.DuplexChannels));
        Assert.Equal(nameof(WrongChannelKind), Refused(new CloseChannel(x1, Signing.DuplexClose(x1, Alice, AliceKey, Clock.Now)), Regions.Channels));

        Assert.Equal("open", Assert.IsType<DuplexChannelView>(Ask(new GetDuplexChannel(x1), Regions.DuplexChannels)).Status);
        Assert.Equal("open", Assert.IsType<ChannelView>(Ask(new GetChannel(x1), Regions.Channels)).Status);
        Assert.Equal(before, Ledger());
    }

    [Fact]
    public void An_opening_with_a_challenge_window_below_the_network_minimum_is_refused()
    {
        Setup(1_000, 1_000);
        var minimum = Settings.MinChallengeWindow.Milliseconds;
        var before = Ledger();

        foreach (var window in new[] { 0, minimum - 1 })
        {
            var streaming = ChannelId.Of($"short-{window}");
            Assert.Equal(nameof(ChallengeWindowTooShort), Refused(new OpenChannel(streaming, Signing.Opening(streaming, Alice, Bob, 500, AliceKey, window)), Regions.Channels));
            Assert.Equal("none", Assert.IsType<ChannelView>(Ask(new GetChannel(streaming), Regions.Channels)).Status);
            var duplex = ChannelId.Of($"short-duplex-{window}");
            Assert.Equal(nameof(ChallengeWindowTooShort), Refused(new OpenDuplexChannel(duplex, DuplexOpening(duplex, 500, 500, window)), Regions.DuplexChannels));
            Assert.Equal("none", Assert.IsType<DuplexChannelView>(Ask(new GetDuplexChannel(duplex), Regions.DuplexChannels)).Status);
        }

        Assert.Equal(before, Ledger());
        var enough = ChannelId.Of("window-at-minimum");
        Assert.IsType<ChannelOpened>(Ask(new OpenChannel(enough, Signing.Opening(enough, Alice, Bob, 500, AliceKey, minimum)), Regions.Channels));
    }

    [Fact]
    public void A_duplex_state_from_a_quarantined_or_revoked_party_is_refused()
    {
        Setup(1_000, 1_000);
        var x1 = ChannelId.Of("x1");
        Assert.IsType<DuplexChannelOpened>(Ask(new OpenDuplexChannel(x1, DuplexOpening(x1, 500, 500)), Regions.DuplexChannels));
        Assert.IsType<DuplexStateAcknowledged>(Ask(new SubmitDuplexState(x1, DuplexState(x1, 1, 400, 600)), Regions.DuplexChannels));

        Assert.True(Assert.IsType<DeviceView>(Ask(new QuarantineDevice(Bob.AsDevice(),
            Signed<Quarantine>.Sign(new Quarantine(Network, Grid, Bob.AsDevice(), true, 1, Clock.Now), GridKey).ToArray()), Regions.Devices)).Quarantined);
        var before = Ledger();

        Assert.Equal(nameof(PartyQuarantined), Refused(new SubmitDuplexState(x1, DuplexState(x1, 2, 0, 1_000)), Regions.DuplexChannels));
        Assert.Equal(1UL, Assert.IsType<DuplexChannelView>(Ask(new GetDuplexChannel(x1), Regions.DuplexChannels)).Version);

        Assert.True(Assert.IsType<DeviceView>(Ask(new RevokeDevice(Alice.AsDevice(),
            Signed<Revocation>.Sign(new Revocation(Network, Grid, Alice.AsDevice(), Clock.Now), GridKey).ToArray()), Regions.Devices)).Revoked);
        Assert.Equal(nameof(PartyRevoked), Refused(new SubmitDuplexState(x1, DuplexState(x1, 2, 1_000, 0)), Regions.DuplexChannels));

        var view = Assert.IsType<DuplexChannelView>(Ask(new GetDuplexChannel(x1), Regions.DuplexChannels));
        Assert.Equal((1UL, 400L, 600L), (view.Version, view.BalanceA!.Value.MinorUnits, view.BalanceB!.Value.MinorUnits));
        Assert.Equal(before, Ledger());
    }

    [Fact]
    public void A_channel_is_never_settled_by_a_release_that_is_not_its_own()
    {
        Setup(1_000, 0);
        var ledger = CreateTestProbe();
        var channel = ChannelId.Of("probed");
        var entity = Sys.ActorOf(ChannelEntity.Props(channel.Value, Settings, new EscrowPeers(ledger.Ref, Regions.ChannelWatchList), Regions.Devices, Regions.Operators));
        var opening = Signing.Opening(channel, Alice, Bob, 500, AliceKey);
        var escrow = new EscrowId(ChannelKind.Streaming, channel, OpeningHash.Of(Signed<StreamingOpening>.Decode(opening).Value.Body));

        entity.Tell(new OpenChannel(channel, opening), TestActor);
        var lockEscrow = ledger.ExpectMsg<LockEscrow>();
        Assert.Equal((escrow, Alice, Eur(500)), (lockEscrow.Escrow, lockEscrow.Account, lockEscrow.Amount));
        // A lock of another escrow (the duplex channel of the same id) does not open it.
        var duplexEscrow = escrow with { Kind = ChannelKind.Duplex };
        ledger.Reply(new EscrowLocked(duplexEscrow, Alice, Eur(500), lockEscrow.Shard, 7));
        ledger.Reply(new EscrowLocked(escrow, Alice, Eur(500), lockEscrow.Shard, 8));
        Assert.Equal(8UL, ExpectMsg<ChannelOpened>().EscrowBlockHeight);

        entity.Tell(new SubmitVoucher(channel, Signing.Voucher(channel, 1, 200, 200, AliceKey)), TestActor);
        ExpectMsg<VoucherAcknowledged>();
        entity.Tell(new CloseChannel(channel, Signing.Close(channel, Bob, BobKey, Clock.Now)), TestActor);
        var release = ledger.ExpectMsg<ReleaseEscrow>();
        Assert.Equal(escrow, release.Escrow);
        Assert.Equal(new[] { new Payout(Alice, Eur(300)), new Payout(Bob, Eur(200)) }, release.Payouts);

        // Another escrow's release, and this escrow's release with other payouts: neither settles the channel.
        ledger.Reply(new EscrowReleased(duplexEscrow, Alice, release.Payouts, release.Shard, 9));
        ledger.Reply(new EscrowReleased(escrow, Alice, [new Payout(Alice, Eur(500)), new Payout(Bob, Eur(0))], release.Shard, 9));
        entity.Tell(new GetChannel(channel), TestActor);
        var view = ExpectMsg<ChannelView>();
        Assert.Equal("closed", view.Status);
        Assert.Null(view.Settlement);

        ledger.Reply(new EscrowReleased(escrow, Alice, release.Payouts, release.Shard, 10));
        var settled = ExpectMsg<ChannelSettled>();
        Assert.Equal(release.Payouts, settled.Payouts);
        Assert.Equal(10UL, settled.BlockHeight);
    }
}
