using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Lifecycles;
using Energy.Lifecycles.Market;
using Energy.Cluster.Activity;

namespace Energy.Cluster.Market;

/// <summary>What a zone's market tells the operators watching the network, as typed events of the activity feed.</summary>
public static class MarketActivities
{
    /// <summary>
    /// What the activity feed shows of a durable event the market's core published (<paramref name="market"/> is the
    /// market after it): an order placed, an interval cleared with its outcome, an interval settled; none for anything else.
    /// </summary>
    public static NetworkActivity? Published(ZoneMarket market, Effect published) => (published.Message, published.Key) switch
    {
        (MarketOrderRecorded recorded, MarketOrder order) => Placed(market.Book.Zone, order, recorded),
        (MarketIntervalCleared cleared, ClearingResult result) => Cleared(ZoneMarkets.View(market, cleared.Interval), result, cleared.ClearedAt),
        (MarketIntervalSettled settled, _) => Settled(market.Book.Zone, settled),
        _ => null,
    };

    /// <summary>An order placed as the activity feed carries it: its interval, side and quantity, and when it was accepted.</summary>
    public static MarketOrderPlaced Placed(ZoneId zone, MarketOrder order, MarketOrderRecorded recorded) =>
        new(zone, order.Interval.Number, order.Interval.Start, order.Side, order.Quantity, recorded.AcceptedAt);

    /// <summary>A cleared interval as the activity feed carries it: price, volume, the book's depth and its first fills.</summary>
    public static MarketIntervalClearedActivity Cleared(MarketIntervalView view, ClearingResult result, Timestamp clearedAt) =>
        new(view.Zone, view.Interval, result.Price, result.Volume, result.Fills.Length, result.BuyersPay, clearedAt)
        {
            Start = view.Start,
            Depth = new MarketDepth(view.Bids.Orders, view.Bids.Energy, view.Offers.Orders, view.Offers.Energy),
            Trades = result.Fills.Take(MarketIntervalClearedActivity.MaxTradesCarried)
                .Select(f => new MarketTrade(f.Device, f.Side, f.Quantity, f.Amount)).ToList(),
        };

    /// <summary>A settled interval as the activity feed carries it: energy delivered and taken, shortfalls, imbalance and money.</summary>
    public static MarketIntervalSettledActivity Settled(ZoneId zone, MarketIntervalSettled settled)
    {
        long delivered = 0, taken = 0;
        foreach (var line in settled.Lines)
        {
            if (line.Side == MarketSide.Offer) delivered += line.Settled.WattHours;
            else taken += line.Settled.WattHours;
        }
        return new(zone, settled.Interval, settled.MarketOperator, new EnergyWh(delivered), new EnergyWh(taken), settled.SellersShortfall, settled.BuyersShortfall,
            settled.ZoneImbalance, settled.BuyersPay, settled.SellersReceive, settled.ImbalanceCharges, settled.SettledAt);
    }
}
