using System.Collections.Immutable;
using System.Globalization;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Channels.Market;

/// <summary>What a market records: an order it took, or an interval it cleared.</summary>
public abstract record MarketEvent;

/// <summary>The market took this order, as the <paramref name="Sequence"/>-th of the market (time priority).</summary>
public sealed record OrderAccepted(Signed<MarketOrder> Order, ulong Sequence, Timestamp AcceptedAt) : MarketEvent;

/// <summary>The market cleared this interval with this outcome; its orders are done with.</summary>
public sealed record IntervalCleared(MarketInterval Interval, ClearingResult Result, Timestamp ClearedAt) : MarketEvent;

/// <summary>The orders one open interval holds, with what de-duplication and the per-device bound need.</summary>
public sealed record IntervalOrders(MarketInterval Interval, ImmutableList<AcceptedOrder> Orders, ImmutableDictionary<(DeviceId Device, ulong Number), AcceptedOrder> ByNumber,
    ImmutableDictionary<DeviceId, int> CountByDevice)
{
    public static IntervalOrders Empty(MarketInterval interval) =>
        new(interval, [], ImmutableDictionary<(DeviceId, ulong), AcceptedOrder>.Empty, ImmutableDictionary<DeviceId, int>.Empty);

    public int OrdersOf(DeviceId device) => CountByDevice.GetValueOrDefault(device);
}

/// <summary>
/// One grid zone's market: the open intervals and their orders, the last interval cleared, and the sequence
/// the next order takes. Immutable; <see cref="MarketBooks"/> decides (returning an event or a named error,
/// changing nothing) and applies (the same call live and in recovery).
/// </summary>
public sealed record MarketBook(NetworkId Network, ZoneId Zone, Currency Currency, MarketRules Rules)
{
    public ImmutableSortedDictionary<long, IntervalOrders> Open { get; init; } = ImmutableSortedDictionary<long, IntervalOrders>.Empty;

    /// <summary>The number of the last interval cleared; -1 before the first.</summary>
    public long LastCleared { get; init; } = -1;

    public ulong NextSequence { get; init; } = 1;

    public IntervalOrders OrdersFor(MarketInterval interval) => Open.GetValueOrDefault(interval.Number) ?? IntervalOrders.Empty(interval);

    public MarketInterval Interval(long number) => MarketInterval.Numbered(Zone, number, Rules.IntervalLength);

    /// <summary>When orders for <paramref name="interval"/> stop being taken: the gate closure before its start.</summary>
    public Timestamp GateClosesAt(MarketInterval interval) => new(interval.Start.UnixMilliseconds - Rules.GateClosure.Milliseconds);
}

/// <summary>The rules of a zone's market, as pure functions over <see cref="MarketBook"/>.</summary>
public static class MarketBooks
{
    public static Result<MarketBook> Create(NetworkId network, ZoneId zone, Currency currency, MarketRules rules) =>
        rules.Check().Then<MarketBook>(checkedRules => new MarketBook(network, zone, currency, checkedRules));

    /// <summary>
    /// Takes a signed order if it is for this network and zone, within the bounds, in this market's currency,
    /// for an interval of this market that is neither cleared, nor past its gate closure, nor too far ahead; not
    /// a number the device already used for the interval; within the device's and the interval's bound of
    /// orders; and signed by <paramref name="deviceKey"/> (checked last: it is the one costly check).
    /// </summary>
    public static Result<OrderAccepted> DecideOrder(MarketBook book, Signed<MarketOrder> signed, DevicePublicKey deviceKey, Timestamp now)
    {
        var order = signed.Payload;
        if (order.Network != book.Network) return new WrongNetwork(ChannelId.None, book.Network, order.Network);
        if (order.Zone != book.Zone) return new OrderOutOfZone(order.Device, book.Zone, order.Zone);
        var shape = MarketOrders.CheckShape(order);
        if (shape is not null) return shape;
        if (order.LimitPrice.Currency != book.Currency) return new CurrencyMismatch(book.Currency, order.LimitPrice.Currency);
        var timing = CheckInterval(book, order, now);
        if (timing is not null) return timing;
        var orders = book.OrdersFor(order.Interval);
        if (orders.ByNumber.TryGetValue((order.Device, order.OrderNumber), out var earlier))
            return new DuplicateOrder(order.Device, order.Interval, order.OrderNumber, earlier.Order == order);
        if (orders.OrdersOf(order.Device) >= book.Rules.MaxOrdersPerDevice) return new TooManyOrders(order.Device, order.Interval, book.Rules.MaxOrdersPerDevice);
        if (orders.Orders.Count >= book.Rules.MaxOrdersPerInterval) return new IntervalOrderBookFull(order.Interval, book.Rules.MaxOrdersPerInterval);
        if (!signed.IsSignedBy(deviceKey)) return new InvalidSignature(ChannelId.None, ObjectKind.MarketOrder, order.Device.Value);
        return new OrderAccepted(signed, book.NextSequence, now);
    }

    private static ProtocolError? CheckInterval(MarketBook book, MarketOrder order, Timestamp now)
    {
        var interval = order.Interval;
        if (interval.Length != book.Rules.IntervalLength)
            return new OrderWrongInterval(order.Device, interval, $"this market's intervals are {book.Rules.IntervalLength} long");
        if (interval.Number <= book.LastCleared) return new IntervalAlreadyCleared(interval, book.LastCleared);
        var gate = book.GateClosesAt(interval);
        if (now >= gate) return new OrderAfterGateClosure(order.Device, interval, gate, now);
        var current = MarketInterval.Containing(book.Zone, now, book.Rules.IntervalLength).Number;
        if (interval.Number - current > book.Rules.MaxIntervalsAhead)
            return new OrderWrongInterval(order.Device, interval,
                $"orders are taken at most {book.Rules.MaxIntervalsAhead.ToString(CultureInfo.InvariantCulture)} intervals ahead of the current one ({current.ToString(CultureInfo.InvariantCulture)})");
        return null;
    }

    /// <summary>The earliest interval holding orders whose gate has closed: the next one to clear, if any.</summary>
    public static MarketInterval? NextToClear(MarketBook book, Timestamp now)
    {
        if (book.Open.IsEmpty) return null;
        var earliest = book.Open.First().Value.Interval;
        return now >= book.GateClosesAt(earliest) ? earliest : null;
    }

    /// <summary>
    /// Clears an interval once its gate has closed, in order (an earlier interval holding orders clears first),
    /// once. An interval without orders clears too, to an empty result.
    /// </summary>
    public static Result<IntervalCleared> DecideClearing(MarketBook book, MarketInterval interval, Timestamp now)
    {
        if (interval.Zone != book.Zone) return new MalformedValue("zone", interval.Zone.Value, $"this market's zone {book.Zone}");
        if (interval.Length != book.Rules.IntervalLength || interval.Check() is not null)
            return new MalformedValue("interval", interval.ToString(), $"an interval of {book.Rules.IntervalLength} of this market");
        if (interval.Number <= book.LastCleared) return new IntervalAlreadyCleared(interval, book.LastCleared);
        var gate = book.GateClosesAt(interval);
        if (now < gate) return new IntervalNotClosed(interval, gate, now);
        if (!book.Open.IsEmpty && book.Open.First().Key < interval.Number) return new EarlierIntervalNotCleared(interval, book.Open.First().Key);
        var orders = book.OrdersFor(interval).Orders;
        return new IntervalCleared(interval, MarketClearing.Clear(orders, book.Currency), now);
    }

    /// <summary>The only way a book changes, live and in recovery alike. Asserts what the decision guaranteed.</summary>
    public static MarketBook Apply(MarketBook book, MarketEvent @event) => @event switch
    {
        OrderAccepted accepted => ApplyOrder(book, accepted),
        IntervalCleared cleared => ApplyClearing(book, cleared),
        _ => throw new ArgumentException($"not a market event: {@event}", nameof(@event)),
    };

    private static MarketBook ApplyOrder(MarketBook book, OrderAccepted accepted)
    {
        var order = accepted.Order.Payload;
        if (accepted.Sequence != book.NextSequence)
            throw new InvalidOperationException($"order {order} has sequence {accepted.Sequence}; the market is at {book.NextSequence}");
        if (order.Zone != book.Zone || order.Interval.Number <= book.LastCleared)
            throw new InvalidOperationException($"order {order} is not for an open interval of zone {book.Zone}");
        var orders = book.OrdersFor(order.Interval);
        var key = (order.Device, order.OrderNumber);
        if (orders.ByNumber.ContainsKey(key)) throw new InvalidOperationException($"order {order} was applied before");
        var placed = new AcceptedOrder(order, accepted.Sequence);
        var next = orders with
        {
            Orders = orders.Orders.Add(placed),
            ByNumber = orders.ByNumber.Add(key, placed),
            CountByDevice = orders.CountByDevice.SetItem(order.Device, orders.OrdersOf(order.Device) + 1),
        };
        return book with { Open = book.Open.SetItem(order.Interval.Number, next), NextSequence = accepted.Sequence + 1 };
    }

    private static MarketBook ApplyClearing(MarketBook book, IntervalCleared cleared)
    {
        var number = cleared.Interval.Number;
        if (number <= book.LastCleared) throw new InvalidOperationException($"{cleared.Interval} is at or before the last cleared {book.LastCleared}");
        if (!book.Open.IsEmpty && book.Open.First().Key < number)
            throw new InvalidOperationException($"{cleared.Interval} cleared before interval {book.Open.First().Key}");
        return book with { Open = book.Open.Remove(number), LastCleared = number };
    }
}
