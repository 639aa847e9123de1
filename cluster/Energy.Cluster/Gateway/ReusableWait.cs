using System.Threading.Tasks.Sources;

namespace Energy.Cluster.Gateway;

/// <summary>
/// What a connection awaits, one operation at a time, in the same object every time: a connection that lives for hours
/// and waits ten thousand times makes no object per wait. Each wait is awaited once; taking its result lets go of the
/// result and of whoever awaited it, so the long-lived owner keeps nothing young between two waits.
/// </summary>
internal sealed class ReusableWait<T> : IValueTaskSource<T>
{
    private ManualResetValueTaskSourceCore<T> _core;

    /// <param name="runContinuationsAsynchronously">
    /// Whether the awaiter goes on on the thread pool rather than on the thread that completes the wait (an actor's, for one).
    /// </param>
    public ReusableWait(bool runContinuationsAsynchronously) => _core.RunContinuationsAsynchronously = runContinuationsAsynchronously;

    /// <summary>Starts the next wait; the one before must have been awaited.</summary>
    public ValueTask<T> Start()
    {
        _core.Reset();
        return new ValueTask<T>(this, _core.Version);
    }

    public void SetResult(T result) => _core.SetResult(result);

    public void SetException(Exception error) => _core.SetException(error);

    T IValueTaskSource<T>.GetResult(short token)
    {
        try { return _core.GetResult(token); }
        finally { _core.Reset(); }
    }

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
