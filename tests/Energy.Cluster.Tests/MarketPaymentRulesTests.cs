using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Market;
using Energy.Lifecycles.Market;
using Energy.Cluster.Serialization;
using Energy.Lifecycles;
using Energy.Lifecycles.Channels;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>How a settled interval is paid over channels, as pure rules: what is due, what a channel's answer counts, when the payments close.</summary>
public sealed class MarketPaymentRulesTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly ZoneId Zone = ZoneId.Of("zone-north");
    private static readonly OperatorId Grid = OperatorId.Of("grid-north");
    private static readonly DeviceId Buyer = DeviceId.Of("meter-buyer");
    private static readonly DeviceId Seller = DeviceId.Of("meter-seller");
    private static readonly DeviceId ShortSeller = DeviceId.Of("meter-short-seller");
    private static readonly DeviceId Idle = DeviceId.Of("meter-idle");
    private static readonly MarketInterval Interval = MarketInterval.Numbered(Zone, 6_000_000, DurationMs.FromMinutes(5));
    private static readonly PaymentPurpose Purpose = MarketPaymentRules.PurposeOf(Interval);

    private static Money Eur(long minor) => new(minor, Currency.Eur);

    private static SettledLine Line(DeviceId participant, MarketSide side, long energy, long charge, string? channel) =>
        new(participant, side, new EnergyWh(1_000), new EnergyWh(1_000), new EnergyWh(1_000), EnergyWh.Zero, Eur(energy), Eur(charge), null, null)
        {
            Channel = channel is null ? null : ChannelId.Of(channel),
        };

    private static MarketIntervalSettled Settled(params SettledLine[] lines) =>
        new(Interval.Number, Grid, new EnergyPrice(100, Currency.Eur), lines, Eur(0), Eur(0), Eur(0), EnergyWh.Zero, EnergyWh.Zero, new Timestamp(1_800_000_000_000));

    private static PurposePaid Paid(string channel, PartyId payer, PartyId payee, long paid, PaymentPurpose? purpose = null) =>
        new(ChannelId.Of(channel), purpose ?? Purpose, Eur(paid), payer, payee, null);

    private static readonly PartyId GridParty = PartyId.From(Grid);

    [Fact]
    public void A_buyer_owes_its_energy_and_charge_a_seller_is_owed_its_energy_less_its_charge_and_owes_what_the_charge_exceeds()
    {
        var due = MarketPaymentRules.Due(Settled(
            Line(Buyer, MarketSide.Bid, 300, 20, "c-buyer"),
            Line(Seller, MarketSide.Offer, 250, 40, "c-seller"),
            Line(ShortSeller, MarketSide.Offer, 10, 90, null),
            Line(Idle, MarketSide.Offer, 0, 0, "c-idle")));

        Assert.Equal(
            [(Buyer, true, 320L, (ChannelId?)ChannelId.Of("c-buyer")), (Seller, false, 210L, ChannelId.Of("c-seller")), (ShortSeller, true, 80L, null)],
            due.Select(d => (d.Participant, d.ToOperator, d.Due.MinorUnits, d.Channel)));
        Assert.Equal((PartyId.From(Buyer), GridParty), due[0].Direction(Grid));
        Assert.Equal((GridParty, PartyId.From(Seller)), due[1].Direction(Grid));
    }

    [Fact]
    public void Only_a_channel_between_the_participant_and_the_operator_in_the_direction_due_counts_and_every_other_answer_is_named()
    {
        var buyer = new MarketPaymentDue(Buyer, MarketSide.Bid, ChannelId.Of("c-buyer"), true, Eur(320));
        Result<Money> Count(object? answer) => MarketPaymentRules.Counted(Zone, Interval.Number, Purpose, Grid, buyer, answer);

        Assert.Equal(Eur(300), Count(Paid("c-buyer", PartyId.From(Buyer), GridParty, 300)).Value);
        var reversed = Assert.IsType<MarketPaymentChannelOfOthers>(Count(Paid("c-buyer", GridParty, PartyId.From(Buyer), 320)).Error);
        Assert.Equal((PartyId.From(Buyer), GridParty), (reversed.ExpectedPayer, reversed.ExpectedPayee));
        Assert.IsType<MarketPaymentChannelOfOthers>(Count(Paid("c-other", PartyId.From(Seller), GridParty, 320)).Error);
        Assert.IsType<MarketPaymentChannelOfOthers>(Count(Paid("c-buyer", PartyId.From(Buyer), PartyId.From(OperatorId.Of("grid-south")), 320)).Error);
        var otherInterval = PaymentPurpose.ForMarketInterval(Zone.Value, Interval.End.UnixMilliseconds).Unwrap();
        Assert.IsType<MalformedValue>(Count(Paid("c-buyer", PartyId.From(Buyer), GridParty, 320, otherInterval)).Error);
        Assert.IsType<ChannelNotFound>(Count(Refusal.From(new ChannelNotFound(ChannelId.Of("c-buyer")))).Error);
        Assert.IsType<NotAnsweredInTime>(Count(null).Error);
    }

    [Fact]
    public void Payments_close_once_covered_and_a_late_lower_answer_never_takes_back_what_was_counted()
    {
        var due = MarketPaymentRules.Due(Settled(Line(Buyer, MarketSide.Bid, 300, 0, "c-buyer"), Line(Seller, MarketSide.Offer, 250, 0, "c-seller")));
        var payments = new MarketPayments(Interval, Grid, due, new Timestamp(1_800_000_300_000));
        var round = payments.StartRound(final: false, reads: 2);

        Assert.False(payments.Answer(Buyer, MarketSide.Bid, Paid("c-buyer", PartyId.From(Buyer), GridParty, 300), round));
        Assert.False(payments.Answer(Buyer, MarketSide.Bid, Paid("c-buyer", PartyId.From(Buyer), GridParty, 120), round));
        Assert.False(payments.Answer(Buyer, MarketSide.Bid, null, round));
        Assert.Equal([Seller], payments.Unsettled().Select(d => d.Participant));
        Assert.True(payments.Answer(Seller, MarketSide.Offer, Paid("c-seller", GridParty, PartyId.From(Seller), 250), round));

        var paid = payments.Close();
        Assert.Empty(paid.Refused);
        Assert.Equal([(Buyer, 300L, 0L), (Seller, 250L, 0L)], paid.Payments.Select(p => (p.Participant, p.Paid.MinorUnits, p.Short.MinorUnits)));
    }

    [Fact]
    public void After_the_window_the_final_round_closes_the_payments_once_all_its_answers_are_in_and_names_each_shortfall()
    {
        var due = MarketPaymentRules.Due(Settled(
            Line(Buyer, MarketSide.Bid, 300, 0, "c-buyer"),
            Line(Seller, MarketSide.Offer, 250, 0, "c-seller"),
            Line(ShortSeller, MarketSide.Offer, 10, 90, null)));
        var payments = new MarketPayments(Interval, Grid, due, new Timestamp(1_800_000_300_000));
        var early = payments.StartRound(final: false, reads: 2);
        var final = payments.StartRound(final: true, reads: 2);

        // An answer of the round before does not count towards the final round's.
        Assert.False(payments.Answer(Buyer, MarketSide.Bid, Paid("c-buyer", PartyId.From(Buyer), GridParty, 290), early));
        Assert.False(payments.Answer(Buyer, MarketSide.Bid, Paid("c-buyer", PartyId.From(Buyer), GridParty, 290), final));
        Assert.True(payments.Answer(Seller, MarketSide.Offer, Refusal.From(new ChannelNotFound(ChannelId.Of("c-seller"))), final));

        var paid = payments.Close();
        var lines = paid.Payments.ToDictionary(p => p.Participant);
        Assert.Equal((nameof(MarketPaymentShort), 10L), (lines[Buyer].RefusalCode, lines[Buyer].Short.MinorUnits));
        Assert.Equal((nameof(ChannelNotFound), 250L), (lines[Seller].RefusalCode, lines[Seller].Short.MinorUnits));
        Assert.Equal((nameof(MarketPaymentChannelMissing), 80L), (lines[ShortSeller].RefusalCode, lines[ShortSeller].Short.MinorUnits));
        Assert.Equal(3, paid.Refused.Count);
        Assert.Contains(paid.Refused, r => r.StartsWith($"{Buyer}: {nameof(MarketPaymentShort)}: {Buyer} paid 290 of the 300", StringComparison.Ordinal));
    }

    [Fact]
    public void The_paid_event_round_trips_with_its_payments_and_one_written_before_payments_were_named_reads_back_with_none()
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        var payments = new MarketPayments(Interval, Grid, MarketPaymentRules.Due(Settled(Line(Buyer, MarketSide.Bid, 300, 0, "c-buyer"))), new Timestamp(0));
        payments.StartRound(final: true, reads: 1);
        payments.Answer(Buyer, MarketSide.Bid, Paid("c-buyer", PartyId.From(Buyer), GridParty, 100), payments.Round);
        var paid = payments.Close();
        var settled = Settled(Line(Buyer, MarketSide.Bid, 300, 0, "c-buyer"));

        foreach (var message in new object[] { paid, settled, Refusal.From(new MarketPaymentShort(Zone, 5, Buyer, true, Eur(300), Eur(100))) })
        {
            var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType(), EnergyJson.Options),
                System.Text.Json.JsonSerializer.Serialize(back, back.GetType(), EnergyJson.Options));
        }
        var roundTripped = Assert.IsType<MarketIntervalPaid>(serializer.FromBinary(serializer.ToBinary(paid), serializer.Manifest(paid)));
        Assert.Equal(paid.Payments, roundTripped.Payments);

        var before = JsonNode.Parse(serializer.ToBinary(paid))!.AsObject();
        Assert.True(before.Remove("payments"));
        var old = Assert.IsType<MarketIntervalPaid>(serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(before.ToJsonString()), serializer.Manifest(paid)));
        Assert.Equal((paid.Interval, paid.Refused.Count, 0), (old.Interval, old.Refused.Count, old.Payments.Count));
        Assert.Equal("market.event.interval-paid.v1", serializer.Manifest(paid));
    }
}
