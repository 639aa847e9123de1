using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Cluster.Activity;

namespace Energy.Dashboard.Tests;

/// <summary>
/// The zones' markets on the dashboard: each interval's book depth, cleared price and volume, delivered energy and
/// imbalance, and the latest trades, projected from the markets' domain events; shown to a grid operator only.
/// </summary>
public sealed class DashboardMarketBoardTests
{
    private static readonly Viewer GridViewer = new("grid-1", SeesEverything: true);
    private static readonly Viewer ChargePoints = new("cpo-1", SeesEverything: false);
    private static readonly ZoneId North = ZoneId.Of("zone-north");
    private static readonly Timestamp At = new(1_800_000_000_000);
    private static readonly Timestamp Start = new(1_800_000_300_000);

    private static MarketOrderPlaced Order(MarketSide side, long wh, long interval = 6_000_001, ZoneId? zone = null) =>
        new(zone ?? North, interval, Start, side, new EnergyWh(wh), At);

    private static MarketIntervalClearedActivity Cleared(long interval = 6_000_001) =>
        new(North, interval, new EnergyPrice(125, Currency.Eur), new EnergyWh(4_500), 4, new Money(563, Currency.Eur), At)
        {
            Start = Start,
            Depth = new MarketDepth(2, new EnergyWh(4_500), 2, new EnergyWh(5_000)),
            Trades =
            [
                new MarketTrade(DeviceId.Of("meter-seller-1"), MarketSide.Offer, new EnergyWh(3_000), new Money(375, Currency.Eur)),
                new MarketTrade(DeviceId.Of("meter-buyer-1"), MarketSide.Bid, new EnergyWh(2_500), new Money(313, Currency.Eur)),
            ],
        };

    private static MarketIntervalSettledActivity Settled() =>
        new(North, 6_000_001, OperatorId.Of("grid-1"), new EnergyWh(4_000), new EnergyWh(4_500), new EnergyWh(500), EnergyWh.Zero, new EnergyWh(500),
            new Money(563, Currency.Eur), new Money(563, Currency.Eur), new Money(94, Currency.Eur), At);

    private static DashboardState StateWith(params NetworkActivity[] events)
    {
        var state = new DashboardState();
        state.Apply(DashboardProjection.Of(new ActivityBatch("node", events, 0, At)), 1_000);
        return state;
    }

    [Fact]
    public void Orders_build_an_open_interval_s_depth_on_each_side()
    {
        var state = StateWith(Order(MarketSide.Bid, 2_500), Order(MarketSide.Bid, 2_000), Order(MarketSide.Offer, 3_000));

        var row = Assert.Single(Assert.Single(state.ViewFor(GridViewer).Markets.Zones).Intervals);

        Assert.Equal(("zone-north", 6_000_001L, Start.UnixMilliseconds, "open"), (row.Zone, row.Interval, row.StartMs, row.Status));
        Assert.Equal((2, 4_500L, 1, 3_000L), (row.BidOrders, row.BidWh, row.OfferOrders, row.OfferWh));
        Assert.Null(row.PriceMinorUnitsPerKwh);
    }

    [Fact]
    public void A_cleared_and_settled_interval_shows_price_volume_depth_delivered_energy_imbalance_and_its_trades()
    {
        var state = StateWith(Order(MarketSide.Bid, 2_500), Cleared(), Settled());

        var view = state.ViewFor(GridViewer);
        var row = Assert.Single(Assert.Single(view.Markets.Zones).Intervals);

        // The clearing's own depth replaces what the orders seen so far added up to.
        Assert.Equal(("settled", 125L, 4_500L, 4), (row.Status, row.PriceMinorUnitsPerKwh, row.VolumeWh, row.Fills));
        Assert.Equal((2, 4_500L, 2, 5_000L), (row.BidOrders, row.BidWh, row.OfferOrders, row.OfferWh));
        Assert.Equal((4_000L, 4_500L, 500L, 94L), (row.DeliveredWh, row.TakenWh, row.ImbalanceWh, row.ImbalanceChargesMinorUnits));
        Assert.Equal(["meter-buyer-1", "meter-seller-1"], view.Markets.Trades.Select(t => t.Device));
        Assert.All(view.Markets.Trades, t => Assert.Equal(125, t.PriceMinorUnitsPerKwh));
        var clearing = Assert.Single(view.Feeds["market"]);
        Assert.Contains("4500 Wh at 125 per kWh", clearing.Title, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_operator_sees_nothing_of_the_markets_not_even_the_trades_of_its_own_meters()
    {
        var state = StateWith(Order(MarketSide.Offer, 3_000), Cleared(), Settled());

        var view = state.ViewFor(ChargePoints);

        Assert.Empty(view.Markets.Zones);
        Assert.Empty(view.Markets.Trades);
        Assert.Empty(view.Feeds["market"]);
        Assert.NotEmpty(state.ViewFor(GridViewer).Markets.Zones);
    }

    [Fact]
    public void The_board_keeps_the_newest_intervals_of_each_zone_and_a_bounded_number_of_zones_and_trades()
    {
        var state = new DashboardState();
        var events = new List<NetworkActivity>();
        for (var i = 0; i < MarketBoard.IntervalsPerZone + 10; i++) events.Add(Order(MarketSide.Bid, 100, interval: 6_000_000 + i));
        // An order for an interval older than every one a full zone keeps is not shown.
        events.Add(Order(MarketSide.Bid, 100, interval: 5_000_000));
        for (var z = 0; z < MarketBoard.MaxZones + 5; z++) events.Add(Order(MarketSide.Offer, 100, zone: ZoneId.Of($"zone-{z:D5}")));
        for (var c = 0; c < MarketBoard.TradesKept; c++) events.Add(Cleared(6_000_000 + MarketBoard.IntervalsPerZone + 10 + c));
        state.Apply(DashboardProjection.Of(new ActivityBatch("node", events, 0, At)), 1_000);

        var zones = state.ViewFor(GridViewer).Markets.Zones;

        Assert.Equal(MarketBoard.MaxZones, zones.Count);
        var north = zones.Single(z => z.Zone == "zone-north");
        Assert.Equal(MarketBoard.IntervalsPerZone, north.Intervals.Count);
        Assert.Equal(north.Intervals.Select(i => i.Interval).Order(), north.Intervals.Select(i => i.Interval));
        Assert.DoesNotContain(north.Intervals, i => i.Interval == 5_000_000);
        Assert.Equal(MarketBoard.TradesKept, state.ViewFor(GridViewer).Markets.Trades.Count);
    }
}
