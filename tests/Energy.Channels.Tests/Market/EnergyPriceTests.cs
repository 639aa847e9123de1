using Energy.Channels.Market;
using Energy.Channels.Primitives;
using static Energy.Channels.Tests.Market.MarketTestKit;

namespace Energy.Channels.Tests.Market;

/// <summary>Amounts of energy at a price: integer minor units, rounded to the nearest, exact halves toward the market.</summary>
public class EnergyPriceTests
{
    [Theory]
    [InlineData(1, 1_500, 2, 1)]     // 1.5
    [InlineData(1, 1_499, 1, 1)]     // 1.499
    [InlineData(1, 1_501, 2, 2)]     // 1.501
    [InlineData(3, 500, 2, 1)]       // 1.5
    [InlineData(600, 25, 15, 15)]    // 15 exactly
    [InlineData(1, 0, 0, 0)]
    [InlineData(0, 100_000, 0, 0)]
    [InlineData(1, 499, 0, 0)]       // 0.499
    [InlineData(1, 500, 1, 0)]       // 0.5
    public void A_buyer_pays_an_exact_half_up_and_a_seller_is_paid_it_down(long wattHours, long price, long buyer, long seller)
    {
        Assert.Equal(TestParties.Eur(buyer), Price(price).BuyerAmount(new EnergyWh(wattHours)));
        Assert.Equal(TestParties.Eur(seller), Price(price).SellerAmount(new EnergyWh(wattHours)));
    }

    [Fact]
    public void Amounts_past_the_64_bit_shortcut_are_computed_exactly_in_128_bits()
    {
        var price = Price(EnergyPrice.MaxMinorUnitsPerKwh);
        Assert.Equal(TestParties.Eur(9_000_000_000_000_000), price.BuyerAmount(new EnergyWh(90_000_000_000_000)));
        Assert.Equal(TestParties.Eur(8_999_999_999_999_900), price.BuyerAmount(new EnergyWh(89_999_999_999_999)));
        Assert.Throws<OverflowException>(() => price.BuyerAmount(new EnergyWh(long.MaxValue)));
    }

    [Theory]
    [InlineData(400, 25, 150, 15)]    // 15 exactly
    [InlineData(300, 25, 150, 11)]    // 11.25
    [InlineData(1_000, 25, 150, 38)]  // 37.5, up
    [InlineData(1_000, 25, 100, 25)]
    [InlineData(0, 25, 150, 0)]
    public void A_percentage_of_an_amount_rounds_to_the_nearest_an_exact_half_up(long wattHours, long price, int percent, long expected)
    {
        Assert.Equal(TestParties.Eur(expected), Price(price).PercentOf(new EnergyWh(wattHours), percent));
    }

    [Fact]
    public void A_negative_amount_of_energy_or_percentage_has_no_price()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Price(20).BuyerAmount(new EnergyWh(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Price(20).PercentOf(new EnergyWh(1), -1));
        Assert.Equal(new Tariff(TestParties.Eur(20)), Price(20).ToTariff());
    }
}
