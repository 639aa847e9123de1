using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Cluster.Kernel;
using Xunit;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// Calls to entities, pipelined, each with a reply address of its own under one reference's path: every answer reaches its
/// own call whatever the order, only the first answer to an address counts, a call not answered within its hold or whose
/// caller (a connection) ends ends cancelled, an entity is told its answer or its error once, and an address is reachable
/// as a reply from another node would reach it only while its call is waited for.
/// </summary>
public sealed class ReplyAddressesTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(20);

    private sealed record Command(int N);

    private sealed record Reply(int N);

    [Fact]
    public async Task Pipelined_calls_each_get_the_answer_sent_to_their_own_address_whatever_the_order()
    {
        var entity = CreateTestProbe();
        using var answers = new ReplyAddresses(Sys, Long, CancellationToken.None);
        var asked = Enumerable.Range(1, 3).Select(n => answers.AskAsync(entity, new Command(n)).AsTask()).ToArray();
        var senders = Enumerable.Range(1, 3).Select(n =>
        {
            Assert.Equal(n, entity.ExpectMsg<Command>().N);
            Assert.StartsWith(answers.Path.ToString() + "/", entity.LastSender.Path.ToString());
            return entity.LastSender;
        }).ToArray();
        Assert.Equal(3, senders.Select(s => s.Path.ToString()).Distinct().Count());

        senders[2].Tell(new Reply(3));
        senders[0].Tell(new Reply(1));
        Assert.Equal(3, ((Reply)await asked[2]).N);
        Assert.Equal(1, ((Reply)await asked[0]).N);
        Assert.False(asked[1].IsCompleted);
        // A second answer to an address whose call has ended answers nothing.
        senders[0].Tell(new Reply(99));
        Assert.False(asked[1].IsCompleted);
        senders[1].Tell(new Reply(2));
        Assert.Equal(2, ((Reply)await asked[1]).N);
        Assert.Equal(0, answers.Waiting);
    }

    [Fact]
    public async Task A_call_not_answered_within_its_hold_ends_cancelled_and_its_late_answer_answers_nothing()
    {
        var entity = CreateTestProbe();
        using var answers = new ReplyAddresses(Sys, TimeSpan.FromMilliseconds(100), CancellationToken.None);
        var first = answers.AskAsync(entity, new Command(1)).AsTask();
        entity.ExpectMsg<Command>();
        var late = entity.LastSender;
        var timedOut = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Contains("did not answer in time", timedOut.Message);
        Assert.Equal(0, answers.Waiting);

        var second = answers.AskAsync(entity, new Command(2)).AsTask();
        entity.ExpectMsg<Command>();
        late.Tell(new Reply(1));
        Assert.False(second.IsCompleted);
        entity.LastSender.Tell(new Reply(2));
        Assert.Equal(2, ((Reply)await second).N);
    }

    [Fact]
    public async Task Calls_whose_connection_ends_end_cancelled_and_no_call_is_asked_after()
    {
        var entity = CreateTestProbe();
        using var served = new CancellationTokenSource();
        using var answers = new ReplyAddresses(Sys, Long, served.Token);
        var asked = new[] { answers.AskAsync(entity, new Command(1)).AsTask(), answers.AskAsync(entity, new Command(2)).AsTask() };
        entity.ExpectMsg<Command>();
        entity.ExpectMsg<Command>();
        await served.CancelAsync();
        foreach (var call in asked)
            Assert.Contains("caller ended", (await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call)).Message);
        Assert.ThrowsAny<OperationCanceledException>(() => { _ = answers.AskAsync(entity, new Command(3)).AsTask(); });
        entity.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_failure_sent_to_a_call_s_address_ends_that_call_with_its_cause()
    {
        var entity = CreateTestProbe();
        using var answers = new ReplyAddresses(Sys, Long, CancellationToken.None);
        var asked = answers.AskAsync(entity, new Command(1)).AsTask();
        entity.ExpectMsg<Command>();
        entity.LastSender.Tell(new Status.Failure(new InvalidOperationException("the region is shutting down")));
        Assert.Equal("the region is shutting down", (await Assert.ThrowsAsync<InvalidOperationException>(() => asked)).Message);
    }

    [Fact]
    public void An_entity_s_call_tells_it_the_answer_once_or_the_error_once_its_hold_runs_out()
    {
        var entity = CreateTestProbe();
        var caller = CreateTestProbe();
        var replies = ReplyAddresses.ForEntities(Sys, TimeSpan.FromMilliseconds(300));
        Assert.Same(replies, ReplyAddresses.ForEntities(Sys, TimeSpan.FromMilliseconds(300)));
        Assert.NotSame(replies, ReplyAddresses.ForEntities(Sys, TimeSpan.FromSeconds(20)));

        replies.Ask(entity, new Command(1), (answer, error) => caller.Ref.Tell((answer, error?.Message)));
        entity.ExpectMsg<Command>();
        entity.LastSender.Tell(new Reply(1));
        entity.LastSender.Tell(new Reply(2));
        Assert.Equal((new Reply(1), (string?)null), caller.ExpectMsg<(object?, string?)>());

        replies.Ask(entity, new Command(2), (answer, error) => caller.Ref.Tell((answer, error?.Message)));
        entity.ExpectMsg<Command>();
        var (late, message) = caller.ExpectMsg<(object?, string?)>();
        Assert.Null(late);
        Assert.Contains("did not answer in time", message);
        entity.LastSender.Tell(new Reply(3));
        caller.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, replies.Waiting);
    }

    [Fact]
    public async Task An_address_is_reached_by_its_path_only_while_its_call_is_waited_for()
    {
        var entity = CreateTestProbe();
        var provider = ((ExtendedActorSystem)Sys).Provider;
        var answers = new ReplyAddresses(Sys, Long, CancellationToken.None);
        var asked = answers.AskAsync(entity, new Command(1)).AsTask();
        entity.ExpectMsg<Command>();
        var path = entity.LastSender.Path.ToSerializationFormatWithAddress(provider.DefaultAddress);
        var connection = answers.Path.ToSerializationFormatWithAddress(provider.DefaultAddress);

        // A stranger guessing another number, or no number, reaches no call.
        Unreachable(provider.ResolveActorRef(connection + "/2"));
        Unreachable(provider.ResolveActorRef(connection + "/one"));
        Unreachable(provider.ResolveActorRef(connection + "/1/1"));
        // Told to the connection's own path, a message answers no call.
        provider.ResolveActorRef(connection).Tell(new Reply(0));
        Assert.False(asked.IsCompleted);

        provider.ResolveActorRef(path).Tell(new Reply(1));
        Assert.Equal(1, ((Reply)await asked).N);
        // Answered, the address leads nowhere: a replayed answer cannot reach a later call.
        Unreachable(provider.ResolveActorRef(path));
        var next = answers.AskAsync(entity, new Command(2)).AsTask();
        entity.ExpectMsg<Command>();
        provider.ResolveActorRef(path).Tell(new Reply(1));
        Assert.False(next.IsCompleted);
        answers.Dispose();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);
        Unreachable(provider.ResolveActorRef(connection));
    }

    /// <summary>A path that leads to no actor resolves to one that takes messages as dead letters.</summary>
    private static void Unreachable(IActorRef resolved) => Assert.True(resolved is EmptyLocalActorRef or Nobody, $"{resolved} is reachable");
}
