using System.Diagnostics;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The PBKDF2 checks of OCPP passwords, bounded: at most one per core runs at a time, and a check waits for a turn
/// only while the wait ahead of it (the checks queued, times what one has cost lately, over the cores) stays within
/// <see cref="MaxWait"/>. Past that the upgrade is refused at the door with OCPP's own "busy, retry" (503 with
/// Retry-After, the expected wait) instead of holding the charger until its upgrade times out: a storm of first
/// contacts is spread over the seconds the checks need, and the node's other work keeps its cores. Each refused
/// upgrade is promised a later turn of its own (the turns promised before it, one check's cost apart), so that the
/// refused come back spread over those seconds rather than all at once.
/// </summary>
public sealed class PasswordChecks : IDisposable
{
    /// <summary>Checks queued at most, whatever they cost: each holds a request and its socket.</summary>
    public const int MaxQueued = 10_000;

    private readonly SemaphoreSlim _turns;
    private int _queued;
    private long _averageTicks = TimeSpan.FromMilliseconds(5).Ticks;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _promising = new();
    private TimeSpan _promisedUntil;

    public PasswordChecks(int concurrent, TimeSpan maxWait)
    {
        Concurrent = Math.Max(1, concurrent);
        MaxWait = maxWait;
        _turns = new SemaphoreSlim(Concurrent, Concurrent);
    }

    public int Concurrent { get; }

    public void Dispose() => _turns.Dispose();

    public TimeSpan MaxWait { get; }

    public int Queued => Volatile.Read(ref _queued);

    /// <summary>What one check has cost lately (a moving average).</summary>
    public TimeSpan CheckCost => TimeSpan.FromTicks(Volatile.Read(ref _averageTicks));

    /// <summary>
    /// The wait of a check with <paramref name="ahead"/> others queued before it: none while a turn is free for it,
    /// else its place in the queue times what a check costs, shared by the turns.
    /// </summary>
    private TimeSpan WaitBehind(int ahead) =>
        ahead < _turns.CurrentCount ? TimeSpan.Zero : TimeSpan.FromTicks(Volatile.Read(ref _averageTicks) * (ahead + 1) / Concurrent);

    /// <summary>A turn after <paramref name="wait"/> and after every turn promised before, in whole seconds from now (1 to 30).</summary>
    private TimeSpan Promise(TimeSpan wait)
    {
        TimeSpan turn;
        lock (_promising)
        {
            var now = _clock.Elapsed;
            turn = now + wait > _promisedUntil ? now + wait : _promisedUntil;
            _promisedUntil = turn + TimeSpan.FromTicks(Volatile.Read(ref _averageTicks) / Concurrent);
            turn -= now;
        }
        return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(turn.TotalSeconds), 1, 30));
    }

    /// <summary>Runs the check in its turn; or, when the wait is too long, does not, and says when to come back.</summary>
    public async Task<PasswordCheck> RunAsync(Func<bool> check, CancellationToken token)
    {
        var ahead = Interlocked.Increment(ref _queued) - 1;
        var wait = WaitBehind(ahead);
        if (ahead >= MaxQueued || wait > MaxWait)
        {
            Interlocked.Decrement(ref _queued);
            return PasswordCheck.Busy(Promise(wait));
        }
        try { await _turns.WaitAsync(token); }
        finally { Interlocked.Decrement(ref _queued); }
        try
        {
            var started = Stopwatch.GetTimestamp();
            var matched = check();
            var cost = Stopwatch.GetElapsedTime(started).Ticks;
            // An average over about the last sixteen checks: it follows an operator's change of iterations within a few.
            var average = Volatile.Read(ref _averageTicks);
            Volatile.Write(ref _averageTicks, Math.Max(1, average + (cost - average) / 16));
            return matched ? PasswordCheck.Matched : PasswordCheck.Mismatched;
        }
        finally
        {
            _turns.Release();
        }
    }
}

/// <summary>The outcome of one queued password check: ran (matched or not), or refused because the node is busy.</summary>
public readonly record struct PasswordCheck(bool Ran, bool Match, TimeSpan RetryAfter)
{
    public static readonly PasswordCheck Matched = new(true, true, TimeSpan.Zero);
    public static readonly PasswordCheck Mismatched = new(true, false, TimeSpan.Zero);

    public static PasswordCheck Busy(TimeSpan retryAfter) => new(false, false, retryAfter);
}
