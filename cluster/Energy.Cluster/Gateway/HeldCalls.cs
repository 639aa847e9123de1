using System.Diagnostics;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The calls from charge points (one instance; the device gateway's lookups and calls are another) a node is holding:
/// asked of an entity and not answered yet. A node that wakes entities
/// after a restart holds a call until its entity answers (within <see cref="EnergySettings.DeviceCallHold"/>, below the
/// time a charger waits) instead of answering an error because it is slow. The node is busy when it holds
/// <see cref="Max"/> calls, or when a backlog of them (the <see cref="Backlog"/> oldest) has waited longer than
/// <see cref="LongestWait"/>: it is then waking entities more slowly than chargers arrive, and every call it takes on
/// would only wait longer. A few slow calls (an entity waiting on a node that is down) are not a backlog, so they do
/// not make the node busy for every other charger. Busy, it
/// says so the ways OCPP 1.6 defines (the gateway's own ways are <see cref="DeviceGateway"/>'s): a new connection is refused at the door with HTTP 503 and Retry-After, and a
/// BootNotification is answered Pending with the interval after which to boot again. Every other call of a connected
/// charger is still held: a connection has one call in flight at a time, so what is held is bounded by the connections
/// admitted. The wait bound keeps the answers the node gives prompt; the chargers it defers come back when it has
/// caught up, and pay for it in the time until their boot is accepted, not in calls that hang.
/// </summary>
public sealed class HeldCalls
{
    private readonly object _gate = new();
    // When each held call started, oldest first: calls start in time order, so the head is the oldest one held.
    private readonly LinkedList<TimeSpan> _started = new();
    private readonly Func<TimeSpan> _elapsed;

    /// <param name="max">Calls held at most before the node is busy.</param>
    /// <param name="longestWait">How long a backlog of held calls may have waited before the node is busy.</param>
    /// <param name="backlog">How many held calls must have waited that long.</param>
    /// <param name="elapsed">The node's monotonic clock (a stopwatch unless a test drives it).</param>
    public HeldCalls(int max, TimeSpan longestWait, int backlog = 32, Func<TimeSpan>? elapsed = null)
    {
        Max = max;
        LongestWait = longestWait;
        Backlog = Math.Max(1, backlog);
        if (elapsed is null)
        {
            var stopwatch = Stopwatch.StartNew();
            elapsed = () => stopwatch.Elapsed;
        }
        _elapsed = elapsed;
    }

    public int Max { get; }

    public TimeSpan LongestWait { get; }

    public int Backlog { get; }

    public int Count
    {
        get { lock (_gate) return _started.Count; }
    }

    /// <summary>How long each of the <see cref="Backlog"/> oldest calls still held has waited at least; zero when fewer are held.</summary>
    public TimeSpan BacklogWait
    {
        get
        {
            lock (_gate)
            {
                if (_started.Count < Backlog) return TimeSpan.Zero;
                var held = _started.First!;
                for (var i = 1; i < Backlog; i++) held = held.Next!;
                return _elapsed() - held.Value;
            }
        }
    }

    public bool Busy => Count >= Max || BacklogWait > LongestWait;

    /// <summary>Whether a backlog (<see cref="Backlog"/> calls or more) is held, however long it has waited: the node's own background work makes way.</summary>
    public bool HoldsBacklog => Count >= Backlog;

    /// <summary>
    /// When to come back: a second for every <see cref="Max"/> held calls, and at least as long as the backlog has
    /// waited (what a charger taken on now would wait too), between 1 and 30 s.
    /// </summary>
    public TimeSpan RetryAfter =>
        TimeSpan.FromSeconds(Math.Clamp(Math.Max(Count / Math.Max(1, Max), (int)Math.Ceiling(BacklogWait.TotalSeconds)), 1, 30));

    /// <summary>Counts a call as held until the returned scope ends.</summary>
    public Scope Hold()
    {
        lock (_gate) return new Scope(this, _started.AddLast(_elapsed()));
    }

    private void Release(LinkedListNode<TimeSpan> held)
    {
        lock (_gate)
        {
            if (held.List is not null) _started.Remove(held);
        }
    }

    public readonly struct Scope : IDisposable
    {
        private readonly HeldCalls _calls;
        private readonly LinkedListNode<TimeSpan> _held;

        internal Scope(HeldCalls calls, LinkedListNode<TimeSpan> held)
        {
            _calls = calls;
            _held = held;
        }

        public void Dispose() => _calls?.Release(_held);
    }
}
