namespace Energy.Ocpp;

/// <summary>
/// How repeated authentication failures of one key (a charge point id, a remote address) are slowed down:
/// the first <see cref="FreeFailures"/> cost nothing; every further failure locks the key out for twice as
/// long as the one before, from <see cref="FirstLock"/> up to <see cref="MaxLock"/>. A key quiet for
/// <see cref="ForgetAfter"/> starts again from zero. At most <see cref="MaxEntries"/> keys are remembered.
/// </summary>
public sealed record ThrottlePolicy(int FreeFailures, TimeSpan FirstLock, TimeSpan MaxLock, TimeSpan ForgetAfter, int MaxEntries)
{
    /// <summary>
    /// Per charge point: five wrong passwords, then 1 s, 2 s, 4 s ... up to 60 s. Guessing one charger's password
    /// from any number of addresses gets at most one try a minute (about 1,440 a day) once locked.
    /// </summary>
    public static readonly ThrottlePolicy PerChargePoint = new(5, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(15), 10_000);

    /// <summary>
    /// Per remote address (an IPv6 address by its /64): twenty failures, since chargers of one site may share an
    /// address behind NAT, then the same doubling up to 5 minutes: one address trying many ids gets at most
    /// one try every 5 minutes once locked.
    /// </summary>
    public static readonly ThrottlePolicy PerAddress = new(20, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), 10_000);

    /// <summary>How long the key is locked after its <paramref name="failures"/>-th failure in a row.</summary>
    public TimeSpan LockAfter(int failures)
    {
        if (failures <= FreeFailures) return TimeSpan.Zero;
        var doublings = Math.Min(failures - FreeFailures - 1, 30);
        var ticks = FirstLock.Ticks * (1L << doublings);
        return ticks <= 0 || ticks > MaxLock.Ticks ? MaxLock : TimeSpan.FromTicks(ticks);
    }
}

/// <summary>
/// The failure table of one <see cref="ThrottlePolicy"/>. While a key is locked, attempts are refused without
/// being checked (so they test no password) and are not counted. Safe for concurrent use; the caller passes
/// the time, so the rules are tested without a clock.
/// </summary>
public sealed class AuthenticationThrottle(ThrottlePolicy policy)
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    private readonly record struct Entry(int Failures, long LastFailureMs, long LockedUntilMs);

    public ThrottlePolicy Policy => policy;

    public int Count
    {
        get { lock (_gate) return _entries.Count; }
    }

    /// <summary>How long the key is still locked out; zero when it may try.</summary>
    public TimeSpan RetryAfter(string key, long nowMs)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(key, out var entry) && entry.LockedUntilMs > nowMs
                ? TimeSpan.FromMilliseconds(entry.LockedUntilMs - nowMs)
                : TimeSpan.Zero;
        }
    }

    /// <summary>Counts a failure; returns how long the key is now locked out (zero while failures are still free).</summary>
    public TimeSpan RecordFailure(string key, long nowMs)
    {
        lock (_gate)
        {
            var failures = 1;
            if (_entries.TryGetValue(key, out var entry))
            {
                if (nowMs - entry.LastFailureMs <= policy.ForgetAfter.TotalMilliseconds) failures = entry.Failures + 1;
            }
            else
            {
                MakeRoom(nowMs);
            }
            var locked = policy.LockAfter(failures);
            _entries[key] = new Entry(failures, nowMs, nowMs + (long)locked.TotalMilliseconds);
            return locked;
        }
    }

    /// <summary>A key that authenticated starts again from zero.</summary>
    public void RecordSuccess(string key)
    {
        lock (_gate) _entries.Remove(key);
    }

    /// <summary>
    /// Keeps the table within its bound: first the keys quiet long enough to be forgotten, then, if still full,
    /// the tenth of the keys that failed longest ago. Called with the gate held.
    /// </summary>
    private void MakeRoom(long nowMs)
    {
        if (_entries.Count < policy.MaxEntries) return;
        var forgetMs = (long)policy.ForgetAfter.TotalMilliseconds;
        foreach (var (key, entry) in _entries)
            if (nowMs - entry.LastFailureMs > forgetMs) _entries.Remove(key);
        if (_entries.Count < policy.MaxEntries) return;
        var oldest = _entries.OrderBy(pair => pair.Value.LastFailureMs).Take(Math.Max(1, policy.MaxEntries / 10)).Select(pair => pair.Key).ToList();
        foreach (var key in oldest) _entries.Remove(key);
    }
}
