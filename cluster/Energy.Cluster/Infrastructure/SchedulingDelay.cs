using System.Diagnostics;

namespace Energy.Cluster;

/// <summary>
/// How long work queued on this node waits before it runs: every <see cref="Interval"/> a probe is queued on the thread
/// pool's shared queue and timed. Past <see cref="Threshold"/> the node is behind (its processors are saturated: a
/// frame read, an answer written, a timer's continuation all wait that long), and the time it spends so is added up.
/// A connection that must act within a bound of its own time (a device's authentication) does not count the time the
/// node was behind as its client's: the node's slowness is not the client's.
/// </summary>
public sealed class SchedulingDelay : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>A probe that waits longer than this finds the node behind; an idle node runs one within a millisecond.</summary>
    public static readonly TimeSpan Threshold = TimeSpan.FromMilliseconds(100);

    private readonly Func<TimeSpan> _elapsed;
    private readonly Timer? _timer;
    private readonly Action<Action> _queue;
    private long _behindTicks;
    private long _latestTicks;
    private long _lastProbeTicks;
    private int _probing;

    /// <summary>Probes the thread pool every <see cref="Interval"/>.</summary>
    public SchedulingDelay() : this(null, null)
    {
        _timer = new Timer(_ => Probe(), null, Interval, Interval);
    }

    /// <param name="elapsed">The node's monotonic clock (a stopwatch unless a test drives it).</param>
    /// <param name="queue">Where a probe is queued (the thread pool's shared queue unless a test holds it).</param>
    internal SchedulingDelay(Func<TimeSpan>? elapsed, Action<Action>? queue)
    {
        if (elapsed is null)
        {
            var stopwatch = Stopwatch.StartNew();
            elapsed = () => stopwatch.Elapsed;
        }
        _elapsed = elapsed;
        _queue = queue ?? (run => ThreadPool.UnsafeQueueUserWorkItem(static r => r(), run, preferLocal: false));
        _lastProbeTicks = elapsed().Ticks;
    }

    /// <summary>How long the last probe waited (a probe still waiting counts for as long as it has waited so far).</summary>
    public TimeSpan Latest => TimeSpan.FromTicks(Math.Max(Volatile.Read(ref _latestTicks), Waiting.Ticks));

    /// <summary>Whether the node is behind now.</summary>
    public bool Behind => Latest > Threshold;

    /// <summary>The time this node has been behind since it started; a connection counts what passed during its own life.</summary>
    public TimeSpan BehindSoFar
    {
        get
        {
            var waiting = Waiting;
            return TimeSpan.FromTicks(Volatile.Read(ref _behindTicks) + (waiting > Threshold ? waiting.Ticks : 0));
        }
    }

    private TimeSpan Waiting => Volatile.Read(ref _probing) == 1 ? _elapsed() - TimeSpan.FromTicks(Volatile.Read(ref _lastProbeTicks)) : TimeSpan.Zero;

    /// <summary>
    /// Queues one probe, unless the last one is still waiting; the time since it was queued is counted as behind if it
    /// waited too long, and then the next probe is queued at once (the timer's own turn would wait as long, and the
    /// time between would go uncounted).
    /// </summary>
    internal void Probe()
    {
        if (Interlocked.CompareExchange(ref _probing, 1, 0) != 0) return;
        var queued = _elapsed();
        Volatile.Write(ref _lastProbeTicks, queued.Ticks);
        _queue(() =>
        {
            var waited = _elapsed() - queued;
            Volatile.Write(ref _latestTicks, waited.Ticks);
            // The whole wait was the node's: a probe that waited long measures time in which everything queued waited as long.
            if (waited > Threshold) Interlocked.Add(ref _behindTicks, waited.Ticks);
            Volatile.Write(ref _probing, 0);
            if (waited > Threshold) Probe();
        });
    }

    public void Dispose() => _timer?.Dispose();
}
