using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Kernel;
using Energy.Cluster.Network;
using Energy.Lifecycles;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>The channel watch list, pure: bounded, each change written once, streaming and duplex channels of one id apart.</summary>
public sealed class ChannelWatchListRulesTests
{
    private static readonly WatchedChannel Streaming = new(ChannelKind.Streaming, ChannelId.Of("c-1"));
    private static readonly WatchedChannel Duplex = new(ChannelKind.Duplex, ChannelId.Of("c-1"));

    private static ChannelWatchListState Apply(ChannelWatchListState state, IEnergyMessage? e) => e is null ? state : ChannelWatchListRules.Apply(state, e);

    [Fact]
    public void A_channel_is_listed_once_and_unlisted_once_and_its_duplex_namesake_is_another_channel()
    {
        var listed = Apply(ChannelWatchListState.Empty, ChannelWatchListRules.DecideWatch(ChannelWatchListState.Empty, Streaming).Unwrap());

        Assert.Null(ChannelWatchListRules.DecideWatch(listed, Streaming).Unwrap());
        Assert.Null(ChannelWatchListRules.DecideUnwatch(listed, Duplex));
        Assert.NotNull(ChannelWatchListRules.DecideWatch(listed, Duplex).Unwrap());
        var unlisted = Apply(listed, ChannelWatchListRules.DecideUnwatch(listed, Streaming));
        Assert.Empty(unlisted.Watched);
        Assert.Null(ChannelWatchListRules.DecideUnwatch(unlisted, Streaming));
    }

    [Fact]
    public void A_part_is_marked_filled_once()
    {
        var seeded = Apply(ChannelWatchListState.Empty, ChannelWatchListRules.DecideSeeded(ChannelWatchListState.Empty));
        Assert.True(seeded.Seeded);
        Assert.Null(ChannelWatchListRules.DecideSeeded(seeded));
    }

    [Fact]
    public void A_full_part_refuses_a_new_channel_by_name_still_holds_the_ones_it_has_and_is_never_replayed_past_its_bound()
    {
        var full = ChannelWatchListState.Empty with
        {
            Watched = [.. Enumerable.Range(0, ChannelWatchListState.MaxChannels).Select(i => new WatchedChannel(ChannelKind.Streaming, ChannelId.Of($"c-{i}")))],
        };

        Assert.IsType<ChannelWatchListFull>(ChannelWatchListRules.DecideWatch(full, new WatchedChannel(ChannelKind.Streaming, ChannelId.Of("one-more"))).Error);
        Assert.Null(ChannelWatchListRules.DecideWatch(full, new WatchedChannel(ChannelKind.Streaming, ChannelId.Of("c-7"))).Unwrap());
        Assert.Throws<InvalidOperationException>(() => ChannelWatchListRules.Apply(full, new ChannelWatchChanged(ChannelKind.Duplex, ChannelId.Of("one-more"), true)));
    }

    [Fact]
    public void Every_channel_has_one_part_and_the_parts_are_all_listed()
    {
        var parts = ChannelWatchListRules.All(4).ToHashSet();
        Assert.Equal(4, parts.Count);
        Assert.Contains(ChannelWatchListRules.For(Streaming, 4), parts);
        // Both kinds of one id share a part; the part does not depend on the process.
        Assert.Equal(ChannelWatchListRules.For(Streaming, 4), ChannelWatchListRules.For(Duplex, 4));
        Assert.Equal(ChannelWatchListRules.Prefix + LedgerShards.ShardIndex("c-1", 4), ChannelWatchListRules.For(Streaming, 4));
    }

    private static readonly Gen<(int Id, ChannelKind Kind, bool Watch)> Requests =
        from id in Gen.Choose(0, 5)
        from kind in Gen.Elements(ChannelKind.Streaming, ChannelKind.Duplex)
        from watch in Gen.Elements(true, false)
        select (id, kind, watch);

    /// <summary>Whatever channels ask to be listed and unlisted, in any order, the part holds exactly those whose last request was to be listed, and recovers so.</summary>
    [FsCheck.Xunit.Property(MaxTest = 200)]
    public Property The_part_holds_exactly_the_channels_whose_last_request_was_to_be_listed() =>
        Prop.ForAll(Gen.ListOf(Requests).ToArbitrary(),
            requests =>
            {
                var state = ChannelWatchListState.Empty;
                var journal = new List<IEnergyMessage>();
                var model = new Dictionary<WatchedChannel, bool>();
                foreach (var (id, kind, watch) in requests)
                {
                    var channel = new WatchedChannel(kind, ChannelId.Of($"c-{id}"));
                    IEnergyMessage? e = watch ? ChannelWatchListRules.DecideWatch(state, channel).Unwrap() : ChannelWatchListRules.DecideUnwatch(state, channel);
                    // An event only when something changes.
                    if (e is not null) Assert.NotEqual(watch, model.GetValueOrDefault(channel));
                    if (e is not null) journal.Add(e);
                    state = Apply(state, e);
                    model[channel] = watch;
                }
                var expected = model.Where(m => m.Value).Select(m => m.Key).ToHashSet();
                var recovered = journal.Aggregate(ChannelWatchListState.Empty, ChannelWatchListRules.Apply);
                var fromSnapshot = ChannelWatchListRules.FromSnapshot(ChannelWatchListRules.ToSnapshot(state));
                return expected.SetEquals(state.Watched) && expected.SetEquals(recovered.Watched) && expected.SetEquals(fromSnapshot.Watched);
            });
}

public sealed class ChannelWatchListOnSqlite(ITestOutputHelper output) : ChannelWatchListTests(TestStores.Sqlite(), output);

public sealed class ChannelWatchListOnPostgreSql(ITestOutputHelper output) : ChannelWatchListTests(TestStores.PostgreSql(), output);

/// <summary>
/// A channel is listed while its next step waits on a timer or the ledger, and only then; after a restart the channel
/// watch wakes it from the list, and it settles with no party calling it. A channel that held escrow before the list
/// existed is found through the ledger, once.
/// </summary>
public abstract class ChannelWatchListTests(NodeOptions store, ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly OperatorId Cpo = OperatorId.Of("cpo-watch");
    private const int Shards = 4;
    // The node's key signs the ledger's blocks in both of its lives.
    private readonly DeviceKeyPair _nodeKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _cpoKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _vehicleKey = DeviceKeyPair.Generate();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        _nodeKey.Dispose();
        _cpoKey.Dispose();
        _vehicleKey.Dispose();
    }

    private static async Task<object> AskAsync(IActorRef region, object message) => await region.Ask<object>(message, TimeSpan.FromSeconds(15));

    private static async Task<IReadOnlySet<WatchedChannel>> ListedAsync(EnergyRegions r) =>
        (await Task.WhenAll(ChannelWatchListRules.All(Shards).Select(async part =>
            Assert.IsType<WatchedChannels>(await AskAsync(r.ChannelWatchList, new GetWatchedChannels(part, 1_000)))))).SelectMany(w => w.Channels).ToHashSet();

    private static async Task<long> BalanceAsync(EnergyRegions r, PartyId party) =>
        Assert.IsType<AccountView>(await AskAsync(r.Ledger, new GetAccount(LedgerShards.For(party, Shards), party))).Balance.MinorUnits;

    /// <summary>
    /// On a first node life, opens a channel from a funded vehicle to the operator, pays 300 on it and has the vehicle close it
    /// (a challenge window opens), then does <paramref name="beforeStop"/>; the window ends while the node is down, and the
    /// node starts again. Neither the payer nor the payee calls the channel after the close.
    /// </summary>
    private async Task<(TestNode Restarted, WatchedChannel Channel)> CloseThenRestartAsync(string name, Func<EnergyRegions, WatchedChannel, Task> beforeStop)
    {
        var (cpoKey, vehicleKey) = (_cpoKey, _vehicleKey);
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var settings = new EnergySettings(ClusterTestKit.Network, Currency.Eur, Shards, _nodeKey, clock)
        {
            Authority = TestAuthority.Authority,
            MinChallengeWindow = DurationMs.FromSeconds(10),
        };
        var vehicle = DeviceId.Of("vehicle-" + name);
        var payer = PartyId.From(vehicle);
        var channel = ChannelId.Of("channel-" + name);
        var watched = new WatchedChannel(ChannelKind.Streaming, channel);
        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var r = node.Regions;
            Assert.IsType<OperatorView>(await AskAsync(r.Operators, TestAuthority.Admit(Cpo, cpoKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner)));
            Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(vehicle,
                DeviceIdentity.Endorse(ClusterTestKit.Network, Cpo, cpoKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray())));
            Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(LedgerShards.For(payer, Shards), "fund-" + name, payer, new Money(10_000, Currency.Eur), TestAuthority.Bank)));
            var opened = await AskAsync(r.Channels, new OpenChannel(channel, Signing.Opening(channel, payer, PartyId.From(Cpo), 2_000, vehicleKey, 10_000)));
            Assert.True(opened is ChannelOpened, $"the opening was answered {opened}");
            Assert.IsType<VoucherAcknowledged>(await AskAsync(r.Channels, new SubmitVoucher(channel, Signing.Voucher(channel, 1, 300, 300, vehicleKey))));
            // Open and idle: it waits on nothing, so it is not listed.
            await AwaitAssertAsync(async () => Assert.DoesNotContain(watched, await ListedAsync(r)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));

            Assert.IsType<ChannelClosing>(await AskAsync(r.Channels, new CloseChannel(channel, Signing.Close(channel, payer, vehicleKey, clock.Now))));
            // Its closer heard of the window only once the list held it.
            Assert.Contains(watched, await ListedAsync(r));
            await beforeStop(r, watched);
            Assert.Equal(0, await BalanceAsync(r, PartyId.From(Cpo)));
        }
        clock.Advance(new DurationMs(10_001));
        return (await TestNode.StartAsync(store, settings), watched);
    }

    [Fact]
    public async Task A_channel_listed_for_its_window_settles_after_a_restart_with_no_party_calling_it_and_leaves_the_list()
    {
        var (restarted, watched) = await CloseThenRestartAsync("listed", async (r, _) =>
        {
            // Every part was filled: only the list can wake the channel after the restart.
            foreach (var part in ChannelWatchListRules.All(Shards)) r.ChannelWatchList.Tell(new MarkWatchListSeeded(part));
            await AwaitAssertAsync(async () => Assert.All(await Task.WhenAll(ChannelWatchListRules.All(Shards).Select(async part =>
                Assert.IsType<WatchedChannels>(await AskAsync(r.ChannelWatchList, new GetWatchedChannels(part, 0))))), w => Assert.True(w.Seeded)),
                TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        });
        await using var node = restarted;

        // Only the ledger and the list are read: nothing calls the channel.
        await AwaitAssertAsync(async () => Assert.Equal(300, await BalanceAsync(node.Regions, PartyId.From(Cpo))), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
        await AwaitAssertAsync(async () => Assert.DoesNotContain(watched, await ListedAsync(node.Regions)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task A_closing_channel_missing_from_a_part_never_filled_is_found_through_the_ledger_after_a_restart_and_settles()
    {
        var (restarted, _) = await CloseThenRestartAsync("unlisted", async (r, watched) =>
        {
            // As if it had closed before the list existed: the list does not hold it, and its part was never filled.
            var part = ChannelWatchListRules.For(watched, Shards);
            r.ChannelWatchList.Tell(new UnwatchChannel(part, watched.Kind, watched.Channel));
            await AwaitAssertAsync(async () => Assert.DoesNotContain(watched, await ListedAsync(r)), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
            Assert.False(Assert.IsType<WatchedChannels>(await AskAsync(r.ChannelWatchList, new GetWatchedChannels(part, 0))).Seeded);
        });
        await using var node = restarted;

        await AwaitAssertAsync(async () => Assert.Equal(300, await BalanceAsync(node.Regions, PartyId.From(Cpo))), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
    }
}

/// <summary>
/// A channel's place in the watch list, played with probes for the ledger and the list: it is listed before it asks the
/// ledger for anything and before it writes a close; a refused close lists nothing; an answer arriving late (after the
/// channel unlisted itself) never stands for a listing asked for since; a woken idle channel unlists itself again.
/// </summary>
public sealed class ChannelListingTests(ITestOutputHelper output) : TwoHomesTestKit(TestStores.Sqlite(), output)
{
    private sealed record Opened(IActorRef Entity, TestProbe Ledger, TestProbe List, ChannelId Channel, LockEscrow Lock, WatchChannel FirstAsk);

    /// <summary>
    /// A streaming channel from Alice to Bob over probes for the ledger and the list: listed before the ledger is asked for
    /// the lock, open once it is locked, then unlisted. Asks are retried after a minute: no retry makes an answer stale within a test.
    /// </summary>
    private Opened Open(string name)
    {
        Setup(1_000, 0);
        var (ledger, list) = (CreateTestProbe(), CreateTestProbe());
        var channel = ChannelId.Of(name);
        var entity = Sys.ActorOf(ChannelEntity.Props(channel.Value, Settings with { AskTimeout = TimeSpan.FromMinutes(1) }, new EscrowPeers(ledger.Ref, list.Ref),
            Regions.Devices, Regions.Operators));
        entity.Tell(new OpenChannel(channel, Signing.Opening(channel, Alice, Bob, 500, AliceKey)), TestActor);
        var first = list.ExpectMsg<WatchChannel>();
        ledger.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal((ChannelKind.Streaming, channel), (first.Kind, first.ChannelId));
        list.Reply(new ChannelWatched(first.Kind, first.ChannelId, first.Ask, Held: true));
        var lockEscrow = ledger.ExpectMsg<LockEscrow>();
        ledger.Reply(new EscrowLocked(lockEscrow.Escrow, Alice, Eur(500), lockEscrow.Shard, 1));
        ExpectMsg<ChannelOpened>();
        Assert.Equal(channel, list.ExpectMsg<UnwatchChannel>().ChannelId);
        return new Opened(entity, ledger, list, channel, lockEscrow, first);
    }

    [Fact]
    public void A_late_answer_to_an_earlier_request_does_not_let_a_close_be_answered_before_the_list_holds_the_channel()
    {
        var (entity, _, list, channel, _, first) = Open("listing");

        // The answer to the first request again, late.
        entity.Tell(new ChannelWatched(first.Kind, first.ChannelId, first.Ask, Held: true), list.Ref);
        entity.Tell(new CloseChannel(channel, Signing.Close(channel, Alice, AliceKey, Clock.Now)), TestActor);
        var second = list.ExpectMsg<WatchChannel>();
        Assert.NotEqual(first.Ask, second.Ask);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        list.Reply(new ChannelWatched(second.Kind, second.ChannelId, second.Ask, Held: true));
        Assert.Equal(channel, ExpectMsg<ChannelClosing>().ChannelId);
    }

    [Fact]
    public void A_close_is_written_only_once_the_list_holds_the_channel_and_a_woken_idle_channel_unlists_itself_again()
    {
        var (entity, ledger, list, channel, lockEscrow, _) = Open("listing-close");

        // Woken while it waits on nothing (an unlisting that was lost, say): it unlists itself again.
        entity.Tell(new WakeChannel(channel));
        Assert.Equal(channel, list.ExpectMsg<UnwatchChannel>().ChannelId);

        // The payee's close settles at once: nothing is written, and the ledger is asked nothing, before the list holds the channel.
        entity.Tell(new CloseChannel(channel, Signing.Close(channel, Bob, BobKey, Clock.Now)), TestActor);
        var closing = list.ExpectMsg<WatchChannel>();
        entity.Tell(new GetChannel(channel), TestActor);
        Assert.Equal("open", ExpectMsg<ChannelView>().Status);
        ledger.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        list.Reply(new ChannelWatched(closing.Kind, closing.ChannelId, closing.Ask, Held: true));
        Assert.Equal(lockEscrow.Escrow, ledger.ExpectMsg<ReleaseEscrow>().Escrow);
        entity.Tell(new GetChannel(channel), TestActor);
        Assert.Equal("closed", ExpectMsg<ChannelView>().Status);
    }

    [Fact]
    public void A_replayed_payers_close_gets_the_running_window_again_and_writes_and_lists_nothing_more()
    {
        var (entity, ledger, list, channel, _, _) = Open("listing-replay");

        var close = Signing.Close(channel, Alice, AliceKey, Clock.Now);
        entity.Tell(new CloseChannel(channel, close), TestActor);
        var asked = list.ExpectMsg<WatchChannel>();
        list.Reply(new ChannelWatched(asked.Kind, asked.ChannelId, asked.Ask, Held: true));
        var first = ExpectMsg<ChannelClosing>();

        // The same signed close again, later: the window that runs, not a new one; the list and the ledger hear nothing.
        Clock.Advance(DurationMs.FromSeconds(5));
        entity.Tell(new CloseChannel(channel, close), TestActor);
        Assert.Equal(first, ExpectMsg<ChannelClosing>());
        list.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        ledger.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_forged_or_a_strangers_close_is_refused_by_name_and_lists_nothing()
    {
        var (entity, ledger, list, channel, _, _) = Open("listing-stranger");

        // Bob's name signed with Alice's key, and a party of no channel: both refused, and the list is asked nothing.
        using var strangerKey = DeviceKeyPair.Generate();
        entity.Tell(new CloseChannel(channel, Signing.Close(channel, Bob, AliceKey, Clock.Now)), TestActor);
        var forged = Assert.IsType<Refusal>(ExpectMsg<object>()).Code;
        entity.Tell(new CloseChannel(channel, Signing.Close(channel, PartyId.Of("device:stranger"), strangerKey, Clock.Now)), TestActor);
        var stranger = Assert.IsType<Refusal>(ExpectMsg<object>()).Code;
        Assert.Equal(("InvalidSignature", "NotAParty"), (forged, stranger));
        list.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        ledger.ExpectNoMsg(TimeSpan.Zero);
        entity.Tell(new GetChannel(channel), TestActor);
        Assert.Equal("open", ExpectMsg<ChannelView>().Status);
    }

    [Fact]
    public void A_forged_final_state_a_forged_close_and_a_strangers_close_of_a_duplex_channel_are_refused_by_name_and_list_nothing()
    {
        Setup(1_000, 1_000);
        var (ledger, list) = (CreateTestProbe(), CreateTestProbe());
        var channel = ChannelId.Of("listing-duplex-stranger");
        var entity = Sys.ActorOf(DuplexChannelEntity.Props(channel.Value, Settings with { AskTimeout = TimeSpan.FromMinutes(1) }, new EscrowPeers(ledger.Ref, list.Ref),
            Regions.Devices, Regions.Operators));
        entity.Tell(new OpenDuplexChannel(channel, DuplexOpening(channel, 500, 500)), TestActor);
        var ask = list.ExpectMsg<WatchChannel>();
        Assert.Equal((ChannelKind.Duplex, channel), (ask.Kind, ask.ChannelId));
        list.Reply(new ChannelWatched(ask.Kind, ask.ChannelId, ask.Ask, Held: true));
        for (var deposit = 0; deposit < 2; deposit++)
        {
            var lockEscrow = ledger.ExpectMsg<LockEscrow>();
            ledger.Reply(new EscrowLocked(lockEscrow.Escrow, lockEscrow.Account, lockEscrow.Amount, lockEscrow.Shard, 1));
        }
        ExpectMsg<DuplexChannelOpened>();
        Assert.Equal(channel, list.ExpectMsg<UnwatchChannel>().ChannelId);

        // A final state whose second signature is a stranger's, Bob's close signed with Alice's key, and a stranger's close.
        using var strangerKey = DeviceKeyPair.Generate();
        entity.Tell(new SubmitDuplexState(channel, Signing.DuplexState(channel, 1, 500, 500, AliceKey, strangerKey, isFinal: true)), TestActor);
        var forgedFinal = Assert.IsType<Refusal>(ExpectMsg<object>()).Code;
        entity.Tell(new CloseDuplexChannel(channel, Signing.DuplexClose(channel, Bob, AliceKey, Clock.Now)), TestActor);
        var forgedClose = Assert.IsType<Refusal>(ExpectMsg<object>()).Code;
        entity.Tell(new CloseDuplexChannel(channel, Signing.DuplexClose(channel, PartyId.Of("device:stranger"), strangerKey, Clock.Now)), TestActor);
        var stranger = Assert.IsType<Refusal>(ExpectMsg<object>()).Code;
        Assert.Equal(("InvalidSignature", "InvalidSignature", "NotAParty"), (forgedFinal, forgedClose, stranger));
        list.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        ledger.ExpectNoMsg(TimeSpan.Zero);
        entity.Tell(new GetDuplexChannel(channel), TestActor);
        Assert.Equal("open", ExpectMsg<DuplexChannelView>().Status);
    }
}
