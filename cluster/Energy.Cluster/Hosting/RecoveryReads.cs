using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Persistence;

namespace Energy.Cluster.Hosting;

/// <summary>
/// The journal's side of waking many entities at once. An entity's recovery asks the journal for its highest sequence
/// number and then for its events: through the plugin that is three statements and a stream per entity, which holds a
/// node to a few hundred entities per second and, on PostgreSQL, takes a connection per recovering entity. Here the
/// highest numbers asked for while the journal handled its mailbox are read together, in one statement for up to
/// <see cref="RecoveryDatabase.MaxEntitiesPerRead"/> entities, and in the same round trip the events of every entity
/// that has few (at most <see cref="PrefetchEventsPerEntity"/> past what it asks from), which its replay then takes from
/// memory. An entity with more events replays through the plugin. At most <see cref="MaxReadsInFlight"/> reads run at
/// once; what comes in meanwhile waits and goes in the next, larger read.
/// </summary>
public sealed class RecoveryReads
{
    public const int PrefetchEventsPerEntity = 64;
    public const int MaxReadsInFlight = 4;

    /// <summary>Prefetched events not replayed within this long (the entity stopped meanwhile) are dropped.</summary>
    private static readonly TimeSpan PrefetchLifetime = TimeSpan.FromSeconds(30);

    private readonly RecoveryDatabase _database;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly ConcurrentDictionary<string, Prefetched> _prefetched = new(StringComparer.Ordinal);
    private List<Asked> _asked = [];
    private int _inFlight;

    public RecoveryReads(RecoveryDatabase database, Akka.Serialization.Serialization serialization)
    {
        _database = database;
        _serialization = serialization;
    }

    /// <summary>On the journal's thread: an entity's highest sequence number, read with the others asked for meanwhile.</summary>
    public Task<long> HighestSequenceNr(string persistenceId, long fromSequenceNr, Task? writeInFlight)
    {
        var asked = new Asked(persistenceId, fromSequenceNr, writeInFlight);
        _asked.Add(asked);
        return asked.Done.Task;
    }

    /// <summary>
    /// On the journal's thread: starts reading what was gathered, unless <see cref="MaxReadsInFlight"/> reads already
    /// run; <paramref name="readDone"/> is told when this read ends, so that what gathered meanwhile goes next.
    /// </summary>
    public void Flush(IActorRef journal, object readDone)
    {
        while (_asked.Count > 0 && _inFlight < MaxReadsInFlight)
        {
            var batch = _asked.Count <= RecoveryDatabase.MaxEntitiesPerRead ? _asked : _asked.GetRange(0, RecoveryDatabase.MaxEntitiesPerRead);
            _asked = batch == _asked ? [] : _asked.GetRange(batch.Count, _asked.Count - batch.Count);
            _inFlight++;
            _ = ReadAsync(batch).ContinueWith(_ => journal.Tell(readDone), TaskScheduler.Default);
        }
    }

    /// <summary>On the journal's thread, when a read has ended.</summary>
    public void ReadEnded() => _inFlight--;

    /// <summary>
    /// Replays an entity's events from what its highest-number read brought, if it brought them; false when the
    /// plugin must read them.
    /// </summary>
    public bool TryReplay(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> callback)
    {
        if (!_prefetched.TryRemove(persistenceId, out var prefetched) || fromSequenceNr <= prefetched.AfterSequenceNr
            || prefetched.Rows[^1].SequenceNr < toSequenceNr) return false;
        long replayed = 0;
        foreach (var row in prefetched.Rows)
        {
            if (row.SequenceNr < fromSequenceNr || row.Deleted) continue;
            if (row.SequenceNr > toSequenceNr || replayed >= max) break;
            var payload = _serialization.Deserialize(row.Payload, row.SerializerId, row.Manifest);
            callback(new Persistent(payload, row.SequenceNr, persistenceId, row.Manifest, false, ActorRefs.NoSender, null, row.Timestamp));
            replayed++;
        }
        return true;
    }

    private async Task ReadAsync(List<Asked> batch)
    {
        try
        {
            var writes = batch.Where(a => a.WriteInFlight is not null).Select(a => a.WriteInFlight!).ToList();
            // Whether a write in flight succeeds or fails, its entity's highest number is read after it.
            if (writes.Count > 0) await Task.WhenAll(writes).ContinueWith(_ => { }, TaskScheduler.Default);
            DropStalePrefetches();
            await using var connection = await _database.OpenAsync(CancellationToken.None);
            var highest = await ReadHighestAsync(connection, batch);
            var few = batch.Where(a => highest.TryGetValue(a.PersistenceId, out var h) && h > a.FromSequenceNr && h - a.FromSequenceNr <= PrefetchEventsPerEntity).ToList();
            if (few.Count > 0) await PrefetchAsync(connection, few, highest);
            else few = [];
            foreach (var asked in batch)
            {
                if (!few.Contains(asked)) _prefetched.TryRemove(asked.PersistenceId, out _);
                // As the plugin reads it: the highest number after the one asked from, or 0 when there is none.
                var found = highest.GetValueOrDefault(asked.PersistenceId);
                asked.Done.TrySetResult(found > asked.FromSequenceNr ? found : 0);
            }
        }
        catch (Exception e)
        {
            foreach (var asked in batch) asked.Done.TrySetException(e);
        }
    }

    private async Task<Dictionary<string, long>> ReadHighestAsync(System.Data.Common.DbConnection connection, List<Asked> batch)
    {
        string id = _database.Column("persistence-id"), sequence = _database.Column("sequence-number");
        await using var command = connection.CreateCommand();
        var ids = RecoveryDatabase.Parameters(command, "p", batch.Select(a => a.PersistenceId).Distinct());
        command.CommandText = $"SELECT {id}, MAX({sequence}) FROM {_database.Table} WHERE {id} IN ({ids}) GROUP BY {id}";
        var highest = new Dictionary<string, long>(batch.Count, StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) highest[reader.GetString(0)] = reader.GetInt64(1);
        return highest;
    }

    private async Task PrefetchAsync(System.Data.Common.DbConnection connection, List<Asked> few, Dictionary<string, long> highest)
    {
        string id = _database.Column("persistence-id"), sequence = _database.Column("sequence-number");
        await using var command = connection.CreateCommand();
        // Most entities ask from the start: one IN list for them, and a term of its own for each entity after a snapshot.
        var fromStart = few.Where(a => a.FromSequenceNr == 0).Select(a => a.PersistenceId).Distinct().ToList();
        var terms = new List<string>();
        if (fromStart.Count > 0) terms.Add($"{id} IN ({RecoveryDatabase.Parameters(command, "p", fromStart)})");
        var i = 0;
        foreach (var asked in few.Where(a => a.FromSequenceNr > 0))
        {
            terms.Add($"({id} = {RecoveryDatabase.Parameters(command, $"a{i}_", [asked.PersistenceId])} AND {sequence} > {RecoveryDatabase.Parameters(command, $"s{i}_", [asked.FromSequenceNr])})");
            i++;
        }
        command.CommandText = $"SELECT {id}, {sequence}, {_database.Column("deleted")}, {_database.Column("created")}, {_database.Column("message")}, "
            + $"{_database.Column("manifest")}, {_database.Column("identifier")} FROM {_database.Table} WHERE {string.Join(" OR ", terms)} ORDER BY {id}, {sequence}";
        var rows = new Dictionary<string, List<EventRow>>(few.Count, StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var persistenceId = reader.GetString(0);
                if (!rows.TryGetValue(persistenceId, out var list)) rows[persistenceId] = list = [];
                list.Add(new EventRow(reader.GetInt64(1), reader.GetBoolean(2), reader.GetInt64(3), (byte[])reader.GetValue(4),
                    reader.IsDBNull(5) ? "" : reader.GetString(5), reader.GetInt32(6)));
            }
        }
        var now = DateTime.UtcNow;
        foreach (var asked in few)
        {
            // An entity whose events changed between the two statements replays through the plugin.
            if (rows.TryGetValue(asked.PersistenceId, out var list) && list[^1].SequenceNr == highest[asked.PersistenceId])
                _prefetched[asked.PersistenceId] = new Prefetched(asked.FromSequenceNr, list, now);
        }
    }

    private void DropStalePrefetches()
    {
        if (_prefetched.IsEmpty) return;
        var cutoff = DateTime.UtcNow - PrefetchLifetime;
        foreach (var (persistenceId, prefetched) in _prefetched)
        {
            if (prefetched.At < cutoff) _prefetched.TryRemove(persistenceId, out _);
        }
    }

    private sealed record Asked(string PersistenceId, long FromSequenceNr, Task? WriteInFlight)
    {
        public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record EventRow(long SequenceNr, bool Deleted, long Timestamp, byte[] Payload, string Manifest, int SerializerId);

    /// <summary>The events after <paramref name="AfterSequenceNr"/> an entity's highest-number read brought.</summary>
    private sealed record Prefetched(long AfterSequenceNr, List<EventRow> Rows, DateTime At);
}
