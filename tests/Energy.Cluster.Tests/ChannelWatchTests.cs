using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// The channel watch wakes the channels the watch list names, each in the region of its kind and once however often it
/// is named, a few at a time; while the node holds a backlog of device calls it wakes fewer, never none. It starts every
/// ledger shard at each look, asking it for no escrows, except to fill a part of the list that was never filled.
/// </summary>
public sealed class ChannelWatchTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly TimeSpan Never = TimeSpan.FromHours(1);
    private static readonly string List = ChannelWatchListRules.All(1).Single();

    private static IReadOnlyList<WatchedChannel> Channels(int count, string prefix = "c") =>
    [
        .. Enumerable.Range(0, count).Select(i => new WatchedChannel(i % 2 == 0 ? ChannelKind.Streaming : ChannelKind.Duplex, ChannelId.Of($"{prefix}-{i}"))),
    ];

    private static IReadOnlyList<EscrowId> Escrows(IEnumerable<WatchedChannel> channels) =>
        [.. channels.Select((c, i) => new EscrowId(c.Kind, c.Channel, OpeningHash.Of([(byte)i])))];

    private sealed record Probes(TestProbe List, TestProbe Ledger, TestProbe Channels, TestProbe Duplex);

    private (IActorRef Watch, Probes Probes) Start(TimeSpan interval, Func<bool> devicesWaiting, TimeSpan step)
    {
        var p = new Probes(CreateTestProbe(), CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        return (Sys.ActorOf(ChannelWatch.Props(p.List, p.Ledger, p.Channels, p.Duplex, ledgerShardCount: 1, interval, devicesWaiting, step)), p);
    }

    [Theory]
    [InlineData(false, ChannelWatch.WakesPerStep)]
    [InlineData(true, ChannelWatch.WakesPerStepWhileDevicesWait)]
    public void A_step_wakes_a_few_listed_channels_and_fewer_while_the_node_holds_a_backlog_of_device_calls(bool devicesWaiting, int expected)
    {
        // Looks and steps an hour apart: the first of each runs at once, and no other within the test.
        var (watch, p) = Start(Never, () => devicesWaiting, Never);
        var look = p.List.ExpectMsg<GetWatchedChannels>();
        watch.Tell(new WatchedChannels(look.List, Channels(200), Seeded: true), p.List);

        var woken = Enumerable.Range(0, expected).Select(_ => ExpectWake(p)).ToList();

        Assert.Equal(expected, woken.Distinct().Count());
        p.Channels.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        p.Duplex.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void While_devices_wait_every_listed_channel_is_still_woken_once_in_the_region_of_its_kind()
    {
        var (watch, p) = Start(Never, () => true, TimeSpan.FromMilliseconds(10));
        var look = p.List.ExpectMsg<GetWatchedChannels>();
        var listed = Channels(24);
        // Named twice: woken once.
        watch.Tell(new WatchedChannels(look.List, [.. listed, .. listed], Seeded: true), p.List);

        var streaming = Enumerable.Range(0, 12).Select(_ => p.Channels.ExpectMsg<WakeChannel>(TimeSpan.FromSeconds(10)).ChannelId).ToHashSet();
        var duplexWoken = Enumerable.Range(0, 12).Select(_ => p.Duplex.ExpectMsg<WakeDuplexChannel>(TimeSpan.FromSeconds(10)).ChannelId).ToHashSet();

        Assert.Equal(listed.Where(c => c.Kind == ChannelKind.Streaming).Select(c => c.Channel).ToHashSet(), streaming);
        Assert.Equal(listed.Where(c => c.Kind == ChannelKind.Duplex).Select(c => c.Channel).ToHashSet(), duplexWoken);
        p.Channels.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        p.Duplex.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void Every_look_starts_each_ledger_shard_but_asks_it_for_no_escrows_while_the_list_was_filled()
    {
        var (watch, p) = Start(TimeSpan.FromMilliseconds(50), () => false, TimeSpan.FromMilliseconds(10));
        for (var look = 0; look < 3; look++)
        {
            var asked = p.List.ExpectMsg<GetWatchedChannels>(TimeSpan.FromSeconds(10));
            watch.Tell(new WatchedChannels(asked.List, Channels(3), Seeded: true), p.List);
            Assert.Equal(0, p.Ledger.ExpectMsg<GetEscrowedChannels>(TimeSpan.FromSeconds(10)).Max);
        }
        Assert.DoesNotContain(p.List.ReceiveWhile(TimeSpan.FromMilliseconds(200), m => m), m => m is MarkWatchListSeeded);
    }

    [Fact]
    public void A_part_never_filled_is_filled_once_from_every_escrow_and_marked_filled_at_the_second_look_after_all_are_woken()
    {
        // Looks every 300 ms; wakes every 10 ms.
        var (watch, p) = Start(TimeSpan.FromMilliseconds(300), () => false, TimeSpan.FromMilliseconds(10));
        var listed = Channels(4, "listed");
        var escrowed = Channels(60, "escrowed");
        Assert.Equal(0, p.Ledger.ExpectMsg<GetEscrowedChannels>().Max);
        watch.Tell(new WatchedChannels(p.List.ExpectMsg<GetWatchedChannels>().List, listed, Seeded: false), p.List);

        // The part was never filled: every ledger shard is asked for all its escrows at once.
        var listing = p.Ledger.FishForMessage<GetEscrowedChannels>(m => m.Max > 0, TimeSpan.FromSeconds(10));
        Assert.Equal(ChannelWatch.MaxChannelsPerShard, listing.Max);
        // An answer to a look's ask for no escrows does not count as the listing.
        watch.Tell(new EscrowedChannels(listing.Shard, [], 0), p.Ledger);
        watch.Tell(new EscrowedChannels(listing.Shard, Escrows([.. escrowed, .. listed]), listing.Max), p.Ledger);
        // A listed channel woken before the ledger answered is named again by it, and woken again.
        var woken = new HashSet<ChannelId>();
        for (var wakes = 0; woken.Count < 64 && wakes < 64 + listed.Count; wakes++) woken.Add(ExpectWake(p));
        Assert.Equal([.. listed.Select(c => c.Channel), .. escrowed.Select(c => c.Channel)], woken);

        // Marked filled once, at the second look after the last wake; nothing is asked of the ledger after that.
        var mark = p.List.FishForMessage<MarkWatchListSeeded>(_ => true, TimeSpan.FromSeconds(10));
        Assert.Equal(List, mark.List);
        watch.Tell(new WatchedChannels(List, [], Seeded: true), p.List);
        while (p.Ledger.HasMessages) p.Ledger.ReceiveOne(TimeSpan.Zero);
        Assert.DoesNotContain(p.List.ReceiveWhile(TimeSpan.FromMilliseconds(800), m => m), m => m is MarkWatchListSeeded);
        Assert.All(p.Ledger.ReceiveWhile(TimeSpan.FromMilliseconds(10), m => (GetEscrowedChannels)m), asked => Assert.Equal(0, asked.Max));
    }

    /// <summary>The next wake on either region, as the channel it names.</summary>
    private ChannelId ExpectWake(Probes p)
    {
        AwaitCondition(() => p.Channels.HasMessages || p.Duplex.HasMessages, TimeSpan.FromSeconds(10));
        var wake = p.Channels.HasMessages ? p.Channels.ReceiveOne(TimeSpan.Zero) : p.Duplex.ReceiveOne(TimeSpan.Zero);
        return wake switch
        {
            WakeChannel w => w.ChannelId,
            WakeDuplexChannel w => w.ChannelId,
            _ => throw new InvalidOperationException($"{wake} is not a wake"),
        };
    }
}
