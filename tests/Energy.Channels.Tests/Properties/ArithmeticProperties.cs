using System.Numerics;
using Energy.Channels.Primitives;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests.Properties;

/// <summary>Checked arithmetic agrees with exact arithmetic, and pricing is never more than half a minor unit off.</summary>
public class ArithmeticProperties
{
    [Property(MaxTest = 300)]
    public Property Money_adds_exactly_or_refuses_with_AmountOverflow() =>
        Prop.ForAll(Gens.AnyLong.ToArbitrary(), Gens.AnyLong.ToArbitrary(), (a, b) =>
        {
            var exact = (BigInteger)a + b;
            var sum = Eur(a).Add(Eur(b));
            if (exact >= long.MinValue && exact <= long.MaxValue) Assert.Equal(Eur((long)exact), sum.Value);
            else
            {
                var error = Assert.IsType<AmountOverflow>(sum.Error);
                Assert.Equal((a, b), (error.Left, error.Right));
            }
        });

    [Property(MaxTest = 300)]
    public Property Money_subtracts_exactly_or_refuses_with_AmountOverflow() =>
        Prop.ForAll(Gens.AnyLong.ToArbitrary(), Gens.AnyLong.ToArbitrary(), (a, b) =>
        {
            var exact = (BigInteger)a - b;
            var difference = Eur(a).Subtract(Eur(b));
            if (exact >= long.MinValue && exact <= long.MaxValue) Assert.Equal(Eur((long)exact), difference.Value);
            else Assert.IsType<AmountOverflow>(difference.Error);
        });

    [Property(MaxTest = 300)]
    public Property Timestamps_advance_exactly_or_refuse_with_AmountOverflow() =>
        Prop.ForAll(Gens.AnyLong.ToArbitrary(), Gens.AnyLong.ToArbitrary(), (t, d) =>
        {
            var exact = (BigInteger)t + d;
            var later = new Timestamp(t).Plus(new DurationMs(d));
            if (exact >= long.MinValue && exact <= long.MaxValue) Assert.Equal(new Timestamp((long)exact), later.Value);
            else Assert.IsType<AmountOverflow>(later.Error);
        });

    private static readonly Gen<long> NonNegative = Gens.AnyLong.Select(l => l == long.MinValue ? 0 : Math.Abs(l));

    private static readonly Gen<long> Tariff = Gen.Frequency(
        (3, Gen.Choose(0, 1_000).Select(i => (long)i)),
        (1, NonNegative));

    /// <summary>
    /// For non-negative energy and tariff: the price p satisfies -500 &lt; 1000 p - Wh x tariff &lt;= 500
    /// (half up, never more than half a unit off), or it is refused with AmountOverflow exactly when the
    /// rounded price does not fit 64 bits.
    /// </summary>
    [Property(MaxTest = 500)]
    public Property Pricing_rounds_half_up_within_half_a_minor_unit() =>
        Prop.ForAll(NonNegative.ToArbitrary(), Tariff.ToArbitrary(), (wh, tariff) =>
        {
            var product = (BigInteger)wh * tariff;
            var price = new EnergyWh(wh).PriceAt(new Tariff(Eur(tariff)));
            var rounded = (product + 500) / 1000;
            if (rounded > long.MaxValue)
            {
                Assert.IsType<AmountOverflow>(price.Error);
                return;
            }
            var error = price.Value.MinorUnits * (BigInteger)1000 - product;
            Assert.True(error > -500 && error <= 500, $"{wh} Wh at {tariff}: {price.Value.MinorUnits} is {error}/1000 off");
        });

    [Property(MaxTest = 200)]
    public Property Pricing_is_monotone_in_energy() =>
        Prop.ForAll(Gen.Choose(0, 1_000_000).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), Gen.Choose(0, 10_000).ToArbitrary(), (a, b, tariff) =>
        {
            var (low, high) = a <= b ? (a, b) : (b, a);
            var t = new Tariff(Eur(tariff));
            Assert.True(new EnergyWh(low).PriceAt(t).Value <= new EnergyWh(high).PriceAt(t).Value);
        });
}
