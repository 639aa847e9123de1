using Energy.Channels.Market;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Market;

/// <summary>
/// An order's acknowledgement, to go out once the market's zone is held in the index of markets woken after a restart:
/// an acknowledged order is then cleared on time even if the node restarts before anything else reaches the market.
/// </summary>
public sealed record AcknowledgeOnceIndexed(MarketOrderAccepted Answer);

/// <summary>The payments of a settled interval are to be read from its participants' channels until they close.</summary>
public sealed record ReadPayments(ClearedInterval Cleared, MarketIntervalSettled Settled);

/// <summary>
/// The intervals whose gates have closed, decided at once in order (see <see cref="ZoneMarkets.DecideDueClearings"/>):
/// the event each one writes, and the outcome decided for it, which its event's <c>Evolve</c> takes instead of
/// clearing the interval again.
/// </summary>
public sealed record MarketClearings(IReadOnlyList<IntervalCleared> Decided)
{
    public bool IsEmpty => Decided.Count == 0;

    public IEnumerable<MarketIntervalCleared> Events => Decided.Select(d => new MarketIntervalCleared(d.Interval.Number, d.ClearedAt));

    public ClearingResult ResultOf(long interval) => Decided.First(d => d.Interval.Number == interval).Result;

    /// <summary>Whether <paramref name="cleared"/> is the last of these clearings: once it is durable, all of them are.</summary>
    public bool IsLast(MarketIntervalCleared cleared) => !IsEmpty && Decided[^1].Interval.Number == cleared.Interval;

    /// <summary>What whoever asked for the clearing hears: the intervals cleared, and the last one cleared as <paramref name="market"/> stands.</summary>
    public MarketCleared Answer(ZoneMarket market) => new(market.Book.Zone, Decided.Select(d => d.Interval.Number).ToList(), market.Book.LastCleared);
}

public static partial class ZoneMarkets
{
    /// <summary>The intervals whose gates have closed at <paramref name="now"/>, at most <paramref name="max"/>, decided at once.</summary>
    public static MarketClearings DecideClearings(ZoneMarket market, Timestamp now, int max) => new(DecideDueClearings(market, now, max));

    /// <summary>
    /// What follows once an order is durable (<paramref name="market"/> is the market after it): the operators see it
    /// placed, and the device that placed it is acknowledged once the zone is indexed.
    /// </summary>
    public static Effect[] Durable(ZoneMarket market, MarketOrderRecorded recorded, MarketOrder order) =>
        [Effect.Publish(recorded, order), Effect.Then(new AcknowledgeOnceIndexed(Acknowledge(market.Book.Zone, order, recorded)))];

    /// <summary>
    /// What follows once a cleared interval is durable (<paramref name="market"/> is the market after it): the operators see
    /// it with its outcome, and once the last of <paramref name="clearings"/> is durable whoever asked hears all of them.
    /// </summary>
    public static Effect[] Durable(ZoneMarket market, MarketIntervalCleared cleared, MarketClearings clearings)
    {
        var published = Effect.Publish(cleared, clearings.ResultOf(cleared.Interval));
        return clearings.IsLast(cleared) ? [published, Effect.Reply(clearings.Answer(market))] : [published];
    }

    /// <summary>
    /// What follows once a settlement is durable (<paramref name="market"/> is the market after it): the operators see it,
    /// the operator that settled hears it, and the interval's payments are read from then on.
    /// </summary>
    public static Effect[] Durable(ZoneMarket market, MarketIntervalSettled settled) =>
        [Effect.Publish(settled), Effect.Reply(settled), Effect.Then(new ReadPayments(market.Cleared[settled.Interval], settled))];

    /// <summary>After a restart: the payments of every settled interval not yet paid are read again.</summary>
    public static Effect[] Resumed(ZoneMarket market) =>
        [.. AwaitingPayment(market).Select(awaiting => Effect.Then(new ReadPayments(awaiting.Interval, awaiting.Settlement)))];
}
