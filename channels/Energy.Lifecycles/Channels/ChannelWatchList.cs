using System.Collections.Immutable;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;

namespace Energy.Lifecycles.Channels;

/// <summary>A channel the watch list holds: its kind and id (a streaming and a duplex channel of one id are two channels).</summary>
public readonly record struct WatchedChannel(ChannelKind Kind, ChannelId Channel);

/// <summary>
/// One part of the network's durable list of channels that must be woken after a restart: those whose next step runs on
/// a timer that dies with the entity or on the ledger's answer (an opening whose lock is asked, a challenge window, a
/// settlement or refund the ledger has not confirmed). An open, idle channel is not listed: it needs no one until a
/// party calls it. <see cref="Seeded"/> says the part was filled once from the ledger's escrows (the channels that
/// held escrow before the list existed).
/// </summary>
public sealed record ChannelWatchListState(ImmutableHashSet<WatchedChannel> Watched, bool Seeded)
{
    /// <summary>
    /// Channels one part holds, at most: channels in the middle of an opening, a window or a settlement, not every open one.
    /// The watch reads a part in one answer, which stays well within a remote frame at this bound.
    /// </summary>
    public const int MaxChannels = 20_000;

    public static readonly ChannelWatchListState Empty = new([], Seeded: false);
}

/// <summary>The rules of the watch list, pure: a channel is listed once, within the bound, and unlisted once.</summary>
public static class ChannelWatchListRules
{
    /// <summary>The prefix of every part's entity id (and persistence id).</summary>
    public const string Prefix = "channel-watch-list-";

    /// <summary>The part that lists <paramref name="channel"/>: one per ledger shard, chosen by a hash that is stable across processes.</summary>
    public static string For(WatchedChannel channel, int parts) => Prefix + LedgerShards.ShardIndex(channel.Channel.Value, parts);

    public static IEnumerable<string> All(int parts) => Enumerable.Range(0, parts).Select(i => Prefix + i);

    /// <summary>The event to write, none when the part already lists it, or <see cref="ChannelWatchListFull"/>.</summary>
    public static Result<ChannelWatchChanged?> DecideWatch(ChannelWatchListState state, WatchedChannel channel)
    {
        if (state.Watched.Contains(channel)) return (ChannelWatchChanged?)null;
        if (state.Watched.Count >= ChannelWatchListState.MaxChannels) return new ChannelWatchListFull(channel.Channel, ChannelWatchListState.MaxChannels);
        return new ChannelWatchChanged(channel.Kind, channel.Channel, Watched: true);
    }

    /// <summary>The event to write, none when the part does not list it.</summary>
    public static ChannelWatchChanged? DecideUnwatch(ChannelWatchListState state, WatchedChannel channel) =>
        state.Watched.Contains(channel) ? new ChannelWatchChanged(channel.Kind, channel.Channel, Watched: false) : null;

    /// <summary>The event to write, none when the part was seeded already.</summary>
    public static ChannelWatchListSeeded? DecideSeeded(ChannelWatchListState state) => state.Seeded ? null : new ChannelWatchListSeeded();

    public static ChannelWatchListState Apply(ChannelWatchListState state, IEnergyMessage e) => e switch
    {
        ChannelWatchChanged { Watched: true } changed => Bounded(state with { Watched = state.Watched.Add(new WatchedChannel(changed.Kind, changed.ChannelId)) }),
        ChannelWatchChanged changed => state with { Watched = state.Watched.Remove(new WatchedChannel(changed.Kind, changed.ChannelId)) },
        ChannelWatchListSeeded => state with { Seeded = true },
        _ => throw new ArgumentException($"{e.GetType().Name} is not an event of the channel watch list", nameof(e)),
    };

    public static ChannelWatchListSnapshot ToSnapshot(ChannelWatchListState state) => new([.. state.Watched], state.Seeded);

    public static ChannelWatchListState FromSnapshot(ChannelWatchListSnapshot snapshot) =>
        Bounded(new ChannelWatchListState([.. snapshot.Channels], snapshot.Seeded));

    // The decision bounds the list; a journal that breaks the bound is not replayed as if it did not.
    private static ChannelWatchListState Bounded(ChannelWatchListState state) =>
        state.Watched.Count <= ChannelWatchListState.MaxChannels
            ? state
            : throw new InvalidOperationException($"a channel watch list holds {state.Watched.Count} channels, over the bound of {ChannelWatchListState.MaxChannels}");
}

/// <summary>The part of the watch list that would list a channel is full: the channel goes on, but is not woken after a restart.</summary>
public sealed record ChannelWatchListFull(ChannelId ChannelId, int Max) : ProtocolError
{
    public override string Describe() => $"the channel watch list already holds {Max} channels; channel {ChannelId} is not woken after a restart";
}

/// <summary>A command or query for one part of the channel watch list.</summary>
public interface IChannelWatchListCommand : IEnergyMessage, IWithEntityId
{
    /// <summary>The part (<see cref="ChannelWatchListRules.For"/>).</summary>
    string List { get; }

    string IWithEntityId.EntityId => List;
}

/// <summary>
/// A channel's next step waits on a timer or on the ledger: it is woken after a restart. Answered with
/// <see cref="ChannelWatched"/> once durable, naming the channel's <paramref name="Ask"/> (so that it takes only the answer to its latest).
/// </summary>
[Manifest("channel-watch-list.watch.v1")]
public sealed record WatchChannel(string List, ChannelKind Kind, ChannelId ChannelId, ulong Ask) : IChannelWatchListCommand;

/// <summary>A channel waits on nothing any more (it is open, settled or refunded). Not answered.</summary>
[Manifest("channel-watch-list.unwatch.v1")]
public sealed record UnwatchChannel(string List, ChannelKind Kind, ChannelId ChannelId) : IChannelWatchListCommand;

/// <summary>Asks a part for the channels it lists, at most <paramref name="Max"/>.</summary>
[Manifest("channel-watch-list.get.v1")]
public sealed record GetWatchedChannels(string List, int Max) : IChannelWatchListCommand;

/// <summary>The part was filled once from the ledger's escrows: it need not be again.</summary>
[Manifest("channel-watch-list.mark-seeded.v1")]
public sealed record MarkWatchListSeeded(string List) : IChannelWatchListCommand;

/// <summary>The answer to <see cref="WatchChannel"/> <paramref name="Ask"/>, once durable; <paramref name="Held"/> is false when the part is full.</summary>
[Manifest("channel-watch-list.watched.v1")]
public sealed record ChannelWatched(ChannelKind Kind, ChannelId ChannelId, ulong Ask, bool Held) : IEnergyMessage;

[Manifest("channel-watch-list.channels.v1")]
public sealed record WatchedChannels(string List, IReadOnlyList<WatchedChannel> Channels, bool Seeded) : IEnergyMessage;

[Manifest("channel-watch-list.event.changed.v1")]
public sealed record ChannelWatchChanged(ChannelKind Kind, ChannelId ChannelId, bool Watched) : IEnergyMessage;

[Manifest("channel-watch-list.event.seeded.v1")]
public sealed record ChannelWatchListSeeded : IEnergyMessage;

[Manifest("channel-watch-list.snapshot.v1")]
public sealed record ChannelWatchListSnapshot(IReadOnlyList<WatchedChannel> Channels, bool Seeded) : IEnergyMessage;
