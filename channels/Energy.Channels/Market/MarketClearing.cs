using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Energy.Channels.Primitives;

namespace Energy.Channels.Market;

/// <summary>An order the market took, with its place in the order of acceptance (from 1, unique in a market).</summary>
public sealed record AcceptedOrder(MarketOrder Order, ulong Sequence);

/// <summary>What one order got in a clearing: energy in whole Wh and its amount at the clearing price.</summary>
public readonly record struct Fill(DeviceId Device, MarketSide Side, ulong OrderNumber, ulong Sequence, EnergyWh Quantity, Money Amount);

/// <summary>
/// The outcome of one interval's auction. <see cref="Price"/> is null when nothing traded. The bids' fills
/// come first, then the offers', each in priority order; only orders that got energy have a fill.
/// <see cref="BuyersPay"/> = <see cref="SellersReceive"/> + <see cref="RoundingResidual"/>, exactly: the
/// residual is what the rounding of each fill left over, kept (or, when negative, paid) by the grid
/// operator's market account; it is at most half a minor unit per fill in size.
/// </summary>
public sealed record ClearingResult(
    EnergyPrice? Price,
    EnergyWh Volume,
    ImmutableArray<Fill> Fills,
    Money BuyersPay,
    Money SellersReceive,
    Money RoundingResidual)
{
    public static ClearingResult Empty(Currency currency) =>
        new(null, EnergyWh.Zero, [], Money.Zero(currency), Money.Zero(currency), Money.Zero(currency));

    public bool Traded => Price is not null;

    public bool Equals(ClearingResult? other) =>
        other is not null && Price == other.Price && Volume == other.Volume && Fills.SequenceEqual(other.Fills)
        && BuyersPay == other.BuyersPay && SellersReceive == other.SellersReceive && RoundingResidual == other.RoundingResidual;

    public override int GetHashCode() => HashCode.Combine(Price, Volume, Fills.Length, BuyersPay);
}

/// <summary>
/// The uniform-price double auction of one interval.
/// <para>Priority: bids by limit price, highest first; offers by limit price, lowest first; at equal price the
/// order accepted earlier (lower sequence) first, then the device id (ordinal), then the order number.</para>
/// <para>Volume: bids and offers are matched in priority order, Wh by Wh, while the bid's limit is at least
/// the offer's: the largest volume at which demand willing to pay a price meets supply willing to sell at it.</para>
/// <para>Partial fills: by priority (time priority at the margin): every order before the marginal bid and
/// the marginal offer is filled in full, at most one bid and one offer are filled in part, in whole Wh.</para>
/// <para>Price: one per interval, the midpoint of the limits of the last bid and the last offer matched,
/// rounded down to a whole minor unit per kWh (an exact half goes down). The last bid matched has the lowest
/// limit of any matched bid and the last offer the highest of any matched offer, so no buyer pays above its
/// bid and no seller is paid below its offer.</para>
/// <para>Money: a fill's exact value is Wh x price / 1000 minor units; a buyer pays it rounded to the nearest
/// minor unit with an exact half up, a seller is paid it rounded to the nearest with an exact half down.</para>
/// </summary>
public static class MarketClearing
{
    // The clearing's loops are compiled optimized from their first call: a market clears once an interval,
    // too rarely for the runtime's tiering to promote them before they matter.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ClearingResult Clear(IReadOnlyList<AcceptedOrder> orders, Currency currency)
    {
        // One pass over the caller's list (a book's list is a tree, slow to index), then only arrays.
        var listed = new AcceptedOrder[orders.Count];
        var count = 0;
        foreach (var order in orders) listed[count++] = order;
        var bidCount = CountBids(listed, currency);
        var bids = new Ranked[bidCount];
        var offers = new Ranked[listed.Length - bidCount];
        int b = 0, o = 0;
        var inSequenceOrder = true;
        for (var i = 0; i < listed.Length; i++)
        {
            var order = listed[i].Order;
            var ranked = new Ranked(order.LimitPrice.MinorUnitsPerKwh, listed[i].Sequence, i, order.Quantity.WattHours);
            if (order.Side == MarketSide.Bid) bids[b++] = ranked;
            else offers[o++] = ranked;
            if (i > 0 && listed[i].Sequence <= listed[i - 1].Sequence) inSequenceOrder = false;
        }
        if (inSequenceOrder)
        {
            bids = RankInSequenceOrder(bids, MarketSide.Bid);
            offers = RankInSequenceOrder(offers, MarketSide.Offer);
        }
        else
        {
            bids.AsSpan().Sort(new BidPriority(listed));
            offers.AsSpan().Sort(new OfferPriority(listed));
        }
        var match = Match(bids, offers);
        if (match.Volume == 0) return ClearingResult.Empty(currency);
        var price = new EnergyPrice((match.LastBidPrice + match.LastOfferPrice) / 2, currency);
        return Settle(listed, bids, offers, match, price);
    }

    /// <summary>Counts the bids and asserts what the book guarantees: one currency, quantities and prices within bounds, sides that exist.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int CountBids(AcceptedOrder[] orders, Currency currency)
    {
        var bids = 0;
        foreach (var accepted in orders)
        {
            var order = accepted.Order;
            if (order.LimitPrice.Currency != currency)
                throw new ArgumentException($"{order} is in {order.LimitPrice.Currency}, the market in {currency}", nameof(orders));
            if (order.Quantity.WattHours is < 1 or > MarketOrder.MaxQuantityWh || !order.LimitPrice.IsWithinBounds)
                throw new ArgumentException($"{order} is out of bounds", nameof(orders));
            if (order.Side == MarketSide.Bid) bids++;
            else if (order.Side != MarketSide.Offer) throw new ArgumentException($"{order} has no side", nameof(orders));
        }
        return bids;
    }

    private readonly record struct Ranked(long Price, ulong Sequence, int Index, long Quantity);

    /// <summary>
    /// Ranks a side whose orders are listed in strictly increasing sequence (as a book lists them): the place in
    /// the list is then the time priority and no two orders tie, so one sort of plain 64-bit keys (price,
    /// then place) ranks the side. Plain keys sort with the runtime's precompiled code, fast from the first
    /// clearing on; the comparer sort handles any other list by the same rule.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Ranked[] RankInSequenceOrder(Ranked[] side, MarketSide which)
    {
        var keys = new long[side.Length];
        for (var k = 0; k < side.Length; k++)
        {
            var priceKey = which == MarketSide.Bid ? EnergyPrice.MaxMinorUnitsPerKwh - side[k].Price : side[k].Price;
            keys[k] = (priceKey << 32) | (uint)k;
        }
        Array.Sort(keys);
        var ranked = new Ranked[side.Length];
        for (var k = 0; k < keys.Length; k++) ranked[k] = side[(int)(keys[k] & 0xFFFF_FFFF)];
        return ranked;
    }

    /// <summary>How far the matching went: the filled Wh of each ranked order, the volume and the marginal limits.</summary>
    private readonly record struct Matched(long[] BidFilled, long[] OfferFilled, long Volume, long LastBidPrice, long LastOfferPrice);

    /// <summary>One pass over both ranked sides, matching the best remaining bid with the best remaining offer while they cross.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Matched Match(Ranked[] bids, Ranked[] offers)
    {
        var bidFilled = new long[bids.Length];
        var offerFilled = new long[offers.Length];
        int i = 0, j = 0;
        long volume = 0, lastBid = 0, lastOffer = 0;
        while (i < bids.Length && j < offers.Length && bids[i].Price >= offers[j].Price)
        {
            var bidLeft = bids[i].Quantity - bidFilled[i];
            var offerLeft = offers[j].Quantity - offerFilled[j];
            var matched = Math.Min(bidLeft, offerLeft);
            bidFilled[i] += matched;
            offerFilled[j] += matched;
            volume += matched;
            (lastBid, lastOffer) = (bids[i].Price, offers[j].Price);
            if (matched == bidLeft) i++;
            if (matched == offerLeft) j++;
        }
        return new Matched(bidFilled, offerFilled, volume, lastBid, lastOffer);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ClearingResult Settle(AcceptedOrder[] orders, Ranked[] bids, Ranked[] offers, Matched match, EnergyPrice price)
    {
        var bidsFilled = 0;
        while (bidsFilled < bids.Length && match.BidFilled[bidsFilled] > 0) bidsFilled++;
        var offersFilled = 0;
        while (offersFilled < offers.Length && match.OfferFilled[offersFilled] > 0) offersFilled++;
        var fills = new Fill[bidsFilled + offersFilled];
        var at = 0;
        long buyersPay = 0, sellersReceive = 0, bought = 0, sold = 0;
        for (var k = 0; k < bidsFilled; k++)
        {
            var fill = FillOf(orders[bids[k].Index], match.BidFilled[k], price.BuyerAmount(new EnergyWh(match.BidFilled[k])));
            if (price.MinorUnitsPerKwh > orders[bids[k].Index].Order.LimitPrice.MinorUnitsPerKwh)
                throw new InvalidOperationException($"clearing price {price} is above the bid {orders[bids[k].Index].Order}");
            fills[at++] = fill;
            buyersPay += fill.Amount.MinorUnits;
            bought += fill.Quantity.WattHours;
        }
        for (var k = 0; k < offersFilled; k++)
        {
            var fill = FillOf(orders[offers[k].Index], match.OfferFilled[k], price.SellerAmount(new EnergyWh(match.OfferFilled[k])));
            if (price.MinorUnitsPerKwh < orders[offers[k].Index].Order.LimitPrice.MinorUnitsPerKwh)
                throw new InvalidOperationException($"clearing price {price} is below the offer {orders[offers[k].Index].Order}");
            fills[at++] = fill;
            sellersReceive += fill.Amount.MinorUnits;
            sold += fill.Quantity.WattHours;
        }
        // Asserted in every build: both sides moved the same energy, the volume the matching found.
        if (bought != match.Volume || sold != match.Volume)
            throw new InvalidOperationException($"bids filled {bought} Wh and offers {sold} Wh of a {match.Volume} Wh match");
        var currency = price.Currency;
        // The array is not kept anywhere else: handing it to the result without a copy is safe.
        return new ClearingResult(price, new EnergyWh(match.Volume), ImmutableCollectionsMarshal.AsImmutableArray(fills), new Money(buyersPay, currency),
            new Money(sellersReceive, currency), new Money(buyersPay - sellersReceive, currency));
    }

    private static Fill FillOf(AcceptedOrder accepted, long wattHours, Money amount) =>
        new(accepted.Order.Device, accepted.Order.Side, accepted.Order.OrderNumber, accepted.Sequence, new EnergyWh(wattHours), amount);

    /// <summary>Ties after price and sequence (only in a list no book produced): device id, ordinal, then order number.</summary>
    private static int TieBreak(AcceptedOrder[] orders, Ranked x, Ranked y)
    {
        var bySequence = x.Sequence.CompareTo(y.Sequence);
        if (bySequence != 0) return bySequence;
        var a = orders[x.Index].Order;
        var b = orders[y.Index].Order;
        var byDevice = string.CompareOrdinal(a.Device.Value, b.Device.Value);
        if (byDevice != 0) return byDevice;
        var byNumber = a.OrderNumber.CompareTo(b.OrderNumber);
        // Orders equal in all of these are told apart by their place in the list, so the sort is deterministic too.
        return byNumber != 0 ? byNumber : x.Index.CompareTo(y.Index);
    }

    private readonly struct BidPriority(AcceptedOrder[] orders) : IComparer<Ranked>
    {
        public int Compare(Ranked x, Ranked y) => x.Price != y.Price ? y.Price.CompareTo(x.Price) : TieBreak(orders, x, y);
    }

    private readonly struct OfferPriority(AcceptedOrder[] orders) : IComparer<Ranked>
    {
        public int Compare(Ranked x, Ranked y) => x.Price != y.Price ? x.Price.CompareTo(y.Price) : TieBreak(orders, x, y);
    }
}
