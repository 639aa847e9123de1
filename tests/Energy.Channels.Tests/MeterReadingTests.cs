using Energy.Channels.Encoding;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>Signed meter readings: from the registered meter, and newer in sequence, time and register.</summary>
public class MeterReadingTests
{
    private static Result<MeterReading> Accept(Signed<MeterReading> reading, MeterReading? last) =>
        MeterReadings.Accept(reading, Network, MeterId, Keys.Meter.PublicKey, last);

    [Fact]
    public void The_first_reading_from_the_registered_meter_is_accepted()
    {
        var reading = Reading(1, 5_000);
        Assert.Equal(reading.Payload, Accept(reading, null).Value);
    }

    [Fact]
    public void Readings_are_accepted_in_order()
    {
        MeterReading? last = null;
        for (ulong i = 1; i <= 5; i++)
            last = Accept(Reading(i, (long)i * 250), last).Value;
        Assert.Equal((5UL, new EnergyWh(1_250)), (last!.Sequence, last.Register));
    }

    [Fact]
    public void A_reading_with_an_unchanged_register_and_time_but_a_newer_sequence_is_accepted()
    {
        var first = Accept(Reading(1, 5_000, offsetMs: 1_000), null).Value;
        var second = Accept(Reading(2, 5_000, offsetMs: 1_000), first).Value;
        Assert.Equal(2UL, second.Sequence);
    }

    [Fact]
    public void A_register_of_zero_is_accepted()
    {
        Assert.Equal(EnergyWh.Zero, Accept(Reading(1, 0), null).Value.Register);
    }

    [Fact]
    public void A_register_going_backwards_is_refused_with_RegisterWentBackwards()
    {
        var first = Accept(Reading(1, 5_000), null).Value;
        var error = Assert.IsType<RegisterWentBackwards>(Accept(Reading(2, 4_999), first).Error);
        Assert.Equal((MeterId, 5_000L, 4_999L), (error.MeterId, error.LastWh, error.OfferedWh));
    }

    [Fact]
    public void A_reading_time_going_backwards_is_refused_with_ReadingTimeWentBackwards()
    {
        var first = Accept(Reading(1, 5_000, offsetMs: 2_000), null).Value;
        var error = Assert.IsType<ReadingTimeWentBackwards>(Accept(Reading(2, 5_100, offsetMs: 1_999), first).Error);
        Assert.Equal((MeterId, At(2_000), At(1_999)), (error.MeterId, error.Last, error.Offered));
    }

    [Fact]
    public void A_replayed_reading_is_refused_with_ReadingNotNewer()
    {
        var reading = Reading(1, 5_000);
        var first = Accept(reading, null).Value;
        var error = Assert.IsType<ReadingNotNewer>(Accept(reading, first).Error);
        Assert.Equal((MeterId, 1UL, 1UL), (error.MeterId, error.LastSequence, error.OfferedSequence));
    }

    [Fact]
    public void An_older_reading_is_refused_with_ReadingNotNewer()
    {
        var last = Accept(Reading(7, 5_000), null).Value;
        var error = Assert.IsType<ReadingNotNewer>(Accept(Reading(6, 6_000), last).Error);
        Assert.Equal((7UL, 6UL), (error.LastSequence, error.OfferedSequence));
    }

    [Fact]
    public void A_reading_signed_by_another_meter_is_refused_with_InvalidSignature()
    {
        var error = Assert.IsType<InvalidSignature>(Accept(Reading(1, 10, signer: Keys.OtherMeter), null).Error);
        Assert.Equal((ChannelId.None, ObjectKind.MeterReading, MeterId.Value), (error.ChannelId, error.Kind, error.Signer));
    }

    [Fact]
    public void A_reading_naming_another_meter_is_refused_with_ReadingFromWrongMeter()
    {
        var error = Assert.IsType<ReadingFromWrongMeter>(Accept(Reading(1, 10, meter: OtherMeterId), null).Error);
        Assert.Equal((MeterId, OtherMeterId), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_reading_from_another_meter_signed_by_that_meter_is_still_refused_with_ReadingFromWrongMeter()
    {
        var error = Assert.IsType<ReadingFromWrongMeter>(Accept(Reading(1, 10, meter: OtherMeterId, signer: Keys.OtherMeter), null).Error);
        Assert.Equal(OtherMeterId, error.Actual);
    }

    [Fact]
    public void A_reading_for_another_network_is_refused_with_WrongNetwork()
    {
        var error = Assert.IsType<WrongNetwork>(Accept(Reading(1, 10, network: OtherNetwork), null).Error);
        Assert.Equal((Network, OtherNetwork), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_negative_register_is_refused_with_NegativeAmount()
    {
        var error = Assert.IsType<NegativeAmount>(Accept(Reading(1, -1), null).Error);
        Assert.Equal(("register", -1L), (error.Field, error.Value));
    }
}
