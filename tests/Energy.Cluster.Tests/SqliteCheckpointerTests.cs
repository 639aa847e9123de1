using System.Diagnostics;
using Energy.Cluster.Hosting;
using Microsoft.Data.Sqlite;

namespace Energy.Cluster.Tests;

/// <summary>
/// Under writes and reads that never pause, passive checkpoints alone never start SQLite's log over; the node's
/// checkpointer starts it over once it is past its bound, so that its file holds a small part of all that was written,
/// and every row written is still there.
/// </summary>
public sealed class SqliteCheckpointerTests
{
    [Fact]
    public async Task A_log_that_writers_and_readers_never_let_rest_is_started_over_past_its_bound_and_no_row_is_lost()
    {
        var path = Path.Combine(Path.GetTempPath(), $"energy-checkpoint-{Guid.NewGuid():N}.db");
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        const long Bound = 256 * 1024;
        await using (var setup = new SqliteConnection(connectionString))
        {
            await setup.OpenAsync();
            await using var command = setup.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL; " + EnergyConfig.SqlitePragmas + " CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL);";
            await command.ExecuteNonQueryAsync();
        }
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync();
            await using var pragmas = connection.CreateCommand();
            pragmas.CommandText = EnergyConfig.SqlitePragmas;
            await pragmas.ExecuteNonQueryAsync();
            await using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO rows (body) VALUES (randomblob(4096))";
            while (!stop.IsCancellationRequested)
            {
                await insert.ExecuteNonQueryAsync();
                Interlocked.Increment(ref written);
            }
        });
        var reader = Task.Run(async () =>
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync();
            await using var newest = connection.CreateCommand();
            // Short reads, one after another: never a moment without a reader, never one that holds the log for long.
            newest.CommandText = "SELECT max(id) FROM rows";
            while (!stop.IsCancellationRequested) await newest.ExecuteScalarAsync();
        });

        const int RowBytes = 4096;
        using (var checkpointer = new SqliteCheckpointer(connectionString, TimeSpan.FromMilliseconds(20), Bound))
        {
            // At least 64 times the bound written, and the log started over again and again meanwhile.
            await AwaitAssertAsync(() => Assert.True(checkpointer.Restarts >= 3 && (long)Volatile.Read(ref written) * RowBytes >= 64 * Bound,
                $"{checkpointer.Restarts} restarts, {Volatile.Read(ref written)} rows written, log {LogBytes(path)} bytes"));
            await stop.CancelAsync();
            await Task.WhenAll(writer, reader);
            // A log never started over would hold every row written; this one's file was written again from its start.
            Assert.True(LogBytes(path) <= (long)written * RowBytes / 8, $"log {LogBytes(path)} bytes after {written} rows of {RowBytes} bytes");
        }

        await using (var check = new SqliteConnection(connectionString))
        {
            await check.OpenAsync();
            await using var count = check.CreateCommand();
            count.CommandText = "SELECT count(*) FROM rows";
            Assert.Equal((long)written, (long)(await count.ExecuteScalarAsync())!);
        }
        foreach (var file in new[] { path, path + "-wal", path + "-shm" }) File.Delete(file);
    }

    private static long LogBytes(string path) => File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0;

    private static async Task AwaitAssertAsync(Action assertion)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { assertion(); return; }
            catch (Xunit.Sdk.XunitException) when (clock.Elapsed < TimeSpan.FromSeconds(30)) { await Task.Delay(20); }
        }
    }
}
