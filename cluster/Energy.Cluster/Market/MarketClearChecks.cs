using Akka.Actor;
using Energy.Channels.Market;
using Energy.Lifecycles.Market;

namespace Energy.Cluster.Market;

/// <summary>The market's own timer: it looks whether it has work of its own.</summary>
public sealed record ClearCheckDue
{
    public static readonly ClearCheckDue Instance = new();
}

/// <summary>
/// A market's own clock. Every check interval a market with work of its own (an open interval to clear, payments under
/// way) asks to be cleared through its shard region, not by a message to itself: the shard does not put a market that
/// receives messages to sleep as idle, while a market with nothing to do lets itself be put to sleep. Each check also
/// keeps the market's standing in the <see cref="MarketIndex"/> as its work says. The timers are the
/// <paramref name="owner"/>'s (given to it only once it is constructed).
/// </summary>
public sealed class MarketClearChecks(IWithTimers owner, IActorRef markets, ZoneId zone, MarketIndexStanding index, TimeSpan every)
{
    private const string Timer = "clear-due";

    /// <summary>The market is up (after its recovery): its checks run from now on, and a market with work is marked active at once.</summary>
    public void Start(bool hasWork)
    {
        owner.Timers.StartPeriodicTimer(Timer, ClearCheckDue.Instance, every);
        if (hasWork) index.MarkActive();
    }

    /// <summary>A check is due: a market with work asks to be cleared, and its standing in the index follows its work.</summary>
    public void Check(bool hasWork)
    {
        if (hasWork) markets.Tell(new ClearDue(zone), ActorRefs.NoSender);
        index.Update(hasWork);
    }
}
