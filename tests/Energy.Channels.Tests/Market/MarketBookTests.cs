using Energy.Channels.Encoding;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using static Energy.Channels.Tests.Market.MarketTestKit;

namespace Energy.Channels.Tests.Market;

/// <summary>A zone's order book: what it takes, each refusal by name, and that a refusal changes nothing.</summary>
public class MarketBookTests
{
    private static Result<OrderAccepted> Decide(MarketBook book, MarketOrder order, Timestamp? now = null, Identity.DeviceKeyPair? signer = null) =>
        MarketBooks.DecideOrder(book, Signed(order, signer), KeyOf(order.Device), now ?? BeforeGate);

    private static (ulong, long, int, int) Snapshot(MarketBook book, MarketInterval interval) =>
        (book.NextSequence, book.LastCleared, book.Open.Count, book.OrdersFor(interval).Orders.Count);

    /// <summary>Asserts the refusal and returns its error, and that the book reads the same after it (a refusal records nothing).</summary>
    private static T Refused<T>(MarketBook book, MarketOrder order, Timestamp? now = null, Identity.DeviceKeyPair? signer = null) where T : ProtocolError
    {
        var before = Snapshot(book, order.Interval);
        var decided = Decide(book, order, now, signer);
        Assert.False(decided.IsOk, $"{order} was accepted");
        Assert.Equal(before, Snapshot(book, order.Interval));
        return Assert.IsType<T>(decided.Error);
    }

    [Fact]
    public void A_refused_order_leaves_the_next_accepted_one_the_sequence_it_would_have_had()
    {
        var book = Place(EmptyBook(), Order(MarketSide.Offer, 1_000, 20));
        Refused<InvalidSignature>(book, Order(MarketSide.Bid, 500, 25), signer: Keys.Stranger);
        Refused<DuplicateOrder>(book, Order(MarketSide.Offer, 1_000, 20));
        Assert.Equal(2UL, Decide(book, Order(MarketSide.Bid, 500, 25)).Value.Sequence);
    }

    [Fact]
    public void An_order_before_gate_closure_is_accepted_with_the_next_sequence_and_applied()
    {
        var book = EmptyBook();
        var accepted = Decide(book, Order(MarketSide.Offer, 1_500, 20)).Value;
        Assert.Equal((1UL, BeforeGate), (accepted.Sequence, accepted.AcceptedAt));
        var after = MarketBooks.Apply(book, accepted);
        Assert.Equal(2UL, after.NextSequence);
        var placed = Assert.Single(after.OrdersFor(Next).Orders);
        Assert.Equal((accepted.Order.Payload, 1UL), (placed.Order, placed.Sequence));
        Assert.Empty(book.Open);
    }

    [Fact]
    public void An_order_one_millisecond_before_the_gate_is_accepted_and_at_the_gate_refused_with_OrderAfterGateClosure()
    {
        var book = EmptyBook();
        var gate = book.GateClosesAt(Next);
        Assert.Equal(TestParties.At(4 * 60_000), gate);
        Assert.True(Decide(book, Order(MarketSide.Bid, 100, 20), new Timestamp(gate.UnixMilliseconds - 1)).IsOk);
        var error = Refused<OrderAfterGateClosure>(book, Order(MarketSide.Bid, 100, 20), gate);
        Assert.Equal((Buyer, Next, gate, gate), (error.Device, error.Interval, error.GateClosedAt, error.Now));
        Refused<OrderAfterGateClosure>(book, Order(MarketSide.Bid, 100, 20, interval: Current), BeforeGate);
    }

    [Fact]
    public void The_gate_closure_is_configurable()
    {
        var book = EmptyBook(Rules with { GateClosure = DurationMs.FromSeconds(10) });
        Assert.True(Decide(book, Order(MarketSide.Bid, 100, 20), TestParties.At(5 * 60_000 - 10_001)).IsOk);
        Refused<OrderAfterGateClosure>(book, Order(MarketSide.Bid, 100, 20), TestParties.At(5 * 60_000 - 10_000));
    }

    [Fact]
    public void The_same_order_twice_is_refused_with_DuplicateOrder_naming_it_the_same()
    {
        var book = Place(EmptyBook(), Order(MarketSide.Offer, 1_500, 20, number: 4));
        var error = Refused<DuplicateOrder>(book, Order(MarketSide.Offer, 1_500, 20, number: 4));
        Assert.Equal((Seller, Next, 4UL, true), (error.Device, error.Interval, error.OrderNumber, error.SameOrder));
        Assert.Single(book.OrdersFor(Next).Orders);
    }

    [Fact]
    public void Another_order_under_a_used_number_is_refused_with_DuplicateOrder_naming_it_different()
    {
        var book = Place(EmptyBook(), Order(MarketSide.Offer, 1_500, 20, number: 4));
        Assert.False(Refused<DuplicateOrder>(book, Order(MarketSide.Offer, 1_400, 20, number: 4)).SameOrder);
        // The number is per device and per interval: another device, or another interval, may use it.
        Assert.True(Decide(book, Order(MarketSide.Bid, 1_500, 20, number: 4)).IsOk);
        Assert.True(Decide(book, Order(MarketSide.Offer, 1_500, 20, number: 4, interval: MarketInterval.Numbered(Zone, Next.Number + 1, Length))).IsOk);
    }

    [Fact]
    public void An_order_for_another_zone_is_refused_with_OrderOutOfZone()
    {
        var elsewhere = MarketInterval.Numbered(OtherZone, Next.Number, Length);
        var error = Refused<OrderOutOfZone>(EmptyBook(), Order(MarketSide.Bid, 100, 20, interval: elsewhere));
        Assert.Equal((Buyer, Zone, OtherZone), (error.Device, error.Market, error.Order));
    }

    [Fact]
    public void An_order_for_an_interval_of_another_length_is_refused_with_OrderWrongInterval()
    {
        var quarter = MarketInterval.Containing(Zone, TestParties.At(15 * 60_000), DurationMs.FromMinutes(15));
        Assert.Equal(quarter, Refused<OrderWrongInterval>(EmptyBook(), Order(MarketSide.Bid, 100, 20, interval: quarter)).Interval);
    }

    [Fact]
    public void An_order_too_many_intervals_ahead_is_refused_with_OrderWrongInterval()
    {
        var book = EmptyBook();
        var lastTaken = MarketInterval.Numbered(Zone, Current.Number + Rules.MaxIntervalsAhead, Length);
        Assert.True(Decide(book, Order(MarketSide.Bid, 100, 20, interval: lastTaken)).IsOk);
        var tooFar = MarketInterval.Numbered(Zone, lastTaken.Number + 1, Length);
        Assert.Contains("ahead", Refused<OrderWrongInterval>(book, Order(MarketSide.Bid, 100, 20, interval: tooFar)).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_order_for_a_cleared_interval_is_refused_with_IntervalAlreadyCleared()
    {
        var book = Place(EmptyBook(), Order(MarketSide.Bid, 100, 20));
        var atGate = book.GateClosesAt(Next);
        var cleared = MarketBooks.Apply(book, MarketBooks.DecideClearing(book, Next, atGate).Value);
        Assert.Equal(Next.Number, cleared.LastCleared);
        // Even with a clock behind the market's (a node whose clock lags), the cleared interval takes nothing.
        var error = Refused<IntervalAlreadyCleared>(cleared, Order(MarketSide.Bid, 100, 20, number: 2), BeforeGate);
        Assert.Equal((Next, Next.Number), (error.Interval, error.LastClearedNumber));
    }

    [Fact]
    public void A_device_over_its_bound_of_orders_per_interval_is_refused_with_TooManyOrders()
    {
        var book = EmptyBook();
        for (var number = 1UL; number <= (ulong)Rules.MaxOrdersPerDevice; number++) book = Place(book, Order(MarketSide.Offer, 100, 20, number));
        var error = Refused<TooManyOrders>(book, Order(MarketSide.Offer, 100, 20, number: 99));
        Assert.Equal((Seller, Next, 16), (error.Device, error.Interval, error.Max));
        Assert.True(Decide(book, Order(MarketSide.Bid, 100, 20, number: 99)).IsOk);
    }

    [Fact]
    public void An_interval_over_its_bound_of_orders_is_refused_with_IntervalOrderBookFull()
    {
        var book = EmptyBook(Rules with { MaxOrdersPerInterval = 2 });
        book = Place(Place(book, Order(MarketSide.Offer, 100, 20)), Order(MarketSide.Bid, 100, 20));
        Assert.Equal(2, Refused<IntervalOrderBookFull>(book, Order(MarketSide.Offer, 100, 20, number: 2)).Max);
    }

    [Fact]
    public void An_order_signed_by_another_key_is_refused_with_InvalidSignature()
    {
        var error = Refused<InvalidSignature>(EmptyBook(), Order(MarketSide.Offer, 100, 20), signer: Keys.Stranger);
        Assert.Equal((ObjectKind.MarketOrder, Seller.Value), (error.Kind, error.Signer));
    }

    [Fact]
    public void An_order_built_out_of_bounds_is_refused_by_name_before_its_signature_is_checked()
    {
        var book = EmptyBook();
        Refused<OrderQuantityOutOfBounds>(book, Order(MarketSide.Offer, 0, 20), signer: Keys.Stranger);
        Refused<OrderQuantityOutOfBounds>(book, Order(MarketSide.Offer, MarketOrder.MaxQuantityWh + 1, 20));
        Refused<OrderPriceOutOfBounds>(book, Order(MarketSide.Offer, 100, -1));
        Refused<OrderPriceOutOfBounds>(book, Order(MarketSide.Offer, 100, EnergyPrice.MaxMinorUnitsPerKwh + 1));
    }

    [Fact]
    public void An_order_in_another_currency_is_refused_with_CurrencyMismatch()
    {
        var error = Refused<CurrencyMismatch>(EmptyBook(), Order(MarketSide.Bid, 100, 20, currency: Currency.Usd));
        Assert.Equal((Currency.Eur, Currency.Usd), (error.Expected, error.Actual));
    }

    [Fact]
    public void An_order_for_another_network_is_refused_with_WrongNetwork()
    {
        Assert.Equal(TestParties.OtherNetwork, Refused<WrongNetwork>(EmptyBook(), Order(MarketSide.Bid, 100, 20, network: TestParties.OtherNetwork)).Actual);
    }

    [Fact]
    public void Rules_out_of_bounds_make_no_market()
    {
        Assert.IsType<MalformedValue>(MarketBooks.Create(TestParties.Network, Zone, Currency.Eur, Rules with { ImbalancePenaltyPercent = 99 }).Error);
        Assert.IsType<MalformedValue>(MarketBooks.Create(TestParties.Network, Zone, Currency.Eur, Rules with { MaxOrdersPerDevice = 0 }).Error);
        Assert.IsType<MalformedValue>(MarketBooks.Create(TestParties.Network, Zone, Currency.Eur, Rules with { GateClosure = new DurationMs(-1) }).Error);
        Assert.IsType<MalformedValue>(MarketBooks.Create(TestParties.Network, Zone, Currency.Eur, Rules with { ReadingTolerance = DurationMs.FromSeconds(150) }).Error);
        Assert.IsType<MalformedValue>(MarketBooks.Create(TestParties.Network, Zone, Currency.Eur, new MarketRules(new DurationMs(500), new DurationMs(0))).Error);
        // Intervals of seconds, as a scenario runs them, get a tolerance of a tenth of the interval.
        Assert.Equal(new DurationMs(1_000), new MarketRules(DurationMs.FromSeconds(10), DurationMs.FromSeconds(2)).Check().Value.ReadingTolerance);
    }

    // Clearing decisions

    [Fact]
    public void An_interval_clears_once_its_gate_has_closed_and_not_before()
    {
        var book = Place(Place(EmptyBook(), Order(MarketSide.Offer, 1_000, 20)), Order(MarketSide.Bid, 600, 30));
        var gate = book.GateClosesAt(Next);
        Assert.Null(MarketBooks.NextToClear(book, new Timestamp(gate.UnixMilliseconds - 1)));
        var early = Assert.IsType<IntervalNotClosed>(MarketBooks.DecideClearing(book, Next, new Timestamp(gate.UnixMilliseconds - 1)).Error);
        Assert.Equal(gate, early.GateClosesAt);
        Assert.Equal(Next, MarketBooks.NextToClear(book, gate));
        var cleared = MarketBooks.DecideClearing(book, Next, gate).Value;
        Assert.Equal((Price(25), new EnergyWh(600)), (cleared.Result.Price, cleared.Result.Volume));
        var after = MarketBooks.Apply(book, cleared);
        Assert.Empty(after.Open);
        Assert.IsType<IntervalAlreadyCleared>(MarketBooks.DecideClearing(after, Next, gate).Error);
        Assert.Null(MarketBooks.NextToClear(after, gate));
    }

    [Fact]
    public void Intervals_clear_in_order()
    {
        var later = MarketInterval.Numbered(Zone, Next.Number + 1, Length);
        var book = Place(Place(EmptyBook(), Order(MarketSide.Offer, 1_000, 20)), Order(MarketSide.Bid, 600, 30, interval: later));
        var afterBoth = book.GateClosesAt(later);
        Assert.Equal(Next.Number, Assert.IsType<EarlierIntervalNotCleared>(MarketBooks.DecideClearing(book, later, afterBoth).Error).EarlierNumber);
        Assert.Equal(Next, MarketBooks.NextToClear(book, afterBoth));
        book = MarketBooks.Apply(book, MarketBooks.DecideClearing(book, Next, afterBoth).Value);
        Assert.Equal(later, MarketBooks.NextToClear(book, afterBoth));
        Assert.False(MarketBooks.DecideClearing(book, later, afterBoth).Value.Result.Traded);
    }

    [Fact]
    public void An_empty_interval_clears_to_no_trade()
    {
        var book = EmptyBook();
        var cleared = MarketBooks.DecideClearing(book, Next, book.GateClosesAt(Next)).Value;
        Assert.Equal(ClearingResult.Empty(Currency.Eur), cleared.Result);
        Assert.Equal(Next.Number, MarketBooks.Apply(book, cleared).LastCleared);
    }

    [Fact]
    public void Replaying_the_recorded_events_on_an_empty_book_gives_the_same_book()
    {
        var events = new List<MarketEvent>();
        var book = EmptyBook();
        void Take(MarketEvent e) { events.Add(e); book = MarketBooks.Apply(book, e); }
        Take(MarketBooks.DecideOrder(book, Signed(Order(MarketSide.Offer, 1_000, 20)), KeyOf(Seller), BeforeGate).Value);
        Take(MarketBooks.DecideOrder(book, Signed(Order(MarketSide.Bid, 800, 25)), KeyOf(Buyer), BeforeGate).Value);
        Take(MarketBooks.DecideClearing(book, Next, book.GateClosesAt(Next)).Value);
        var later = MarketInterval.Numbered(Zone, Next.Number + 1, Length);
        Take(MarketBooks.DecideOrder(book, Signed(Order(MarketSide.Bid, 300, 25, interval: later)), KeyOf(Buyer), book.GateClosesAt(Next)).Value);

        var recovered = events.Aggregate(EmptyBook(), MarketBooks.Apply);
        Assert.Equal((book.LastCleared, book.NextSequence), (recovered.LastCleared, recovered.NextSequence));
        Assert.Equal(book.Open.Keys, recovered.Open.Keys);
        Assert.Equal(book.OrdersFor(later).Orders, recovered.OrdersFor(later).Orders);
        Assert.Equal(4UL, recovered.NextSequence);
    }

    [Fact]
    public void Applying_an_event_out_of_sequence_is_refused_loudly()
    {
        var book = EmptyBook();
        var first = MarketBooks.DecideOrder(book, Signed(Order(MarketSide.Offer, 1_000, 20)), KeyOf(Seller), BeforeGate).Value;
        var after = MarketBooks.Apply(book, first);
        Assert.Throws<InvalidOperationException>(() => MarketBooks.Apply(after, first));
        Assert.Throws<InvalidOperationException>(() => MarketBooks.Apply(book, first with { Sequence = 2 }));
    }
}
