namespace Energy.Cluster.Kernel;

/// <summary>
/// When an entity snapshots: once every <c>everyEvents</c> durable events, and only while all it holds is durable (a
/// snapshot put off because something waits to be written is taken at the next event that finds nothing waiting).
/// Events replayed in recovery are not counted: the entity asks only for live ones.
/// </summary>
public sealed class SnapshotCadence
{
    private readonly int _everyEvents;
    private int _eventsSince;

    public SnapshotCadence(int everyEvents) => _everyEvents = everyEvents;

    /// <summary>A live event is durable: true when a snapshot is due now (and the count starts again).</summary>
    /// <param name="allDurable">Nothing the entity took waits to be written or is in flight.</param>
    public bool Due(bool allDurable)
    {
        if (++_eventsSince < _everyEvents || !allDurable) return false;
        _eventsSince = 0;
        return true;
    }
}
