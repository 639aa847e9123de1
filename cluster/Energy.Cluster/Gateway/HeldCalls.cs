namespace Energy.Cluster.Gateway;

/// <summary>
/// The calls from charge points a node is holding: asked of an entity and not answered yet. A node that wakes entities
/// after a restart holds a call until its entity answers (within <see cref="EnergySettings.DeviceCallHold"/>, below the
/// time a charger waits) instead of answering an error because it is slow. Past <see cref="Max"/> held calls the node is
/// busy, and says so the ways OCPP 1.6 defines: a new connection is refused at the door with HTTP 503 and Retry-After,
/// and a BootNotification is answered Pending with the interval after which to boot again. Every other call of a
/// connected charger is still held: a connection has one call in flight at a time, so what is held is bounded by the
/// connections admitted.
/// </summary>
public sealed class HeldCalls(int max)
{
    private int _held;

    public int Max { get; } = max;

    public int Count => Volatile.Read(ref _held);

    public bool Busy => Count >= Max;

    /// <summary>When to come back: a second for every <see cref="Max"/> held calls, between 1 and 30 s.</summary>
    public TimeSpan RetryAfter => TimeSpan.FromSeconds(Math.Clamp(Count / Math.Max(1, Max), 1, 30));

    /// <summary>Counts a call as held until the returned scope ends.</summary>
    public Scope Hold()
    {
        Interlocked.Increment(ref _held);
        return new Scope(this);
    }

    public readonly struct Scope(HeldCalls calls) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref calls._held);
    }
}
