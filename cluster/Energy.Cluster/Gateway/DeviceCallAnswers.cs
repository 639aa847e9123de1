using System.Globalization;
using System.Threading.Tasks.Sources;
using Akka.Actor;

namespace Energy.Cluster.Gateway;

/// <summary>
/// Where entities answer the calls of one gateway connection. Each call has a reply address of its own under the
/// connection's path (its number: <c>/temp/$x/17</c>), which an entity on any node answers as it would an ask's; only the
/// first answer to that address ends the call, and an address answers nothing once its call has ended. A call not answered
/// within the hold ends cancelled; when the connection ends, every call still waited for ends cancelled and no new call is
/// asked.
/// </summary>
/// <remarks>
/// An ask made a temporary actor for every call: a registration under the node's temporary paths, a promise, its
/// continuations, a linked cancellation and a timer, about 1.4 KB a call. Here a call is one object and a table entry; the
/// connection has one registration and one timer for all its calls, and the timer is set again only when the oldest call
/// waited for changes.
/// </remarks>
public sealed class DeviceCallAnswers : ConnectionActorRef
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
    /// <param name="served">Cancelled when the connection ends: the calls waited for then end cancelled.</param>
    public DeviceCallAnswers(ActorSystem system, TimeSpan hold, CancellationToken served) : base(system)
    {
        _holdMs = Math.Max(1, (long)hold.TotalMilliseconds);
        _timer = new Timer(static answers => ((DeviceCallAnswers)answers!).HoldsRunOut(), this, Timeout.Infinite, Timeout.Infinite);
        _served = served.Register(static answers => ((DeviceCallAnswers)answers!).Dispose(), this);
    }

    /// <summary>How many calls are waited for.</summary>
    public int Waiting
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>
    /// Tells <paramref name="message"/> to <paramref name="recipient"/> from a reply address of its own; ends with the first
    /// answer to it (a <see cref="Status.Failure"/> ends it with its cause), or with an
    /// <see cref="OperationCanceledException"/> when none came within the hold or the connection ended.
    /// </summary>
    public ValueTask<object> AskAsync(IActorRef recipient, object message)
    {
        CallReply reply;
        lock (_gate)
        {
            if (_ended) throw new OperationCanceledException("the connection ended");
            reply = new CallReply(this, ++_asked);
            _waiting.Add(reply.Call, reply);
            _holds.Enqueue((reply.Call, Environment.TickCount64 + _holdMs));
            if (!_timerSet)
            {
                _timerSet = true;
                _timer.Change(_holdMs, Timeout.Infinite);
            }
        }
        recipient.Tell(message, reply);
        return reply.Answer;
    }

    /// <summary>A reply address is reached by its call's number, as an answer from another node reaches it; an ended call's by nobody.</summary>
    public override IActorRef GetChild(IReadOnlyList<string> name)
    {
        if (name.Count == 0) return this;
        if (name.Count != 1 || !long.TryParse(name[0], NumberStyles.None, CultureInfo.InvariantCulture, out var call)) return ActorRefs.Nobody;
        lock (_gate) return _waiting.TryGetValue(call, out var reply) ? reply : ActorRefs.Nobody;
    }

    // Messages to the connection's own path answer no call.
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
        foreach (var reply in ended) reply.Fail(new OperationCanceledException("the connection ended"));
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

    /// <summary>One call's reply address, and what its caller awaits: ended once, by its first answer, its hold or the connection.</summary>
    private sealed class CallReply(DeviceCallAnswers answers, long call) : MinimalActorRef, IValueTaskSource<object>
    {
        // The answer comes on the entity's thread: the caller goes on on the thread pool, not on the entity's time.
        private ManualResetValueTaskSourceCore<object> _core = new() { RunContinuationsAsynchronously = true };
        private ActorPath? _path;

        public long Call => call;

        public ValueTask<object> Answer => new(this, _core.Version);

        // Spelled only when asked for (an answer from another node, a log line): a local answer never needs it.
        public override ActorPath Path => _path ??= answers.Path / Call.ToString(CultureInfo.InvariantCulture);

        public override IActorRefProvider Provider => answers.Provider;

        protected override void TellInternal(object message, IActorRef sender) => answers.Answered(this, message);

        public void Succeed(object answer) => _core.SetResult(answer);

        public void Fail(Exception error) => _core.SetException(error);

        object IValueTaskSource<object>.GetResult(short token) => _core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<object>.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource<object>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
