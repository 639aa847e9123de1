using System.Globalization;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Market;

/// <summary>
/// A meter's signed bid or offer for one interval of its zone's market: buy (or sell) up to
/// <see cref="Quantity"/> at most (or at least) at <see cref="LimitPrice"/>. The device numbers its orders
/// per interval from 1; the number makes a retried order recognisable as the same one. Every field is
/// signed, the zone and the interval's start and length included, so an order counts in one market and
/// one interval only.
/// </summary>
public sealed record MarketOrder(
    NetworkId Network,
    MarketInterval Interval,
    DeviceId Device,
    MarketSide Side,
    ulong OrderNumber,
    EnergyWh Quantity,
    EnergyPrice LimitPrice) : ISignable<MarketOrder>
{
    /// <summary>1 MWh in one interval: far above what a home moves, low enough that no sum of a book overflows.</summary>
    public const long MaxQuantityWh = 1_000_000;

    public static ObjectKind Kind => ObjectKind.MarketOrder;
    public static int SignatureCount => 1;

    public ZoneId Zone => Interval.Zone;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Interval.Zone.Value);
        writer.WriteInt64(Interval.Start.UnixMilliseconds);
        writer.WriteInt64(Interval.Length.Milliseconds);
        writer.WriteParty(PartyId.From(Device));
        writer.WriteByte((byte)Side);
        writer.WriteUInt64(OrderNumber);
        writer.WriteInt64(Quantity.WattHours);
        writer.WriteMoney(LimitPrice.PerKwh);
    }

    /// <summary>Reads an order and refuses one out of bounds (<see cref="MarketOrders.CheckShape"/>): what decodes is an order a market could take.</summary>
    public static MarketOrder Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var zone = reader.ReadIdentifier("zone");
        var start = reader.ReadInt64();
        var length = reader.ReadInt64();
        var device = reader.ReadDevice("device");
        var side = reader.ReadByte();
        var number = reader.ReadUInt64();
        var quantity = reader.ReadInt64();
        var limit = reader.ReadMoney("limit price");
        if (reader.Failed) return null!;
        var order = new MarketOrder(network, new MarketInterval(new ZoneId(zone), new Timestamp(start), new DurationMs(length)), device,
            (MarketSide)side, number, new EnergyWh(quantity), new EnergyPrice(limit.MinorUnits, limit.Currency));
        var shape = MarketOrders.CheckShape(order);
        if (shape is not null) reader.Fail(shape);
        return reader.Failed ? null! : order;
    }

    public override string ToString() =>
        $"{Side} {OrderNumber} of {Device} in {Interval}: {Quantity} at {LimitPrice}";
}

public static class MarketOrders
{
    /// <summary>
    /// What any order must be, whatever market it is for: a well-formed interval, a side that exists, an order
    /// number from 1, a quantity of 1 Wh to <see cref="MarketOrder.MaxQuantityWh"/>, a limit price of 0 to
    /// <see cref="EnergyPrice.MaxMinorUnitsPerKwh"/> minor units per kWh.
    /// </summary>
    public static ProtocolError? CheckShape(MarketOrder order)
    {
        var interval = order.Interval.Check();
        if (interval is not null) return interval;
        if (order.Side is not (MarketSide.Bid or MarketSide.Offer))
            return new MalformedValue("side", ((byte)order.Side).ToString(CultureInfo.InvariantCulture), "1 (bid) or 2 (offer)");
        if (order.OrderNumber == 0) return new MalformedValue("order number", "0", "a number from 1");
        if (order.Quantity.WattHours is < 1 or > MarketOrder.MaxQuantityWh)
            return new OrderQuantityOutOfBounds(order.Device, order.Quantity, new EnergyWh(MarketOrder.MaxQuantityWh));
        if (!order.LimitPrice.IsWithinBounds)
            return new OrderPriceOutOfBounds(order.Device, order.LimitPrice, EnergyPrice.MaxMinorUnitsPerKwh);
        return null;
    }
}
