using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Energy.Cluster.Hosting;

/// <summary>
/// The journal's inserts on SQLite. The plugin writes a batch as multi-row inserts built for each batch anew: the
/// statement's text, a parameter object per value, each parameter found by name in a statement of hundreds. A CPU
/// profile of a node under load put a sixth of its samples there, beside very little in SQLite itself. SQLite is an
/// embedded library, not a server a round trip away: its fastest insert is one prepared single-row statement, run once per
/// row with its six values bound through SQLite's own interface, inside one transaction. This writer does that on a
/// connection it keeps, with the rows the plugin would write (the same columns of the table mapping, serializer,
/// manifest and timestamp), so that the plugin reads, replays and queries them as its own. Writes run in the order given, one transaction at a time; what
/// is handed while a transaction runs goes into the next one, together (at most <see cref="MaxRowsPerTransaction"/> rows),
/// so that a transaction held up (by a checkpoint that has the log, by the disk) is followed by one transaction rather
/// than by a queue of small ones, each paying for its commit and rewriting the index pages it touches. A failed
/// transaction leaves nothing behind; if it held several handed batches, each is written again on its own, so that only
/// a batch that fails on its own is failed (all of its writes). An event that cannot be serialized rejects its own write only.
/// </summary>
public sealed class SqliteJournalWriter : IDisposable
{
    private readonly string _connectionString;
    private readonly ExtendedActorSystem _system;
    private readonly string _insert;
    private readonly string _pragmas;
    private readonly SqliteCheckpointer? _checkpointer;
    private SqliteConnection? _connection;
    private Prepared? _prepared;

    private SqliteJournalWriter(string connectionString, ExtendedActorSystem system, RecoveryDatabase table, string pragmas,
        SqliteCheckpointer? checkpointer)
    {
        _connectionString = connectionString;
        _checkpointer = checkpointer;
        _system = system;
        _pragmas = pragmas;
        var c = table.Column;
        _drainer = new Drainer(this);
        _insert = $"INSERT INTO {table.Table} ({c("deleted")}, {c("persistence-id")}, {c("sequence-number")}, {c("created")}, "
            + $"{c("message")}, {c("manifest")}, {c("identifier")}) VALUES (0, ?1, ?2, ?3, ?4, ?5, ?6)";
    }

    /// <summary>
    /// A writer for the journal configured by <paramref name="journalConfig"/>, or null where the plugin writes: another
    /// store, a table mapping with columns this writer does not fill (tags or a writer's id in the journal's table), or
    /// a serializer named for the journal instead of the system's bindings. Between its transactions it starts the log over
    /// when <paramref name="checkpointer"/> finds it due.
    /// </summary>
    public static SqliteJournalWriter? For(Akka.Configuration.Config journalConfig, ExtendedActorSystem system,
        SqliteCheckpointer? checkpointer = null)
    {
        if (!journalConfig.GetString("provider-name", "").StartsWith("SQLite", StringComparison.OrdinalIgnoreCase)
            || journalConfig.GetString("table-mapping") != "sqlite"
            || journalConfig.GetBoolean("sqlite.journal.use-writer-uuid-column", false)
            || !string.IsNullOrEmpty(journalConfig.GetString("serializer", null))
            || !string.Equals(journalConfig.GetString("tag-write-mode", "TagTable"), "TagTable", StringComparison.OrdinalIgnoreCase))
            return null;
        return new SqliteJournalWriter(journalConfig.GetString("connection-string"), system, RecoveryDatabase.ForJournal(journalConfig),
            EnergyConfig.SqlitePragmas, checkpointer);
    }

    /// <summary>Whether every event of <paramref name="writes"/> is one this writer writes as the plugin would (none is tagged).</summary>
    public static bool Writes(IReadOnlyList<AtomicWrite> writes)
    {
        for (var i = 0; i < writes.Count; i++)
        {
            var events = Events(writes[i]);
            for (var e = 0; e < events.Count; e++)
            {
                if (events[e].Payload is Akka.Persistence.Journal.Tagged) return false;
            }
        }
        return true;
    }

    // Read by index: an enumerator through the interface would be an object per write.
    private static IImmutableList<IPersistentRepresentation> Events(AtomicWrite write) => (IImmutableList<IPersistentRepresentation>)write.Payload;

    /// <summary>The rows of one transaction, at most: handed batches beyond it wait for the next.</summary>
    public const int MaxRowsPerTransaction = 4_000;

    private readonly object _gate = new();
    private List<Handed> _handed = [];
    private bool _running;
    private int _transactions;
    private readonly Drainer _drainer;
    private readonly List<Row> _rows = [];

    /// <summary>Transactions committed (a test reads it).</summary>
    public int Transactions => Volatile.Read(ref _transactions);

    /// <summary>
    /// Writes <paramref name="writes"/> after every write handed before it, in the same transaction as the others handed
    /// while the one before ran. The answer holds, per write, null when it is durable or the exception that rejected it;
    /// the task fails when the writes cannot be committed.
    /// </summary>
    public Task<IImmutableList<Exception>> WriteAsync(IReadOnlyList<AtomicWrite> writes)
    {
        var handed = new Handed(writes);
        lock (_gate)
        {
            _handed.Add(handed);
            if (_running) return handed.Done.Task;
            _running = true;
        }
        ThreadPool.UnsafeQueueUserWorkItem(_drainer, preferLocal: false);
        return handed.Done.Task;
    }

    private void Drain()
    {
        while (true)
        {
            List<Handed> next;
            lock (_gate)
            {
                if (_handed.Count == 0)
                {
                    _running = false;
                    Monitor.PulseAll(_gate);
                    return;
                }
                next = Take();
            }
            try
            {
                WriteTogether(next);
            }
            catch (Exception e)
            {
                // Whatever WriteTogether did not answer fails, and the writer goes on with the next: no write waits forever.
                foreach (var handed in next) handed.Done.TrySetException(e);
            }
            // Answered already: the restart holds up the next transaction only, and no writer can take the lock meanwhile.
            if (_connection is not null) _checkpointer?.RestartIfDue(_connection);
        }
    }

    /// <summary>The handed batches at the head of the queue, up to the bound of rows (always at least one).</summary>
    private List<Handed> Take()
    {
        var taken = 0;
        var rows = 0;
        while (taken < _handed.Count && (taken == 0 || rows + _handed[taken].Rows <= MaxRowsPerTransaction)) rows += _handed[taken++].Rows;
        if (taken == _handed.Count)
        {
            var all = _handed;
            _handed = [];
            return all;
        }
        var head = _handed.GetRange(0, taken);
        _handed.RemoveRange(0, taken);
        return head;
    }

    private void WriteTogether(List<Handed> together)
    {
        try
        {
            var serialized = Akka.Serialization.Serialization.WithTransport(_system, (writer: this, together),
                static state => state.writer.Serialize(state.together));
            try
            {
                Insert(0, _rows.Count);
            }
            catch (Exception) when (together.Count > 1)
            {
                // Which batch failed the transaction is not known: each is written again on its own.
                for (var i = 0; i < together.Count; i++) WriteAlone(together[i], serialized[i]);
                return;
            }
            catch (Exception e)
            {
                together[0].Done.TrySetException(e);
                return;
            }
            for (var i = 0; i < together.Count; i++) together[i].Done.TrySetResult(serialized[i].Answer!);
        }
        finally
        {
            // The rows are the writer's, reused by the next transaction; their payloads are not kept until then.
            _rows.Clear();
        }
    }

    private void WriteAlone(Handed handed, Serialized serialized)
    {
        try
        {
            Insert(serialized.FirstRow, serialized.Rows);
            handed.Done.TrySetResult(serialized.Answer!);
        }
        catch (Exception e)
        {
            handed.Done.TrySetException(e);
        }
    }

    /// <summary>Each handed batch's rows, appended to the writer's rows in order, as the plugin would serialize them (with the transport's address).</summary>
    private Serialized[] Serialize(List<Handed> together)
    {
        var serialized = new Serialized[together.Count];
        var now = DateTime.UtcNow.Ticks;
        for (var i = 0; i < together.Count; i++) serialized[i] = Serialize(together[i].Writes, now);
        return serialized;
    }

    private Serialized Serialize(IReadOnlyList<AtomicWrite> writes, long now)
    {
        var firstRow = _rows.Count;
        Exception?[]? rejections = null;
        for (var i = 0; i < writes.Count; i++)
        {
            var first = _rows.Count;
            try
            {
                var events = Events(writes[i]);
                for (var e = 0; e < events.Count; e++) _rows.Add(Serialize(events[e], now));
            }
            catch (Exception e)
            {
                _rows.RemoveRange(first, _rows.Count - first);
                (rejections ??= new Exception?[writes.Count])[i] = e;
            }
        }
        // As the plugin answers: null when every write is durable, else one entry per write.
        return new(firstRow, _rows.Count - firstRow, rejections is null ? null : ImmutableList.Create<Exception>(rejections!));
    }

    private Row Serialize(IPersistentRepresentation persistent, long now)
    {
        var payload = persistent.Payload;
        var serializer = _system.Serialization.FindSerializerFor(payload);
        return new Row(persistent.PersistenceId, persistent.SequenceNr, persistent.Timestamp == 0 ? now : persistent.Timestamp,
            serializer.ToBinary(payload), Akka.Serialization.Serialization.ManifestFor(serializer, payload), serializer.Identifier);
    }

    /// <summary>Inserts <paramref name="count"/> of the writer's rows from <paramref name="first"/>, in one transaction.</summary>
    private void Insert(int first, int count)
    {
        try
        {
            var statements = Statements();
            Begin(statements.Begin);
            for (var r = first; r < first + count; r++)
            {
                var row = _rows[r];
                var insert = statements.Insert;
                BindText(insert, 1, row.PersistenceId);
                Check(raw.sqlite3_bind_int64(insert, 2, row.SequenceNr));
                Check(raw.sqlite3_bind_int64(insert, 3, row.Timestamp));
                // An empty span is bound as NULL: an empty payload is bound as what it is.
                Check(row.Payload.Length == 0 ? raw.sqlite3_bind_zeroblob(insert, 4, 0) : raw.sqlite3_bind_blob(insert, 4, row.Payload));
                BindText(insert, 5, row.Manifest);
                Check(raw.sqlite3_bind_int64(insert, 6, row.SerializerId));
                Step(insert);
            }
            Step(statements.Commit);
            Interlocked.Increment(ref _transactions);
        }
        catch
        {
            // A connection that failed (opening, preparing, mid-transaction) is not trusted with the next one; closing it
            // rolls back.
            Close();
            throw;
        }
    }

    /// <summary>How long the writer waits for the write lock, held by another writer, before its batch fails.</summary>
    public static readonly TimeSpan LockWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Takes the write lock. SQLite waits for it up to the connection's busy timeout; another writer (the snapshot store, a
    /// checkpoint) can hold it longer on a slow machine, so the writer asks again until <see cref="LockWait"/> has passed.
    /// </summary>
    private void Begin(sqlite3_stmt begin)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var result = raw.sqlite3_step(begin);
            raw.sqlite3_reset(begin);
            if (result == raw.SQLITE_DONE) return;
            if (result != raw.SQLITE_BUSY || waited.Elapsed >= LockWait) SqliteException.ThrowExceptionForRC(result, _connection!.Handle);
        }
    }

    /// <summary>Runs a statement to its end and resets it for its next run; an error is thrown as SQLite named it.</summary>
    private void Step(sqlite3_stmt statement)
    {
        var result = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (result != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(result, _connection!.Handle);
    }

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(result, _connection!.Handle);
    }

    // Text is bound from a buffer the writer keeps (SQLite copies it): no array per value.
    private void BindText(sqlite3_stmt statement, int index, string text)
    {
        if (text.Length == 0)
        {
            // An empty span is bound as NULL; an empty string through the interface that copies it.
            Check(raw.sqlite3_bind_text(statement, index, text));
            return;
        }
        var bytes = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        if (_text.Length < bytes) _text = new byte[Math.Max(bytes, _text.Length * 2)];
        var length = System.Text.Encoding.UTF8.GetBytes(text, _text);
        Check(raw.sqlite3_bind_text(statement, index, _text.AsSpan(0, length)));
    }

    private byte[] _text = new byte[256];

    /// <summary>
    /// The writer's statements, prepared once on its connection and run through SQLite's own interface: a statement run
    /// through Microsoft.Data.Sqlite makes a reader, an enumerator and a binder per parameter each time, and a UTF-8
    /// copy of every text, which was a sixth of what a node under load allocated.
    /// </summary>
    private Prepared Statements()
    {
        if (_prepared is not null) return _prepared;
        _connection = new SqliteConnection(_connectionString);
        _connection.Open();
        using (var pragmas = _connection.CreateCommand())
        {
            pragmas.CommandText = _pragmas;
            pragmas.ExecuteNonQuery();
        }
        _prepared = new Prepared(Prepare("BEGIN IMMEDIATE"), Prepare(_insert), Prepare("COMMIT"));
        return _prepared;
    }

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(_connection!.Handle, sql, out var statement));
        return statement;
    }

    private void Close()
    {
        _prepared?.Dispose();
        // The pool keeps the handle: a transaction begun through SQLite's interface, unknown to the connection, is
        // rolled back here, not left open for the next connection opened on it.
        if (_connection is { Handle: { } handle } && raw.sqlite3_get_autocommit(handle) == 0) raw.sqlite3_exec(handle, "ROLLBACK");
        _connection?.Dispose();
        (_prepared, _connection) = (null, null);
    }

    private sealed record Prepared(sqlite3_stmt Begin, sqlite3_stmt Insert, sqlite3_stmt Commit) : IDisposable
    {
        public void Dispose()
        {
            Begin.Dispose();
            Insert.Dispose();
            Commit.Dispose();
        }
    }

    /// <summary>Waits for the writes handed so far, then closes the connection.</summary>
    public void Dispose()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        lock (_gate)
        {
            while (_running)
            {
                var left = TimeSpan.FromSeconds(30) - waited.Elapsed;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left)) break;
            }
        }
        Close();
    }

    /// <summary>Runs the writer's transactions on the thread pool, one drain at a time: queued as itself, no task or delegate per drain.</summary>
    private sealed class Drainer(SqliteJournalWriter writer) : IThreadPoolWorkItem
    {
        public void Execute() => writer.Drain();
    }

    private sealed class Handed
    {
        public Handed(IReadOnlyList<AtomicWrite> writes)
        {
            Writes = writes;
            for (var i = 0; i < writes.Count; i++) Rows += writes[i].Size;
        }

        public IReadOnlyList<AtomicWrite> Writes { get; }

        public int Rows { get; }

        public TaskCompletionSource<IImmutableList<Exception>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly record struct Serialized(int FirstRow, int Rows, ImmutableList<Exception>? Answer);

    private readonly record struct Row(string PersistenceId, long SequenceNr, long Timestamp, byte[] Payload, string Manifest, int SerializerId);
}
