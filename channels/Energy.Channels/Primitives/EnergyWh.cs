namespace Energy.Channels.Primitives;

/// <summary>An amount of energy in integer watt-hours. Arithmetic is checked.</summary>
public readonly record struct EnergyWh(long WattHours) : IComparable<EnergyWh>
{
    public static readonly EnergyWh Zero = new(0);

    public Result<EnergyWh> Subtract(EnergyWh other)
    {
        try { return new EnergyWh(checked(WattHours - other.WattHours)); }
        catch (OverflowException) { return new AmountOverflow("subtract energy", WattHours, other.WattHours); }
    }

    /// <summary>
    /// The price of this energy at a tariff in minor units per kWh. Rounding rule: the exact product
    /// Wh x tariff / 1000 is rounded half up to the nearest minor unit, so a buyer never pays more than
    /// half a minor unit above the exact value.
    /// </summary>
    public Result<Money> PriceAt(Tariff tariff)
    {
        if (WattHours < 0) return new NegativeAmount(ChannelId.None, "energy", WattHours);
        if (tariff.MinorUnitsPerKwh.IsNegative) return new NegativeAmount(ChannelId.None, "tariff", tariff.MinorUnitsPerKwh.MinorUnits);
        Int128 product = (Int128)WattHours * tariff.MinorUnitsPerKwh.MinorUnits;
        Int128 rounded = (product + 500) / 1000;
        if (rounded > long.MaxValue) return new AmountOverflow("price energy", WattHours, tariff.MinorUnitsPerKwh.MinorUnits);
        return new Money((long)rounded, tariff.MinorUnitsPerKwh.Currency);
    }

    public int CompareTo(EnergyWh other) => WattHours.CompareTo(other.WattHours);
    public static bool operator <(EnergyWh left, EnergyWh right) => left.WattHours < right.WattHours;
    public static bool operator >(EnergyWh left, EnergyWh right) => left.WattHours > right.WattHours;
    public static bool operator <=(EnergyWh left, EnergyWh right) => left.WattHours <= right.WattHours;
    public static bool operator >=(EnergyWh left, EnergyWh right) => left.WattHours >= right.WattHours;

    public override string ToString() => $"{WattHours} Wh";
}

/// <summary>A price per kilowatt-hour, in minor units of a currency.</summary>
public readonly record struct Tariff(Money MinorUnitsPerKwh);
