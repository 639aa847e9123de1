using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Tasks.Sources;
using Akka.Actor;

namespace Energy.Cluster.Kernel;

/// <summary>
/// Reply addresses for calls to entities: each call is told from an address of its own under this reference's path (its
/// number: <c>/temp/$x/17</c>), which an entity on any node answers as it would an ask's. Only the first answer to that
/// address ends the call, and an address answers nothing once its call has ended. A call not answered within the hold
/// ends with an <see cref="OperationCanceledException"/>; when the reference ends, so does every call still waited for,
/// and no new call is told.
/// </summary>
/// <remarks>
/// An ask made a temporary actor for every call: a registration under the node's temporary paths, a promise, its
/// continuations, a linked cancellation and a timer, about 1.4 KB a call. Here a call is one object and a table entry; all
/// calls share one registration and one timer, set again only when the oldest call waited for changes. A gateway
/// connection has its own (<see cref="ReplyAddresses(ActorSystem, TimeSpan, CancellationToken)"/>); entities share their
/// node's (<see cref="ForEntities"/>).
/// </remarks>
public sealed class ReplyAddresses : RegisteredActorRef
{
    private readonly long _holdMs;
    private readonly Timer _timer;
    private readonly CancellationTokenRegistration _served;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, CallReply> _waiting = [];
    // Every call waited for, oldest first, with when its hold runs out (calls started in order and held alike run out in
    // order); calls that have ended are dropped when they reach the head.
    private readonly Queue<(long Call, long DueMs)> _holds = new();
    private long _asked;
    private bool _timerSet;
    private bool _ended;

    /// <param name="system">The node's actor system.</param>
    /// <param name="hold">How long a call is held for its answer.</param>
    /// <param name="served">Cancelled when the calls' owner (a connection) ends: the calls waited for then end.</param>
    public ReplyAddresses(ActorSystem system, TimeSpan hold, CancellationToken served = default) : base(system)
    {
        _holdMs = Math.Max(1, (long)hold.TotalMilliseconds);
        _timer = new Timer(static replies => ((ReplyAddresses)replies!).HoldsRunOut(), this, Timeout.Infinite, Timeout.Infinite);
        _served = served.Register(static replies => ((ReplyAddresses)replies!).Dispose(), this);
    }

    /// <summary>The node's reply addresses for entities' calls to other entities held <paramref name="hold"/>: one for each hold, for the system's lifetime.</summary>
    public static ReplyAddresses ForEntities(ActorSystem system, TimeSpan hold) =>
        system.WithExtension<EntityReplies, EntityRepliesProvider>().For(hold);

    /// <summary>How many calls are waited for.</summary>
    public int Waiting
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>
    /// Tells <paramref name="message"/> to <paramref name="recipient"/> from a reply address of its own; ends with the first
    /// answer to it (a <see cref="Status.Failure"/> ends it with its cause), or with an
    /// <see cref="OperationCanceledException"/> when none came within the hold or this reference ended.
    /// </summary>
    public ValueTask<object> AskAsync(IActorRef recipient, object message) => Tell(recipient, message, new AwaitedReply(this)).Answer;

    /// <summary>
    /// As <see cref="AskAsync"/>, but <paramref name="then"/> is called with the answer or the error instead, once, on the
    /// thread that ended the call (the answering entity's, or the hold's timer): it must be short, as telling an actor is.
    /// </summary>
    public void Ask(IActorRef recipient, object message, Action<object?, Exception?> then) => Tell(recipient, message, new CalledBackReply(this, then));

    /// <summary>A reply address is reached by its call's number, as an answer from another node reaches it; an ended call's by nobody.</summary>
    public override IActorRef GetChild(IReadOnlyList<string> name)
    {
        if (name.Count == 0) return this;
        if (name.Count != 1 || !long.TryParse(name[0], NumberStyles.None, CultureInfo.InvariantCulture, out var call)) return ActorRefs.Nobody;
        lock (_gate) return _waiting.TryGetValue(call, out var reply) ? reply : ActorRefs.Nobody;
    }

    // Messages to this reference's own path answer no call.
    protected override void TellInternal(object message, IActorRef sender)
    {
    }

    protected override void Ended()
    {
        List<CallReply> ended;
        lock (_gate)
        {
            _ended = true;
            ended = [.. _waiting.Values];
            _waiting.Clear();
            _holds.Clear();
        }
        _served.Dispose();
        _timer.Dispose();
        foreach (var reply in ended) reply.Fail(new OperationCanceledException("the caller ended"));
    }

    private T Tell<T>(IActorRef recipient, object message, T reply) where T : CallReply
    {
        lock (_gate)
        {
            if (_ended) throw new OperationCanceledException("the caller ended");
            reply.Call = ++_asked;
            _waiting.Add(reply.Call, reply);
            _holds.Enqueue((reply.Call, Environment.TickCount64 + _holdMs));
            if (!_timerSet)
            {
                _timerSet = true;
                _timer.Change(_holdMs, Timeout.Infinite);
            }
        }
        recipient.Tell(message, reply);
        return reply;
    }

    private void Answered(CallReply reply, object message)
    {
        lock (_gate)
        {
            if (!_waiting.Remove(reply.Call)) return;
            DropEndedHolds();
        }
        if (message is Status.Failure failure) reply.Fail(failure.Cause ?? new InvalidOperationException("the call failed"));
        else reply.Succeed(message);
    }

    private void HoldsRunOut()
    {
        List<CallReply>? runOut = null;
        lock (_gate)
        {
            if (_ended) return;
            var now = Environment.TickCount64;
            DropEndedHolds();
            while (_holds.TryPeek(out var held) && held.DueMs <= now)
            {
                _holds.Dequeue();
                if (_waiting.Remove(held.Call, out var reply)) (runOut ??= []).Add(reply);
                DropEndedHolds();
            }
            _timerSet = _holds.TryPeek(out var next);
            if (_timerSet) _timer.Change(Math.Max(1, next.DueMs - now), Timeout.Infinite);
        }
        if (runOut is null) return;
        foreach (var reply in runOut) reply.Fail(new OperationCanceledException("the network did not answer in time"));
    }

    /// <summary>Drops the oldest holds whose calls have ended (under <see cref="_gate"/>).</summary>
    private void DropEndedHolds()
    {
        while (_holds.TryPeek(out var held) && !_waiting.ContainsKey(held.Call)) _holds.Dequeue();
    }

    /// <summary>One call's reply address: ended once, by its first answer, its hold or the end of the reference.</summary>
    private abstract class CallReply(ReplyAddresses replies) : MinimalActorRef
    {
        private ActorPath? _path;

        public long Call { get; set; }

        // Spelled only when asked for (an answer from another node, a log line): a local answer never needs it.
        public override ActorPath Path => _path ??= replies.Path / Call.ToString(CultureInfo.InvariantCulture);

        public override IActorRefProvider Provider => replies.Provider;

        protected override void TellInternal(object message, IActorRef sender) => replies.Answered(this, message);

        public abstract void Succeed(object answer);

        public abstract void Fail(Exception error);
    }

    /// <summary>A call its caller awaits.</summary>
    private sealed class AwaitedReply(ReplyAddresses replies) : CallReply(replies), IValueTaskSource<object>
    {
        // The answer comes on the entity's thread: the caller goes on on the thread pool, not on the entity's time.
        private ManualResetValueTaskSourceCore<object> _core = new() { RunContinuationsAsynchronously = true };

        public ValueTask<object> Answer => new(this, _core.Version);

        public override void Succeed(object answer) => _core.SetResult(answer);

        public override void Fail(Exception error) => _core.SetException(error);

        object IValueTaskSource<object>.GetResult(short token) => _core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<object>.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource<object>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    /// <summary>A call whose caller is called back (an entity, told its answer as a message).</summary>
    private sealed class CalledBackReply(ReplyAddresses replies, Action<object?, Exception?> then) : CallReply(replies)
    {
        public override void Succeed(object answer) => then(answer, null);

        public override void Fail(Exception error) => then(null, error);
    }

    private sealed class EntityReplies(ActorSystem system) : IExtension
    {
        private readonly ConcurrentDictionary<TimeSpan, ReplyAddresses> _byHold = new();

        public ReplyAddresses For(TimeSpan hold) => _byHold.GetOrAdd(hold, static (hold, system) => new ReplyAddresses(system, hold), system);
    }

    private sealed class EntityRepliesProvider : ExtensionIdProvider<EntityReplies>
    {
        public override EntityReplies CreateExtension(ExtendedActorSystem system) => new(system);
    }
}
