using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// The channel watch wakes the channels a ledger shard says hold escrow, each in the region of its kind and once however
/// often it is named, a few at a time; while the node holds a backlog of device calls it wakes fewer, never none.
/// </summary>
public sealed class ChannelWatchTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly TimeSpan Never = TimeSpan.FromHours(1);

    private static IReadOnlyList<EscrowId> Escrows(int count) =>
    [
        .. Enumerable.Range(0, count).Select(i => new EscrowId(i % 2 == 0 ? ChannelKind.Streaming : ChannelKind.Duplex, ChannelId.Of($"c-{i}"), OpeningHash.Of([(byte)i]))),
    ];

    [Theory]
    [InlineData(false, ChannelWatch.WakesPerStep)]
    [InlineData(true, ChannelWatch.WakesPerStepWhileDevicesWait)]
    public void A_step_wakes_a_few_escrowed_channels_and_fewer_while_the_node_holds_a_backlog_of_device_calls(bool devicesWaiting, int expected)
    {
        var (ledger, channels, duplex) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        // Looks and steps an hour apart: the first of each runs at once, and no other within the test.
        var watch = Sys.ActorOf(ChannelWatch.Props(ledger, channels, duplex, ledgerShardCount: 1, interval: Never, () => devicesWaiting, step: Never));
        var look = ledger.ExpectMsg<GetEscrowedChannels>();
        watch.Tell(new EscrowedChannels(look.Shard, Escrows(200)), ledger);

        var woken = Enumerable.Range(0, expected).Select(_ => ExpectWake(channels, duplex)).ToList();

        Assert.Equal(expected, woken.Distinct().Count());
        channels.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        duplex.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void While_devices_wait_every_escrowed_channel_is_still_woken_once_in_the_region_of_its_kind()
    {
        var (ledger, channels, duplex) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var watch = Sys.ActorOf(ChannelWatch.Props(ledger, channels, duplex, ledgerShardCount: 1, interval: Never, () => true, step: TimeSpan.FromMilliseconds(10)));
        var look = ledger.ExpectMsg<GetEscrowedChannels>();
        var escrows = Escrows(24);
        // Named twice in one answer: woken once.
        watch.Tell(new EscrowedChannels(look.Shard, [.. escrows, .. escrows]), ledger);

        var streaming = Enumerable.Range(0, 12).Select(_ => channels.ExpectMsg<WakeChannel>(TimeSpan.FromSeconds(10)).ChannelId).ToHashSet();
        var duplexWoken = Enumerable.Range(0, 12).Select(_ => duplex.ExpectMsg<WakeDuplexChannel>(TimeSpan.FromSeconds(10)).ChannelId).ToHashSet();

        Assert.Equal(escrows.Where(e => e.Kind == ChannelKind.Streaming).Select(e => e.Channel).ToHashSet(), streaming);
        Assert.Equal(escrows.Where(e => e.Kind == ChannelKind.Duplex).Select(e => e.Channel).ToHashSet(), duplexWoken);
        channels.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        duplex.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void While_the_channels_of_the_last_look_are_still_being_woken_the_ledger_shards_are_started_but_asked_for_none()
    {
        var (ledger, channels, duplex) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        // Looks every 50 ms, wakes an hour apart: the 200 channels named stay queued after the first step.
        var watch = Sys.ActorOf(ChannelWatch.Props(ledger, channels, duplex, ledgerShardCount: 1, interval: TimeSpan.FromMilliseconds(50), () => false, step: Never));
        var look = ledger.ExpectMsg<GetEscrowedChannels>();
        Assert.Equal(ChannelWatch.MaxChannelsPerShard, look.Max);
        watch.Tell(new EscrowedChannels(look.Shard, Escrows(200)), ledger);
        // Once a channel is woken the answer was taken; a look asked before it (the test may be slower than 50 ms) is passed over.
        channels.ExpectMsg<WakeChannel>(TimeSpan.FromSeconds(10));
        while (ledger.HasMessages) ledger.ReceiveOne(TimeSpan.Zero);
        Assert.Equal(0, ledger.ExpectMsg<GetEscrowedChannels>(TimeSpan.FromSeconds(10)).Max);
        var later = ledger.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => (GetEscrowedChannels)m);
        Assert.All(later, asked => Assert.Equal(0, asked.Max));

        // A watch whose last look is all woken asks for every escrow again.
        var (idleLedger, idleChannels, idleDuplex) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var idle = Sys.ActorOf(ChannelWatch.Props(idleLedger, idleChannels, idleDuplex, ledgerShardCount: 1, interval: TimeSpan.FromMilliseconds(50), () => false, step: Never));
        idle.Tell(new EscrowedChannels(idleLedger.ExpectMsg<GetEscrowedChannels>().Shard, Escrows(10)), idleLedger);
        Assert.Equal(ChannelWatch.MaxChannelsPerShard, idleLedger.ExpectMsg<GetEscrowedChannels>(TimeSpan.FromSeconds(10)).Max);
    }

    /// <summary>The next wake on either region, as the channel it names.</summary>
    private ChannelId ExpectWake(Akka.TestKit.TestProbe channels, Akka.TestKit.TestProbe duplex)
    {
        object? wake = null;
        AwaitCondition(() => channels.HasMessages || duplex.HasMessages, TimeSpan.FromSeconds(10));
        wake = channels.HasMessages ? channels.ReceiveOne(TimeSpan.Zero) : duplex.ReceiveOne(TimeSpan.Zero);
        return wake switch
        {
            WakeChannel w => w.ChannelId,
            WakeDuplexChannel w => w.ChannelId,
            _ => throw new InvalidOperationException($"{wake} is not a wake"),
        };
    }
}
