using System.Diagnostics;
using Energy.Cluster.Hosting;
using Microsoft.Data.Sqlite;

namespace Energy.Cluster.Tests;

/// <summary>
/// Under writes and reads that never pause, passive checkpoints alone never start SQLite's log over. Once the checkpointer
/// finds it past its bound, the writer starts it over between two commits, so that its file holds a small part of all
/// that was written, and every row written is still there; with no writer to do it, the checkpointer does.
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
        const int RowBytes = 4096;
        using (var checkpointer = new SqliteCheckpointer(connectionString, TimeSpan.FromMilliseconds(20), Bound))
        {
            // The node's writer: one commit after another, and between two of them the restart when it is due.
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
                    checkpointer.RestartIfDue(connection);
                }
            });
            var reader = ReadWithoutRestAsync(connectionString, stop.Token);

            // A log never started over holds every row written (three pages each, with the index's): its file grows with
            // them. This one is started over again and again, and its file, written again from its start each time, keeps
            // the size it reached once while the rows written go on to many times that.
            await AwaitAssertAsync(() => Assert.True(checkpointer.Restarts >= 3 && (long)Volatile.Read(ref written) * RowBytes >= 64 * Bound
                    && LogBytes(path) <= (long)Volatile.Read(ref written) * RowBytes / 4,
                $"{checkpointer.Restarts} restarts, {Volatile.Read(ref written)} rows of {RowBytes} bytes written, log {LogBytes(path)} bytes"));
            await stop.CancelAsync();
            await Task.WhenAll(writer, reader);
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

    [Fact]
    public async Task A_log_past_its_bound_that_no_writer_starts_over_is_started_over_by_the_checkpointer()
    {
        var path = Path.Combine(Path.GetTempPath(), $"energy-checkpoint-{Guid.NewGuid():N}.db");
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        await ExecuteAsync(connectionString, "PRAGMA journal_mode=WAL; " + EnergyConfig.SqlitePragmas
            + " CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL);");
        using var stop = new CancellationTokenSource();
        var reader = ReadWithoutRestAsync(connectionString, stop.Token);
        // A connection that has read and stays open: the last one to close would copy the log and delete it.
        await using var held = new SqliteConnection(connectionString);
        await held.OpenAsync();
        await using (var read = held.CreateCommand())
        {
            read.CommandText = "SELECT count(*) FROM rows";
            await read.ExecuteScalarAsync();
        }
        // Written once, then no writer again: the log is past its bound and stays so until something starts it over.
        await ExecuteAsync(connectionString, EnergyConfig.SqlitePragmas
            + " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
            + " INSERT INTO rows (body) SELECT randomblob(4096) FROM n;");
        Assert.True(LogBytes(path) > 64 * 1024, $"log {LogBytes(path)} bytes");
        using (var checkpointer = new SqliteCheckpointer(connectionString, TimeSpan.FromMilliseconds(20), maxLogBytes: 64 * 1024))
        {
            await AwaitAssertAsync(() => Assert.True(checkpointer.Restarts >= 1, $"no restart, log {LogBytes(path)} bytes"));
        }
        await stop.CancelAsync();
        await reader;
        foreach (var file in new[] { path, path + "-wal", path + "-shm" }) File.Delete(file);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    // Short reads, one after another: never a moment without a reader, never one that holds the log for long.
    private static Task ReadWithoutRestAsync(string connectionString, CancellationToken stop) => Task.Run(async () =>
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var newest = connection.CreateCommand();
        newest.CommandText = "SELECT max(id) FROM rows";
        while (!stop.IsCancellationRequested) await newest.ExecuteScalarAsync();
    }, CancellationToken.None);

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
