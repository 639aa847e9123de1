using Energy.Channels.Market;
using Energy.Cluster.Activity;

namespace Energy.Dashboard;

/// <summary>
/// The zones' markets as the grid operator watches them: per zone and interval, the book's depth (bid and offer
/// orders and energy), the cleared price and volume, and once settled the energy delivered and taken and the zone's
/// imbalance; and the latest trades. Built from the markets' domain events (an order taken, an interval cleared,
/// an interval settled). Only a viewer who sees everything (a grid operator) is shown any of it: a market's book
/// and trades name meters of every operator. Bounded: <see cref="MaxZones"/> zones, <see cref="IntervalsPerZone"/>
/// intervals each (the newest), <see cref="TradesKept"/> trades; what is past a bound is not shown
/// (<see cref="Dropped"/> counts it). Not thread-safe: <see cref="DashboardState"/> holds it under its lock.
/// </summary>
public sealed class MarketBoard
{
    public const int MaxZones = 1_000;
    public const int IntervalsPerZone = 48;
    public const int TradesKept = 30;

    private readonly Dictionary<string, SortedDictionary<long, MarketIntervalRow>> _zones = new(StringComparer.Ordinal);
    private readonly LinkedList<MarketTradeRow> _trades = new();

    /// <summary>One interval of a zone's market as the page shows it. Amounts in minor units, energy in Wh, price per kWh.</summary>
    public sealed record MarketIntervalRow(string Zone, long Interval, long StartMs, string Status)
    {
        public int BidOrders { get; init; }
        public long BidWh { get; init; }
        public int OfferOrders { get; init; }
        public long OfferWh { get; init; }
        public long? PriceMinorUnitsPerKwh { get; init; }
        public long VolumeWh { get; init; }
        public int Fills { get; init; }
        public long BuyersPayMinorUnits { get; init; }
        public long? DeliveredWh { get; init; }
        public long? TakenWh { get; init; }
        public long? ImbalanceWh { get; init; }
        public long? ImbalanceChargesMinorUnits { get; init; }
    }

    /// <summary>One fill of a cleared interval.</summary>
    public sealed record MarketTradeRow(string Zone, long Interval, string Device, string Side, long EnergyWh, long AmountMinorUnits, long PriceMinorUnitsPerKwh, long AtMs);

    /// <summary>One zone's recent intervals, oldest first.</summary>
    public sealed record MarketZoneView(string Zone, IReadOnlyList<MarketIntervalRow> Intervals);

    /// <summary>What a viewer is shown of the markets: every zone and the latest trades for a grid operator, nothing for anyone else.</summary>
    public sealed record View(IReadOnlyList<MarketZoneView> Zones, IReadOnlyList<MarketTradeRow> Trades)
    {
        public static readonly View Nothing = new([], []);
    }

    public long Dropped { get; private set; }

    public void Apply(NetworkActivity happened)
    {
        switch (happened)
        {
            case MarketOrderPlaced placed:
                Update(placed.Zone, placed.Interval, placed.Start.UnixMilliseconds, row => row.Status != "open" ? row : placed.Side == MarketSide.Bid
                    ? row with { BidOrders = row.BidOrders + 1, BidWh = row.BidWh + placed.Quantity.WattHours }
                    : row with { OfferOrders = row.OfferOrders + 1, OfferWh = row.OfferWh + placed.Quantity.WattHours });
                break;
            case MarketIntervalClearedActivity cleared:
                if (!Update(cleared.Zone, cleared.Interval, cleared.Start.UnixMilliseconds, row => row with
                    {
                        Status = row.Status == "settled" ? "settled" : "cleared",
                        BidOrders = cleared.Depth.BidOrders,
                        BidWh = cleared.Depth.BidEnergy.WattHours,
                        OfferOrders = cleared.Depth.OfferOrders,
                        OfferWh = cleared.Depth.OfferEnergy.WattHours,
                        PriceMinorUnitsPerKwh = cleared.Price?.MinorUnitsPerKwh,
                        VolumeWh = cleared.Volume.WattHours,
                        Fills = cleared.Fills,
                        BuyersPayMinorUnits = cleared.BuyersPay.MinorUnits,
                    })) break;
                foreach (var trade in cleared.Trades)
                {
                    _trades.AddFirst(new MarketTradeRow(cleared.Zone.Value, cleared.Interval, trade.Device.Value, trade.Side == MarketSide.Bid ? "bid" : "offer",
                        trade.Energy.WattHours, trade.Amount.MinorUnits, cleared.Price?.MinorUnitsPerKwh ?? 0, cleared.At.UnixMilliseconds));
                    if (_trades.Count > TradesKept) _trades.RemoveLast();
                }
                break;
            case MarketIntervalSettledActivity settled:
                Update(settled.Zone, settled.Interval, null, row => row with
                {
                    Status = "settled",
                    DeliveredWh = settled.Delivered.WattHours,
                    TakenWh = settled.Taken.WattHours,
                    ImbalanceWh = settled.Imbalance.WattHours,
                    ImbalanceChargesMinorUnits = settled.ImbalanceCharges.MinorUnits,
                });
                break;
        }
    }

    /// <summary>Changes one interval's row (made when first heard of); false when a bound keeps it out.</summary>
    private bool Update(ZoneId zone, long interval, long? startMs, Func<MarketIntervalRow, MarketIntervalRow> change)
    {
        if (!_zones.TryGetValue(zone.Value, out var rows))
        {
            if (_zones.Count >= MaxZones) { Dropped++; return false; }
            rows = [];
            _zones[zone.Value] = rows;
        }
        if (!rows.TryGetValue(interval, out var row))
        {
            // The newest intervals are kept: one older than all of a full zone's is not shown.
            if (rows.Count >= IntervalsPerZone && interval < rows.First().Key) { Dropped++; return false; }
            row = new MarketIntervalRow(zone.Value, interval, startMs ?? 0, "open");
        }
        var changed = change(row);
        if (changed.StartMs == 0 && startMs is { } start) changed = changed with { StartMs = start };
        rows[interval] = changed;
        while (rows.Count > IntervalsPerZone) rows.Remove(rows.First().Key);
        return true;
    }

    public View For(Viewer viewer) => !viewer.SeesEverything
        ? View.Nothing
        : new View(_zones.OrderBy(z => z.Key, StringComparer.Ordinal).Select(z => new MarketZoneView(z.Key, z.Value.Values.ToList())).ToList(), _trades.ToList());
}
