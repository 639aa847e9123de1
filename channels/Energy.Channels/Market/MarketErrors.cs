using Energy.Channels.Primitives;

namespace Energy.Channels.Market;

// Orders

/// <summary>The order came when the interval's gate had closed: no order is taken for it any more.</summary>
public sealed record OrderAfterGateClosure(DeviceId Device, MarketInterval Interval, Timestamp GateClosedAt, Timestamp Now) : ProtocolError
{
    public override string Describe() => $"order of {Device} for {Interval}: the gate closed at {GateClosedAt}; now is {Now}";
}

/// <summary>
/// The device already placed an order of this number for this interval. <see cref="SameOrder"/> says whether
/// the earlier one is exactly this order (a retry, already counted once) or a different one under a used number.
/// </summary>
public sealed record DuplicateOrder(DeviceId Device, MarketInterval Interval, ulong OrderNumber, bool SameOrder) : ProtocolError
{
    public override string Describe() =>
        $"order {OrderNumber} of {Device} for {Interval} was already accepted{(SameOrder ? " (this very order)" : " and this one differs from it")}";
}

public sealed record OrderOutOfZone(DeviceId Device, ZoneId Market, ZoneId Order) : ProtocolError
{
    public override string Describe() => $"order of {Device} is for zone {Order}; this is the market of zone {Market}";
}

/// <summary>The order's interval is not one this market takes orders for (another length, or too far ahead).</summary>
public sealed record OrderWrongInterval(DeviceId Device, MarketInterval Interval, string Reason) : ProtocolError
{
    public override string Describe() => $"order of {Device} for {Interval}: {Reason}";
}

public sealed record IntervalAlreadyCleared(MarketInterval Interval, long LastClearedNumber) : ProtocolError
{
    public override string Describe() => $"{Interval} is cleared (the market cleared up to interval {LastClearedNumber})";
}

public sealed record TooManyOrders(DeviceId Device, MarketInterval Interval, int Max) : ProtocolError
{
    public override string Describe() => $"{Device} already has {Max} orders for {Interval}, the most one device may place";
}

public sealed record IntervalOrderBookFull(MarketInterval Interval, int Max) : ProtocolError
{
    public override string Describe() => $"{Interval} already holds {Max} orders, the most one interval takes";
}

public sealed record OrderQuantityOutOfBounds(DeviceId Device, EnergyWh Quantity, EnergyWh Max) : ProtocolError
{
    public override string Describe() => $"order of {Device}: quantity {Quantity} is outside 1 Wh to {Max}";
}

public sealed record OrderPriceOutOfBounds(DeviceId Device, EnergyPrice LimitPrice, long MaxMinorUnitsPerKwh) : ProtocolError
{
    public override string Describe() => $"order of {Device}: limit price {LimitPrice} is outside 0 to {MaxMinorUnitsPerKwh}";
}

// Clearing

public sealed record IntervalNotClosed(MarketInterval Interval, Timestamp GateClosesAt, Timestamp Now) : ProtocolError
{
    public override string Describe() => $"{Interval} takes orders until {GateClosesAt}; now is {Now}: too early to clear it";
}

/// <summary>Intervals clear in order: an earlier one that holds orders must clear first.</summary>
public sealed record EarlierIntervalNotCleared(MarketInterval Interval, long EarlierNumber) : ProtocolError
{
    public override string Describe() => $"{Interval} cannot clear before interval {EarlierNumber}, which holds orders";
}

// Delivery

/// <summary>A participant with a fill brought no reading for the interval's <see cref="Which"/> (start or end).</summary>
public sealed record DeliveryReadingMissing(DeviceId Participant, MarketSide Side, string Which) : ProtocolError
{
    public override string Describe() => $"{Participant} ({Side}): no {Which} reading for the interval";
}

/// <summary>A reading taken too far from the interval's start or end to say what was delivered in it.</summary>
public sealed record ReadingOutsideInterval(DeviceId Meter, string Which, Timestamp Time, Timestamp From, Timestamp To) : ProtocolError
{
    public override string Describe() => $"meter {Meter}: the {Which} reading was taken at {Time}, outside {From} to {To}";
}

public sealed record DuplicateDeliveryEvidence(DeviceId Participant, MarketSide Side) : ProtocolError
{
    public override string Describe() => $"{Participant} ({Side}) has more than one set of delivery readings";
}
