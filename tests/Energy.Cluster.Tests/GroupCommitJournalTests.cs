using Akka.Actor;
using Akka.Configuration;
using System.Collections.Immutable;
using Akka.Persistence;
using Akka.Streams;
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

    [Fact]
    public async Task Events_the_journal_inserts_itself_replay_and_query_through_the_plugin_in_order()
    {
        // 300 events: more than recovery prefetches, so the new incarnation replays them through the plugin's reads.
        var id = "own-insert-" + Guid.NewGuid().ToString("N");
        Sys.ActorOf(Props.Create(() => new Filler(id))).Tell(300);
        ExpectMsg<string>("written");
        var again = Sys.ActorOf(Props.Create(() => new Filler(id)));
        again.Tell(Filler.Report.Instance);
        var recovered = ExpectMsg<string[]>();
        Assert.Equal(Enumerable.Range(0, 300).Select(Filler.Event), recovered);

        var query = Akka.Persistence.Query.PersistenceQuery.Get(Sys)
            .ReadJournalFor<Akka.Persistence.Sql.Query.SqlReadJournal>(Akka.Persistence.Sql.Query.SqlReadJournal.Identifier);
        var read = await query.CurrentEventsByPersistenceId(id, 0, long.MaxValue)
            .RunAggregate(new List<(long, object)>(), (all, e) => { all.Add((e.SequenceNr, e.Event)); return all; }, Sys.Materializer());
        Assert.Equal(Enumerable.Range(0, 300).Select(i => ((long)i + 1, (object)Filler.Event(i))), read);
    }

    [Fact]
    public async Task A_failed_insert_fails_every_write_of_its_transaction_and_leaves_none_of_them_behind()
    {
        var journalConfig = JournalStarted();
        using var writer = SqliteJournalWriter.For(journalConfig, (ExtendedActorSystem)Sys)!;
        Assert.NotNull(writer);
        var (kept, clashing, innocent) = ("kept-" + Guid.NewGuid().ToString("N"), "clash-" + Guid.NewGuid().ToString("N"), "innocent-" + Guid.NewGuid().ToString("N"));
        Assert.Null(await writer.WriteAsync([Write(kept, 1, "first"), Write(clashing, 1, "first")]));

        // The second write of this batch repeats a sequence number already stored: the transaction fails as a whole.
        await Assert.ThrowsAnyAsync<Microsoft.Data.Sqlite.SqliteException>(() => writer.WriteAsync([Write(innocent, 1, "lost"), Write(clashing, 1, "again")]));
        // The writer goes on after a failed transaction, on a fresh connection.
        Assert.Null(await writer.WriteAsync([Write(kept, 2, "second")]));

        var query = Akka.Persistence.Query.PersistenceQuery.Get(Sys)
            .ReadJournalFor<Akka.Persistence.Sql.Query.SqlReadJournal>(Akka.Persistence.Sql.Query.SqlReadJournal.Identifier);
        async Task<List<object>> Events(string id) => await query.CurrentEventsByPersistenceId(id, 0, long.MaxValue)
            .RunAggregate(new List<object>(), (all, e) => { all.Add(e.Event); return all; }, Sys.Materializer());
        Assert.Empty(await Events(innocent));
        Assert.Equal(["first"], await Events(clashing));
        Assert.Equal(["first", "second"], await Events(kept));
    }

    [Fact]
    public async Task An_event_that_cannot_be_serialized_rejects_its_own_write_only()
    {
        var journalConfig = JournalStarted();
        using var writer = SqliteJournalWriter.For(journalConfig, (ExtendedActorSystem)Sys)!;
        var (good, bad) = ("good-" + Guid.NewGuid().ToString("N"), "bad-" + Guid.NewGuid().ToString("N"));
        var unserializable = new AtomicWrite(ImmutableList.Create<IPersistentRepresentation>(
            new Persistent("fine", 1, bad), new Persistent(new Unserializable(), 2, bad)));

        var rejections = await writer.WriteAsync([Write(good, 1, "kept"), unserializable]);

        Assert.NotNull(rejections);
        Assert.Null(rejections[0]);
        Assert.NotNull(rejections[1]);
        var query = Akka.Persistence.Query.PersistenceQuery.Get(Sys)
            .ReadJournalFor<Akka.Persistence.Sql.Query.SqlReadJournal>(Akka.Persistence.Sql.Query.SqlReadJournal.Identifier);
        Assert.Equal(1, await query.CurrentEventsByPersistenceId(good, 0, long.MaxValue).RunAggregate(0, (n, _) => n + 1, Sys.Materializer()));
        Assert.Equal(0, await query.CurrentEventsByPersistenceId(bad, 0, long.MaxValue).RunAggregate(0, (n, _) => n + 1, Sys.Materializer()));
    }

    [Fact]
    public async Task Batches_handed_while_a_transaction_is_held_up_are_committed_together_in_their_order()
    {
        var journalConfig = JournalStarted();
        using var writer = SqliteJournalWriter.For(journalConfig, (ExtendedActorSystem)Sys)!;
        var id = "together-" + Guid.NewGuid().ToString("N");
        List<Task<IImmutableList<Exception>>> handed;
        // Another connection holds the database's write lock: the writer's first transaction waits, and what is handed meanwhile queues.
        await using (var blocker = new Microsoft.Data.Sqlite.SqliteConnection(journalConfig.GetString("connection-string")))
        {
            await using var held = await WriteLockHeldAsync(blocker);
            handed = Enumerable.Range(1, 5).Select(n => writer.WriteAsync([Write(id, n, $"event {n}")])).ToList();
            Assert.All(handed, t => Assert.False(t.IsCompleted));
            await held.RollbackAsync();
        }

        Assert.All(await Task.WhenAll(handed), Assert.Null);
        // The first batch may have started its transaction alone; the four behind it went together.
        Assert.InRange(writer.Transactions, 1, 2);
        Assert.Equal(Enumerable.Range(1, 5).Select(n => (object)$"event {n}"), await Events(id));
    }

    [Fact]
    public async Task A_batch_that_fails_among_batches_committed_together_fails_alone()
    {
        var journalConfig = JournalStarted();
        using var writer = SqliteJournalWriter.For(journalConfig, (ExtendedActorSystem)Sys)!;
        var (first, clashing, after) = ("first-" + Guid.NewGuid().ToString("N"), "clash-" + Guid.NewGuid().ToString("N"), "after-" + Guid.NewGuid().ToString("N"));
        Assert.Null(await writer.WriteAsync([Write(clashing, 1, "stored")]));
        Task<IImmutableList<Exception>>[] handed;
        await using (var blocker = new Microsoft.Data.Sqlite.SqliteConnection(journalConfig.GetString("connection-string")))
        {
            await using var held = await WriteLockHeldAsync(blocker);
            // The middle batch repeats a sequence number already stored, and queues between two that do not.
            handed = [writer.WriteAsync([Write(first, 1, "kept")]), writer.WriteAsync([Write(clashing, 1, "again")]), writer.WriteAsync([Write(after, 1, "kept")])];
            await held.RollbackAsync();
        }

        Assert.Null(await handed[0]);
        await Assert.ThrowsAnyAsync<Microsoft.Data.Sqlite.SqliteException>(() => handed[1]);
        Assert.Null(await handed[2]);
        Assert.Equal(["kept"], await Events(first));
        Assert.Equal(["stored"], await Events(clashing));
        Assert.Equal(["kept"], await Events(after));
    }

    [Fact]
    public async Task A_write_waits_for_a_lock_held_longer_than_SQLite_waits_and_is_written()
    {
        var journalConfig = JournalStarted();
        using var writer = SqliteJournalWriter.For(journalConfig, (ExtendedActorSystem)Sys)!;
        var id = "held-" + Guid.NewGuid().ToString("N");
        Task<IImmutableList<Exception>> handed;
        await using (var blocker = new Microsoft.Data.Sqlite.SqliteConnection(journalConfig.GetString("connection-string")))
        {
            await using var held = await WriteLockHeldAsync(blocker);
            handed = writer.WriteAsync([Write(id, 1, "waited")]);
            // Held twice as long as SQLite's own wait for a lock: the writer asks again rather than failing the write.
            await Task.Delay(TimeSpan.FromMilliseconds(2 * EnergyConfig.SqliteBusyTimeoutMs));
            Assert.False(handed.IsCompleted);
            await held.RollbackAsync();
        }

        Assert.Null(await handed);
        Assert.Equal(["waited"], await Events(id));
    }

    /// <summary>A transaction on <paramref name="blocker"/> that holds the database's write lock until it ends.</summary>
    internal static async Task<Microsoft.Data.Sqlite.SqliteTransaction> WriteLockHeldAsync(Microsoft.Data.Sqlite.SqliteConnection blocker)
    {
        await blocker.OpenAsync();
        var held = (Microsoft.Data.Sqlite.SqliteTransaction)await blocker.BeginTransactionAsync();
        await using var take = blocker.CreateCommand();
        take.Transaction = held;
        take.CommandText = "DELETE FROM event_journal WHERE persistence_id = 'nobody'";
        await take.ExecuteNonQueryAsync();
        return held;
    }

    private async Task<List<object>> Events(string id)
    {
        var query = Akka.Persistence.Query.PersistenceQuery.Get(Sys)
            .ReadJournalFor<Akka.Persistence.Sql.Query.SqlReadJournal>(Akka.Persistence.Sql.Query.SqlReadJournal.Identifier);
        return await query.CurrentEventsByPersistenceId(id, 0, long.MaxValue)
            .RunAggregate(new List<object>(), (all, e) => { all.Add(e.Event); return all; }, Sys.Materializer());
    }

    /// <summary>Starts the journal (which creates its tables) by one entity's write; its configuration.</summary>
    private Config JournalStarted()
    {
        Sys.ActorOf(Props.Create(() => new Filler("start-" + Guid.NewGuid().ToString("N")))).Tell(1);
        ExpectMsg<string>("written");
        return Sys.Settings.Config.GetConfig("akka.persistence.journal.sql");
    }

    private static AtomicWrite Write(string id, long sequenceNr, string payload) =>
        new(ImmutableList.Create<IPersistentRepresentation>(new Persistent(payload, sequenceNr, id)));

    /// <summary>No serializer can write it: its property throws when read.</summary>
    private sealed class Unserializable
    {
        public string Value => throw new InvalidOperationException("not serializable");
    }

    private sealed class Filler : ReceivePersistentActor
    {
        public Filler(string id)
        {
            PersistenceId = id;
            Recover<string>(e => _events.Add(e));
            Command<int>(count =>
            {
                var sender = Sender;
                PersistAll(Enumerable.Range(0, count).Select(Event), _ => { });
                DeferAsync("written", done => sender.Tell(done));
            });
            Command<Report>(_ => Sender.Tell(_events.ToArray()));
        }

        private readonly List<string> _events = [];

        public override string PersistenceId { get; }

        /// <summary>The i-th event: 2 KB, its number first so that an order or a loss shows.</summary>
        public static string Event(int i) => i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture) + new string((char)('a' + i % 26), 2_043);

        public sealed record Report
        {
            public static readonly Report Instance = new();
        }
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

    [Fact]
    public void A_request_is_answered_event_by_event_in_its_order_with_each_event_s_sender_and_then_as_a_whole_once_durable()
    {
        // A request as an entity sends it: two atomic writes, each event with the sender of the command that persisted it.
        var id = "protocol-" + Guid.NewGuid().ToString("N");
        var (entity, first, second) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var writer = Guid.NewGuid().ToString("N");
        IPersistentRepresentation Event(long n, IActorRef sender) => new Persistent((int)n, n, id, string.Empty, false, sender, writer);
        var journal = Persistence.Instance.Apply(Sys).JournalFor(null);
        // A list, as an entity hands over its batch.
        List<IPersistentEnvelope> handed = [new AtomicWrite(Event(1, first.Ref)), new AtomicWrite(Event(2, second.Ref))];
        journal.Tell(new WriteMessages(handed, entity.Ref, 7));

        var one = entity.ExpectMsg<WriteMessageSuccess>();
        Assert.Equal((1L, 1, 7), (one.Persistent.SequenceNr, (int)one.Persistent.Payload, one.ActorInstanceId));
        Assert.Equal(first.Ref, entity.LastSender);
        Assert.Equal(2L, entity.ExpectMsg<WriteMessageSuccess>().Persistent.SequenceNr);
        Assert.Equal(second.Ref, entity.LastSender);
        entity.ExpectMsg<WriteMessagesSuccessful>();
        // Answered, the handed list holds nothing: a dead list that grew old keeps no events alive through young collections.
        Assert.Empty(handed);

        // Answered means durable: a new incarnation recovers both events.
        var again = Sys.ActorOf(Props.Create(() => new Writer(id)));
        again.Tell(Writer.Report.Instance);
        Assert.Equal("1,2", ExpectMsg<Recovered>().Events);
    }

    [Fact]
    public void A_second_incarnation_writing_over_the_first_is_refused_and_recovery_replays_only_the_first_writer()
    {
        // Two incarnations of one entity at once, as while a shard moves between nodes: both start from the same history.
        var id = "twice-" + Guid.NewGuid().ToString("N");
        var first = Sys.ActorOf(Props.Create(() => new Writer(id)));
        var second = Sys.ActorOf(Props.Create(() => new Writer(id)));
        foreach (var writer in new[] { first, second })
        {
            writer.Tell(Writer.Report.Instance);
            Assert.Equal("", ExpectMsg<Recovered>().Events);
        }

        first.Tell(1);
        Assert.Equal(new Written(id, 1), ExpectMsg<Written>());
        // The second writes the same sequence number: the journal refuses it, and the incarnation stops unanswered.
        Watch(second);
        second.Tell(2);
        ExpectTerminated(second);

        // So a replay never holds two writers' events at one number (what Akka's replay filter would have had to drop).
        var again = Sys.ActorOf(Props.Create(() => new Writer(id)));
        again.Tell(Writer.Report.Instance);
        Assert.Equal("1", ExpectMsg<Recovered>().Events);
    }

    internal sealed record Written(string Id, long SequenceNr);

    internal sealed record Recovered(string Id, string Events);

    /// <summary>Persists the numbers it is told and answers each once durable; reports what it recovered and wrote.</summary>
    internal sealed class Writer : ReceivePersistentActor
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

public sealed class GatheredWriteIsolationOnSqlite(ITestOutputHelper output) : GatheredWriteIsolationTests(TestStores.Sqlite(), output);

public sealed class GatheredWriteIsolationOnPostgreSql(ITestOutputHelper output) : GatheredWriteIsolationTests(TestStores.PostgreSql(), output);

/// <summary>
/// Two entities' writes gathered into one transaction, one of them refused by the database: only that one fails. The
/// journal here gathers exactly two writes per transaction (it waits up to 30 s for the second), so which writes share a
/// transaction does not depend on timing.
/// </summary>
public abstract class GatheredWriteIsolationTests(NodeOptions node, ITestOutputHelper output)
    : TestKit(Akka.Actor.Setup.ActorSystemSetup.Create([BootstrapSetup.Create().WithConfig(
            ConfigurationFactory.ParseString("""
                akka.persistence.journal.sql {
                  group-commit-max-writes = 2
                  group-commit-window = 30s
                  group-commit-busy-backlog = 0
                }
                akka.loglevel = WARNING
                akka.test.single-expect-default = 20s
                """).WithFallback(EnergyConfig.Build(node))),
        .. EnergyConfig.Setups(node)]), "energy", output)
{
    [Fact]
    public void A_write_refused_in_a_gathered_transaction_fails_alone_and_the_other_entitys_write_is_kept()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        // Two incarnations of one entity, both started from an empty history, and two other entities.
        var first = Sys.ActorOf(Props.Create(() => new GroupCommitJournalTests.Writer($"clash-{run}")));
        var stale = Sys.ActorOf(Props.Create(() => new GroupCommitJournalTests.Writer($"clash-{run}")));
        var partner = Sys.ActorOf(Props.Create(() => new GroupCommitJournalTests.Writer($"partner-{run}")));
        var innocent = Sys.ActorOf(Props.Create(() => new GroupCommitJournalTests.Writer($"innocent-{run}")));
        foreach (var entity in new[] { first, stale, partner, innocent })
        {
            entity.Tell(GroupCommitJournalTests.Writer.Report.Instance);
            Assert.Equal("", ExpectMsg<GroupCommitJournalTests.Recovered>().Events);
        }

        // One transaction: the first incarnation's event 1 and the partner's.
        first.Tell(1);
        partner.Tell(1);
        Assert.All(ReceiveN(2).Cast<GroupCommitJournalTests.Written>(), written => Assert.Equal(1, written.SequenceNr));

        // One transaction: the stale incarnation's event 1, a number already stored, and the innocent entity's.
        Watch(stale);
        stale.Tell(2);
        innocent.Tell(3);
        // In either order, as the two writes were gathered: the innocent entity is answered, the stale one stops unanswered.
        var outcomes = ReceiveN(2);
        Assert.Single(outcomes, outcome => outcome is GroupCommitJournalTests.Written { Id: var id } && id == $"innocent-{run}");
        Assert.Single(outcomes, outcome => outcome is Terminated terminated && terminated.ActorRef.Equals(stale));

        var again = Sys.ActorOf(Props.Create(() => new GroupCommitJournalTests.Writer($"innocent-{run}")));
        again.Tell(GroupCommitJournalTests.Writer.Report.Instance);
        Assert.Equal("3", ExpectMsg<GroupCommitJournalTests.Recovered>().Events);
        var clash = Sys.ActorOf(Props.Create(() => new GroupCommitJournalTests.Writer($"clash-{run}")));
        clash.Tell(GroupCommitJournalTests.Writer.Report.Instance);
        Assert.Equal("1", ExpectMsg<GroupCommitJournalTests.Recovered>().Events);
    }
}

/// <summary>
/// A gathered write that outlasts the journal's timeout (1 s here) while another connection holds SQLite's write lock:
/// its entity is told the write failed, yet the transaction is still queued and commits once the lock is released. No
/// incarnation of the entity may read its history before that: it would miss the late events and write over them.
/// </summary>
public sealed class LateWriteOnSqlite(ITestOutputHelper output) : LateWriteTests(TestStores.Sqlite(), output);

public abstract class LateWriteTests(NodeOptions node, ITestOutputHelper output)
    : TestKit(Akka.Actor.Setup.ActorSystemSetup.Create([BootstrapSetup.Create().WithConfig(
            ConfigurationFactory.ParseString("""
                akka.persistence.journal.sql.circuit-breaker.call-timeout = 1s
                akka.loglevel = WARNING
                akka.test.single-expect-default = 20s
                """).WithFallback(EnergyConfig.Build(node))),
        .. EnergyConfig.Setups(node)]), "energy", output)
{
    [Fact]
    public async Task A_write_that_ran_out_of_time_holds_back_its_entity_s_recovery_until_it_ends_and_the_recovery_replays_it()
    {
        // The journal's tables exist once one entity has written.
        var starter = Sys.ActorOf(Props.Create(() => new GroupCommitJournalTests.Writer("late-start-" + Guid.NewGuid().ToString("N"))));
        starter.Tell(1);
        ExpectMsg<GroupCommitJournalTests.Written>();

        var id = "late-" + Guid.NewGuid().ToString("N");
        var entity = CreateTestProbe();
        var writer = Guid.NewGuid().ToString("N");
        IPersistentRepresentation Event(long n) => new Persistent((int)n, n, id, string.Empty, false, entity.Ref, writer);
        var journal = Persistence.Instance.Apply(Sys).JournalFor(null);
        await using var blocker = new Microsoft.Data.Sqlite.SqliteConnection(Sys.Settings.Config.GetString("akka.persistence.journal.sql.connection-string"));
        await using var held = await GroupCommitJournalOnSqlite.WriteLockHeldAsync(blocker);

        journal.Tell(new WriteMessages([new AtomicWrite(Event(1)), new AtomicWrite(Event(2))], entity.Ref, 1));
        Assert.IsType<TimeoutException>(entity.ExpectMsg<WriteMessageFailure>().Cause);
        entity.ExpectMsg<WriteMessageFailure>();
        entity.ExpectMsg<WriteMessagesFailed>();

        // A new incarnation asks for its history while the timed-out write still waits for the lock. Its read waits for that
        // write, past the read's own timeout: the recovery fails and the incarnation stops, having read nothing (an empty
        // history read now would be answered with a Recovered of no events before the Terminated).
        var early = Sys.ActorOf(Props.Create(() => new GroupCommitJournalTests.Writer(id)));
        Watch(early);
        early.Tell(GroupCommitJournalTests.Writer.Report.Instance);
        ExpectTerminated(early);

        // The lock goes and the late write commits: the next incarnation replays both its events and writes after them.
        await held.RollbackAsync();
        var again = Sys.ActorOf(Props.Create(() => new GroupCommitJournalTests.Writer(id)));
        again.Tell(GroupCommitJournalTests.Writer.Report.Instance);
        Assert.Equal("1,2", ExpectMsg<GroupCommitJournalTests.Recovered>().Events);
        again.Tell(3);
        Assert.Equal(new GroupCommitJournalTests.Written(id, 3), ExpectMsg<GroupCommitJournalTests.Written>());
    }
}
