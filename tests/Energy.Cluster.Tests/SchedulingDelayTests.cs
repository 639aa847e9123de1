using System.Diagnostics;
using Energy.Cluster.Gateway;

namespace Energy.Cluster.Tests;

/// <summary>
/// A node knows when it is behind (work it queued waits longer than the threshold before it runs), adds up that time,
/// and a device's time to authenticate does not count what the node was behind during the connection's life.
/// </summary>
public sealed class SchedulingDelayTests
{
    /// <summary>A thread pool the test holds: probes wait in it until the test runs them, on a clock the test moves.</summary>
    private sealed class HeldPool
    {
        public readonly Queue<Action> Waiting = new();
        public TimeSpan Now;

        public SchedulingDelay Delay() => new(() => Now, Waiting.Enqueue);

        public void RunAll()
        {
            var count = Waiting.Count;
            for (var i = 0; i < count; i++) Waiting.Dequeue()();
        }
    }

    [Fact]
    public void A_probe_that_waits_past_the_threshold_makes_the_node_behind_and_its_wait_is_counted()
    {
        var pool = new HeldPool();
        var delay = pool.Delay();
        delay.Probe();
        pool.Now += TimeSpan.FromMilliseconds(40);
        Assert.False(delay.Behind);
        pool.RunAll();
        Assert.False(delay.Behind);
        Assert.Equal(TimeSpan.FromMilliseconds(40), delay.Latest);
        Assert.Equal(TimeSpan.Zero, delay.BehindSoFar);

        delay.Probe();
        pool.Now += TimeSpan.FromMilliseconds(700);
        // Still waiting, it already shows the node behind, and the time so far counts.
        Assert.True(delay.Behind);
        Assert.Equal(TimeSpan.FromMilliseconds(700), delay.BehindSoFar);
        pool.RunAll();
        Assert.Equal(TimeSpan.FromMilliseconds(700), delay.Latest);
        Assert.Equal(TimeSpan.FromMilliseconds(700), delay.BehindSoFar);
    }

    [Fact]
    public void One_probe_waits_at_a_time_and_after_a_long_wait_the_next_is_queued_at_once()
    {
        var pool = new HeldPool();
        var delay = pool.Delay();
        delay.Probe();
        delay.Probe();
        delay.Probe();
        Assert.Single(pool.Waiting);

        pool.Now += TimeSpan.FromMilliseconds(300);
        pool.RunAll();
        // The next probe is already queued: the time until the timer's turn is measured too.
        Assert.Single(pool.Waiting);
        pool.Now += TimeSpan.FromMilliseconds(200);
        pool.RunAll();
        Assert.Equal(TimeSpan.FromMilliseconds(500), delay.BehindSoFar);

        // Caught up: a prompt probe queues no other, and the node is no longer behind.
        Assert.Single(pool.Waiting);
        pool.Now += TimeSpan.FromMilliseconds(5);
        pool.RunAll();
        Assert.Empty(pool.Waiting);
        Assert.False(delay.Behind);
        Assert.Equal(TimeSpan.FromMilliseconds(500), delay.BehindSoFar);
    }

    [Fact]
    public void The_time_the_node_was_behind_while_a_connection_was_open_is_not_counted_against_its_client()
    {
        var pool = new HeldPool();
        var scheduling = pool.Delay();
        // Behind before the connection opened: that is not this client's excuse.
        scheduling.Probe();
        pool.Now += TimeSpan.FromSeconds(5);
        pool.RunAll();
        pool.RunAll();

        var deadline = new AuthenticationDeadline(TimeSpan.FromMilliseconds(100), scheduling: scheduling);
        Assert.Equal(TimeSpan.Zero, deadline.Excused);

        scheduling.Probe();
        pool.Now += TimeSpan.FromMilliseconds(600);
        pool.RunAll();
        pool.RunAll();
        Assert.Equal(TimeSpan.FromMilliseconds(600), deadline.Excused);
    }

    [Fact]
    public async Task A_deadline_runs_out_no_sooner_than_its_bound_and_the_time_the_node_was_behind()
    {
        var pool = new HeldPool();
        var scheduling = pool.Delay();
        var bound = TimeSpan.FromMilliseconds(100);
        var clock = Stopwatch.StartNew();
        var deadline = new AuthenticationDeadline(bound, scheduling: scheduling);
        scheduling.Probe();
        pool.Now += TimeSpan.FromMilliseconds(800);
        pool.RunAll();
        pool.RunAll();

        Assert.True(await deadline.PassedUnauthenticatedAsync(() => false, CancellationToken.None));
        Assert.True(clock.Elapsed >= bound + TimeSpan.FromMilliseconds(800), $"passed after {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public void What_the_node_being_behind_excuses_is_bounded_with_the_rest()
    {
        var pool = new HeldPool();
        var scheduling = pool.Delay();
        var deadline = new AuthenticationDeadline(TimeSpan.FromSeconds(10), scheduling: scheduling);
        deadline.Excuse(TimeSpan.FromSeconds(30));
        scheduling.Probe();
        pool.Now += TimeSpan.FromSeconds(45);
        pool.RunAll();
        Assert.Equal(AuthenticationDeadline.MostExcused, deadline.Excused);
    }

    [Fact]
    public async Task On_the_real_thread_pool_a_probe_runs_and_is_timed()
    {
        using var delay = new SchedulingDelay();
        await AwaitAssertAsync(() => Assert.True(delay.Latest > TimeSpan.Zero));
    }

    private static async Task AwaitAssertAsync(Action assertion)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { assertion(); return; }
            catch (Xunit.Sdk.XunitException) when (clock.Elapsed < TimeSpan.FromSeconds(10)) { await Task.Delay(10); }
        }
    }
}
