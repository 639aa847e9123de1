using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>
/// Vouchers that name their increment and what they pay for: the encoding, the refusal of the voucher
/// without a purpose, the increment the channel checks, and the sums it keeps per purpose within a bound.
/// </summary>
public class PurposeVoucherTests
{
    private static readonly PaymentPurpose SessionA = PaymentPurpose.ForSession("session-a").Unwrap();
    private static readonly PaymentPurpose SessionB = PaymentPurpose.ForSession("session-b").Unwrap();
    private static readonly PaymentPurpose Pass = PaymentPurpose.ForTollPass(DeviceId.Of("gantry-1"), 7);

    private static VoucherAccepted Accept(StreamingChannel channel, ulong sequence, long increment, PaymentPurpose purpose) =>
        StreamingChannels.AcceptVoucher(channel, Voucher(sequence, channel.Paid.MinorUnits + increment, increment: increment, purpose: purpose), Now).Value;

    private static readonly PaymentPurpose IntervalNorth = PaymentPurpose.ForMarketInterval("zone-north", 1_800_000_300_000).Unwrap();

    public static TheoryData<string> Purposes => ["none", "session:session-a", "pass:gantry-1.7", "pass:gantry.with.dots.18446744073709551615",
        "market:zone-north.1800000300000", "market:zone.with.dots.0"];

    [Theory]
    [MemberData(nameof(Purposes))]
    public void A_voucher_with_each_kind_of_purpose_decodes_to_what_was_signed(string text)
    {
        var purpose = PaymentPurpose.Parse(text).Unwrap();
        Assert.Equal(text, purpose.ToString());
        var signed = Voucher(3, 250, increment: 40, purpose: purpose);
        var decoded = Signed<Voucher>.Decode(signed.Wire).Unwrap();
        Assert.Equal(signed.Payload, decoded.Payload);
        Assert.Equal((Eur(40), purpose), (decoded.Payload.Increment, decoded.Payload.Purpose));
        Assert.True(decoded.IsSignedBy(Keys.Payer.PublicKey));
    }

    [Fact]
    public void A_voucher_of_the_retired_kind_without_a_purpose_is_refused_with_UnsupportedVoucherVersion()
    {
        // The retired layout: the same header with tag 0x02, then channel, sequence and cumulative only.
        var current = Voucher(1, 100);
        var retired = current.Wire[..(current.BodyLength - 9)].ToArray().Concat(new byte[64]).ToArray();
        retired[2] = ObjectKinds.RetiredVoucher;
        var error = Assert.IsType<UnsupportedVoucherVersion>(Signed<Voucher>.Decode(retired).Error);
        Assert.Equal((ObjectKinds.RetiredVoucher, (byte)ObjectKind.Voucher), (error.Tag, error.SupportedTag));
        Assert.False(ObjectKinds.IsDefined(ObjectKinds.RetiredVoucher));
        // Whatever kind the reader expected, the retired tag is named for what it is.
        foreach (var sample in Samples.All)
            Assert.IsType<UnsupportedVoucherVersion>(sample.Decode(Bytes.Set(sample.Wire, 2, ObjectKinds.RetiredVoucher)).Error);
    }

    [Fact]
    public void Every_object_kind_has_a_tag_of_its_own()
    {
        var tags = Enum.GetValues<ObjectKind>().Select(kind => (byte)kind).ToList();
        Assert.Equal(tags.Count, tags.Distinct().Count());
        Assert.All(tags, tag => Assert.True(ObjectKinds.IsDefined(tag)));
        Assert.DoesNotContain(ObjectKinds.RetiredVoucher, tags);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(0x80)]
    public void An_undefined_purpose_kind_is_refused_with_NonCanonicalEncoding(byte kind)
    {
        var voucher = Voucher(1, 100);
        var error = Assert.IsType<NonCanonicalEncoding>(Signed<Voucher>.Decode(Bytes.Set(voucher.Wire, voucher.BodyLength - 1, kind)).Error);
        Assert.Equal((ObjectKind.Voucher, "purpose"), (error.Kind, error.Field));
    }

    [Fact]
    public void A_toll_pass_numbered_zero_is_refused_with_NonCanonicalEncoding()
    {
        var voucher = Voucher(1, 100, purpose: Pass);
        var error = Assert.IsType<NonCanonicalEncoding>(Signed<Voucher>.Decode(Bytes.Set(voucher.Wire, voucher.BodyLength - 1, 0)).Error);
        Assert.Equal("purpose", error.Field);
        Assert.False(PaymentPurpose.ForTollPass("gantry-1.0").IsOk);
        Assert.False(PaymentPurpose.ForTollPass("gantry-1").IsOk);
        Assert.False(PaymentPurpose.Parse("session:Upper").IsOk);
    }

    [Fact]
    public void A_market_interval_purpose_has_a_stable_kind_byte_and_writes_its_zone_and_start()
    {
        Assert.Equal(3, (byte)PurposeKind.MarketInterval);
        var voucher = Voucher(1, 100, purpose: IntervalNorth);
        var body = voucher.Wire[..voucher.BodyLength];
        // The purpose closes the body: its kind, the zone as an identifier, then the start as a signed 64-bit big-endian.
        Assert.Equal(1_800_000_300_000, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(body[^8..]));
        Assert.Equal((byte)PurposeKind.MarketInterval, body[^(8 + 1 + "zone-north".Length + 1)]);
        Assert.Equal(("zone-north", 1_800_000_300_000L, 0UL), (IntervalNorth.Reference, IntervalNorth.IntervalStartMs, IntervalNorth.PassNumber));
        Assert.Equal(IntervalNorth, Signed<Voucher>.Decode(voucher.Wire).Unwrap().Payload.Purpose);
    }

    [Fact]
    public void A_market_interval_starting_before_the_epoch_or_badly_named_is_refused()
    {
        var voucher = Voucher(1, 100, purpose: IntervalNorth);
        var error = Assert.IsType<NonCanonicalEncoding>(Signed<Voucher>.Decode(Bytes.Set(voucher.Wire, voucher.BodyLength - 8, 0x80)).Error);
        Assert.Equal((ObjectKind.Voucher, "purpose"), (error.Kind, error.Field));
        Assert.IsType<MalformedValue>(PaymentPurpose.ForMarketInterval("zone-north", -1).Error);
        Assert.IsType<MalformedValue>(PaymentPurpose.ForMarketInterval("Zone North", 0).Error);
        foreach (var text in new[] { "market:zone-north", "market:zone-north.", "market:.5", "market:zone-north.-5", "market:zone-north.+5", "market:Zone.5", "market:zone.99999999999999999999" })
            Assert.False(PaymentPurpose.Parse(text).IsOk, text);
    }

    [Fact]
    public void A_payment_for_one_market_interval_never_counts_for_another_interval_or_zone_or_a_pass()
    {
        var sameStartOtherZone = PaymentPurpose.ForMarketInterval("zone-south", IntervalNorth.IntervalStartMs).Unwrap();
        var nextInterval = PaymentPurpose.ForMarketInterval("zone-north", IntervalNorth.IntervalStartMs + 300_000).Unwrap();
        var passWithTheSameNumber = PaymentPurpose.ForTollPass(DeviceId.Of("zone-north"), (ulong)IntervalNorth.IntervalStartMs);
        var channel = Accept(Accept(Accept(OpenStreaming(), 1, 70, IntervalNorth).Channel, 2, 20, sameStartOtherZone).Channel, 3, 5, nextInterval).Channel;
        channel = Accept(channel, 4, 3, passWithTheSameNumber).Channel;
        Assert.Equal((Eur(70), Eur(20), Eur(5), Eur(3)), (channel.PaidFor(IntervalNorth), channel.PaidFor(sameStartOtherZone), channel.PaidFor(nextInterval), channel.PaidFor(passWithTheSameNumber)));
        Assert.NotEqual(IntervalNorth, PaymentPurpose.Parse("pass:zone-north.1800000300000").Value);
        // A replayed voucher for the interval is refused and adds nothing.
        Assert.IsType<VoucherNotNewer>(StreamingChannels.AcceptVoucher(channel, Voucher(1, 70, increment: 70, purpose: IntervalNorth), Now).Error);
        Assert.Equal(Eur(70), channel.PaidFor(IntervalNorth));
    }

    [Theory]
    [InlineData(99)]
    [InlineData(101)]
    [InlineData(0)]
    [InlineData(-100)]
    public void A_voucher_whose_increment_is_not_its_cumulative_minus_the_accepted_is_refused_with_IncrementMismatch(long increment)
    {
        var channel = Accept(OpenStreaming(), 1, 200, SessionA).Channel;
        var snapshot = channel with { };
        var error = Assert.IsType<IncrementMismatch>(StreamingChannels.AcceptVoucher(channel, Voucher(2, 300, increment: increment, purpose: SessionB), Now).Error);
        Assert.Equal((Channel, 2UL, 200L, 300L, increment), (error.ChannelId, error.Sequence, error.PreviousCumulativeMinorUnits, error.CumulativeMinorUnits, error.IncrementMinorUnits));
        Assert.Equal(snapshot, channel);
        Assert.Equal(Eur(0), channel.PaidFor(SessionB));
    }

    [Fact]
    public void Each_purpose_counts_only_the_increments_of_the_vouchers_that_name_it()
    {
        var channel = OpenStreaming();
        var first = Accept(channel, 1, 100, SessionA);
        var second = Accept(first.Channel, 2, 1, SessionB);
        var toll = Accept(second.Channel, 3, 50, Pass);
        var third = Accept(toll.Channel, 4, 30, SessionA);
        var plain = Accept(third.Channel, 5, 5, PaymentPurpose.None);
        Assert.Equal((Eur(100), Eur(1), Eur(50), Eur(130), Eur(0)), (first.PaidForPurpose, second.PaidForPurpose, toll.PaidForPurpose, third.PaidForPurpose, plain.PaidForPurpose));
        var final = plain.Channel;
        Assert.Equal((Eur(130), Eur(1), Eur(50), Eur(186)), (final.PaidFor(SessionA), final.PaidFor(SessionB), final.PaidFor(Pass), final.Paid));
        // No money is counted twice: the purposes sum to the cumulative less what paid for nothing.
        Assert.Equal(final.Paid.MinorUnits - 5, final.PaidByPurpose.Values.Sum(m => m.MinorUnits));
        Assert.False(final.PaidByPurpose.ContainsKey(PaymentPurpose.None));
    }

    [Fact]
    public void A_channel_counts_at_most_MaxPurposes_and_refuses_one_more_with_TooManyPurposes()
    {
        var channel = OpenStreaming(deposit: 1_000_000);
        for (var i = 1; i <= StreamingChannels.MaxPurposes; i++)
            channel = Accept(channel, (ulong)i, 1, PaymentPurpose.ForTollPass(DeviceId.Of("gantry-1"), (ulong)i)).Channel;
        Assert.Equal(StreamingChannels.MaxPurposes, channel.PaidByPurpose.Count);
        var next = (ulong)StreamingChannels.MaxPurposes + 1;
        var extra = PaymentPurpose.ForTollPass(DeviceId.Of("gantry-1"), next);
        var error = Assert.IsType<TooManyPurposes>(StreamingChannels.AcceptVoucher(channel,
            Voucher(next, channel.Paid.MinorUnits + 1, increment: 1, purpose: extra), Now).Error);
        Assert.Equal((Channel, StreamingChannels.MaxPurposes, extra.ToString()), (error.ChannelId, error.Max, error.Purpose));
        // A purpose already counted, and a voucher for nothing, are still taken.
        var known = Accept(channel, next, 1, PaymentPurpose.ForTollPass(DeviceId.Of("gantry-1"), 1));
        Assert.Equal(Eur(2), known.PaidForPurpose);
        Assert.Equal(StreamingChannels.MaxPurposes, Accept(known.Channel, next + 1, 1, PaymentPurpose.None).Channel.PaidByPurpose.Count);
    }

    [Fact]
    public void Restoring_a_batch_counts_every_voucher_written_with_the_newest()
    {
        var live = Accept(Accept(Accept(OpenStreaming(), 1, 10, SessionA).Channel, 2, 20, Pass).Channel, 3, 5, SessionA).Channel;
        var restored = StreamingChannels.Restore(OpenStreaming(), live.Best!,
            [KeyValuePair.Create(SessionA, Eur(15)), KeyValuePair.Create(Pass, Eur(20))]);
        Assert.Equal(live.Best, restored.Best);
        Assert.Equal(live.PaidByPurpose.OrderBy(p => p.Key.ToString()), restored.PaidByPurpose.OrderBy(p => p.Key.ToString()));
    }
}
