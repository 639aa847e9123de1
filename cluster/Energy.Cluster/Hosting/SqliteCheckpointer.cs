using Microsoft.Data.Sqlite;

namespace Energy.Cluster.Hosting;

/// <summary>
/// Moves SQLite's write-ahead log into the database file off the write path. Left to itself SQLite runs a
/// checkpoint inside the commit that takes the log past 1,000 pages, and every entity waiting on that
/// commit waits for the copy and its fsync too: a latency spike every few thousand events. The node's
/// connections turn that off (<c>wal_autocheckpoint=0</c>) and this runs a passive checkpoint on a
/// connection of its own at a fixed interval: it copies what no reader still needs and never blocks a
/// writer. A passive checkpoint never starts the log over, though: SQLite rewinds it only when a write begins
/// with every frame copied and no reader in it, which a node that writes and reads all the time never offers,
/// so under steady load the log grew without end (gigabytes a minute at a thousand toll passes a second, and
/// every read slower for it). A tick whose passive checkpoint finds more than <see cref="MaxLogBytes"/> in the log then
/// starts it over (<c>wal_checkpoint(RESTART)</c>): writers wait while the frames written since are copied and synced,
/// readers at most <see cref="RestartWait"/>, and the next write begins at the start of the log's file again. A
/// checkpoint that cannot have the log by then leaves it for the next tick. The restart needs the write lock, and a writer
/// that commits again and again takes it back within microseconds of giving it up: a checkpoint on another connection waiting
/// for it lost that race for seconds on a busy machine, while the log grew by a hundred megabytes. So the writer runs the
/// restart itself, between two of its transactions (<see cref="RestartIfDue"/>); this does it only when no writer has for
/// a tick (a writer that is idle, or none). The file is reused, not truncated: it keeps
/// the size it reached (about the bound plus what one tick writes) and a write into it allocates nothing. Truncating it
/// instead held the writers 100 to 150 ms once a second at that rate (the truncation and the blocks given back to the
/// file system, then taken again by the writes that follow); starting it over holds them about 10 ms.
/// </summary>
public sealed class SqliteCheckpointer : IDisposable
{
    /// <summary>The log's size (its frames since it last started over) past which it is started over rather than only copied.</summary>
    public const long MaxLogBytes = 64L * 1024 * 1024;

    /// <summary>How long a restarting checkpoint waits for the readers and the writer in the log.</summary>
    public static readonly TimeSpan RestartWait = TimeSpan.FromMilliseconds(20);

    private readonly string _connectionString;
    private readonly long _maxLogBytes;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public SqliteCheckpointer(string connectionString, TimeSpan interval, long maxLogBytes = MaxLogBytes)
    {
        _connectionString = connectionString;
        _maxLogBytes = maxLogBytes;
        _loop = Task.Factory.StartNew(() => Run(interval, _stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    /// <summary>Restarting checkpoints that had the log (a test reads it).</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    private int _restarts;

    // Ticks in a row that found the log past its bound, since a restart last had it.
    private int _due;

    // A thread of its own: blocking reads and writes of SQLite, and ticks that must come when a node's thread pool is
    // starved (under load, ticks on the pool were a second apart while the log grew by a hundred megabytes).
    private void Run(TimeSpan interval, CancellationToken token)
    {
        while (!token.WaitHandle.WaitOne(interval))
        {
            try
            {
                Checkpoint();
            }
            catch (SqliteException)
            {
                // Busy or locked for a moment: the next tick tries again, and the log only grows until then.
            }
        }
    }

    private void Checkpoint()
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_size;";
        var pageBytes = Convert.ToInt64(command.ExecuteScalar());
        // One row: busy, the frames in the log since it last started over, the frames copied into the database.
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        long frames;
        using (var passive = command.ExecuteReader())
            frames = passive.Read() ? passive.GetInt64(1) : 0;
        if (frames * pageBytes <= _maxLogBytes)
        {
            Volatile.Write(ref _due, 0);
            return;
        }
        // Due since the tick before and no writer has run it: nobody is racing for the write lock, so this connection can.
        if (Interlocked.Increment(ref _due) > 1) Restart(connection);
    }

    /// <summary>
    /// Starts the log over on <paramref name="writer"/>, the connection of the node's writer, between two of its
    /// transactions, when the last tick found the log past its bound. Holding the write lock already, it waits only for
    /// readers still in the log (at most <see cref="RestartWait"/>); a restart that cannot have them is left for later.
    /// </summary>
    public void RestartIfDue(SqliteConnection writer)
    {
        if (Volatile.Read(ref _due) == 0) return;
        try
        {
            Restart(writer);
        }
        catch (SqliteException)
        {
            // Busy: the next transaction's end tries again.
        }
    }

    private void Restart(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA busy_timeout={(int)RestartWait.TotalMilliseconds};";
        command.ExecuteNonQuery();
        try
        {
            command.CommandText = "PRAGMA wal_checkpoint(RESTART);";
            using var restart = command.ExecuteReader();
            if (!restart.Read() || restart.GetInt32(0) != 0) return;
            Volatile.Write(ref _due, 0);
            Interlocked.Increment(ref _restarts);
        }
        finally
        {
            command.CommandText = $"PRAGMA busy_timeout={EnergyConfig.SqliteBusyTimeoutMs};";
            command.ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException)
        {
            // Already reported by the loop; stopping goes on.
        }
        _stop.Dispose();
    }
}
