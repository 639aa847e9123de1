using System.Text.Json;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.TestKit.Xunit2;
using Energy.Cluster.Gateway;
using Energy.Lifecycles.ChargePoints;
using Xunit;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// A connection's calls to its charge point's entity, one at a time and numbered: only the answer carrying the number
/// waited for answers the call, so an answer that comes after its call was given up never answers the next one; a call
/// not answered within its hold, or whose connection ends, ends cancelled; the reference is reachable by its path as a
/// reply from another node would reach it.
/// </summary>
public sealed class ChargePointAnswersTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly JsonElement Empty = JsonDocument.Parse("{}").RootElement;

    private static ChargePointResponse Answer(string status, long call) =>
        new(JsonDocument.Parse($$"""{"status":"{{status}}"}""").RootElement, null, null) { Call = call };

    [Fact]
    public async Task Each_call_is_numbered_and_ended_by_the_answer_carrying_its_number()
    {
        var entity = CreateTestProbe();
        using var answers = new ChargePointAnswers(Sys, CancellationToken.None);
        for (var n = 1; n <= 3; n++)
        {
            var asked = answers.AskAsync(entity, "cp-1", "Heartbeat", Empty, TimeSpan.FromSeconds(20)).AsTask();
            var request = entity.ExpectMsg<ChargePointRequest>();
            Assert.Equal(("cp-1", "Heartbeat", (long)n), (request.ChargePoint, request.Action, request.Call));
            Assert.Same(answers, entity.LastSender);
            entity.LastSender.Tell(Answer("Accepted", request.Call + 1));
            entity.LastSender.Tell(Answer("Accepted", 0));
            Assert.False(asked.IsCompleted);
            entity.LastSender.Tell(Answer("Accepted", request.Call));
            Assert.Equal(request.Call, (await asked).Call);
        }
    }

    [Fact]
    public async Task A_call_not_answered_within_its_hold_ends_cancelled_and_its_late_answer_does_not_answer_the_next_call()
    {
        var entity = CreateTestProbe();
        using var answers = new ChargePointAnswers(Sys, CancellationToken.None);
        var first = answers.AskAsync(entity, "cp-1", "MeterValues", Empty, TimeSpan.FromMilliseconds(100)).AsTask();
        var firstRequest = entity.ExpectMsg<ChargePointRequest>();
        var timedOut = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.Contains("did not answer in time", timedOut.Message);

        var second = answers.AskAsync(entity, "cp-1", "MeterValues", Empty, TimeSpan.FromSeconds(20)).AsTask();
        var secondRequest = entity.ExpectMsg<ChargePointRequest>();
        entity.LastSender.Tell(Answer("Late", firstRequest.Call));
        Assert.False(second.IsCompleted);
        entity.LastSender.Tell(Answer("OnTime", secondRequest.Call));
        Assert.Equal("OnTime", (await second).Payload!.Value.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_call_whose_connection_ends_ends_cancelled_and_no_call_is_asked_after()
    {
        var entity = CreateTestProbe();
        using var served = new CancellationTokenSource();
        using var answers = new ChargePointAnswers(Sys, served.Token);
        var asked = answers.AskAsync(entity, "cp-1", "Heartbeat", Empty, TimeSpan.FromSeconds(20)).AsTask();
        entity.ExpectMsg<ChargePointRequest>();
        await served.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => asked);
        Assert.ThrowsAny<OperationCanceledException>(() => { _ = answers.AskAsync(entity, "cp-1", "Heartbeat", Empty, TimeSpan.FromSeconds(20)).AsTask(); });
        entity.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_second_call_while_one_is_waited_for_is_refused()
    {
        var entity = CreateTestProbe();
        using var answers = new ChargePointAnswers(Sys, CancellationToken.None);
        var waited = answers.AskAsync(entity, "cp-1", "Heartbeat", Empty, TimeSpan.FromSeconds(20)).AsTask();
        Assert.Throws<InvalidOperationException>(() => { _ = answers.AskAsync(entity, "cp-1", "Heartbeat", Empty, TimeSpan.FromSeconds(20)).AsTask(); });
        Assert.False(waited.IsCompleted);
        entity.ExpectMsg<ChargePointRequest>();
        entity.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task The_answers_are_reached_by_their_path_while_the_connection_lives_and_not_after()
    {
        var entity = CreateTestProbe();
        var provider = ((ExtendedActorSystem)Sys).Provider;
        var answers = new ChargePointAnswers(Sys, CancellationToken.None);
        var path = answers.Path.ToSerializationFormatWithAddress(provider.DefaultAddress);
        var asked = answers.AskAsync(entity, "cp-1", "Heartbeat", Empty, TimeSpan.FromSeconds(20)).AsTask();
        var request = entity.ExpectMsg<ChargePointRequest>();
        provider.ResolveActorRef(path).Tell(Answer("Accepted", request.Call));
        Assert.Equal(request.Call, (await asked).Call);
        answers.Dispose();
        Assert.NotSame(answers, provider.ResolveActorRef(path));
    }
}

/// <summary>
/// Two charge points' connections calling their entities at once through a node, with the same call numbers (each
/// connection counts its own): each gets only its own entity's answers, and neither entity records the other's calls.
/// </summary>
public sealed class ChargePointAnswersBetweenTenantsTests(ITestOutputHelper output) : TestKit(output: output)
{
    [Fact]
    public async Task Two_charge_points_calling_at_once_each_get_only_their_own_entity_s_answers()
    {
        await using var ocpp = await OcppTestNode.StartAsync();
        var (node, network) = (ocpp.Node, ocpp.Network);
        var held = new HeldCalls(100, TimeSpan.FromSeconds(25));
        const int calls = 30;

        // The first starts transactions (each answer carries its transaction id, in order); the second only beats.
        async Task<List<JsonElement>> Call(string chargePoint, Func<int, ReadOnlyMemory<byte>> frame)
        {
            using var answers = new ChargePointAnswers(node.System, CancellationToken.None);
            var answered = new List<JsonElement>();
            for (var n = 1; n <= calls; n++)
                answered.Add(OcppTestNode.Parse(await OcppEndpoint.AnswerAsync(chargePoint, frame(n), network, held, answers, CancellationToken.None)));
            return answered;
        }
        var starting = Call("cp-tenant-a", n => OcppTestNode.Frame($"c{n}", "StartTransaction",
            new { connectorId = 1, idTag = "not-a-device", meterStart = 0, timestamp = "2027-01-15T08:00:00Z" }));
        var beating = Call("cp-tenant-b", n => OcppTestNode.Frame($"c{n}", "Heartbeat", new { }));
        await Task.WhenAll(starting, beating);

        Assert.Equal(Enumerable.Range(1, calls), (await starting).Select(a =>
        {
            Assert.Equal(3, a[0].GetInt32());
            Assert.False(a[2].TryGetProperty("currentTime", out _));
            return a[2].GetProperty("transactionId").GetInt32();
        }));
        Assert.All(await beating, a =>
        {
            Assert.Equal(3, a[0].GetInt32());
            Assert.True(a[2].TryGetProperty("currentTime", out _));
            Assert.False(a[2].TryGetProperty("transactionId", out _));
        });
        Assert.Equal((long)calls, await Started("cp-tenant-a"));
        Assert.Equal(0L, await Started("cp-tenant-b"));

        async Task<long> Started(string chargePoint) => await PersistenceQuery.Get(node.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByPersistenceId("charge-point-" + chargePoint, 0, long.MaxValue)
            .RunAggregate(0L, (n, e) => e.Event is TransactionStarted ? n + 1 : n, node.System.Materializer());
    }
}
