using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Sql.Snapshot;

namespace Energy.Cluster.Hosting;

/// <summary>
/// The SQL snapshot store, with the latest-snapshot loads of entities that recover together read in one statement
/// (up to <see cref="RecoveryDatabase.MaxEntitiesPerRead"/> entities, at most <see cref="MaxReadsInFlight"/> at once)
/// instead of one each. Most entities have no snapshot, and each of them used to cost a round trip to learn that.
/// Loads with other criteria, and saves and deletes, go through the plugin.
/// </summary>
public sealed class BatchedSqlSnapshotStore : SqlSnapshotStore
{
    public const int MaxReadsInFlight = 4;

    private readonly RecoveryDatabase _database;
    private readonly Akka.Serialization.Serialization _serialization;
    private List<Asked> _asked = [];
    private int _inFlight;
    private bool _flushScheduled;

    public BatchedSqlSnapshotStore(Akka.Configuration.Config snapshotConfig) : base(snapshotConfig)
    {
        _database = RecoveryDatabase.ForSnapshots(snapshotConfig);
        _serialization = Context.System.Serialization;
    }

    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        if (criteria.MaxSequenceNr != long.MaxValue || criteria.MaxTimeStamp != DateTime.MaxValue || criteria.MinSequenceNr > 0)
            return base.LoadAsync(persistenceId, criteria, cancellationToken);
        var asked = new Asked(persistenceId);
        _asked.Add(asked);
        if (!_flushScheduled)
        {
            _flushScheduled = true;
            Self.Tell(FlushLoads.Instance);
        }
        return asked.Done.Task;
    }

    protected override bool ReceivePluginInternal(object message)
    {
        switch (message)
        {
            case FlushLoads:
                _flushScheduled = false;
                Flush();
                return true;
            case LoadEnded:
                _inFlight--;
                Flush();
                return true;
            default:
                return base.ReceivePluginInternal(message);
        }
    }

    private void Flush()
    {
        var self = Self;
        while (_asked.Count > 0 && _inFlight < MaxReadsInFlight)
        {
            var batch = _asked.Count <= RecoveryDatabase.MaxEntitiesPerRead ? _asked : _asked.GetRange(0, RecoveryDatabase.MaxEntitiesPerRead);
            _asked = batch == _asked ? [] : _asked.GetRange(batch.Count, _asked.Count - batch.Count);
            _inFlight++;
            _ = LoadLatestAsync(batch).ContinueWith(_ => self.Tell(LoadEnded.Instance), TaskScheduler.Default);
        }
    }

    private async Task LoadLatestAsync(List<Asked> batch)
    {
        try
        {
            string id = _database.Column("persistence-id"), sequence = _database.Column("sequence-number");
            await using var connection = await _database.OpenAsync(CancellationToken.None);
            await using var command = connection.CreateCommand();
            var ids = RecoveryDatabase.Parameters(command, "p", batch.Select(a => a.PersistenceId).Distinct());
            command.CommandText = $"SELECT s.{id}, s.{sequence}, s.{_database.Column("created")}, s.{_database.Column("snapshot")}, s.{_database.Column("manifest")}, "
                + $"s.{_database.Column("serializerId")} FROM {_database.Table} s WHERE s.{id} IN ({ids}) "
                + $"AND s.{sequence} = (SELECT MAX(m.{sequence}) FROM {_database.Table} m WHERE m.{id} = s.{id})";
            var found = new Dictionary<string, SelectedSnapshot>(StringComparer.Ordinal);
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    var persistenceId = reader.GetString(0);
                    var metadata = new SnapshotMetadata(persistenceId, reader.GetInt64(1), new DateTime(reader.GetInt64(2)));
                    var snapshot = _serialization.Deserialize((byte[])reader.GetValue(3), reader.GetInt32(5), reader.IsDBNull(4) ? "" : reader.GetString(4));
                    found[persistenceId] = new SelectedSnapshot(metadata, snapshot);
                }
            }
            foreach (var asked in batch) asked.Done.TrySetResult(found.GetValueOrDefault(asked.PersistenceId));
        }
        catch (Exception e)
        {
            foreach (var asked in batch) asked.Done.TrySetException(e);
        }
    }

    private sealed record Asked(string PersistenceId)
    {
        public TaskCompletionSource<SelectedSnapshot?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record FlushLoads
    {
        public static readonly FlushLoads Instance = new();
    }

    private sealed record LoadEnded
    {
        public static readonly LoadEnded Instance = new();
    }
}
