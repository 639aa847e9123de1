using Akka.Actor;
using Akka.Dispatch;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Registry;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// The entities' mailbox: first in, first out through growth and wrap-around, a message put back at the front taken
/// first, many senders at once each kept in order, and every sharded entity of a node started with it.
/// </summary>
public sealed class EntityMailboxTests(ITestOutputHelper output) : ClusterTestKit(TestStores.Sqlite(), output)
{
    private static Envelope Message(int n) => new(n, ActorRefs.NoSender);

    private static List<int> Drain(EntityMessageQueue queue)
    {
        var taken = new List<int>();
        while (queue.TryDequeue(out var envelope)) taken.Add((int)envelope.Message);
        return taken;
    }

    [Fact]
    public void Messages_come_out_in_the_order_they_went_in_across_growth_and_wrap_around()
    {
        var queue = new EntityMessageQueue();
        Assert.False(queue.HasMessages);
        Assert.False(queue.TryDequeue(out _));

        // Taking some before adding more moves the ring's head, so that the next growth copies a wrapped ring.
        for (var n = 1; n <= 3; n++) queue.Enqueue(ActorRefs.Nobody, Message(n));
        Assert.Equal([1, 2], new[] { Take(queue), Take(queue) });
        for (var n = 4; n <= 40; n++) queue.Enqueue(ActorRefs.Nobody, Message(n));
        Assert.Equal(38, queue.Count);
        Assert.Equal(Enumerable.Range(3, 38), Drain(queue));
        Assert.False(queue.HasMessages);

        // After a drained burst the queue starts again from nothing, still in order.
        for (var n = 1; n <= 5; n++) queue.Enqueue(ActorRefs.Nobody, Message(n));
        Assert.Equal(Enumerable.Range(1, 5), Drain(queue));
    }

    [Fact]
    public void A_message_put_back_at_the_front_is_taken_before_those_that_waited()
    {
        var queue = new EntityMessageQueue();
        queue.EnqueueFirst(Message(0));
        for (var n = 1; n <= 4; n++) queue.Enqueue(ActorRefs.Nobody, Message(n));
        // Unstashing puts the stashed messages back at the front, the last stashed first.
        queue.EnqueueFirst(Message(-1));
        queue.EnqueueFirst(Message(-2));
        Assert.Equal([-2, -1, 0, 1, 2, 3, 4], Drain(queue));
    }

    [Fact]
    public async Task Many_senders_at_once_lose_nothing_and_each_senders_messages_keep_their_order()
    {
        const int senders = 8;
        const int each = 20_000;
        var queue = new EntityMessageQueue();
        var taken = new List<int>();
        var producing = Enumerable.Range(0, senders).Select(s => Task.Run(() =>
        {
            for (var i = 0; i < each; i++) queue.Enqueue(ActorRefs.Nobody, Message(s * each + i));
        })).ToArray();
        // One consumer, as the entity's own thread is, taking while the senders add.
        while (taken.Count < senders * each)
        {
            if (queue.TryDequeue(out var envelope)) taken.Add((int)envelope.Message);
            else await Task.Yield();
        }
        await Task.WhenAll(producing);

        Assert.False(queue.HasMessages);
        Assert.Equal(senders * each, taken.Distinct().Count());
        foreach (var sender in taken.GroupBy(n => n / each))
            Assert.Equal(sender.OrderBy(n => n), sender);
    }

    [Fact]
    public void A_nodes_sharded_entities_and_the_twins_their_devices_start_have_the_entities_mailbox()
    {
        Regions.Operators.Tell(new GetOperator(OperatorId.Of("nobody-admitted")));
        ExpectMsg<object>();
        AssertEntityMailbox(LastSender);

        // A device entity answers where its device is connected itself; its twin, started as its child, answers a lookup.
        Regions.Devices.Tell(new GetDevice(DeviceId.Of("vehicle-never-endorsed")));
        ExpectMsg<object>();
        AssertEntityMailbox(LastSender);
    }

    private static void AssertEntityMailbox(IActorRef entity)
    {
        var cell = Assert.IsAssignableFrom<ActorRefWithCell>(entity).Underlying;
        Assert.IsType<EntityMessageQueue>(Assert.IsType<ActorCell>(cell).Mailbox!.MessageQueue);
    }

    private static int Take(EntityMessageQueue queue)
    {
        Assert.True(queue.TryDequeue(out var envelope));
        return (int)envelope.Message;
    }
}
