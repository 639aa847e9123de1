using Energy.Channels.Primitives;

namespace Energy.Channels.Market;

/// <summary>
/// A price of energy in integer minor units of a currency per kilowatt-hour. A market's limit and
/// clearing prices are bounded by <see cref="MaxMinorUnitsPerKwh"/>, so an amount of a bounded order
/// (Wh x minor units per kWh) always fits 64 bits.
/// </summary>
public readonly record struct EnergyPrice(long MinorUnitsPerKwh, Currency Currency)
{
    /// <summary>1,000 major units per kWh: far above any real price, low enough that no product overflows.</summary>
    public const long MaxMinorUnitsPerKwh = 100_000;

    public bool IsWithinBounds => MinorUnitsPerKwh is >= 0 and <= MaxMinorUnitsPerKwh;

    public Money PerKwh => new(MinorUnitsPerKwh, Currency);

    /// <summary>The same price as the tariff charging sessions use.</summary>
    public Tariff ToTariff() => new(PerKwh);

    /// <summary>
    /// What a buyer pays for <paramref name="energy"/> at this price: the exact Wh x price / 1000 rounded to
    /// the nearest minor unit, an exact half up. Never more than half a minor unit from the exact value.
    /// </summary>
    public Money BuyerAmount(EnergyWh energy) => Amount(energy, 500, 1_000);

    /// <summary>
    /// What a seller is paid for <paramref name="energy"/> at this price: the exact Wh x price / 1000 rounded
    /// to the nearest minor unit, an exact half down. Never more than half a minor unit from the exact value;
    /// on an exact half the market keeps the half unit, never pays it.
    /// </summary>
    public Money SellerAmount(EnergyWh energy) => Amount(energy, 499, 1_000);

    /// <summary>
    /// <paramref name="percent"/> of the price of <paramref name="energy"/>: exact Wh x price x percent / 100,000,
    /// rounded to the nearest minor unit, an exact half up (what an imbalance charges).
    /// </summary>
    public Money PercentOf(EnergyWh energy, int percent)
    {
        if (percent < 0) throw new ArgumentOutOfRangeException(nameof(percent), percent, "a percentage is not negative");
        var exact = (Int128)energy.WattHours * MinorUnitsPerKwh * percent;
        return Rounded(exact, 50_000, 100_000, energy);
    }

    private Money Amount(EnergyWh energy, long bias, long divisor)
    {
        // A price within bounds times up to 9 x 10^13 Wh fits 64 bits: the common case takes no 128-bit division.
        if (IsWithinBounds && energy.WattHours is >= 0 and < 90_000_000_000_000)
            return new Money((energy.WattHours * MinorUnitsPerKwh + bias) / divisor, Currency);
        return Rounded((Int128)energy.WattHours * MinorUnitsPerKwh, bias, divisor, energy);
    }

    private Money Rounded(Int128 exact, long bias, long divisor, EnergyWh energy)
    {
        if (energy.WattHours < 0 || MinorUnitsPerKwh < 0)
            throw new ArgumentOutOfRangeException(nameof(energy), $"{energy} at {this}: market amounts are never negative");
        var rounded = (exact + bias) / divisor;
        if (rounded > long.MaxValue) throw new OverflowException($"{energy} at {this} overflows 64 bits");
        return new Money((long)rounded, Currency);
    }

    public override string ToString() => $"{MinorUnitsPerKwh} {Currency} minor units/kWh";
}
