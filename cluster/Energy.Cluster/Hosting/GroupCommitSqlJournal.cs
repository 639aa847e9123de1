using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;

namespace Energy.Cluster.Hosting;

/// <summary>
/// The SQL journal with group commit across entities. The plugin writes what queued up while its last
/// transaction ran, but a journal that keeps up writes nearly every entity's events in a transaction of
/// their own, each paying for a connection, a transaction and a statement. This one gathers writes and
/// hands them to the plugin as one write: one transaction, one multi-row insert. It gathers what is
/// already waiting in its mailbox; when the node's thread pool has a backlog of at least
/// <c>group-commit-busy-backlog</c> items (the node is bound by its processors, and latency by that
/// queue), it also waits <c>group-commit-window</c> for more, at most <c>group-commit-max-writes</c>.
/// Every entity is still answered only once its events are durable. When a gathered transaction fails, its
/// writes are written again each alone, so that a write the database refuses fails only its own entity.
/// Recovery of an entity waits for its gathered write to end.
/// On SQLite it inserts the rows itself (<see cref="SqliteJournalWriter"/>) and runs the write-ahead log's checkpoints
/// (see <see cref="SqliteCheckpointer"/>), so that no commit pays for one.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "An actor releases what it owns in PostStop.")]
public sealed class GroupCommitSqlJournal : SqlWriteJournal
{
    private readonly TimeSpan _window;
    private readonly int _maxWrites;
    private readonly int _busyBacklog;
    private List<Gathered> _gathered = [];
    private int _gatheredWrites;
    private bool _flushScheduled;
    private readonly Dictionary<string, Task> _writing = new(StringComparer.Ordinal);
    private readonly SqliteCheckpointer? _checkpointer;
    private readonly RecoveryReads _reads;
    private readonly SqliteJournalWriter? _writer;
    private bool _readsFlushScheduled;

    public GroupCommitSqlJournal(Akka.Configuration.Config journalConfig) : base(journalConfig)
    {
        _window = journalConfig.GetTimeSpan("group-commit-window", TimeSpan.Zero, allowInfinite: false);
        _maxWrites = Math.Max(1, journalConfig.GetInt("group-commit-max-writes", 500));
        // 0: every write waits the window for others (or until group-commit-max-writes are gathered).
        _busyBacklog = Math.Max(0, journalConfig.GetInt("group-commit-busy-backlog", 16));
        _reads = new RecoveryReads(RecoveryDatabase.ForJournal(journalConfig), Context.System.Serialization);
        if (journalConfig.GetString("provider-name", "").StartsWith("SQLite", StringComparison.OrdinalIgnoreCase))
            _checkpointer = new SqliteCheckpointer(journalConfig.GetString("connection-string"),
                journalConfig.GetTimeSpan("wal-checkpoint-interval", TimeSpan.FromSeconds(1), allowInfinite: false));
        _writer = SqliteJournalWriter.For(journalConfig, (ExtendedActorSystem)Context.System, _checkpointer);
    }

    protected override void PostStop()
    {
        _writer?.Dispose();
        _checkpointer?.Dispose();
        base.PostStop();
    }

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var gathered = new Gathered(messages.ToArray());
        _gathered.Add(gathered);
        _gatheredWrites += gathered.Writes.Length;
        foreach (var write in gathered.Writes) _writing[write.PersistenceId] = gathered.Done.Task;
        if (_gatheredWrites >= _maxWrites) Flush();
        else if (!_flushScheduled)
        {
            _flushScheduled = true;
            var self = Self;
            // A node whose threads have a backlog of work is bound by its processors: waiting the window
            // costs little beside that queueing and saves a transaction per write. Otherwise the writes
            // already waiting in the mailbox go with this one, and an idle journal writes at once.
            if (_window > TimeSpan.Zero && ThreadPool.PendingWorkItemCount >= _busyBacklog)
                _ = Task.Delay(_window, CancellationToken.None).ContinueWith(_ => self.Tell(FlushGathered.Instance), TaskScheduler.Default);
            else self.Tell(FlushGathered.Instance);
        }
        return gathered.Done.Task;
    }

    protected override bool ReceivePluginInternal(object message)
    {
        switch (message)
        {
            case FlushGathered:
                _flushScheduled = false;
                Flush();
                return true;
            case FlushRecoveryReads:
                _readsFlushScheduled = false;
                _reads.Flush(Self, RecoveryReadEnded.Instance);
                return true;
            case RecoveryReadEnded:
                _reads.ReadEnded();
                _reads.Flush(Self, RecoveryReadEnded.Instance);
                return true;
            case GatheredWritten written:
                foreach (var gathered in written.Batch)
                {
                    foreach (var write in gathered.Writes)
                    {
                        if (_writing.TryGetValue(write.PersistenceId, out var task) && task == gathered.Done.Task) _writing.Remove(write.PersistenceId);
                    }
                }
                // A failed batch's writes go again one after another: the plugin gathers what is queued at once into one
                // transaction of its own, where the refused write would fail the others again.
                if (written.Alone is { } rest && rest.Next < rest.Batch.Count) WriteNextAlone(rest);
                return true;
            case WriteAlone alone:
                WriteNextAlone(alone);
                return true;
            default:
                return base.ReceivePluginInternal(message);
        }
    }

    /// <summary>
    /// Gathered with the other entities' asks that arrive while the journal handles its mailbox, and read together
    /// (<see cref="RecoveryReads"/>); an entity's number is read after its own write in flight, if any.
    /// </summary>
    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        var highest = _reads.HighestSequenceNr(persistenceId, fromSequenceNr, _writing.GetValueOrDefault(persistenceId));
        if (!_readsFlushScheduled)
        {
            _readsFlushScheduled = true;
            Self.Tell(FlushRecoveryReads.Instance);
        }
        return highest;
    }

    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback) =>
        _reads.TryReplay(persistenceId, fromSequenceNr, toSequenceNr, max, recoveryCallback)
            ? Task.CompletedTask
            : base.ReplayMessagesAsync(context, persistenceId, fromSequenceNr, toSequenceNr, max, recoveryCallback);

    private void Flush()
    {
        if (_gathered.Count == 0) return;
        var batch = _gathered;
        _gathered = [];
        _gatheredWrites = 0;
        Write(batch, retryAlone: batch.Count > 1, alone: null);
    }

    private void WriteNextAlone(WriteAlone alone) => Write([alone.Batch[alone.Next]], retryAlone: false, alone with { Next = alone.Next + 1 });

    /// <summary>
    /// Writes <paramref name="batch"/> in one transaction and answers each of its writes. When it fails and
    /// <paramref name="retryAlone"/> is set, nobody is answered yet: the batch's writes are written again each alone, one
    /// after another (<see cref="WriteAlone"/>), so that one write the database refuses (a sequence number already stored)
    /// fails alone, not every entity's whose write happened to be gathered with it. The failed transaction wrote none of
    /// them. <paramref name="alone"/> is the rest of such a batch, written once this write has ended.
    /// </summary>
    private void Write(List<Gathered> batch, bool retryAlone, WriteAlone? alone)
    {
        var all = batch.Count == 1 ? batch[0].Writes : Together(batch);
        var started = Stopwatch.GetTimestamp();
        var events = 0;
        foreach (var write in all) events += write.Size;
        EnergyMetrics.JournalBatchSize.Record(events);
        // The write's span is current while the transaction starts, so that the database's own spans are its children.
        var span = EnergyTracing.StartRoot("journal.write");
        span?.SetTag("energy.journal.writes", all.Length).SetTag("energy.journal.events", events);
        var previous = System.Diagnostics.Activity.Current;
        if (span is not null) System.Diagnostics.Activity.Current = span;
        Task<IImmutableList<Exception>> written;
        try
        {
            // The gathered writes outlive any one caller's cancellation: each is answered when the transaction ends.
            written = _writer is not null && SqliteJournalWriter.Writes(all)
                ? _writer.WriteAsync(all)
                : base.WriteMessagesAsync(all, CancellationToken.None);
        }
        catch (Exception e)
        {
            written = Task.FromException<IImmutableList<Exception>>(e);
        }
        finally
        {
            System.Diagnostics.Activity.Current = previous;
        }
        var self = Self;
        written.ContinueWith(t =>
        {
            EnergyMetrics.JournalWriteDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            EnergyTracing.End(span, t.IsFaulted ? t.Exception!.InnerException?.GetType().Name : t.IsCanceled ? "canceled" : null);
            if (t.IsFaulted && retryAlone)
            {
                self.Tell(new WriteAlone(batch, 0));
                return;
            }
            var offset = 0;
            foreach (var gathered in batch)
            {
                if (t.IsFaulted) gathered.Done.TrySetException(t.Exception!.InnerExceptions);
                else if (t.IsCanceled) gathered.Done.TrySetCanceled();
                else gathered.Done.TrySetResult(t.Result is null ? null! : t.Result.Skip(offset).Take(gathered.Writes.Length).ToImmutableList());
                offset += gathered.Writes.Length;
            }
            self.Tell(new GatheredWritten(batch, alone));
        }, TaskScheduler.Default);
    }

    private static AtomicWrite[] Together(List<Gathered> batch)
    {
        var count = 0;
        foreach (var gathered in batch) count += gathered.Writes.Length;
        var all = new AtomicWrite[count];
        count = 0;
        foreach (var gathered in batch)
        {
            gathered.Writes.CopyTo(all, count);
            count += gathered.Writes.Length;
        }
        return all;
    }

    private sealed record Gathered(AtomicWrite[] Writes)
    {
        public TaskCompletionSource<IImmutableList<Exception>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A flushed batch's writes ended, all of them: the journal forgets those still marked as its own.</summary>
    private sealed record GatheredWritten(List<Gathered> Batch, WriteAlone? Alone);

    /// <summary>The writes of a batch whose transaction failed, written again each alone from <see cref="Next"/> on.</summary>
    private sealed record WriteAlone(List<Gathered> Batch, int Next);

    private sealed record FlushGathered
    {
        public static readonly FlushGathered Instance = new();
    }

    private sealed record FlushRecoveryReads
    {
        public static readonly FlushRecoveryReads Instance = new();
    }

    private sealed record RecoveryReadEnded
    {
        public static readonly RecoveryReadEnded Instance = new();
    }
}
