using Akka.Actor;
using Akka.Event;
using Energy.Channels.Market;
using Energy.Lifecycles.Market;

namespace Energy.Cluster.Market;

/// <summary>The index's answer to a market marking itself active, piped back to the market (null when it did not answer in time).</summary>
public sealed record IndexAnswered(object? Answer);

/// <summary>
/// A market's place in the <see cref="MarketIndex"/>: it marks itself active while it has work of its own (so that it is
/// woken after a restart) and idle once it has none. An acknowledged order is cleared on time even if the node restarts
/// before anything else reaches the market: the index holds the zone before the first acknowledgement goes out (held here,
/// bounded; past the bound they go out at once).
/// </summary>
public sealed class MarketIndexStanding(IActorContext context, IActorRef index, ZoneId zone, TimeSpan askTimeout)
{
    /// <summary>Acknowledgements held while the market marks itself active in the index, at most; past it they go out at once.</summary>
    public const int MaxAcknowledgementsAwaitingIndex = 20_000;

    private readonly List<(IActorRef ReplyTo, object Answer)> _awaiting = [];
    private Standing _standing = Standing.Unknown;

    private enum Standing { Unknown, Marking, Active, Idle }

    /// <summary>Tells <paramref name="answer"/> once the index holds the zone (at once if it does).</summary>
    public void Acknowledge(IActorRef replyTo, object answer)
    {
        if (_standing == Standing.Active || _awaiting.Count >= MaxAcknowledgementsAwaitingIndex) { replyTo.Tell(answer); return; }
        _awaiting.Add((replyTo, answer));
        MarkActive();
    }

    /// <summary>The market looked at its work: it is marked active or idle in the index as it has work or not.</summary>
    public void Update(bool hasWork)
    {
        if (hasWork && _standing != Standing.Active) MarkActive();
        if (!hasWork && _standing != Standing.Idle) MarkIdle();
    }

    public void Answered(IndexAnswered answered)
    {
        if (answered.Answer is MarketIndexed) _standing = Standing.Active;
        else if (answered.Answer is Refusal refusal)
        {
            // Full: the orders are durable and clear on the next message or tick; only the wake after a restart is lost.
            context.GetLogger().Warning("market {0}: {1}", zone, refusal.Error.Describe());
            _standing = Standing.Active;
        }
        else { _standing = Standing.Unknown; return; }
        foreach (var (replyTo, answer) in _awaiting) replyTo.Tell(answer);
        _awaiting.Clear();
    }

    public void MarkActive()
    {
        if (_standing == Standing.Marking) return;
        _standing = Standing.Marking;
        index.Ask<object>(new MarkMarketActive(zone), askTimeout)
            .PipeTo(context.Self, success: answer => new IndexAnswered(answer), failure: _ => new IndexAnswered(null));
    }

    private void MarkIdle()
    {
        index.Tell(new MarkMarketIdle(zone), ActorRefs.NoSender);
        _standing = Standing.Idle;
    }
}
