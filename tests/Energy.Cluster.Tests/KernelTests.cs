using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Xunit.Abstractions;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Tests;

/// <summary>The entity kernel's shared plumbing: batched writes with answers once durable, and pushes to devices with bounded lookups.</summary>
public sealed class KernelTests(ITestOutputHelper output) : TestKit(output: output)
{
    [Fact]
    public void An_answer_waits_for_the_write_that_holds_its_change_and_answers_keep_their_order()
    {
        var writes = new BatchedWrites("test", 10);
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        // Nothing waits and nothing is in flight: what was asked about is durable already.
        Assert.True(writes.ReplyWhenDurable(first.Ref, "at once"));
        first.ExpectMsg("at once");

        writes.Taken();
        writes.ReplyWhenDurable(first.Ref, "first");
        Assert.True(writes.TryStart(out var firstWrite));
        // One write in flight: what is taken meanwhile waits for the next.
        writes.Taken();
        writes.ReplyWhenDurable(second.Ref, "second");
        Assert.False(writes.TryStart(out _));
        Assert.Equal(2, writes.Held);

        writes.Written(firstWrite);
        first.ExpectMsg("first");
        Assert.Equal(1, writes.Held);
        Assert.True(writes.TryStart(out var secondWrite));
        writes.Written(secondWrite);
        second.ExpectMsg("second");
        Assert.True(writes.Idle);
        Assert.False(writes.TryStart(out _));
    }

    [Fact]
    public void An_answer_asked_while_a_write_is_in_flight_with_nothing_new_waits_for_that_write()
    {
        var writes = new BatchedWrites("test", 10);
        var probe = CreateTestProbe();
        writes.Taken();
        Assert.True(writes.TryStart(out var write));
        writes.ReplyWhenDurable(probe.Ref, "after the write in flight");
        Assert.Equal(1, writes.Held);
        writes.Written(write);
        probe.ExpectMsg("after the write in flight");
    }

    [Fact]
    public void A_write_that_must_follow_the_waiting_changes_starts_even_while_another_is_in_flight()
    {
        var writes = new BatchedWrites("test", 10);
        var probe = CreateTestProbe();
        writes.Taken();
        Assert.True(writes.TryStart(out var inFlight));
        writes.Taken();
        writes.ReplyWhenDurable(probe.Ref, "second");
        var forced = writes.Start();
        Assert.Equal(inFlight + 1, forced);
        Assert.Throws<InvalidOperationException>(() => writes.Start());
        // Durability comes in order: the second write's answer waits for the first.
        writes.Written(inFlight);
        writes.Written(forced);
        probe.ExpectMsg("second");
    }

    [Fact]
    public void An_answer_made_when_it_is_sent_says_where_the_entity_stands_then()
    {
        var writes = new BatchedWrites("test", 10);
        var probe = CreateTestProbe();
        var paid = 0;
        writes.Taken();
        writes.ReplyWhenDurable(probe.Ref, () => $"paid {paid}");
        Assert.True(writes.TryStart(out var write));
        paid = 94;
        writes.Written(write);
        probe.ExpectMsg("paid 94");
    }

    [Fact]
    public void Beyond_its_bound_an_answer_is_refused_by_name_and_nothing_is_held()
    {
        var writes = new BatchedWrites("session s1", 2);
        var probe = CreateTestProbe();
        writes.Taken();
        Assert.Null(writes.Full);
        Assert.True(writes.ReplyWhenDurable(probe.Ref, "1"));
        Assert.True(writes.ReplyWhenDurable(probe.Ref, "2"));
        Assert.Equal(new TooManyWaiting("session s1", 2, 2), writes.Full);
        Assert.False(writes.ReplyWhenDurable(probe.Ref, "3"));
        Assert.Equal(2, writes.Held);
    }

    [Fact]
    public void A_device_not_connected_is_looked_up_again_until_it_is_and_no_more_than_the_bound()
    {
        var devices = CreateTestProbe();
        var reports = CreateTestProbe();
        var device = DeviceId.Of("vehicle-k");
        var (devicesRef, reportsRef, clock) = (devices.Ref, reports.Ref, new ManualClock(new Timestamp(1_800_000_000_000)));
        var host = Sys.ActorOf(Props.Create(() => new PushHost(devicesRef, reportsRef, clock,
            new DevicePushBounds(4, 4, null, MaxLookups: 3, LookAgainAfter: TimeSpan.FromMilliseconds(20)))));
        host.Tell(new Find(device));
        devices.ExpectMsg<GetDeviceConnection>();
        devices.Reply(new DeviceConnection(device, null));
        reports.ExpectMsg("none");
        devices.ExpectMsg<GetDeviceConnection>();
        devices.Reply(new DeviceConnection(device, "akka://energy/user/connection-1"));
        reports.ExpectMsg("akka://energy/user/connection-1");

        // Looked up three times, never connected: the lookups stop.
        var other = DeviceId.Of("vehicle-l");
        host.Tell(new Find(other));
        for (var look = 0; look < 3; look++)
        {
            devices.ExpectMsg<GetDeviceConnection>();
            devices.Reply(new DeviceConnection(other, null));
            reports.ExpectMsg("none");
        }
        devices.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_remembered_connection_is_trusted_for_its_time_and_a_pinned_one_until_replaced()
    {
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var devices = CreateTestProbe().Ref;
        var host = Sys.ActorOf(Props.Create(() => new PushHost(devices, TestActor, clock,
            new DevicePushBounds(2, 4, DurationMs.FromSeconds(30), MaxLookups: 1, LookAgainAfter: TimeSpan.FromSeconds(1)))));
        var (gantry, vehicle, another, third) = (DeviceId.Of("gantry-k"), DeviceId.Of("vehicle-k"), DeviceId.Of("vehicle-m"), DeviceId.Of("vehicle-n"));
        host.Tell(new Run(push => { push.Pin(gantry, "g1"); push.Remember(vehicle, "v1"); push.Remember(vehicle, null); return push.ConnectionOf(vehicle); }));
        ExpectMsg("v1");
        clock.Advance(DurationMs.FromSeconds(31));
        host.Tell(new Run(push => $"{push.ConnectionOf(gantry)} {push.ConnectionOf(vehicle) ?? "none"}"));
        ExpectMsg("g1 none");
        // Past its bound the remembered connections are forgotten, never the pinned one.
        host.Tell(new Run(push => { push.Remember(vehicle, "v2"); push.Remember(another, "a1"); push.Remember(third, "t1"); return $"{push.ConnectionOf(gantry)} {push.ConnectionOf(vehicle) ?? "none"} {push.ConnectionOf(third)}"; }));
        ExpectMsg("g1 none t1");
    }

    private sealed record Find(DeviceId Device);

    private sealed record Run(Func<DevicePush, string?> Ask);

    /// <summary>An entity that pushes to devices: it looks a device up until found, and reports what each answer gave.</summary>
    private sealed class PushHost : ReceiveActor, IWithTimers
    {
        public PushHost(IActorRef devices, IActorRef reports, IClock clock, DevicePushBounds bounds)
        {
            var push = new DevicePush(Context, this, devices, clock, TimeSpan.FromSeconds(3), bounds);
            Receive<Find>(find => push.Find(find.Device, "k"));
            Receive<DeviceLookupDue>(due => push.Find(due.Device, due.Key));
            Receive<DeviceConnectionFound>(found => reports.Tell(push.Found(found, wanted: true) ?? "none"));
            Receive<Run>(run => Sender.Tell(run.Ask(push) ?? "none"));
        }

        public ITimerScheduler Timers { get; set; } = null!;
    }
}

/// <summary>A channel's place in the watch list: which answers count, and what waited for them.</summary>
public sealed class ChannelListingRulesTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly WatchedChannel Watched = new(ChannelKind.Streaming, ChannelId.Of("listed"));

    private (ChannelListing Listing, Akka.TestKit.TestProbe List) Listing(int maxWaiting = 10)
    {
        var list = CreateTestProbe();
        return (new ChannelListing(list.Ref, Watched, 8, maxWaiting), list);
    }

    private static ChannelWatched Answer(WatchChannel asked) => new(asked.Kind, asked.ChannelId, asked.Ask, Held: true);

    [Fact]
    public void The_answer_to_the_latest_ask_lists_the_channel_and_hands_over_what_waited_once()
    {
        var (listing, list) = Listing();
        var ran = 0;
        listing.Wait(() => ran++);
        listing.Ask(TestActor);
        var asked = list.ExpectMsg<WatchChannel>();
        Assert.Equal((ChannelWatchListRules.For(Watched, 8), Watched.Kind, Watched.Channel), (asked.List, asked.Kind, asked.ChannelId));
        Assert.True(listing.HasWaiting);
        foreach (var then in listing.Answered(Answer(asked))!) then();
        Assert.Equal((1, true, false), (ran, listing.IsListed, listing.HasWaiting));
        Assert.Null(listing.Answered(Answer(asked)));
    }

    [Fact]
    public void After_an_unlisting_an_answer_to_an_earlier_ask_is_stale_and_only_a_newer_asks_answer_counts()
    {
        var (listing, list) = Listing();
        listing.Ask(TestActor);
        var early = list.ExpectMsg<WatchChannel>();
        listing.Unlist();
        Assert.Equal(Watched.Channel, list.ExpectMsg<UnwatchChannel>().ChannelId);
        Assert.True(listing.KnownUnlisted);
        Assert.Null(listing.Answered(Answer(early)));
        Assert.False(listing.IsListed);
        listing.Ask(TestActor);
        var late = list.ExpectMsg<WatchChannel>();
        Assert.True(late.Ask > early.Ask);
        Assert.NotNull(listing.Answered(Answer(late)));
        Assert.True(listing.IsListed);
    }

    [Fact]
    public void An_answer_to_an_ask_never_made_or_for_another_channel_or_kind_does_not_count()
    {
        var (listing, list) = Listing();
        listing.Ask(TestActor);
        var asked = list.ExpectMsg<WatchChannel>();
        Assert.Null(listing.Answered(Answer(asked) with { Ask = asked.Ask + 1 }));
        Assert.Null(listing.Answered(Answer(asked) with { ChannelId = ChannelId.Of("other") }));
        Assert.Null(listing.Answered(Answer(asked) with { Kind = ChannelKind.Duplex }));
        Assert.False(listing.IsListed);
    }

    [Fact]
    public void At_most_the_bound_of_steps_wait_for_the_listing()
    {
        var (listing, list) = Listing(maxWaiting: 3);
        for (var i = 0; i < 5; i++) listing.Wait(() => { });
        listing.Ask(TestActor);
        Assert.Equal(3, listing.Answered(Answer(list.ExpectMsg<WatchChannel>()))!.Count);
    }
}
