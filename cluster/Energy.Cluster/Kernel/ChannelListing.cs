using Akka.Actor;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Kernel;

/// <summary>
/// A channel's place in the channel watch list, as its entity knows it: listed, not listed, or unknown (after recovery,
/// until it asks); the steps waiting for it to be listed; and the numbering of its requests. Requests are numbered, and
/// unlisting makes every earlier request's answer stale: a late answer never stands for a listing asked for since.
/// </summary>
/// <param name="watchList">The channel watch list's region.</param>
/// <param name="maxWaiting">Steps that wait for the listing at most; past it a step is dropped, and its caller asks again.</param>
internal sealed class ChannelListing(IActorRef watchList, WatchedChannel watched, int shardCount, int maxWaiting)
{
    private readonly string _part = ChannelWatchListRules.For(watched, shardCount);
    private readonly List<Action> _waiting = [];
    private bool? _listed;
    private ulong _asked;
    // Answers to requests up to this one predate an unlisting.
    private ulong _staleUpTo;

    public bool IsListed => _listed == true;

    /// <summary>Whether the list is known not to hold the channel (an unlisting needs no sending).</summary>
    public bool KnownUnlisted => _listed == false;

    /// <summary>Whether a step waits for the channel to be listed.</summary>
    public bool HasWaiting => _waiting.Count > 0;

    /// <summary>Keeps a step until the list holds the channel.</summary>
    public void Wait(Action then)
    {
        if (_waiting.Count < maxWaiting) _waiting.Add(then);
    }

    /// <summary>Asks the list to hold the channel; the answer comes to <paramref name="self"/>.</summary>
    public void Ask(IActorRef self) => watchList.Tell(new WatchChannel(_part, watched.Kind, watched.Channel, ++_asked), self);

    /// <summary>The list answered: if the answer counts, the channel is listed and the steps that waited for it are returned, to run now.</summary>
    public IReadOnlyList<Action>? Answered(ChannelWatched answer)
    {
        if (_listed == true || answer.Ask <= _staleUpTo || answer.Ask > _asked || answer.Kind != watched.Kind || answer.ChannelId != watched.Channel)
            return null;
        _listed = true;
        var waiting = _waiting.ToArray();
        _waiting.Clear();
        return waiting;
    }

    /// <summary>Tells the list to drop the channel (no answer is needed); every answer to an earlier request is stale from now on.</summary>
    public void Unlist()
    {
        watchList.Tell(new UnwatchChannel(_part, watched.Kind, watched.Channel), ActorRefs.NoSender);
        _listed = false;
        _staleUpTo = _asked;
    }

    /// <summary>Whether the list holds the channel is not known (an unlisting may have been lost): the next unlisting is sent.</summary>
    public void Forget() => _listed = null;

    /// <summary>A channel with no opening was never listed.</summary>
    public void NeverListed() => _listed = false;
}
