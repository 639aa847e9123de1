using System.Diagnostics;

namespace Energy.Bench.Storms;

/// <summary>
/// Arrivals on a schedule, whatever the answers before them took: arrival i starts at i / rate seconds after
/// the first. A late timer starts the arrivals it owes at once, so the rate holds on average.
/// </summary>
public static class OpenLoop
{
    public static async Task<Task[]> ArrivalsAsync(int count, double perSecond, Stopwatch clock, StormRecorder recorder, Func<int, Task> arrive)
    {
        var started = new Task[count];
        var first = clock.Elapsed;
        for (var i = 0; i < count; i++)
        {
            var due = first + TimeSpan.FromSeconds(i / perSecond);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait);
            recorder.ArrivalLag(Math.Max(0, (clock.Elapsed - due).TotalMilliseconds));
            var index = i;
            started[i] = Task.Run(() => arrive(index));
        }
        return started;
    }
}
