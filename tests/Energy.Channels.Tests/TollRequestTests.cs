using Energy.Channels.Primitives;
using Energy.Channels.Tolls;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>What a vehicle checks before paying a gantry's toll request.</summary>
public class TollRequestTests
{
    private static readonly Money MaxPrice = Eur(500);

    private static Result<TollRequest> Verify(Energy.Channels.Encoding.Signed<TollRequest> request) =>
        TollRequests.Verify(request, Network, VehicleId, Keys.Gantry.PublicKey, MaxPrice);

    [Fact]
    public void A_toll_request_for_this_vehicle_from_the_gantry_within_the_maximum_is_accepted()
    {
        var request = Toll(150);
        var verified = Verify(request).Value;
        Assert.Equal(request.Payload, verified);
        Assert.Equal((GantryId, VehicleId, Segment, Eur(150)), (verified.Gantry, verified.Vehicle, verified.Segment, verified.Price));
    }

    [Fact]
    public void A_toll_price_equal_to_the_maximum_is_accepted()
    {
        Assert.Equal(MaxPrice, Verify(Toll(500)).Value.Price);
    }

    [Fact]
    public void A_free_passage_is_accepted()
    {
        Assert.Equal(Eur(0), Verify(Toll(0)).Value.Price);
    }

    [Fact]
    public void A_toll_request_for_another_vehicle_is_refused_with_TollRequestMismatch()
    {
        var error = Assert.IsType<TollRequestMismatch>(Verify(Toll(150, vehicle: OtherVehicleId)).Error);
        Assert.Equal((GantryId, "vehicle", VehicleId.Value, OtherVehicleId.Value), (error.GantryId, error.Field, error.Expected, error.Actual));
    }

    [Fact]
    public void A_toll_price_above_the_maximum_is_refused_with_TollRequestMismatch()
    {
        var error = Assert.IsType<TollRequestMismatch>(Verify(Toll(501)).Error);
        Assert.Equal((GantryId, "price", "at most 500", "501"), (error.GantryId, error.Field, error.Expected, error.Actual));
    }

    [Fact]
    public void A_toll_price_of_long_MaxValue_is_refused_with_TollRequestMismatch()
    {
        Assert.Equal("price", Assert.IsType<TollRequestMismatch>(Verify(Toll(long.MaxValue)).Error).Field);
    }

    [Fact]
    public void A_negative_toll_price_is_refused_with_NegativeAmount()
    {
        var error = Assert.IsType<NegativeAmount>(Verify(Toll(-1)).Error);
        Assert.Equal(("price", -1L), (error.Field, error.Value));
    }

    [Fact]
    public void A_toll_price_in_another_currency_is_refused_with_CurrencyMismatch()
    {
        var error = Assert.IsType<CurrencyMismatch>(Verify(Toll(100, currency: Currency.Usd)).Error);
        Assert.Equal((Currency.Eur, Currency.Usd), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_toll_request_for_another_network_is_refused_with_WrongNetwork()
    {
        var error = Assert.IsType<WrongNetwork>(Verify(Toll(100, network: OtherNetwork)).Error);
        Assert.Equal((Network, OtherNetwork), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_toll_request_signed_by_another_key_is_refused_with_InvalidSignature()
    {
        var error = Assert.IsType<InvalidSignature>(Verify(Toll(150, signer: Keys.Stranger)).Error);
        Assert.Equal((ObjectKind.TollRequest, GantryId.Value), (error.Kind, error.Signer));
    }
}
