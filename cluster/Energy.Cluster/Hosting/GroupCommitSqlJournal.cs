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
/// <remarks>
/// The journal takes the entities' write requests itself rather than through the plugin's base, which wraps every request
/// in a circuit breaker's call (a cancellation source with its timer, a wait, a task and its continuation) and sends
/// every answer through an actor of its own that puts answers back in order: about a kilobyte and an extra hop for each
/// write of one event. Here a gathered batch has one timeout, batches are answered in the order they were written, and
/// an entity hears that its request was written only after the answers to each of its events, so the request it sends
/// next cannot be answered before them.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "An actor releases what it owns in PostStop.")]
public sealed class GroupCommitSqlJournal : SqlWriteJournal
{
    private readonly TimeSpan _window;
    private readonly int _maxWrites;
    private readonly int _busyBacklog;
    private readonly TimeSpan _writeTimeout;
    private Batch? _gathering;
    private bool _flushScheduled;
    // Batches written and not answered yet, in the order they were written: each is answered once it and every batch before it ended.
    private readonly Queue<Batch> _written = new();
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
        _writeTimeout = journalConfig.GetTimeSpan("circuit-breaker.call-timeout", TimeSpan.FromSeconds(10), allowInfinite: false);
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

    protected override bool AroundReceive(Receive receive, object message)
    {
        if (message is not WriteMessages request) return base.AroundReceive(receive, message);
        Gather(request);
        return true;
    }

    /// <summary>Adds an entity's request to the batch being gathered, and has the batch written now, or once the window passed.</summary>
    private void Gather(WriteMessages request)
    {
        var batch = _gathering ??= new Batch();
        Gathered gathered;
        try
        {
            // The events as stored: without their senders, through any event adapters.
            gathered = new Gathered(request, [.. PreparePersistentBatch(request.Messages)]);
        }
        catch (Exception e)
        {
            gathered = new Gathered(request, []) { Rejected = e };
        }
        batch.Gathered.Add(gathered);
        batch.Writes += gathered.Writes.Length;
        foreach (var write in gathered.Writes) _writing[write.PersistenceId] = batch.Done.Task;
        if (batch.Writes >= _maxWrites) Flush();
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
            case Written written:
                Ended(written);
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
        if (_gathering is not { } batch) return;
        _gathering = null;
        _written.Enqueue(batch);
        var writes = batch.Gathered.Where(g => g.Writes.Length > 0).ToList();
        if (writes.Count == 0) Self.Tell(new Written(batch, null, Outcome.Success, null));
        else Write(batch, writes, alone: null);
    }

    /// <summary>
    /// Writes <paramref name="writes"/> of <paramref name="batch"/> in one transaction, bounded by the write timeout; the
    /// journal hears how it ended (<see cref="Written"/>). <paramref name="alone"/> is the one request written alone after the
    /// batch's transaction failed, if this is that write.
    /// </summary>
    private void Write(Batch batch, List<Gathered> writes, Gathered? alone)
    {
        var all = writes.Count == 1 ? writes[0].Writes : Together(writes);
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
        Task? unbounded = null;
        try
        {
            // The gathered writes outlive any one caller's cancellation: each is answered when the transaction ends.
            written = _writer is not null && SqliteJournalWriter.Writes(all)
                ? _writer.WriteAsync(all)
                : base.WriteMessagesAsync(all, CancellationToken.None);
            unbounded = written;
            written = written.WaitAsync(_writeTimeout);
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
            self.Tell(new Written(batch, alone, Outcome.Of(t), unbounded));
        }, TaskScheduler.Default);
    }

    /// <summary>
    /// A write of a batch ended. A failed transaction of several requests answers none of them yet: they are written again
    /// each alone, one after another, so that one write the database refuses (a sequence number already stored) fails
    /// alone, not every entity's whose write happened to be gathered with it; the failed transaction wrote none of them. A
    /// write that ran out of time is not written again. Then every batch that has ended, in the order written, is answered.
    /// </summary>
    private void Ended(Written written)
    {
        var batch = written.Batch;
        // A write that ran out of time may still be committing: its entities' recoveries wait for it to end (below).
        if (written.Outcome.Failed is TimeoutException && written.Unbounded is { IsCompleted: false } unfinished) batch.Unfinished = unfinished;
        var writes = batch.Gathered.Where(g => g.Writes.Length > 0).ToList();
        if (written.Alone is { } alone)
        {
            alone.Outcome = written.Outcome;
            var next = writes.IndexOf(alone) + 1;
            if (next < writes.Count) { Write(batch, [writes[next]], writes[next]); return; }
        }
        else if (written.Outcome.Failed is { } failed && writes.Count > 1 && failed is not TimeoutException)
        {
            Write(batch, [writes[0]], writes[0]);
            return;
        }
        else
        {
            var offset = 0;
            foreach (var gathered in writes)
            {
                gathered.Outcome = written.Outcome.Slice(offset, gathered.Writes.Length);
                offset += gathered.Writes.Length;
            }
        }
        batch.Ended = true;
        while (_written.TryPeek(out var head) && head.Ended)
        {
            _written.Dequeue();
            foreach (var gathered in head.Gathered) Answer(gathered);
            foreach (var gathered in head.Gathered)
            {
                foreach (var write in gathered.Writes)
                {
                    if (head.Unfinished is null && _writing.TryGetValue(write.PersistenceId, out var task) && task == head.Done.Task) _writing.Remove(write.PersistenceId);
                }
            }
            if (head.Unfinished is { } ending) ending.ContinueWith(static (_, done) => ((TaskCompletionSource)done!).TrySetResult(), head.Done, TaskScheduler.Default);
            else head.Done.TrySetResult();
        }
    }

    /// <summary>
    /// Answers an entity's request as the persistence protocol expects: each event written, refused or failed, in the order
    /// sent (with its own sender), a deferred handler's message looped back, and then the request as a whole.
    /// </summary>
    private void Answer(Gathered gathered)
    {
        var request = gathered.Request;
        var (actor, instance) = (request.PersistentActor, request.ActorInstanceId);
        var failed = gathered.Outcome.Failed;
        var atomicWrites = 0;
        foreach (var envelope in request.Messages)
        {
            if (envelope is not AtomicWrite atomic)
            {
                actor.Tell(new LoopMessageSuccess(envelope.Payload, instance), envelope.Sender);
                continue;
            }
            var rejected = gathered.Rejected ?? gathered.Outcome.RejectedAt(atomicWrites);
            atomicWrites++;
            foreach (var persistent in (IEnumerable<IPersistentRepresentation>)atomic.Payload)
            {
                object answer = failed is not null ? new WriteMessageFailure(persistent, failed, instance)
                    : rejected is not null ? new WriteMessageRejected(persistent, rejected, instance)
                    : new WriteMessageSuccess(persistent, instance);
                actor.Tell(answer, persistent.Sender);
            }
        }
        // The entity handed over its batch list and made itself a new, empty one, which waits in it until its next write,
        // often long enough to grow old. Once handed over, that older list is dead, but a young collection cannot know:
        // everything it holds would be copied into an older generation with it, every time. Answered, it is read by
        // nobody again, so it is emptied (before the last answer, which the entity may act on at once).
        if (request.Messages is List<IPersistentEnvelope> handedOver) handedOver.Clear();
        actor.Tell(failed is null ? WriteMessagesSuccessful.Instance : new WriteMessagesFailed(failed, atomicWrites), Self);
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

    /// <summary>The requests gathered into one transaction, and what recoveries of their entities wait for.</summary>
    private sealed class Batch
    {
        public List<Gathered> Gathered { get; } = [];

        public int Writes { get; set; }

        public bool Ended { get; set; }

        /// <summary>A write of the batch that ran out of time and has not ended: what its entities' recoveries still wait for.</summary>
        public Task? Unfinished { get; set; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One entity's request, its events as stored, and how their write ended.</summary>
    private sealed class Gathered(WriteMessages request, AtomicWrite[] writes)
    {
        public WriteMessages Request { get; } = request;

        public AtomicWrite[] Writes { get; } = writes;

        /// <summary>Why every event of the request was refused before it was written (its events could not be prepared).</summary>
        public Exception? Rejected { get; init; }

        public Outcome Outcome { get; set; } = Outcome.Success;
    }

    /// <summary>How a write ended: failed as a whole, or with the writes the database refused (null: none).</summary>
    private readonly record struct Outcome(Exception? Failed, IImmutableList<Exception>? Refused, int Offset)
    {
        public static readonly Outcome Success = new(null, null, 0);

        public static Outcome Of(Task<IImmutableList<Exception>> written) =>
            written.IsFaulted ? new(written.Exception!.InnerExceptions.Count == 1 ? written.Exception.InnerException : written.Exception, null, 0)
            : written.IsCanceled ? new(new OperationCanceledException("the journal's write was canceled"), null, 0)
            : new(null, written.Result, 0);

        public Outcome Slice(int offset, int count) => Refused is null || Failed is not null ? this : this with { Offset = Offset + offset };

        public Exception? RejectedAt(int atomicWrite) => Refused is null ? null : Refused[Offset + atomicWrite];
    }

    /// <summary>A write of a batch ended (the whole batch's, or that of <see cref="Alone"/>, written alone after the batch's failed).</summary>
    private sealed record Written(Batch Batch, Gathered? Alone, Outcome Outcome, Task? Unbounded);

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
