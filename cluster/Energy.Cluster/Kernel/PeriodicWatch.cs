using Akka.Actor;

namespace Energy.Cluster.Kernel;

/// <summary>
/// A node's watch over something durable that entities cannot do for themselves (their timers die with them): it
/// looks once when the node starts, then every interval. A subclass says what one look does.
/// </summary>
public abstract class PeriodicWatch : ReceiveActor, IWithTimers
{
    protected PeriodicWatch(TimeSpan interval)
    {
        Receive<Tick>(_ => Look());
        Self.Tell(Tick.Instance);
        Timers.StartPeriodicTimer("tick", Tick.Instance, interval);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>One look: ask what is due, and wake it.</summary>
    protected abstract void Look();

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }
}
