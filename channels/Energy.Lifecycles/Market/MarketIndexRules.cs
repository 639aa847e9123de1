using System.Collections.Immutable;
using Energy.Channels;
using Energy.Channels.Market;

namespace Energy.Lifecycles.Market;

/// <summary>The zones whose markets have work that runs on their own timer: open intervals, or payments under way.</summary>
public sealed record MarketIndexState(ImmutableSortedSet<ZoneId> Active)
{
    /// <summary>Zones the network wakes after a restart, at most: a grid has hundreds of zones, not millions.</summary>
    public const int MaxZones = 10_000;

    public static readonly MarketIndexState Empty = new(ImmutableSortedSet.Create<ZoneId>(Comparer<ZoneId>.Create((a, b) => string.CompareOrdinal(a.Value, b.Value))));
}

/// <summary>The rules of the index, pure: a zone becomes active once, within the bound, and idle once.</summary>
public static class MarketIndexRules
{
    /// <summary>The one index entity's name (and persistence id).</summary>
    public const string EntityName = "market-index";

    /// <summary>The event to write, none when the index already holds it, or <see cref="MarketIndexFull"/>.</summary>
    public static Result<MarketActivityRecorded?> DecideActive(MarketIndexState state, ZoneId zone)
    {
        if (state.Active.Contains(zone)) return (MarketActivityRecorded?)null;
        if (state.Active.Count >= MarketIndexState.MaxZones) return new MarketIndexFull(zone, MarketIndexState.MaxZones);
        return new MarketActivityRecorded(zone, Active: true);
    }

    public static MarketActivityRecorded? DecideIdle(MarketIndexState state, ZoneId zone) =>
        state.Active.Contains(zone) ? new MarketActivityRecorded(zone, Active: false) : null;

    public static MarketIndexState Apply(MarketIndexState state, MarketActivityRecorded e)
    {
        var next = e.Active ? state.Active.Add(e.Zone) : state.Active.Remove(e.Zone);
        // The decision bounds the index; a journal that breaks the bound is not replayed as if it did not.
        if (next.Count > MarketIndexState.MaxZones)
            throw new InvalidOperationException($"the market index holds {next.Count} zones, over the bound of {MarketIndexState.MaxZones}");
        return state with { Active = next };
    }
}
