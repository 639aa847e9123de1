using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using Energy.Cluster.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

public sealed class GroupCommitJournalOnSqlite : GroupCommitJournalTests
{
    private readonly NodeOptions _node;

    public GroupCommitJournalOnSqlite(ITestOutputHelper output) : this(TestStores.Sqlite(), output)
    {
    }

    private GroupCommitJournalOnSqlite(NodeOptions node, ITestOutputHelper output) : base(node, output) => _node = node;

    [Fact]
    public void The_write_ahead_log_is_checkpointed_into_the_database_file_without_a_commit_doing_it()
    {
        // Commits never checkpoint (wal_autocheckpoint=0), so only the journal's own checkpointer can move
        // these 2 MB out of the log into the database file.
        var id = "checkpoint-" + Guid.NewGuid().ToString("N");
        var filler = Sys.ActorOf(Props.Create(() => new Filler(id)));
        filler.Tell(1_000);
        ExpectMsg<string>("written");
        var database = Path.Combine(Path.GetFullPath(_node.DataDirectory), "energy.db");
        AwaitAssert(() => Assert.True(new FileInfo(database).Length > 2_000_000, $"the database file holds {new FileInfo(database).Length} bytes, log {new FileInfo(database + "-wal").Length}"),
            TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
    }

    private sealed class Filler : ReceivePersistentActor
    {
        public Filler(string id)
        {
            PersistenceId = id;
            Recover<string>(_ => { });
            Command<int>(count =>
            {
                var sender = Sender;
                PersistAll(Enumerable.Range(0, count).Select(i => new string((char)('a' + i % 26), 2_048)), _ => { });
                DeferAsync("written", done => sender.Tell(done));
            });
        }

        public override string PersistenceId { get; }
    }
}

public sealed class GroupCommitJournalOnPostgreSql(ITestOutputHelper output) : GroupCommitJournalTests(TestStores.PostgreSql(), output);

/// <summary>
/// Many entities writing at once through the group-commit journal (set up as a node sets it up): each is
/// answered only after its events are written, in its own order, and a new incarnation recovers exactly
/// what was answered.
/// </summary>
public abstract class GroupCommitJournalTests(NodeOptions node, ITestOutputHelper output)
    : TestKit(Akka.Actor.Setup.ActorSystemSetup.Create([BootstrapSetup.Create().WithConfig(
            EnergyConfig.Build(node).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.test.single-expect-default = 20s"))),
        .. EnergyConfig.Setups(node)]), "energy", output)
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
