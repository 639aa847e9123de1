using Energy.Cluster.Kernel;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Cluster.Tests.Properties;

/// <summary>One live connection per device: the newest authentication wins, whatever order the announcements arrive in.</summary>
public sealed class LiveConnectionsProperties
{
    [Property(MaxTest = 300)]
    public Property The_live_connection_is_the_newest_announced_and_every_other_is_told_to_close() =>
        Prop.ForAll(Gen.Choose(1, 6).SelectMany(n => Gen.Shuffle(Enumerable.Range(0, n).ToArray())).ToArbitrary(), order =>
        {
            // Connection i authenticated at time i (later is newer); each announces itself once, in a random order.
            LiveConnection? live = null;
            var closed = new List<string>();
            foreach (var i in order)
            {
                (live, var close) = LiveConnections.Admit(live, new LiveConnection($"c{i}", i));
                if (close is not null) closed.Add(close);
            }
            Assert.Equal($"c{order.Length - 1}", live!.Value.Path);
            Assert.Equal(Enumerable.Range(0, order.Length - 1).Select(i => $"c{i}").Order(), closed.Order());
        });

    [Fact]
    public void A_connection_announcing_itself_again_stays_live_and_closes_nothing()
    {
        var (live, close) = LiveConnections.Admit(new LiveConnection("c1", 5), new LiveConnection("c1", 5));
        Assert.Equal((new LiveConnection("c1", 5), (string?)null), (live, close));
    }

    [Fact]
    public void A_stale_connection_announcing_itself_late_does_not_take_the_device_back()
    {
        var (live, close) = LiveConnections.Admit(new LiveConnection("new", 10), new LiveConnection("old", 3));
        Assert.Equal((new LiveConnection("new", 10), "old"), (live, close));
    }

    [Fact]
    public void Only_the_end_of_the_live_connection_leaves_none()
    {
        var live = new LiveConnection("new", 10);
        Assert.Equal(live, LiveConnections.Ended(live, "old"));
        Assert.Null(LiveConnections.Ended(live, "new"));
    }
}
