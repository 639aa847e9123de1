using System.Diagnostics;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The bound within which a gateway connection must authenticate a device, counted in the client's time, not the
/// node's: the time the connection's hellos and authentications waited for the network (a registry entity waking after
/// a restart) is not counted, and the bound does not run out while one waits. Nor is the time the node asked the client
/// to wait before it says hello again (GatewayBusy names it: the client's time starts again after it), nor the time the
/// node was behind during the connection's life (<see cref="SchedulingDelay"/>: the client's frames, and the node's
/// answers, waited in the node's own queues), nor any time past the bound while the node is busy, up to
/// <see cref="MostExcused"/> over the connection's life in all: a client is not closed for the node's slowness or for
/// obeying it, and a stranger cannot keep a connection open by it for long.
/// </summary>
internal sealed class AuthenticationDeadline(TimeSpan bound, Func<bool>? nodeBusy = null, SchedulingDelay? scheduling = null) : IDisposable
{
    private static readonly TimeSpan Recheck = TimeSpan.FromMilliseconds(100);

    /// <summary>The most waiting a node's "come back later" adds to the bound, over a connection's life.</summary>
    public static readonly TimeSpan MostExcused = TimeSpan.FromSeconds(60);

    private readonly long _opened = Stopwatch.GetTimestamp();
    // Cancelled once a device authenticated: the wait for the bound ends then, instead of holding its timer for the bound.
    private readonly CancellationTokenSource _authenticated = new();
    private readonly TimeSpan _behindAtOpening = scheduling?.BehindSoFar ?? TimeSpan.Zero;
    private long _networkTicks;
    private long _excusedTicks;
    private int _networkAsks;

    public TimeSpan Bound => bound;

    /// <summary>The waits the node asked of the client so far and the time the node was behind, not counted (at most <see cref="MostExcused"/>).</summary>
    public TimeSpan Excused => TimeSpan.FromTicks(Math.Min(MostExcused.Ticks, Volatile.Read(ref _excusedTicks) + NodeBehind.Ticks));

    /// <summary>The time the node was behind since this connection opened.</summary>
    private TimeSpan NodeBehind => scheduling is null ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(0, (scheduling.BehindSoFar - _behindAtOpening).Ticks));

    /// <summary>Waits for the network, the wait counted as the network's time.</summary>
    public async Task<T> NetworkAsync<T>(Task<T> asked)
    {
        var started = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _networkAsks);
        try { return await asked; }
        finally
        {
            Interlocked.Add(ref _networkTicks, Stopwatch.GetElapsedTime(started).Ticks);
            Interlocked.Decrement(ref _networkAsks);
        }
    }

    /// <summary>
    /// The node told the client to come back after <paramref name="wait"/> (it is behind): the client's time starts again
    /// once the wait is over, as if the connection opened then; what this excuses is counted in <see cref="MostExcused"/>.
    /// </summary>
    public void Defer(TimeSpan wait) => Excuse(Counted + wait);

    /// <summary>The client's time so far: since the connection opened, less the network's waits and what was excused.</summary>
    private TimeSpan Counted => Stopwatch.GetElapsedTime(_opened) - TimeSpan.FromTicks(Volatile.Read(ref _networkTicks)) - Excused;

    /// <summary>That time is the node's, up to <see cref="MostExcused"/> in all.</summary>
    public void Excuse(TimeSpan wait)
    {
        while (true)
        {
            var excused = Volatile.Read(ref _excusedTicks);
            var next = Math.Min(MostExcused.Ticks, excused + Math.Max(0, wait.Ticks));
            if (Interlocked.CompareExchange(ref _excusedTicks, next, excused) == excused) return;
        }
    }

    /// <summary>
    /// A device authenticated: the deadline no longer runs. The wait in <see cref="PassedUnauthenticatedAsync"/> ends at
    /// once; at a thousand new connections a second, ten thousand would otherwise each hold a timer for the whole bound.
    /// </summary>
    public void Authenticated() => _authenticated.Cancel();

    public void Dispose() => _authenticated.Dispose();

    /// <summary>True once the bound has passed with no device authenticated; false as soon as one is, or when the connection stops.</summary>
    public async Task<bool> PassedUnauthenticatedAsync(Func<bool> authenticated, CancellationToken stop)
    {
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(stop, _authenticated.Token);
        while (true)
        {
            var left = bound - Counted;
            if (left <= TimeSpan.Zero && Volatile.Read(ref _networkAsks) == 0)
            {
                if (nodeBusy?.Invoke() != true || Excused >= MostExcused) break;
                Excuse(Recheck);
            }
            try { await Task.Delay(left > TimeSpan.Zero ? left : Recheck, ended.Token); }
            catch (OperationCanceledException) { return false; }
            if (authenticated()) return false;
        }
        return !authenticated();
    }
}
