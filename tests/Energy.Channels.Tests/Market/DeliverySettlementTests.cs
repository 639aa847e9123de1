using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using static Energy.Channels.Tests.Market.MarketTestKit;

namespace Energy.Channels.Tests.Market;

/// <summary>Settling an interval against signed meter readings: shortfalls, imbalance charges, and every refused reading by name.</summary>
public class DeliverySettlementTests
{
    private const long StartMs = 5 * 60_000;
    private const long EndMs = 10 * 60_000;

    /// <summary>A seller offered 1,000 Wh at 20, a buyer bid 1,000 Wh at 30: 1,000 Wh trade at 25 (25 minor units each way).</summary>
    private static readonly ClearingResult Cleared = MarketClearing.Clear(
        [new AcceptedOrder(Order(MarketSide.Offer, 1_000, 20), 1), new AcceptedOrder(Order(MarketSide.Bid, 1_000, 30), 2)], Currency.Eur);

    private static Signed<MeterReading> Reading(DeviceId meter, ulong sequence, long registerWh, long offsetMs, DeviceKeyPair? signer = null, NetworkId? network = null) =>
        TestParties.Reading(sequence, registerWh, offsetMs, signer ?? (meter == Seller ? Keys.Meter : Keys.OtherMeter), meter, network);

    /// <summary>The seller's export register and the buyer's import register, read at the interval's start and end.</summary>
    private static DeliveryEvidence Evidence(DeviceId participant, MarketSide side, long movedWh, Signed<MeterReading>? start = null, Signed<MeterReading>? end = null,
        bool noStart = false, bool noEnd = false) =>
        new(participant, side, participant, KeyOf(participant),
            noStart ? null : start ?? Reading(participant, 10, 5_000, StartMs),
            noEnd ? null : end ?? Reading(participant, 11, 5_000 + movedWh, EndMs));

    private static DeliverySettlement Settle(params DeliveryEvidence[] evidence) =>
        DeliverySettlements.Settle(TestParties.Network, Next, Cleared, evidence, Rules).Value;

    private static DeliveryLine LineOf(DeliverySettlement settlement, MarketSide side) => Assert.Single(settlement.Lines, l => l.Side == side);

    private static Result<EnergyWh> Measure(DeliveryEvidence evidence) =>
        DeliverySettlements.Measure(TestParties.Network, Next, evidence, Rules.ReadingTolerance);

    [Fact]
    public void Full_delivery_settles_the_fills_as_cleared_with_no_imbalance()
    {
        Assert.Equal((Price(25), new EnergyWh(1_000)), (Cleared.Price, Cleared.Volume));
        var settlement = Settle(Evidence(Seller, MarketSide.Offer, 1_000), Evidence(Buyer, MarketSide.Bid, 1_000));
        Assert.Equal((TestParties.Eur(25), TestParties.Eur(25), TestParties.Eur(0)), (settlement.BuyersPay, settlement.SellersReceive, settlement.ImbalanceCharges));
        Assert.Equal((EnergyWh.Zero, TestParties.Eur(0)), (settlement.ZoneImbalance, settlement.OperatorBalance));
        Assert.All(settlement.Lines, line => Assert.Null(line.Refusal));
    }

    [Fact]
    public void A_seller_short_is_paid_for_what_it_delivered_and_charged_the_shortfall_at_the_penalty()
    {
        var settlement = Settle(Evidence(Seller, MarketSide.Offer, 600), Evidence(Buyer, MarketSide.Bid, 1_000));
        var seller = LineOf(settlement, MarketSide.Offer);
        Assert.Equal((1_000L, 600L, 600L, 400L), (seller.Contracted.WattHours, seller.Metered.WattHours, seller.Settled.WattHours, seller.Shortfall.WattHours));
        // 600 Wh at 25 is 15; 400 Wh at 25 x 150 % is 15.
        Assert.Equal((TestParties.Eur(15), TestParties.Eur(15)), (seller.EnergyAmount, seller.ImbalanceCharge));
        var buyer = LineOf(settlement, MarketSide.Bid);
        Assert.Equal((TestParties.Eur(25), TestParties.Eur(0)), (buyer.EnergyAmount, buyer.ImbalanceCharge));
        // The grid covered 400 Wh; the operator keeps the buyer's 25 and the charge of 15, less the seller's 15.
        Assert.Equal((new EnergyWh(400), new EnergyWh(-400), TestParties.Eur(25)), (settlement.SellersShortfall, settlement.ZoneImbalance, settlement.OperatorBalance));
    }

    [Fact]
    public void A_buyer_that_takes_less_pays_for_what_it_took_and_the_shortfall_at_the_penalty()
    {
        var buyer = LineOf(Settle(Evidence(Seller, MarketSide.Offer, 1_000), Evidence(Buyer, MarketSide.Bid, 700)), MarketSide.Bid);
        // 700 Wh at 25 is 17.5, a buyer's half rounds up; 300 Wh at 25 x 150 % is 11.25.
        Assert.Equal((700L, 300L, TestParties.Eur(18), TestParties.Eur(11)), (buyer.Settled.WattHours, buyer.Shortfall.WattHours, buyer.EnergyAmount, buyer.ImbalanceCharge));
    }

    [Fact]
    public void An_interval_the_book_cleared_settles_under_the_book_s_network_and_rules()
    {
        var book = Place(Place(EmptyBook(), Order(MarketSide.Offer, 1_000, 20)), Order(MarketSide.Bid, 1_000, 30));
        var cleared = MarketBooks.DecideClearing(book, Next, book.GateClosesAt(Next)).Value;
        var settlement = DeliverySettlements.Settle(book, cleared, [Evidence(Seller, MarketSide.Offer, 600), Evidence(Buyer, MarketSide.Bid, 1_000)]).Value;
        Assert.Equal((Next, TestParties.Eur(15), TestParties.Eur(15)), (settlement.Interval, settlement.SellersReceive, settlement.ImbalanceCharges));
    }

    [Fact]
    public void More_than_the_contract_is_neither_paid_nor_charged()
    {
        var settlement = Settle(Evidence(Seller, MarketSide.Offer, 4_000), Evidence(Buyer, MarketSide.Bid, 9_000));
        Assert.All(settlement.Lines, line => Assert.Equal((1_000L, 0L), (line.Settled.WattHours, line.Shortfall.WattHours)));
        Assert.Equal(9_000, LineOf(settlement, MarketSide.Bid).Metered.WattHours);
        Assert.Equal((TestParties.Eur(25), TestParties.Eur(25)), (settlement.BuyersPay, settlement.SellersReceive));
    }

    [Fact]
    public void A_participant_without_readings_counts_as_nothing_metered_and_is_named_on_its_line()
    {
        var settlement = Settle(Evidence(Buyer, MarketSide.Bid, 1_000));
        var seller = LineOf(settlement, MarketSide.Offer);
        var missing = Assert.IsType<DeliveryReadingMissing>(seller.Refusal);
        Assert.Equal((Seller, MarketSide.Offer), (missing.Participant, missing.Side));
        // Withholding never pays: nothing earned, the whole contract charged (1,000 Wh at 25 x 150 % is 37.5, rounded up).
        Assert.Equal((0L, TestParties.Eur(0), TestParties.Eur(38)), (seller.Settled.WattHours, seller.EnergyAmount, seller.ImbalanceCharge));
        Assert.Null(LineOf(settlement, MarketSide.Bid).Refusal);
    }

    [Fact]
    public void A_refused_reading_counts_as_nothing_metered_and_the_others_settle()
    {
        var forged = Evidence(Seller, MarketSide.Offer, 1_000, end: Reading(Seller, 11, 6_000, EndMs, signer: Keys.Stranger));
        var settlement = Settle(forged, Evidence(Buyer, MarketSide.Bid, 1_000));
        Assert.IsType<InvalidSignature>(LineOf(settlement, MarketSide.Offer).Refusal);
        Assert.Equal(EnergyWh.Zero, LineOf(settlement, MarketSide.Offer).Metered);
        Assert.Equal(TestParties.Eur(25), LineOf(settlement, MarketSide.Bid).EnergyAmount);
    }

    [Fact]
    public void Two_sets_of_readings_for_one_participant_are_refused_with_DuplicateDeliveryEvidence()
    {
        var error = DeliverySettlements.Settle(TestParties.Network, Next, Cleared,
            [Evidence(Seller, MarketSide.Offer, 1_000), Evidence(Seller, MarketSide.Offer, 900)], Rules).Error;
        var duplicate = Assert.IsType<DuplicateDeliveryEvidence>(error);
        Assert.Equal((Seller, MarketSide.Offer), (duplicate.Participant, duplicate.Side));
    }

    [Fact]
    public void An_interval_without_trade_settles_to_nothing()
    {
        var settlement = DeliverySettlements.Settle(TestParties.Network, Next, ClearingResult.Empty(Currency.Eur), [], Rules).Value;
        Assert.Empty(settlement.Lines);
        Assert.Null(settlement.Price);
        Assert.Equal(TestParties.Eur(0), settlement.OperatorBalance);
    }

    [Fact]
    public void A_participant_with_several_fills_settles_their_sum()
    {
        var cleared = MarketClearing.Clear([new AcceptedOrder(Order(MarketSide.Offer, 400, 20, number: 1), 1), new AcceptedOrder(Order(MarketSide.Offer, 600, 21, number: 2), 2),
            new AcceptedOrder(Order(MarketSide.Bid, 1_000, 30), 3)], Currency.Eur);
        var settlement = DeliverySettlements.Settle(TestParties.Network, Next, cleared,
            [Evidence(Seller, MarketSide.Offer, 800), Evidence(Buyer, MarketSide.Bid, 1_000)], Rules).Value;
        var seller = LineOf(settlement, MarketSide.Offer);
        Assert.Equal((1_000L, 800L, 200L), (seller.Contracted.WattHours, seller.Settled.WattHours, seller.Shortfall.WattHours));
    }

    // Each refused reading, by name

    [Fact]
    public void Readings_at_the_edges_of_the_tolerance_measure_the_difference_of_the_registers()
    {
        var tolerance = Rules.ReadingTolerance.Milliseconds;
        Assert.Equal(30_000, tolerance);
        var evidence = Evidence(Seller, MarketSide.Offer, 0, Reading(Seller, 3, 1_000, StartMs - tolerance), Reading(Seller, 9, 1_750, EndMs + tolerance));
        Assert.Equal(new EnergyWh(750), Measure(evidence).Value);
    }

    [Fact]
    public void A_missing_start_or_end_reading_is_refused_with_DeliveryReadingMissing()
    {
        Assert.Equal("start", Assert.IsType<DeliveryReadingMissing>(Measure(Evidence(Seller, MarketSide.Offer, 100, noStart: true)).Error).Which);
        Assert.Equal("end", Assert.IsType<DeliveryReadingMissing>(Measure(Evidence(Seller, MarketSide.Offer, 100, noEnd: true)).Error).Which);
    }

    [Fact]
    public void A_reading_signed_by_another_key_is_refused_with_InvalidSignature()
    {
        var error = Assert.IsType<InvalidSignature>(Measure(Evidence(Seller, MarketSide.Offer, 100, start: Reading(Seller, 10, 5_000, StartMs, signer: Keys.OtherMeter))).Error);
        Assert.Equal((ObjectKind.MeterReading, Seller.Value), (error.Kind, error.Signer));
    }

    [Fact]
    public void A_reading_from_another_meter_is_refused_with_ReadingFromWrongMeter()
    {
        var error = Assert.IsType<ReadingFromWrongMeter>(Measure(Evidence(Seller, MarketSide.Offer, 100, end: Reading(Buyer, 11, 5_100, EndMs))).Error);
        Assert.Equal((Seller, Buyer), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_register_going_backwards_is_refused_with_RegisterWentBackwards()
    {
        var error = Assert.IsType<RegisterWentBackwards>(Measure(Evidence(Seller, MarketSide.Offer, -1)).Error);
        Assert.Equal((5_000L, 4_999L), (error.LastWh, error.OfferedWh));
    }

    [Fact]
    public void An_end_reading_not_after_the_start_in_sequence_is_refused_with_ReadingNotNewer()
    {
        var error = Assert.IsType<ReadingNotNewer>(Measure(Evidence(Seller, MarketSide.Offer, 0, end: Reading(Seller, 10, 5_100, EndMs))).Error);
        Assert.Equal((10UL, 10UL), (error.LastSequence, error.OfferedSequence));
    }

    [Theory]
    [InlineData("start", StartMs - 30_001)]
    [InlineData("start", StartMs + 30_001)]
    [InlineData("end", EndMs - 30_001)]
    [InlineData("end", EndMs + 30_001)]
    public void A_reading_taken_outside_the_tolerance_of_the_interval_is_refused_with_ReadingOutsideInterval(string which, long offsetMs)
    {
        var evidence = which == "start"
            ? Evidence(Seller, MarketSide.Offer, 100, start: Reading(Seller, 10, 5_000, offsetMs))
            : Evidence(Seller, MarketSide.Offer, 100, end: Reading(Seller, 11, 5_100, offsetMs));
        var error = Assert.IsType<ReadingOutsideInterval>(Measure(evidence).Error);
        Assert.Equal((Seller, which, TestParties.At(offsetMs)), (error.Meter, error.Which, error.Time));
    }

    [Fact]
    public void A_reading_for_another_network_is_refused_with_WrongNetwork()
    {
        var evidence = Evidence(Seller, MarketSide.Offer, 100, start: Reading(Seller, 10, 5_000, StartMs, network: TestParties.OtherNetwork));
        Assert.Equal(TestParties.OtherNetwork, Assert.IsType<WrongNetwork>(Measure(evidence).Error).Actual);
    }
}
