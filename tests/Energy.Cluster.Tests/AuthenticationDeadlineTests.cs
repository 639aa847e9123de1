using System.Diagnostics;
using Energy.Cluster.Gateway;

namespace Energy.Cluster.Tests;

/// <summary>
/// A gateway connection's time to authenticate is the client's: the time its lookups waited for the network, and the
/// waits a busy node asked of it, are the node's.
/// </summary>
public sealed class AuthenticationDeadlineTests
{
    [Fact]
    public async Task A_wait_the_busy_node_asked_for_is_not_counted_against_the_client()
    {
        var bound = TimeSpan.FromMilliseconds(100);
        var clock = Stopwatch.StartNew();
        var excused = new AuthenticationDeadline(bound);
        excused.Excuse(TimeSpan.FromMilliseconds(600));

        Assert.True(await excused.PassedUnauthenticatedAsync(() => false, CancellationToken.None));
        // The excused deadline runs out no sooner than the bound and the wait together (without the excuse: after the bound).
        Assert.True(clock.Elapsed >= bound + TimeSpan.FromMilliseconds(600), $"passed after {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task The_deadline_does_not_pass_while_the_node_is_busy_and_passes_once_it_has_caught_up()
    {
        var busy = true;
        var deadline = new AuthenticationDeadline(TimeSpan.FromMilliseconds(100), () => Volatile.Read(ref busy));
        var passed = deadline.PassedUnauthenticatedAsync(() => false, CancellationToken.None);
        // Past the bound, the deadline excuses the busy node's time rather than closing the connection.
        await AwaitAssert(() => Assert.True(deadline.Excused > TimeSpan.Zero));
        Assert.False(passed.IsCompleted);
        Volatile.Write(ref busy, false);
        Assert.True(await passed.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private static async Task AwaitAssert(Action assertion)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { assertion(); return; }
            catch (Xunit.Sdk.XunitException) when (clock.Elapsed < TimeSpan.FromSeconds(10)) { await Task.Yield(); await Task.Delay(10); }
        }
    }

    [Fact]
    public async Task A_client_told_to_come_back_has_its_whole_time_again_after_the_wait()
    {
        var bound = TimeSpan.FromSeconds(3);
        var deadline = new AuthenticationDeadline(bound);
        var clock = Stopwatch.StartNew();
        var passed = deadline.PassedUnauthenticatedAsync(() => false, CancellationToken.None);
        await AwaitAssert(() => Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(100)));
        Assert.False(passed.IsCompleted, "the deadline passed before the node deferred the client");
        var deferredAt = clock.Elapsed;
        deadline.Defer(TimeSpan.FromMilliseconds(100));
        Assert.True(await passed);
        // The bound counts again from the end of the wait, not from the connection's opening.
        Assert.True(clock.Elapsed >= deferredAt + TimeSpan.FromMilliseconds(100) + bound, $"passed {clock.Elapsed.TotalMilliseconds:0} ms after opening, deferred at {deferredAt.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Once_a_device_authenticated_the_deadline_stops_waiting_for_its_bound()
    {
        // A bound no test waits out: the wait must end when told, not when the bound passes.
        using var deadline = new AuthenticationDeadline(TimeSpan.FromMinutes(10));
        var authenticated = false;
        var passed = deadline.PassedUnauthenticatedAsync(() => Volatile.Read(ref authenticated), CancellationToken.None);
        Assert.False(passed.IsCompleted);
        Volatile.Write(ref authenticated, true);
        deadline.Authenticated();
        Assert.False(await passed.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void What_a_busy_node_excuses_is_bounded_over_a_connection_s_life()
    {
        var deadline = new AuthenticationDeadline(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 1_000; i++) deadline.Excuse(TimeSpan.FromSeconds(30));
        Assert.Equal(AuthenticationDeadline.MostExcused, deadline.Excused);
    }
}
