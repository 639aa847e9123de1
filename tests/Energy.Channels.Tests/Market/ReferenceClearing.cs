using Energy.Channels.Market;

namespace Energy.Channels.Tests.Market;

/// <summary>
/// The clearing rules written as plainly as possible, apart from the production code, to compare it with:
/// the volume is the most energy that trades at any one candidate price (every limit price is a candidate:
/// demand is every bid at or above it, supply every offer at or below it); the marginal bid and offer are
/// the ones holding the last Wh of that volume in priority order; each side is filled greedily in priority
/// order; amounts are rounded with decimal arithmetic.
/// </summary>
public static class ReferenceClearing
{
    public sealed record Outcome(long? Price, long Volume, IReadOnlyList<(string Device, MarketSide Side, ulong Number, ulong Sequence, long WattHours, long Amount)> Fills);

    public static Outcome Clear(IReadOnlyList<AcceptedOrder> orders)
    {
        // LINQ's ordering is stable: orders equal in every key keep their place in the list, as production's do.
        var bids = orders.Where(o => o.Order.Side == MarketSide.Bid)
            .OrderByDescending(o => o.Order.LimitPrice.MinorUnitsPerKwh).ThenBy(o => o.Sequence)
            .ThenBy(o => o.Order.Device.Value, StringComparer.Ordinal).ThenBy(o => o.Order.OrderNumber).ToList();
        var offers = orders.Where(o => o.Order.Side == MarketSide.Offer)
            .OrderBy(o => o.Order.LimitPrice.MinorUnitsPerKwh).ThenBy(o => o.Sequence)
            .ThenBy(o => o.Order.Device.Value, StringComparer.Ordinal).ThenBy(o => o.Order.OrderNumber).ToList();

        long Demand(long price) => bids.Where(b => b.Order.LimitPrice.MinorUnitsPerKwh >= price).Sum(b => b.Order.Quantity.WattHours);
        long Supply(long price) => offers.Where(o => o.Order.LimitPrice.MinorUnitsPerKwh <= price).Sum(o => o.Order.Quantity.WattHours);
        var volume = orders.Select(o => o.Order.LimitPrice.MinorUnitsPerKwh).Distinct()
            .Select(price => Math.Min(Demand(price), Supply(price))).DefaultIfEmpty(0).Max();
        if (volume == 0) return new Outcome(null, 0, []);

        var price = (Marginal(bids, volume) + Marginal(offers, volume)) / 2;
        var fills = Greedy(bids, volume, price, half: 0.5m).Concat(Greedy(offers, volume, price, half: -0.5m)).ToList();
        return new Outcome(price, volume, fills);
    }

    /// <summary>The limit of the order that holds the <paramref name="volume"/>-th Wh of its side.</summary>
    private static long Marginal(List<AcceptedOrder> side, long volume)
    {
        long cumulative = 0;
        foreach (var order in side)
        {
            cumulative += order.Order.Quantity.WattHours;
            if (cumulative >= volume) return order.Order.LimitPrice.MinorUnitsPerKwh;
        }
        throw new InvalidOperationException("the side holds less than the volume");
    }

    /// <summary>Fills in priority order until the volume is taken; the amount rounds to the nearest, an exact half up (+0.5) or down (-0.5).</summary>
    private static IEnumerable<(string, MarketSide, ulong, ulong, long, long)> Greedy(List<AcceptedOrder> side, long volume, long price, decimal half)
    {
        var left = volume;
        foreach (var order in side)
        {
            if (left == 0) yield break;
            var take = Math.Min(left, order.Order.Quantity.WattHours);
            left -= take;
            var exact = take * (decimal)price / 1000m;
            var amount = half > 0 ? Math.Floor(exact + half) : Math.Ceiling(exact + half);
            yield return (order.Order.Device.Value, order.Order.Side, order.Order.OrderNumber, order.Sequence, take, (long)amount);
        }
    }
}
