using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Hosting;

/// <summary>
/// Fills this node's <see cref="DeviceDirectory"/> at start: one statement reads every device twin's events from the
/// journal (a range of persistence ids, in order), each twin's are folded by the twin's own rules
/// (<see cref="DeviceTwinRules.Evolve"/>), and what the twin would answer is kept. Nothing is woken. On a journal that
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
        string? current = null;
        var state = DeviceTwinState.Empty;
        void Keep()
        {
            if (current is null || DeviceTwinRules.Get(state, new(current[DeviceTwin.PersistenceIdPrefix.Length..])) is not DeviceView view) return;
            directory.Remember(view);
            devices++;
            if (view.Revoked) revoked++;
        }
        await using (var reader = await command.ExecuteReaderAsync(token))
        {
            while (await reader.ReadAsync(token))
            {
                var persistenceId = reader.GetString(0);
                if (persistenceId != current)
                {
                    Keep();
                    current = null;
                    if (directory.Count >= DeviceDirectory.MaxDevices) break;
                    (current, state) = (persistenceId, DeviceTwinState.Empty);
                }
                if (reader.GetBoolean(1)) continue;
                var e = serialization.Deserialize((byte[])reader.GetValue(2), reader.GetInt32(4), reader.IsDBNull(3) ? "" : reader.GetString(3));
                state = DeviceTwinRules.Evolve(state, e);
            }
        }
        Keep();
        return (devices, revoked);
    }
}
