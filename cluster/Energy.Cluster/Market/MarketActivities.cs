using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Market;
using Energy.Cluster.Activity;

namespace Energy.Cluster.Market;

/// <summary>What a zone's market tells the operators watching the network, as typed events of the activity feed.</summary>
public static class MarketActivities
{
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
