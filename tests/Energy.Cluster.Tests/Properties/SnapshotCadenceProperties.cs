using Energy.Cluster.Kernel;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Cluster.Tests.Properties;

/// <summary>An entity snapshots every so many durable events, and only while all it took is durable.</summary>
public sealed class SnapshotCadenceProperties
{
    private static readonly Arbitrary<(int Every, bool[] AllDurable)> Runs =
        Gen.Zip(Gen.Choose(1, 8), Gen.ListOf(Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)))).Select(l => l.ToArray())).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property A_snapshot_comes_after_at_least_its_events_never_while_something_waits_and_at_the_first_event_that_finds_all_durable() =>
        Prop.ForAll(Runs, run =>
        {
            var cadence = new SnapshotCadence(run.Every);
            var since = 0;
            foreach (var allDurable in run.AllDurable)
            {
                since++;
                var due = cadence.Due(allDurable);
                if (due) Assert.True(allDurable, "a snapshot while something waits to be written");
                if (due) Assert.True(since >= run.Every, $"a snapshot after {since} events, fewer than {run.Every}");
                if (!due) Assert.False(allDurable && since >= run.Every, $"no snapshot after {since} events with all durable");
                if (due) since = 0;
            }
        });
}
