using Energy.Channels.Encoding;
using Energy.Channels.Market;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Energy.Channels.Tests.Market.MarketTestKit;

namespace Energy.Channels.Tests.Market;

/// <summary>
/// For random cleared books and random deliveries (short, exact, over, missing): nobody is settled for more
/// than it contracted or was metered, the sums are the lines' sums, and the grid operator never funds a
/// shortfall beyond the rounding of half a minor unit on each amount of a line.
/// </summary>
public class DeliverySettlementProperties
{
    private const long StartMs = 5 * 60_000;
    private const long EndMs = 10 * 60_000;

    public sealed record Case(AcceptedOrder[] Orders, (int Device, MarketSide Side, int Percent)[] Deliveries)
    {
        public override string ToString() =>
            string.Join("; ", Orders.Select(o => $"{o.Order.Device} {o.Order.Side} {o.Order.Quantity.WattHours}Wh@{o.Order.LimitPrice.MinorUnitsPerKwh}"))
            + " | " + string.Join("; ", Deliveries.Select(d => $"home-{d.Device} {d.Side} {d.Percent}%"));
    }

    private static readonly Gen<Case> Cases =
        from count in Gen.Choose(0, 16)
        from specs in Gen.ArrayOf(
            from side in Gen.Elements(MarketSide.Bid, MarketSide.Offer) from price in Gen.Choose(0, 40) from quantity in Gen.Choose(1, 5_000)
            from device in Gen.Choose(0, Keys.Pool.Length - 1)
            select (side, price, quantity, device), count)
        from deliveries in Gen.ArrayOf(
            from device in Gen.Choose(0, Keys.Pool.Length - 1) from side in Gen.Elements(MarketSide.Bid, MarketSide.Offer)
            from percent in Gen.Frequency((3, Gen.Choose(0, 100)), (1, Gen.Constant(100)), (1, Gen.Choose(100, 200)), (1, Gen.Constant(-1)))
            select (device, side, percent), Keys.Pool.Length)
        select new Case(specs.Select((s, i) => Accepted((ulong)i + 1, s.side, s.quantity, s.price, $"home-{s.device}", (ulong)i + 1)).ToArray(),
            deliveries.DistinctBy(d => (d.device, d.side)).ToArray());

    /// <summary>Readings of the participant's own meter moving <paramref name="percent"/> of its contract; -1 brings none.</summary>
    private static DeliveryEvidence Evidence(int device, MarketSide side, int percent, long contracted)
    {
        var meter = DeviceId.Of($"home-{device}");
        var key = Keys.Pool[device];
        Signed<MeterReading> Read(ulong sequence, long register, long offset) =>
            Signed<MeterReading>.Sign(new MeterReading(TestParties.Network, meter, sequence, TestParties.At(offset), new EnergyWh(register)), key);
        return percent < 0
            ? new DeliveryEvidence(meter, side, meter, key.PublicKey, null, null)
            : new DeliveryEvidence(meter, side, meter, key.PublicKey, Read(1, 10_000, StartMs), Read(2, 10_000 + contracted * percent / 100, EndMs));
    }

    [Property(MaxTest = 100)]
    public Property Settlement_never_pays_beyond_the_contract_or_the_meter_and_the_operator_never_funds_a_shortfall() =>
        Prop.ForAll(Cases.ToArbitrary(), @case =>
        {
            var cleared = MarketClearing.Clear(@case.Orders, Currency.Eur);
            var contracted = cleared.Fills.GroupBy(f => (f.Device, f.Side)).ToDictionary(g => g.Key, g => g.Sum(f => f.Quantity.WattHours));
            var evidence = @case.Deliveries
                .Select(d => Evidence(d.Device, d.Side, d.Percent, contracted.GetValueOrDefault((DeviceId.Of($"home-{d.Device}"), d.Side)))).ToList();
            var settlement = DeliverySettlements.Settle(TestParties.Network, Next, cleared, evidence, Rules).Value;

            Assert.Equal(contracted.Count, settlement.Lines.Length);
            foreach (var line in settlement.Lines)
            {
                Assert.Equal(contracted[(line.Participant, line.Side)], line.Contracted.WattHours);
                Assert.Equal(Math.Min(line.Contracted.WattHours, line.Metered.WattHours), line.Settled.WattHours);
                Assert.Equal(line.Contracted.WattHours - line.Settled.WattHours, line.Shortfall.WattHours);
                Assert.Equal(line.Refusal is not null, line.Metered == EnergyWh.Zero && line.Refusal is DeliveryReadingMissing);
            }
            Assert.Equal(settlement.Lines.Where(l => l.Side == MarketSide.Bid).Sum(l => l.EnergyAmount.MinorUnits), settlement.BuyersPay.MinorUnits);
            Assert.Equal(settlement.Lines.Where(l => l.Side == MarketSide.Offer).Sum(l => l.EnergyAmount.MinorUnits), settlement.SellersReceive.MinorUnits);
            Assert.Equal(settlement.Lines.Sum(l => l.ImbalanceCharge.MinorUnits), settlement.ImbalanceCharges.MinorUnits);
            Assert.Equal(settlement.Lines.Where(l => l.Side == MarketSide.Offer).Sum(l => l.Settled.WattHours)
                - settlement.Lines.Where(l => l.Side == MarketSide.Bid).Sum(l => l.Settled.WattHours), settlement.ZoneImbalance.WattHours);
            // With a penalty of at least 100 %, what comes in covers what goes out, but for the rounding of each line's two amounts.
            Assert.True(settlement.OperatorBalance.MinorUnits >= -settlement.Lines.Length, $"the operator pays {settlement.OperatorBalance}");
        });
}
