using Energy.Channels.Market;
using Energy.Channels.Primitives;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Market;

/// <summary>
/// For random books (empty, one-sided, crossed at one price, tied, wide, with orders alike in every
/// priority key): the clearing agrees with <see cref="ReferenceClearing"/> on price, volume, fills and
/// amounts; nobody trades beyond its limit; money and energy are conserved; the input's order is irrelevant.
/// </summary>
public class MarketClearingProperties
{
    private const int Runs = 300;

    /// <summary>A book to clear; printed compactly when a property fails.</summary>
    public sealed record Book(AcceptedOrder[] Orders)
    {
        public override string ToString() => Orders.Length == 0
            ? "(empty book)"
            : string.Join("; ", Orders.Select(o => $"#{o.Sequence} {o.Order.Device} {o.Order.Side} n{o.Order.OrderNumber} {o.Order.Quantity.WattHours}Wh@{o.Order.LimitPrice.MinorUnitsPerKwh}"));
    }

    private static readonly Gen<long> SmallQuantities = Gen.Frequency(
        (5, Gen.Choose(1, 200)), (1, Gen.Choose(1, (int)MarketOrder.MaxQuantityWh))).Select(q => (long)q);

    private static readonly Gen<long> NarrowPrices = Gen.Choose(0, 30).Select(p => (long)p);
    private static readonly Gen<long> WidePrices = Gen.Choose(0, (int)EnergyPrice.MaxMinorUnitsPerKwh).Select(p => (long)p);
    private static readonly Gen<MarketSide> EitherSide = Gen.Elements(MarketSide.Bid, MarketSide.Offer);

    private static Gen<Book> Books(Gen<MarketSide> sides, Gen<long> prices, Gen<long> quantities, bool uniqueSequences = true) =>
        from count in Gen.Choose(0, 40)
        from specs in Gen.ArrayOf(
            from side in sides from price in prices from quantity in quantities from device in Gen.Choose(0, 4) from number in Gen.Choose(1, 3)
            select (side, price, quantity, device, number), count)
        from sequences in uniqueSequences
            ? Gen.Shuffle(Enumerable.Range(1, count).ToArray())
            : Gen.ArrayOf(Gen.Choose(1, 3), count)
        select new Book(specs.Select((s, i) =>
            MarketTestKit.Accepted((ulong)sequences[i], s.side, s.quantity, s.price, $"home-{s.device}", (ulong)s.number)).ToArray());

    /// <summary>Every shape of book the clearing must handle, each often enough to matter.</summary>
    private static readonly Gen<Book> AnyBook = Gen.Frequency(
        (1, Gen.Constant(new Book([]))),
        (6, Books(EitherSide, NarrowPrices, SmallQuantities)),
        (2, Books(EitherSide, WidePrices, SmallQuantities)),
        (2, from side in Gen.Elements(MarketSide.Bid, MarketSide.Offer) from book in Books(Gen.Constant(side), NarrowPrices, SmallQuantities) select book),
        (2, from price in WidePrices from book in Books(EitherSide, Gen.Constant(price), SmallQuantities) select book),
        (2, from price in NarrowPrices from quantity in Gen.Choose(1, 50) from book in Books(EitherSide, Gen.Constant(price), Gen.Constant((long)quantity)) select book),
        (2, Books(EitherSide, NarrowPrices, Gen.Choose(1, 20).Select(q => (long)q), uniqueSequences: false)));

    private static ClearingResult Clear(Book book) => MarketClearing.Clear(book.Orders, Currency.Eur);

    [Property(MaxTest = Runs)]
    public Property The_clearing_agrees_with_the_reference_on_price_volume_fills_and_amounts() =>
        Prop.ForAll(AnyBook.ToArbitrary(), book =>
        {
            var result = Clear(book);
            var expected = ReferenceClearing.Clear(book.Orders);
            Assert.Equal(expected.Price, result.Price?.MinorUnitsPerKwh);
            Assert.Equal(expected.Volume, result.Volume.WattHours);
            Assert.Equal(expected.Fills, result.Fills.Select(f => (f.Device.Value, f.Side, f.OrderNumber, f.Sequence, f.Quantity.WattHours, f.Amount.MinorUnits)).ToList());
        });

    [Property(MaxTest = Runs)]
    public Property No_buyer_pays_above_its_bid_and_no_seller_is_paid_below_its_offer() =>
        Prop.ForAll(AnyBook.ToArbitrary(), book =>
        {
            var result = Clear(book);
            if (!result.Traded) { Assert.Empty(result.Fills); return; }
            var price = result.Price!.Value.MinorUnitsPerKwh;
            var limits = book.Orders.ToLookup(o => (o.Sequence, o.Order.Device, o.Order.OrderNumber, o.Order.Side), o => o.Order.LimitPrice.MinorUnitsPerKwh);
            foreach (var fill in result.Fills)
            {
                var limit = limits[(fill.Sequence, fill.Device, fill.OrderNumber, fill.Side)];
                if (fill.Side == MarketSide.Bid) Assert.Contains(limit, l => price <= l);
                else Assert.Contains(limit, l => price >= l);
                // A buyer pays per Wh at most its bid, a seller gets per Wh at least its offer, within the rounding of half a minor unit.
                Assert.InRange(Math.Abs(fill.Amount.MinorUnits * 1_000 - fill.Quantity.WattHours * price), 0, 500);
            }
        });

    [Property(MaxTest = Runs)]
    public Property Money_is_conserved_and_the_rounding_residual_is_at_most_half_a_minor_unit_per_fill() =>
        Prop.ForAll(AnyBook.ToArbitrary(), book =>
        {
            var result = Clear(book);
            var paid = result.Fills.Where(f => f.Side == MarketSide.Bid).Sum(f => f.Amount.MinorUnits);
            var received = result.Fills.Where(f => f.Side == MarketSide.Offer).Sum(f => f.Amount.MinorUnits);
            Assert.Equal((paid, received), (result.BuyersPay.MinorUnits, result.SellersReceive.MinorUnits));
            Assert.Equal(result.BuyersPay.MinorUnits, result.SellersReceive.MinorUnits + result.RoundingResidual.MinorUnits);
            Assert.InRange(2 * Math.Abs(result.RoundingResidual.MinorUnits), 0, result.Fills.Length);
            Assert.All(result.Fills, f => Assert.Equal(Currency.Eur, f.Amount.Currency));
        });

    [Property(MaxTest = Runs)]
    public Property Both_sides_move_the_same_energy_and_nothing_that_crosses_is_left_over() =>
        Prop.ForAll(AnyBook.ToArbitrary(), book =>
        {
            var result = Clear(book);
            Assert.Equal(result.Volume.WattHours, result.Fills.Where(f => f.Side == MarketSide.Bid).Sum(f => f.Quantity.WattHours));
            Assert.Equal(result.Volume.WattHours, result.Fills.Where(f => f.Side == MarketSide.Offer).Sum(f => f.Quantity.WattHours));
            Assert.All(result.Fills, f => Assert.True(f.Quantity.WattHours > 0));
            // Whatever is left of each order, no remaining bid is at or above a remaining offer.
            var filled = result.Fills.GroupBy(f => f.Side).ToDictionary(g => g.Key, g => g.Sum(f => f.Quantity.WattHours));
            var bidLeft = book.Orders.Where(o => o.Order.Side == MarketSide.Bid).Sum(o => o.Order.Quantity.WattHours) - filled.GetValueOrDefault(MarketSide.Bid);
            var offerLeft = book.Orders.Where(o => o.Order.Side == MarketSide.Offer).Sum(o => o.Order.Quantity.WattHours) - filled.GetValueOrDefault(MarketSide.Offer);
            Assert.True(bidLeft >= 0 && offerLeft >= 0);
            var partlyOrUnfilledBids = PartlyOrUnfilled(book, result, MarketSide.Bid);
            var partlyOrUnfilledOffers = PartlyOrUnfilled(book, result, MarketSide.Offer);
            if (partlyOrUnfilledBids.Count > 0 && partlyOrUnfilledOffers.Count > 0)
                Assert.True(partlyOrUnfilledBids.Max() < partlyOrUnfilledOffers.Min(), $"a bid at {partlyOrUnfilledBids.Max()} and an offer at {partlyOrUnfilledOffers.Min()} are left");
            // Time priority: at most one order per side is filled in part.
            Assert.InRange(PartlyFilled(book, result, MarketSide.Bid), 0, 1);
            Assert.InRange(PartlyFilled(book, result, MarketSide.Offer), 0, 1);
        });

    [Property(MaxTest = Runs)]
    public Property The_order_of_the_input_does_not_change_the_outcome() =>
        Prop.ForAll(Books(EitherSide, NarrowPrices, SmallQuantities).SelectMany(book =>
            Gen.Shuffle(book.Orders).Select(shuffled => (book, shuffled))).ToArbitrary(), pair =>
        {
            Assert.Equal(Clear(pair.book), MarketClearing.Clear(pair.shuffled, Currency.Eur));
        });

    private static long FilledOf(ClearingResult result, AcceptedOrder order) =>
        result.Fills.Where(f => f.Sequence == order.Sequence && f.Device == order.Order.Device && f.OrderNumber == order.Order.OrderNumber && f.Side == order.Order.Side)
            .Sum(f => f.Quantity.WattHours);

    /// <summary>Limits of the orders of a side with energy left (books with unique sequences name each order once).</summary>
    private static List<long> PartlyOrUnfilled(Book book, ClearingResult result, MarketSide side) =>
        HasUniqueKeys(book)
            ? book.Orders.Where(o => o.Order.Side == side && FilledOf(result, o) < o.Order.Quantity.WattHours).Select(o => o.Order.LimitPrice.MinorUnitsPerKwh).ToList()
            : [];

    private static int PartlyFilled(Book book, ClearingResult result, MarketSide side) =>
        HasUniqueKeys(book)
            ? book.Orders.Count(o => o.Order.Side == side && FilledOf(result, o) is var filled && filled > 0 && filled < o.Order.Quantity.WattHours)
            : 0;

    private static bool HasUniqueKeys(Book book) =>
        book.Orders.Select(o => (o.Sequence, o.Order.Device, o.Order.OrderNumber, o.Order.Side)).Distinct().Count() == book.Orders.Length;
}
