using Microsoft.Data.Sqlite;

namespace Energy.Cluster.Hosting;

/// <summary>
/// Moves SQLite's write-ahead log into the database file off the write path. Left to itself SQLite runs a
/// checkpoint inside the commit that takes the log past 1,000 pages, and every entity waiting on that
/// commit waits for the copy and its fsync too: a latency spike every few thousand events. The node's
/// connections turn that off (<c>wal_autocheckpoint=0</c>) and this runs a passive checkpoint on a
/// connection of its own at a fixed interval: it copies what no reader still needs and never blocks a
/// writer, so the log stays bounded by what one interval writes.
/// </summary>
public sealed class SqliteCheckpointer : IDisposable
{
    private readonly string _connectionString;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public SqliteCheckpointer(string connectionString, TimeSpan interval)
    {
        _connectionString = connectionString;
        _loop = RunAsync(interval, _stop.Token);
    }

    private async Task RunAsync(TimeSpan interval, CancellationToken token)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                try
                {
                    await CheckpointAsync(token);
                }
                catch (SqliteException)
                {
                    // Busy or locked for a moment: the next tick tries again, and the log only grows until then.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The journal stopped.
        }
    }

    private async Task CheckpointAsync(CancellationToken token)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(token);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        await command.ExecuteNonQueryAsync(token);
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
