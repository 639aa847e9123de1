using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Xunit.Abstractions;
using static Energy.Channels.Tests.Market.MarketTestKit;

namespace Energy.Channels.Tests.Market;

/// <summary>The uniform-price auction on books small enough to check by hand, and on 10,000 orders against the clock.</summary>
public class MarketClearingTests(ITestOutputHelper output)
{
    private static ClearingResult Clear(params AcceptedOrder[] orders) => MarketClearing.Clear(orders, Currency.Eur);

    private static (string, MarketSide, long, long)[] Summary(ClearingResult result) =>
        result.Fills.Select(f => (f.Device.Value, f.Side, f.Quantity.WattHours, f.Amount.MinorUnits)).ToArray();

    [Fact]
    public void An_empty_book_does_not_trade()
    {
        Assert.Equal(ClearingResult.Empty(Currency.Eur), Clear());
        Assert.False(Clear().Traded);
    }

    [Fact]
    public void A_book_of_bids_only_or_offers_only_does_not_trade()
    {
        Assert.False(Clear(Accepted(1, MarketSide.Bid, 100, 50), Accepted(2, MarketSide.Bid, 300, 90)).Traded);
        Assert.False(Clear(Accepted(1, MarketSide.Offer, 100, 0), Accepted(2, MarketSide.Offer, 300, 10)).Traded);
    }

    [Fact]
    public void A_book_whose_best_bid_is_below_its_best_offer_does_not_trade()
    {
        var result = Clear(Accepted(1, MarketSide.Bid, 100, 19), Accepted(2, MarketSide.Offer, 100, 20));
        Assert.Equal((null, EnergyWh.Zero), (result.Price, result.Volume));
        Assert.Empty(result.Fills);
    }

    [Fact]
    public void One_bid_and_one_offer_trade_the_smaller_quantity_at_the_midpoint()
    {
        var result = Clear(Accepted(1, MarketSide.Offer, 1_000, 20, "sun-1"), Accepted(2, MarketSide.Bid, 600, 30, "home-1"));
        Assert.Equal((Price(25), new EnergyWh(600)), (result.Price, result.Volume));
        // 600 Wh at 25 per kWh is exactly 15 minor units.
        Assert.Equal(new[] { ("home-1", MarketSide.Bid, 600L, 15L), ("sun-1", MarketSide.Offer, 600L, 15L) }, Summary(result));
        Assert.Equal((TestParties.Eur(15), TestParties.Eur(15), TestParties.Eur(0)), (result.BuyersPay, result.SellersReceive, result.RoundingResidual));
    }

    [Fact]
    public void A_book_crossed_at_one_price_clears_at_that_price()
    {
        var result = Clear(Accepted(1, MarketSide.Offer, 500, 22, "sun-1"), Accepted(2, MarketSide.Bid, 800, 22, "home-1"), Accepted(3, MarketSide.Offer, 500, 22, "sun-2"));
        Assert.Equal((Price(22), new EnergyWh(800)), (result.Price, result.Volume));
        Assert.Equal(new[] { ("home-1", MarketSide.Bid, 800L, 18L), ("sun-1", MarketSide.Offer, 500L, 11L), ("sun-2", MarketSide.Offer, 300L, 7L) }, Summary(result));
    }

    [Fact]
    public void At_equal_prices_the_order_accepted_first_fills_first_and_only_the_marginal_one_in_part()
    {
        var result = Clear(Accepted(5, MarketSide.Offer, 500, 20, "sun-late"), Accepted(2, MarketSide.Offer, 500, 20, "sun-early"),
            Accepted(9, MarketSide.Bid, 700, 20, "home-1"));
        Assert.Equal(new[] { ("home-1", MarketSide.Bid, 700L, 14L), ("sun-early", MarketSide.Offer, 500L, 10L), ("sun-late", MarketSide.Offer, 200L, 4L) }, Summary(result));
    }

    [Fact]
    public void Orders_alike_in_price_and_sequence_are_ranked_by_device_then_order_number()
    {
        var result = Clear(Accepted(1, MarketSide.Offer, 100, 20, "sun-b", number: 1), Accepted(1, MarketSide.Offer, 100, 20, "sun-a", number: 2),
            Accepted(1, MarketSide.Offer, 100, 20, "sun-a", number: 1), Accepted(2, MarketSide.Bid, 150, 20, "home-1"));
        Assert.Equal(new[] { ("sun-a", 1UL, 100L), ("sun-a", 2UL, 50L) },
            result.Fills.Where(f => f.Side == MarketSide.Offer).Select(f => (f.Device.Value, f.OrderNumber, f.Quantity.WattHours)).ToArray());
    }

    [Fact]
    public void A_better_price_goes_before_an_earlier_order()
    {
        var result = Clear(Accepted(1, MarketSide.Offer, 100, 25, "sun-early"), Accepted(2, MarketSide.Offer, 100, 24, "sun-cheap"),
            Accepted(3, MarketSide.Bid, 100, 30, "home-1"));
        Assert.Equal("sun-cheap", Assert.Single(result.Fills, f => f.Side == MarketSide.Offer).Device.Value);
        Assert.Equal(Price(27), result.Price);
    }

    [Fact]
    public void The_price_is_the_midpoint_of_the_last_bid_and_offer_matched_rounded_down()
    {
        // Bids 50 and 30, offers 10 and 40: only the first pair crosses; the marginal limits are 50 and 10.
        var result = Clear(Accepted(1, MarketSide.Bid, 100, 50), Accepted(2, MarketSide.Bid, 100, 30),
            Accepted(3, MarketSide.Offer, 100, 10), Accepted(4, MarketSide.Offer, 100, 40));
        Assert.Equal((Price(30), new EnergyWh(100)), (result.Price, result.Volume));
        Assert.Equal(Price(20), Clear(Accepted(1, MarketSide.Bid, 100, 21), Accepted(2, MarketSide.Offer, 100, 20)).Price);
        Assert.Equal(Price(21), Clear(Accepted(1, MarketSide.Bid, 100, 23), Accepted(2, MarketSide.Offer, 100, 20)).Price);
        Assert.Equal(Price(0), Clear(Accepted(1, MarketSide.Bid, 100, 1), Accepted(2, MarketSide.Offer, 100, 0)).Price);
    }

    [Fact]
    public void The_volume_walks_down_the_bids_and_up_the_offers_while_they_cross()
    {
        var result = Clear(Accepted(1, MarketSide.Bid, 300, 40, "home-1"), Accepted(2, MarketSide.Bid, 300, 30, "home-2"), Accepted(3, MarketSide.Bid, 300, 10, "home-3"),
            Accepted(4, MarketSide.Offer, 200, 15, "sun-1"), Accepted(5, MarketSide.Offer, 200, 25, "sun-2"), Accepted(6, MarketSide.Offer, 400, 35, "sun-3"));
        // 300@40 and 200 of 300@30 meet 200@15 and 200@25; the next offer, 35, is above the remaining bid, 30.
        Assert.Equal((new EnergyWh(400), Price(27)), (result.Volume, result.Price));
        Assert.Equal(new[] { ("home-1", MarketSide.Bid, 300L), ("home-2", MarketSide.Bid, 100L), ("sun-1", MarketSide.Offer, 200L), ("sun-2", MarketSide.Offer, 200L) },
            result.Fills.Select(f => (f.Device.Value, f.Side, f.Quantity.WattHours)).ToArray());
    }

    [Fact]
    public void An_exact_half_minor_unit_is_rounded_up_for_the_buyer_and_down_for_the_seller_and_the_residual_stated()
    {
        // 1 Wh at 1,500 per kWh is 1.5 minor units.
        var result = Clear(Accepted(1, MarketSide.Bid, 1, 1_500), Accepted(2, MarketSide.Offer, 1, 1_500));
        Assert.Equal((2L, 1L, 1L), (result.BuyersPay.MinorUnits, result.SellersReceive.MinorUnits, result.RoundingResidual.MinorUnits));
    }

    [Fact]
    public void The_rounding_residual_can_fall_on_the_operator_and_is_stated_then_too()
    {
        // 2 Wh at 700 is 1.4 (the buyer pays 1); 1 Wh at 700 is 0.7 (each seller is paid 1).
        var result = Clear(Accepted(1, MarketSide.Bid, 2, 700, "home-1"), Accepted(2, MarketSide.Offer, 1, 700, "sun-1"), Accepted(3, MarketSide.Offer, 1, 700, "sun-2"));
        Assert.Equal((1L, 2L, -1L), (result.BuyersPay.MinorUnits, result.SellersReceive.MinorUnits, result.RoundingResidual.MinorUnits));
    }

    [Fact]
    public void Orders_in_another_currency_or_out_of_bounds_are_not_cleared()
    {
        Assert.Throws<ArgumentException>(() => MarketClearing.Clear([Accepted(1, MarketSide.Bid, 100, 20)], Currency.Usd));
        Assert.Throws<ArgumentException>(() => Clear(Accepted(1, MarketSide.Bid, 0, 20)));
        Assert.Throws<ArgumentException>(() => Clear(Accepted(1, MarketSide.Bid, 100, -1)));
    }

    /// <summary>10,000 orders around one price, half of each side crossing: the sort and the one pass.</summary>
    public static AcceptedOrder[] LargeBook(int count)
    {
        var random = new Random(20_260_101);
        return Enumerable.Range(1, count).Select(i => Accepted((ulong)i, i % 2 == 0 ? MarketSide.Bid : MarketSide.Offer,
            random.Next(1, 5_000), random.Next(10, 40), $"home-{random.Next(0, 2_000)}", (ulong)random.Next(1, 16))).ToArray();
    }

    [Fact]
    public void Ten_thousand_orders_clear_the_same_every_time_allocating_little_beyond_the_result()
    {
        // How fast is bench/run market's to say (a timed unit test on a shared machine says nothing); this holds what
        // does not depend on the machine: the result, and what a clearing allocates.
        var book = LargeBook(10_000);
        var first = Clear(book);
        Assert.True(first.Traded);
        Assert.True(first.Fills.Length > 1_000, $"{first.Fills.Length} fills");
        // Warm, so that the runtime's tiered compilation allocates nothing in the measured runs.
        for (var run = 0; run < 40; run++) Clear(book);
        long allocated = long.MaxValue;
        for (var run = 0; run < 7; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var result = Clear(book);
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(first, result);
        }
        output.WriteLine($"10,000 orders: {allocated:N0} bytes allocated, {first.Fills.Length} fills");
        // A copy of the list (8 bytes an order), the ranked orders (32 bytes each, twice), their sort keys and filled Wh (8 each) and the
        // fills (56 each): no per-order garbage beyond these.
        Assert.True(allocated < 10_000 * (8 + 2 * 32 + 2 * 8 + 64) + 16_384, $"{allocated:N0} bytes allocated");
    }

    [Fact]
    public void A_book_in_acceptance_order_and_the_same_book_shuffled_clear_alike()
    {
        var book = LargeBook(2_000);
        var shuffled = book.ToArray();
        new Random(7).Shuffle(shuffled);
        Assert.Equal(Clear(book), MarketClearing.Clear(shuffled, Currency.Eur));
    }
}
