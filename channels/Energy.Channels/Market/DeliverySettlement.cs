using System.Collections.Immutable;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;

namespace Energy.Channels.Market;

/// <summary>
/// What proves a participant's delivery in an interval: the signed readings, at the interval's start and
/// end, of the meter that counts its side's energy (a seller's export register, a buyer's import register),
/// and that meter's registered key. Which meter that is, is the network's registry's to say, not the
/// participant's.
/// </summary>
public sealed record DeliveryEvidence(
    DeviceId Participant,
    MarketSide Side,
    DeviceId Meter,
    DevicePublicKey MeterKey,
    Signed<MeterReading>? Start,
    Signed<MeterReading>? End);

/// <summary>
/// One participant's side of an interval after delivery. <see cref="Settled"/> is the energy the market pays
/// for: what was contracted, or what was metered if that is less. <see cref="EnergyAmount"/> is what a buyer
/// pays, or a seller is paid, for it at the clearing price; <see cref="ImbalanceCharge"/> is what the party
/// owes for its <see cref="Shortfall"/>. A seller's net is the amount less the charge and may be negative.
/// <see cref="Refusal"/> names why the readings did not count, if they did not (then nothing was metered).
/// </summary>
public sealed record DeliveryLine(
    DeviceId Participant,
    MarketSide Side,
    EnergyWh Contracted,
    EnergyWh Metered,
    EnergyWh Settled,
    EnergyWh Shortfall,
    Money EnergyAmount,
    Money ImbalanceCharge,
    ProtocolError? Refusal);

/// <summary>
/// An interval settled against its meter readings. <see cref="ZoneImbalance"/> is the energy sellers delivered
/// into the zone less what buyers took, within the contracts: positive is excess the grid absorbed (not
/// paid), negative a shortfall the grid covered. <see cref="OperatorBalance"/> is what stays with the grid
/// operator's market account: buyers' payments and imbalance charges less sellers' receipts.
/// </summary>
public sealed record DeliverySettlement(
    MarketInterval Interval,
    EnergyPrice? Price,
    ImmutableArray<DeliveryLine> Lines,
    Money BuyersPay,
    Money SellersReceive,
    Money ImbalanceCharges,
    EnergyWh SellersShortfall,
    EnergyWh BuyersShortfall)
{
    public EnergyWh ZoneImbalance => new(BuyersShortfall.WattHours - SellersShortfall.WattHours);

    public Money OperatorBalance => new(BuyersPay.MinorUnits + ImbalanceCharges.MinorUnits - SellersReceive.MinorUnits, BuyersPay.Currency);
}

/// <summary>
/// Settles an interval's fills against signed meter readings. A seller is paid for what it delivered, up to
/// what it sold; a buyer pays for what it took, up to what it bought; more than the contract is outside the
/// market (not paid, not charged). Whoever falls short of its contract is charged the shortfall at the
/// clearing price times <see cref="MarketRules.ImbalancePenaltyPercent"/> (rounded to the nearest minor unit,
/// an exact half up). Readings that are missing or refused count as nothing metered, so withholding them
/// never pays; the refusal is named on the participant's line, and the others settle regardless.
/// </summary>
public static class DeliverySettlements
{
    /// <summary>Settles an interval the book cleared, under the book's network and rules.</summary>
    public static Result<DeliverySettlement> Settle(MarketBook book, IntervalCleared cleared, IReadOnlyList<DeliveryEvidence> evidence) =>
        Settle(book.Network, cleared.Interval, cleared.Result, evidence, book.Rules);

    public static Result<DeliverySettlement> Settle(NetworkId network, MarketInterval interval, ClearingResult cleared,
        IReadOnlyList<DeliveryEvidence> evidence, MarketRules rules)
    {
        var byParticipant = new Dictionary<(DeviceId, MarketSide), DeliveryEvidence>(evidence.Count);
        foreach (var item in evidence)
            if (!byParticipant.TryAdd((item.Participant, item.Side), item)) return new DuplicateDeliveryEvidence(item.Participant, item.Side);
        var currency = cleared.BuyersPay.Currency;
        if (cleared.Price is not { } price)
            return new DeliverySettlement(interval, null, [], Money.Zero(currency), Money.Zero(currency), Money.Zero(currency), EnergyWh.Zero, EnergyWh.Zero);
        var lines = ImmutableArray.CreateBuilder<DeliveryLine>();
        long buyersPay = 0, sellersReceive = 0, charges = 0, sellersShort = 0, buyersShort = 0;
        foreach (var (participant, side, contracted) in Contracts(cleared))
        {
            var measured = byParticipant.TryGetValue((participant, side), out var proof)
                ? Measure(network, interval, proof, rules.ReadingTolerance)
                : new DeliveryReadingMissing(participant, side, "start and end");
            var metered = measured.IsOk ? measured.Value : EnergyWh.Zero;
            var settled = new EnergyWh(Math.Min(contracted, metered.WattHours));
            var shortfall = new EnergyWh(contracted - settled.WattHours);
            var amount = side == MarketSide.Bid ? price.BuyerAmount(settled) : price.SellerAmount(settled);
            var charge = price.PercentOf(shortfall, rules.ImbalancePenaltyPercent);
            lines.Add(new DeliveryLine(participant, side, new EnergyWh(contracted), metered, settled, shortfall, amount, charge, measured.Error));
            charges += charge.MinorUnits;
            if (side == MarketSide.Bid) { buyersPay += amount.MinorUnits; buyersShort += shortfall.WattHours; }
            else { sellersReceive += amount.MinorUnits; sellersShort += shortfall.WattHours; }
        }
        return new DeliverySettlement(interval, price, lines.ToImmutable(), new Money(buyersPay, currency), new Money(sellersReceive, currency),
            new Money(charges, currency), new EnergyWh(sellersShort), new EnergyWh(buyersShort));
    }

    /// <summary>Each participant's contracted energy per side (the sum of its fills), in the order the fills name them.</summary>
    private static List<(DeviceId Participant, MarketSide Side, long Contracted)> Contracts(ClearingResult cleared)
    {
        var index = new Dictionary<(DeviceId, MarketSide), int>();
        var contracts = new List<(DeviceId Participant, MarketSide Side, long Contracted)>();
        foreach (var fill in cleared.Fills)
        {
            if (index.TryGetValue((fill.Device, fill.Side), out var at))
            {
                contracts[at] = contracts[at] with { Contracted = contracts[at].Contracted + fill.Quantity.WattHours };
                continue;
            }
            index[(fill.Device, fill.Side)] = contracts.Count;
            contracts.Add((fill.Device, fill.Side, fill.Quantity.WattHours));
        }
        return contracts;
    }

    /// <summary>
    /// The energy the evidence proves moved in the interval: end register less start register. Both readings
    /// must be there, on this network, from the expected meter, taken within the tolerance of the interval's
    /// start and end, in order (sequence and register), and signed by the meter's key.
    /// </summary>
    public static Result<EnergyWh> Measure(NetworkId network, MarketInterval interval, DeliveryEvidence evidence, DurationMs tolerance)
    {
        if (evidence.Start is null) return new DeliveryReadingMissing(evidence.Participant, evidence.Side, "start");
        if (evidence.End is null) return new DeliveryReadingMissing(evidence.Participant, evidence.Side, "end");
        var start = evidence.Start.Payload;
        var end = evidence.End.Payload;
        var refused = CheckReading(network, evidence.Meter, start, "start", interval.Start, tolerance)
            ?? CheckReading(network, evidence.Meter, end, "end", interval.End, tolerance);
        if (refused is not null) return refused;
        if (end.Sequence <= start.Sequence) return new ReadingNotNewer(evidence.Meter, start.Sequence, end.Sequence);
        if (end.Register < start.Register) return new RegisterWentBackwards(evidence.Meter, start.Register.WattHours, end.Register.WattHours);
        // The signatures are checked last: they are the costly checks.
        if (!evidence.Start.IsSignedBy(evidence.MeterKey) || !evidence.End.IsSignedBy(evidence.MeterKey))
            return new InvalidSignature(ChannelId.None, ObjectKind.MeterReading, evidence.Meter.Value);
        return new EnergyWh(end.Register.WattHours - start.Register.WattHours);
    }

    private static ProtocolError? CheckReading(NetworkId network, DeviceId meter, MeterReading reading, string which, Timestamp at, DurationMs tolerance)
    {
        if (reading.Network != network) return new WrongNetwork(ChannelId.None, network, reading.Network);
        if (reading.Meter != meter) return new ReadingFromWrongMeter(meter, reading.Meter);
        if (reading.Register.WattHours < 0) return new NegativeAmount(ChannelId.None, "register", reading.Register.WattHours);
        var from = new Timestamp(at.UnixMilliseconds - tolerance.Milliseconds);
        var to = new Timestamp(at.UnixMilliseconds + tolerance.Milliseconds);
        if (reading.Time < from || reading.Time > to) return new ReadingOutsideInterval(meter, which, reading.Time, from, to);
        return null;
    }
}
