using System.Diagnostics;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The bound within which a gateway connection must authenticate a device, counted in the client's time, not the
/// node's: the time the connection's hellos and authentications waited for the network (a registry entity waking after
/// a restart) is not counted, and the bound does not run out while one waits.
/// </summary>
internal sealed class AuthenticationDeadline(TimeSpan bound)
{
    private readonly long _opened = Stopwatch.GetTimestamp();
    private long _networkTicks;
    private int _networkAsks;

    public TimeSpan Bound => bound;

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

    /// <summary>True once the bound has passed with no device authenticated; false as soon as one is, or when the connection stops.</summary>
    public async Task<bool> PassedUnauthenticatedAsync(Func<bool> authenticated, CancellationToken stop)
    {
        while (true)
        {
            var left = bound - (Stopwatch.GetElapsedTime(_opened) - TimeSpan.FromTicks(Volatile.Read(ref _networkTicks)));
            if (left <= TimeSpan.Zero && Volatile.Read(ref _networkAsks) == 0) break;
            try { await Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(100), stop); }
            catch (OperationCanceledException) { return false; }
            if (authenticated()) return false;
        }
        return !authenticated();
    }
}
