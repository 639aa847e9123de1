using Energy.Channels.Primitives;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>Money, energy and time: checked arithmetic, currencies and the pricing rule.</summary>
public class MoneyTests
{
    // Money

    [Fact]
    public void Money_in_the_same_currency_adds_and_subtracts()
    {
        Assert.Equal(Eur(350), Eur(100).Add(Eur(250)).Value);
        Assert.Equal(Eur(-150), Eur(100).Subtract(Eur(250)).Value);
    }

    [Fact]
    public void Adding_money_past_long_MaxValue_is_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(Eur(long.MaxValue).Add(Eur(1)).Error);
        Assert.Equal(("add", long.MaxValue, 1L), (error.Operation, error.Left, error.Right));
    }

    [Fact]
    public void Adding_money_past_long_MinValue_is_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(Eur(long.MinValue).Add(Eur(-1)).Error);
        Assert.Equal((long.MinValue, -1L), (error.Left, error.Right));
    }

    [Fact]
    public void Subtracting_money_past_long_MinValue_is_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(Eur(long.MinValue).Subtract(Eur(1)).Error);
        Assert.Equal(("subtract", long.MinValue, 1L), (error.Operation, error.Left, error.Right));
    }

    [Fact]
    public void Subtracting_a_negative_amount_past_long_MaxValue_is_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(Eur(long.MaxValue).Subtract(Eur(-1)).Error);
        Assert.Equal((long.MaxValue, -1L), (error.Left, error.Right));
    }

    [Fact]
    public void The_extremes_that_still_fit_are_computed_exactly()
    {
        Assert.Equal(long.MaxValue, Eur(long.MaxValue - 1).Add(Eur(1)).Value.MinorUnits);
        Assert.Equal(long.MinValue, Eur(long.MinValue + 1).Subtract(Eur(1)).Value.MinorUnits);
        Assert.Equal(-1, Eur(long.MaxValue).Add(Eur(long.MinValue)).Value.MinorUnits);
    }

    [Fact]
    public void Adding_money_in_another_currency_is_refused_with_CurrencyMismatch()
    {
        var error = Assert.IsType<CurrencyMismatch>(Eur(1).Add(Usd(1)).Error);
        Assert.Equal((Currency.Eur, Currency.Usd), (error.Expected, error.Actual));
    }

    [Fact]
    public void Subtracting_money_in_another_currency_is_refused_with_CurrencyMismatch()
    {
        var error = Assert.IsType<CurrencyMismatch>(Eur(5).Subtract(new Money(1, Currency.Cny)).Error);
        Assert.Equal((Currency.Eur, Currency.Cny), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_currency_mismatch_is_reported_before_an_overflow()
    {
        Assert.IsType<CurrencyMismatch>(Eur(long.MaxValue).Add(Usd(1)).Error);
    }

    [Fact]
    public void Comparing_money_in_two_currencies_throws_instead_of_answering()
    {
        Assert.Throws<InvalidOperationException>(() => Eur(1) < Usd(2));
        Assert.True(Eur(1) < Eur(2));
        Assert.True(Eur(2) >= Eur(2));
    }

    [Fact]
    public void Only_amounts_below_zero_are_negative()
    {
        Assert.True(Eur(-1).IsNegative);
        Assert.False(Eur(0).IsNegative);
        Assert.Equal(Eur(0), Money.Zero(Currency.Eur));
    }

    [Theory]
    [InlineData("EUR")]
    [InlineData("USD")]
    [InlineData("XAU")]
    public void A_currency_is_three_upper_case_letters(string code)
    {
        Assert.Equal(code, Currency.Parse(code).Value.Code);
    }

    [Theory]
    [InlineData("eur")]
    [InlineData("Eur")]
    [InlineData("EU")]
    [InlineData("EURO")]
    [InlineData("E1R")]
    [InlineData("")]
    [InlineData("ÉUR")]
    public void A_currency_code_that_is_not_three_upper_case_letters_is_refused_with_MalformedValue(string code)
    {
        var error = Assert.IsType<MalformedValue>(Currency.Parse(code).Error);
        Assert.Equal(("currency", code), (error.Field, error.Value));
    }

    [Fact]
    public void A_missing_currency_code_is_refused_with_MalformedValue()
    {
        Assert.Equal("(null)", Assert.IsType<MalformedValue>(Currency.Parse(null).Error).Value);
    }

    // Energy

    [Fact]
    public void Energy_subtracts_and_overflow_is_refused_with_AmountOverflow()
    {
        Assert.Equal(new EnergyWh(700), new EnergyWh(1_000).Subtract(new EnergyWh(300)).Value);
        var error = Assert.IsType<AmountOverflow>(new EnergyWh(long.MinValue).Subtract(new EnergyWh(1)).Error);
        Assert.Equal(("subtract energy", long.MinValue, 1L), (error.Operation, error.Left, error.Right));
    }

    [Theory]
    [InlineData(1_000, 35, 35)]          // 1 kWh at 0.35
    [InlineData(1, 35, 0)]               // 0.035 rounds down
    [InlineData(14, 35, 0)]              // 0.49 rounds down
    [InlineData(15, 35, 1)]              // 0.525 rounds up
    [InlineData(100, 5, 1)]              // exactly 0.5 rounds half up
    [InlineData(300, 5, 2)]              // exactly 1.5 rounds half up
    [InlineData(299, 5, 1)]              // 1.495 rounds down
    [InlineData(43_500, 35, 1_523)]      // 1522.5 rounds half up
    [InlineData(0, 35, 0)]
    [InlineData(12_345, 0, 0)]
    public void Energy_is_priced_at_the_tariff_rounded_half_up(long wh, long tariffPerKwh, long expected)
    {
        var price = new EnergyWh(wh).PriceAt(new Tariff(Eur(tariffPerKwh))).Value;
        Assert.Equal(Eur(expected), price);
        var errorThousandths = price.MinorUnits * 1000 - wh * tariffPerKwh;
        Assert.InRange(errorThousandths, -499, 500);
    }

    [Fact]
    public void A_price_takes_the_currency_of_the_tariff()
    {
        Assert.Equal(new Money(70, Currency.Cny), new EnergyWh(2_000).PriceAt(new Tariff(new Money(35, Currency.Cny))).Value);
    }

    [Fact]
    public void The_largest_price_that_fits_is_exact()
    {
        // long.MaxValue Wh at 1 minor unit per kWh is long.MaxValue / 1000, rounded.
        var price = new EnergyWh(long.MaxValue).PriceAt(new Tariff(Eur(1))).Value;
        Assert.Equal(long.MaxValue / 1000 + 1, price.MinorUnits); // 9223372036854775.807 rounds up
        Assert.Equal(long.MaxValue, new EnergyWh(1_000).PriceAt(new Tariff(Eur(long.MaxValue))).Value.MinorUnits);
    }

    [Fact]
    public void Pricing_energy_whose_price_overflows_is_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(new EnergyWh(long.MaxValue).PriceAt(new Tariff(Eur(1_001))).Error);
        Assert.Equal((long.MaxValue, 1_001L), (error.Left, error.Right));
        Assert.IsType<AmountOverflow>(new EnergyWh(1_001).PriceAt(new Tariff(Eur(long.MaxValue))).Error);
    }

    [Fact]
    public void Pricing_negative_energy_is_refused_with_NegativeAmount()
    {
        var error = Assert.IsType<NegativeAmount>(new EnergyWh(-1).PriceAt(new Tariff(Eur(35))).Error);
        Assert.Equal(("energy", -1L), (error.Field, error.Value));
    }

    /// <summary>
    /// The rule is "never more than half a minor unit from the exact price". A tariff below zero must
    /// either be refused or priced by that rule: -1.6 is -2, not -1.
    /// </summary>
    [Fact]
    public void A_negative_tariff_is_refused_or_priced_within_half_a_minor_unit()
    {
        var result = new EnergyWh(1_600).PriceAt(new Tariff(Eur(-1)));
        if (result.IsOk)
            Assert.InRange(result.Value.MinorUnits * 1000 - 1_600 * -1L, -499, 500);
        else
            Assert.IsType<NegativeAmount>(result.Error);
    }

    /// <summary>A price far below long.MinValue must not wrap round to a large positive price.</summary>
    [Fact]
    public void A_price_that_overflows_below_zero_is_refused_never_wrapped()
    {
        var result = new EnergyWh(long.MaxValue).PriceAt(new Tariff(Eur(long.MinValue)));
        Assert.False(result.IsOk, $"priced at {result}");
        Assert.True(result.Error is AmountOverflow or NegativeAmount, result.Error.ToString());
    }

    // Time

    [Fact]
    public void A_timestamp_plus_a_duration_is_later_by_that_duration()
    {
        Assert.Equal(At(60_000), Now.Plus(DurationMs.FromSeconds(60)).Value);
        Assert.Equal(At(120_000), Now.Plus(DurationMs.FromMinutes(2)).Value);
    }

    [Fact]
    public void A_timestamp_plus_a_duration_past_long_MaxValue_is_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(new Timestamp(long.MaxValue).Plus(new DurationMs(1)).Error);
        Assert.Equal((long.MaxValue, 1L), (error.Left, error.Right));
    }

    [Fact]
    public void A_timestamp_minus_a_duration_past_long_MinValue_is_refused_with_AmountOverflow()
    {
        Assert.IsType<AmountOverflow>(new Timestamp(long.MinValue).Plus(new DurationMs(-1)).Error);
    }

    [Fact]
    public void Durations_that_overflow_on_construction_throw()
    {
        Assert.Throws<OverflowException>(() => DurationMs.FromSeconds(long.MaxValue / 999));
        Assert.Throws<OverflowException>(() => DurationMs.FromMinutes(long.MaxValue / 59_999));
    }

    [Fact]
    public void Timestamps_convert_to_and_from_DateTimeOffset()
    {
        var instant = new DateTimeOffset(2027, 1, 15, 8, 30, 0, 123, TimeSpan.Zero);
        var timestamp = Timestamp.FromDateTimeOffset(instant);
        Assert.Equal(instant.ToUnixTimeMilliseconds(), timestamp.UnixMilliseconds);
        Assert.Equal(instant, timestamp.ToDateTimeOffset());
        Assert.True(timestamp < new Timestamp(timestamp.UnixMilliseconds + 1));
    }

    [Fact]
    public void A_timestamp_prints_as_an_ISO_8601_instant()
    {
        Assert.Equal("2027-01-15T08:00:00.0000000+00:00", Now.ToString());
    }

    /// <summary>
    /// Any 64-bit time can arrive in a signed object (a meter reading, a close request, a toll request);
    /// printing it, in a log line or in a refusal's description, must not throw.
    /// </summary>
    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    [InlineData(253_402_300_800_000)] // the first millisecond after 9999-12-31
    public void A_timestamp_outside_the_calendar_range_still_prints(long unixMilliseconds)
    {
        var thrown = Record.Exception(() => new Timestamp(unixMilliseconds).ToString());
        Assert.Null(thrown);
    }

    [Fact]
    public void A_refusal_about_a_hostile_reading_time_can_be_described()
    {
        var last = new Energy.Channels.Metering.MeterReading(Network, MeterId, 1, new Timestamp(long.MaxValue), new EnergyWh(10));
        var result = Energy.Channels.Metering.MeterReadings.Accept(Reading(2, 20), Network, MeterId, Keys.Meter.PublicKey, last);

        var error = Assert.IsType<ReadingTimeWentBackwards>(result.Error);
        Assert.Equal(new Timestamp(long.MaxValue), error.Last);
        Assert.Null(Record.Exception(() => error.Describe()));
        Assert.Null(Record.Exception(() => error.ToString()));
    }
}
