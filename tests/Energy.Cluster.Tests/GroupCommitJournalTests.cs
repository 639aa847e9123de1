using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using Energy.Cluster.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

public sealed class GroupCommitJournalOnSqlite(ITestOutputHelper output) : GroupCommitJournalTests(TestStores.Sqlite(), output);

public sealed class GroupCommitJournalOnPostgreSql(ITestOutputHelper output) : GroupCommitJournalTests(TestStores.PostgreSql(), output);

/// <summary>
/// Many entities writing at once through the group-commit journal: each is answered only after its
/// events are written, in its own order, and a new incarnation recovers exactly what was answered.
/// </summary>
public abstract class GroupCommitJournalTests(NodeOptions node, ITestOutputHelper output)
    : TestKit(EnergyConfig.Build(node).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.test.single-expect-default = 20s")), "energy", output)
{
    private const int Entities = 200;
    private const int EventsEach = 5;

    [Fact]
    public void Concurrent_writers_are_each_answered_after_their_events_are_durable_and_recover_them_in_order()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var writers = Enumerable.Range(0, Entities).Select(i => Sys.ActorOf(Props.Create(() => new Writer($"gc-{run}-{i}")))).ToArray();
        // Every writer persists all its events without waiting: the journal sees many entities at once.
        for (var e = 1; e <= EventsEach; e++)
            foreach (var writer in writers) writer.Tell(e);
        var acknowledged = ReceiveN(Entities * EventsEach).Cast<Written>().ToArray();
        Assert.All(acknowledged.GroupBy(a => a.Id), g => Assert.Equal(Enumerable.Range(1, EventsEach).Select(n => (long)n), g.Select(a => a.SequenceNr)));

        foreach (var writer in writers) Watch(writer);
        foreach (var writer in writers) writer.Tell(PoisonPill.Instance);
        for (var i = 0; i < Entities; i++) ExpectMsg<Terminated>();

        // New incarnations replay from the store what the old ones were answered for, in order.
        var again = Enumerable.Range(0, Entities).Select(i => Sys.ActorOf(Props.Create(() => new Writer($"gc-{run}-{i}")))).ToArray();
        foreach (var writer in again) writer.Tell(Writer.Report.Instance);
        var recovered = ReceiveN(Entities).Cast<Recovered>().ToArray();
        Assert.Equal(Entities, recovered.Select(r => r.Id).Distinct().Count());
        Assert.All(recovered, r => Assert.Equal(string.Join(",", Enumerable.Range(1, EventsEach)), r.Events));
    }

    private sealed record Written(string Id, long SequenceNr);

    private sealed record Recovered(string Id, string Events);

    private sealed class Writer : ReceivePersistentActor
    {
        private readonly List<int> _events = [];

        public Writer(string id)
        {
            PersistenceId = id;
            Recover<int>(e => _events.Add(e));
            Command<int>(e =>
            {
                var sender = Sender;
                PersistAsync(e, persisted =>
                {
                    _events.Add(persisted);
                    sender.Tell(new Written(PersistenceId, LastSequenceNr));
                });
            });
            Command<Report>(_ => Sender.Tell(new Recovered(PersistenceId, string.Join(",", _events))));
        }

        public override string PersistenceId { get; }

        public sealed record Report
        {
            public static readonly Report Instance = new();
        }
    }
}
