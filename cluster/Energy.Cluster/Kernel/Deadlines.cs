using Akka.Actor;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Kernel;

/// <summary>Timers for a wall-clock deadline (a challenge window's end).</summary>
public static class Deadlines
{
    /// <summary>
    /// Sends <paramref name="message"/> when <paramref name="deadline"/> is reached, checking at least every
    /// second so that a moved clock (tests, NTP steps) is noticed; the receiver asks its rules whether it is due.
    /// </summary>
    public static void Schedule(ITimerScheduler timers, object key, object message, Timestamp deadline, Timestamp now)
    {
        var wait = TimeSpan.FromMilliseconds(Math.Max(0, deadline.UnixMilliseconds - now.UnixMilliseconds));
        timers.StartSingleTimer(key, message, wait < TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1));
    }
}
