using System.Text.Json;
using Energy.Lifecycles.ChargePoints;

namespace Energy.Cluster.Tests;

/// <summary>The energy register a charge point's MeterValues carry, as the network reads it from a validated payload.</summary>
public sealed class ChargePointRegisterTests
{
    private static long? Register(string value, string unit)
    {
        using var document = JsonDocument.Parse(
            $$"""[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"value":"{{value}}","measurand":"Energy.Active.Import.Register","unit":"{{unit}}"}]}]""");
        return ChargePointCalls.EnergyRegister(document.RootElement);
    }

    [Theory]
    [InlineData("1.25", "kWh", 1_250L)]
    [InlineData("1250", "Wh", 1_250L)]
    [InlineData("0.0005", "kWh", 1L)]
    [InlineData("9223372036854775807", "Wh", long.MaxValue)]
    public void A_register_is_read_in_watt_hours(string value, string unit, long expected)
    {
        Assert.Equal(expected, Register(value, unit));
    }

    [Theory]
    [InlineData("79228162514264337593543950335", "kWh")] // decimal.MaxValue: times 1000 overflows decimal
    [InlineData("9223372036854775807.5", "Wh")]
    [InlineData("9223372036854775.808", "kWh")]
    [InlineData("-1", "Wh")]
    [InlineData("1e40", "kWh")]
    [InlineData("many", "Wh")]
    [InlineData("1", "Celsius")]
    public void A_value_that_is_no_register_in_a_long_is_passed_over_without_throwing(string value, string unit)
    {
        Assert.Null(Register(value, unit));
    }

    [Theory]
    [InlineData("1\\u002e25", "kWh", 1_250L)]
    [InlineData("\\u0031250", "Wh", 1_250L)]
    [InlineData("1250", "\\u0057h", 1_250L)]
    [InlineData("1.25", "k\\u0057h", 1_250L)]
    public void Escaped_text_is_read_as_what_it_spells(string value, string unit, long expected)
    {
        Assert.Equal(expected, Register(value, unit));
    }

    [Fact]
    public void A_measurand_is_compared_as_what_it_spells_and_another_one_is_passed_over()
    {
        static long? Read(string measurand)
        {
            using var document = JsonDocument.Parse(
                $$"""[{"timestamp":"2026-11-24T10:00:10Z","sampledValue":[{"value":"7","measurand":"{{measurand}}","unit":"Wh"}]}]""");
            return ChargePointCalls.EnergyRegister(document.RootElement);
        }
        Assert.Equal(7L, Read("Energy.Active.Import.Registe\\u0072"));
        Assert.Null(Read("Energy.Active.Export.Register"));
        Assert.Null(Read("Energy.Active.Import.Registe"));
    }
}
