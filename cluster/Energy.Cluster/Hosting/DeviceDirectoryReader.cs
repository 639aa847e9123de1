using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Hosting;

/// <summary>
/// Fills this node's <see cref="DeviceDirectory"/> at start: one statement reads every device twin's events from the
/// journal (a range of persistence ids, in order), each twin's are folded by the twin's own rules
/// (<see cref="DeviceTwinRules.Evolve"/>, a few thousand twins at a time on every core), and what the twin would answer is kept. Nothing is woken. On a journal that
/// is not the SQL one (a test's memory journal) the directory starts empty and every hello asks the twin at first.
/// </summary>
public static class DeviceDirectoryReader
{
    private const string SqlJournal = "akka.persistence.journal.sql";

    /// <summary>A read that failed (the store not answering yet) is tried again after this; meanwhile hellos ask the twins.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(3);

    /// <summary>Reads the journal into the directory, again every <see cref="RetryInterval"/> until it could, or the system stops.</summary>
    public static async Task LoadAsync(ActorSystem system)
    {
        var directory = DeviceDirectory.Get(system);
        if (system.Settings.Config.GetString("akka.persistence.journal.plugin") != SqlJournal)
        {
            directory.MarkLoaded();
            return;
        }
        var log = Logging.GetLogger(system, typeof(DeviceDirectoryReader));
        using var stopped = new CancellationTokenSource();
        using var stopping = system.WhenTerminated.ContinueWith(_ => stopped.Cancel(), TaskScheduler.Default);
        while (!stopped.IsCancellationRequested)
        {
            try
            {
                var clock = Stopwatch.StartNew();
                var database = RecoveryDatabase.ForJournal(system.Settings.Config.GetConfig(SqlJournal));
                var read = await ReadAsync(database, system.Serialization, directory, stopped.Token);
                directory.MarkLoaded();
                log.Info("read the registrations of {0} devices ({1} revoked) from the journal in {2} ms", read.Devices, read.Revoked, clock.ElapsedMilliseconds);
                return;
            }
            catch (OperationCanceledException) when (stopped.IsCancellationRequested) { return; }
            catch (System.Data.Common.DbException e) when (IsMissingTable(e))
            {
                // A new store: the journal plugin makes its table when it first starts. No twin has written: none to read.
                directory.MarkLoaded();
                log.Info("the journal has no table yet: no device registrations to read");
                return;
            }
            catch (Exception e)
            {
                log.Warning("could not read the device registrations from the journal ({0}); hellos ask the twins, and the read is tried again", e.Message);
            }
            try { await Task.Delay(RetryInterval, stopped.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    private static async Task<(int Devices, int Revoked)> ReadAsync(RecoveryDatabase database, Akka.Serialization.Serialization serialization,
        DeviceDirectory directory, CancellationToken token)
    {
        string id = database.Column("persistence-id"), sequence = database.Column("sequence-number");
        await using var connection = await database.OpenAsync(token);
        await using var command = connection.CreateCommand();
        // Every id from "device-" up to "device." ('.' follows '-'): a range of the journal's index on ids.
        var from = command.CreateParameter();
        from.ParameterName = "@from";
        from.Value = DeviceTwin.PersistenceIdPrefix;
        var to = command.CreateParameter();
        to.ParameterName = "@to";
        to.Value = DeviceTwin.PersistenceIdPrefix[..^1] + (char)(DeviceTwin.PersistenceIdPrefix[^1] + 1);
        command.Parameters.Add(from);
        command.Parameters.Add(to);
        command.CommandText = $"SELECT {id}, {database.Column("deleted")}, {database.Column("message")}, {database.Column("manifest")}, "
            + $"{database.Column("identifier")} FROM {database.Table} WHERE {id} >= @from AND {id} < @to ORDER BY {id}, {sequence}";
        var (devices, revoked) = (0, 0);
        // Rows are read in order, a device's events together; devices are folded a chunk at a time on every core (decoding
        // an endorsement checks its key's point, tens of microseconds), so what is held is one chunk, however many devices.
        var chunk = new List<(string PersistenceId, List<Row> Rows)>(DevicesPerChunk);
        void Fold()
        {
            var views = new DeviceView?[chunk.Count];
            Parallel.For(0, chunk.Count, i => views[i] = ViewOf(chunk[i].PersistenceId, chunk[i].Rows, serialization));
            foreach (var view in views)
            {
                if (view is null) continue;
                directory.Remember(view);
                devices++;
                if (view.Revoked) revoked++;
            }
            chunk.Clear();
        }
        await using (var reader = await command.ExecuteReaderAsync(token))
        {
            while (await reader.ReadAsync(token))
            {
                var persistenceId = reader.GetString(0);
                if (chunk.Count == 0 || chunk[^1].PersistenceId != persistenceId)
                {
                    if (chunk.Count == DevicesPerChunk) Fold();
                    if (directory.Count + chunk.Count >= DeviceDirectory.MaxDevices) break;
                    chunk.Add((persistenceId, []));
                }
                if (reader.GetBoolean(1)) continue;
                chunk[^1].Rows.Add(new Row((byte[])reader.GetValue(2), reader.GetInt32(4), reader.IsDBNull(3) ? "" : reader.GetString(3)));
            }
        }
        Fold();
        return (devices, revoked);
    }

    private const int DevicesPerChunk = 4_096;

    /// <summary>SQLite's "no such table" (error 1 with that message) or PostgreSQL's undefined_table (42P01).</summary>
    private static bool IsMissingTable(System.Data.Common.DbException e) =>
        e.SqlState == "42P01" || (e is Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 1 } && e.Message.Contains("no such table", StringComparison.Ordinal));

    private sealed record Row(byte[] Payload, int SerializerId, string Manifest);

    /// <summary>What the twin would answer after its events, if it is a device (null while no endorsement was taken).</summary>
    private static DeviceView? ViewOf(string persistenceId, List<Row> rows, Akka.Serialization.Serialization serialization)
    {
        var state = DeviceTwinState.Empty;
        foreach (var row in rows) state = DeviceTwinRules.Evolve(state, serialization.Deserialize(row.Payload, row.SerializerId, row.Manifest));
        return DeviceTwinRules.Get(state, new(persistenceId[DeviceTwin.PersistenceIdPrefix.Length..])) as DeviceView;
    }
}
