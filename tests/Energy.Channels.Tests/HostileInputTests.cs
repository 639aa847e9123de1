using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>
/// Hostile inputs: forged and malleated signatures, weak keys, replays, impossible amounts and broken
/// wire forms. Each is refused with its named error carrying the offending values, never with an
/// exception, and a refused operation changes nothing.
/// </summary>
public class HostileInputTests
{
    // Offsets in the wire form of Voucher(...) on network "energy-test" and channel "ch-1".
    private const int NetworkLengthAt = 4;
    private const int NetworkFirstCharAt = 5;
    private const int ChannelLengthAt = 16;
    private const int ChannelFirstCharAt = 17;

    /// <summary>The operation was refused: there is no next state to read, only the error.</summary>
    private static ProtocolError Refused<T>(Result<T> result)
    {
        Assert.False(result.IsOk, $"expected a refusal, got {result}");
        var thrown = Assert.Throws<ProtocolException>(() => result.Value);
        Assert.Same(result.Error, thrown.Error);
        return result.Error;
    }

    private static Result<StreamingChannel> Accept(StreamingChannel channel, Signed<Voucher> voucher, Timestamp? now = null) =>
        StreamingChannels.AcceptVoucher(channel, voucher, now ?? Now).Then<StreamingChannel>(accepted => accepted.Channel);

    /// <summary>Asserts the refusal changed nothing: the channel is as it was, and it still takes the next valid voucher as before.</summary>
    private static void AssertUnchanged(StreamingChannel snapshot, StreamingChannel channel)
    {
        Assert.Equal(snapshot, channel);
        var next = StreamingChannels.AcceptVoucher(channel, Voucher(channel.LastSequence + 1, channel.Paid.MinorUnits + 1, increment: 1), Now).Value;
        Assert.Equal(Eur(1), next.Increment);
    }

    private static void AssertUnchanged(DuplexChannel snapshot, DuplexChannel channel)
    {
        Assert.Equal(snapshot, channel);
        var next = DuplexChannels.Update(channel, State(channel.Version + 1, channel.BalanceA.MinorUnits, channel.BalanceB.MinorUnits), Now);
        Assert.True(next.IsOk, next.ToString());
    }

    // Forged and malleated signatures

    [Fact]
    public void A_voucher_signed_by_another_key_is_refused_with_InvalidSignature_and_changes_nothing()
    {
        var channel = Paid(100);
        var snapshot = channel with { };
        var error = Assert.IsType<InvalidSignature>(Refused(Accept(channel, Voucher(2, 900, signer: Keys.Stranger, increment: 900 - channel.Paid.MinorUnits))));
        Assert.Equal((Channel, ObjectKind.Voucher, PayerId.Value), (error.ChannelId, error.Kind, error.Signer));
        AssertUnchanged(snapshot, channel);
    }

    [Fact]
    public void A_voucher_signed_by_the_payee_itself_is_refused_with_InvalidSignature()
    {
        var error = Assert.IsType<InvalidSignature>(Refused(Accept(OpenStreaming(), Voucher(1, 1_000, signer: Keys.Payee))));
        Assert.Equal(PayerId.Value, error.Signer);
    }

    [Fact]
    public void A_signature_moved_from_another_voucher_is_refused_with_InvalidSignature()
    {
        var small = Voucher(1, 1);
        var large = Voucher(1, 999);
        var wire = large.ToArray();
        small.SignatureAt(0).CopyTo(wire.AsSpan(large.BodyLength));
        var transplanted = Signed<Voucher>.Decode(wire).Value;
        Assert.IsType<InvalidSignature>(Refused(Accept(OpenStreaming(), transplanted)));
    }

    [Fact]
    public void A_signature_of_zeros_is_refused_with_InvalidSignature()
    {
        var voucher = Voucher(1, 100);
        var wire = voucher.ToArray();
        Array.Clear(wire, voucher.BodyLength, 64);
        Assert.IsType<InvalidSignature>(Refused(Accept(OpenStreaming(), Signed<Voucher>.Decode(wire).Value)));
    }

    [Fact]
    public void A_voucher_with_a_malleated_non_canonical_S_is_refused_with_InvalidSignature()
    {
        var voucher = Voucher(1, 100);
        var malleated = Signed<Voucher>.Decode(Curve25519.WithNonCanonicalS(voucher.Wire, voucher.BodyLength)).Value;

        Assert.NotEqual(voucher, malleated);
        Assert.False(malleated.IsSignedBy(Keys.Payer.PublicKey));
        Assert.IsType<InvalidSignature>(Refused(Accept(OpenStreaming(), malleated)));
    }

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void A_malleated_non_canonical_S_does_not_verify_for_any_kind_or_signer(string name)
    {
        var sample = Samples.Named(name);
        for (var i = 0; i < sample.SignatureCount; i++)
        {
            var malleated = Curve25519.WithNonCanonicalS(sample.Wire, sample.SignatureStart(i));
            Assert.True(sample.Decode(malleated).IsOk);
            Assert.False(sample.VerifiesBySigners(malleated), $"signature {i} of a {name} verified with S + L");
        }
    }

    [Fact]
    public void A_co_signed_state_with_a_malleated_second_signature_is_refused_with_InvalidSignature()
    {
        var state = State(1, 300, 700);
        var malleated = Signed<DuplexState>.Decode(Curve25519.WithNonCanonicalS(state.Wire, state.BodyLength + 64)).Value;
        var error = Assert.IsType<InvalidSignature>(Refused(DuplexChannels.Update(OpenDuplex(), malleated, Now)));
        Assert.Equal(PayeeId.Value, error.Signer);
    }

    // Weak public keys

    public static TheoryData<string> SmallOrderPoints => new(Curve25519.SmallOrderPoints);

    [Theory]
    [MemberData(nameof(SmallOrderPoints))]
    public void A_small_order_public_key_is_refused_with_WeakPublicKey(string hex)
    {
        var error = Assert.IsType<WeakPublicKey>(DevicePublicKey.FromRaw(Convert.FromHexString(hex)).Error);
        Assert.Contains("small order", error.Reason, StringComparison.Ordinal);
        Assert.IsType<WeakPublicKey>(DevicePublicKey.FromHex(hex).Error);
    }

    [Theory]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000080")] // (0, 1) with the sign bit set
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")] // (0, -1) with the sign bit set
    public void A_small_order_public_key_with_a_flipped_sign_bit_is_refused_with_WeakPublicKey(string hex)
    {
        Assert.IsType<WeakPublicKey>(DevicePublicKey.FromHex(hex).Error);
    }

    public static TheoryData<string> NonCanonicalY => new(Curve25519.NonCanonicalYEncodings().Select(Convert.ToHexStringLower));

    [Theory]
    [MemberData(nameof(NonCanonicalY))]
    public void A_public_key_with_y_at_or_above_p_is_refused_with_WeakPublicKey(string hex)
    {
        var error = Assert.IsType<WeakPublicKey>(DevicePublicKey.FromRaw(Convert.FromHexString(hex)).Error);
        Assert.Contains("not canonical", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void A_public_key_of_the_wrong_length_is_refused_with_WeakPublicKey(int length)
    {
        var raw = Keys.Payer.PublicKey.Raw.ToArray().Concat(new byte[64]).Take(length).ToArray();
        var error = Assert.IsType<WeakPublicKey>(DevicePublicKey.FromRaw(raw).Error);
        Assert.StartsWith($"{length} bytes", error.Reason, StringComparison.Ordinal);
    }

    /// <summary>DevicePublicKey.FromRaw has a branch for "not a point on the curve"; a y with no x must reach it.</summary>
    [Fact]
    public void A_public_key_that_is_not_a_point_on_the_curve_is_refused_with_WeakPublicKey()
    {
        // The curve check itself is checked: every real key is on the curve, and so is every small-order point.
        foreach (var key in Keys.Pool)
            Assert.True(Curve25519.IsOnCurve(Curve25519.Y(key.PublicKey.Raw)));
        foreach (var point in Curve25519.SmallOrderPoints)
            Assert.True(Curve25519.IsOnCurve(Curve25519.Y(Convert.FromHexString(point))));
        var offCurve = Curve25519.OffCurveEncoding();
        Assert.False(Curve25519.IsOnCurve(Curve25519.Y(offCurve)));

        var result = DevicePublicKey.FromRaw(offCurve);
        Assert.False(result.IsOk, $"the off-curve encoding {Convert.ToHexStringLower(offCurve)} was accepted as a device key");
        Assert.IsType<WeakPublicKey>(result.Error);
    }

    /// <summary>
    /// The curve check agrees with the curve's equation (solved in big integers here) on thousands of encodings, about
    /// half of them points and half not, with either sign bit: a key is accepted exactly when it is on the curve.
    /// </summary>
    [Fact]
    public void A_public_key_is_accepted_exactly_when_its_y_is_on_the_curve()
    {
        var random = new Random(25519);
        var (on, off) = (0, 0);
        for (var i = 0; i < 4_000; i++)
        {
            var raw = new byte[32];
            random.NextBytes(raw);
            raw[31] = (byte)((raw[31] & 0x3f) | (random.Next(2) << 7)); // y well below p (canonical), either sign
            if (Curve25519.SmallOrderPoints.Any(point => Convert.FromHexString(point).AsSpan(0, 31).SequenceEqual(raw.AsSpan(0, 31)))) continue;
            var onCurve = Curve25519.IsOnCurve(Curve25519.Y(raw));
            var result = DevicePublicKey.FromRaw(raw);
            Assert.True(result.IsOk == onCurve, $"{Convert.ToHexStringLower(raw)}: on the curve {onCurve}, accepted {result.IsOk}");
            if (!onCurve) Assert.IsType<WeakPublicKey>(result.Error);
            (on, off) = onCurve ? (on + 1, off) : (on, off + 1);
        }
        Assert.True(on > 1_000 && off > 1_000, $"{on} encodings on the curve and {off} off it: both kinds must be tried");
    }

    [Fact]
    public void An_endorsement_of_a_small_order_key_is_refused_on_decoding_with_WeakPublicKey()
    {
        var endorsement = Endorsement();
        var wire = endorsement.ToArray();
        Convert.FromHexString(Curve25519.SmallOrderPoints[0]).CopyTo(wire, endorsement.BodyLength - 32);
        Assert.IsType<WeakPublicKey>(Refused(Signed<Endorsement>.Decode(wire)));
    }

    [Fact]
    public void An_endorsement_of_a_non_canonical_key_is_refused_on_decoding_with_WeakPublicKey()
    {
        var endorsement = Endorsement();
        var wire = endorsement.ToArray();
        Curve25519.NonCanonicalYEncodings().First().CopyTo(wire, endorsement.BodyLength - 32);
        Assert.IsType<WeakPublicKey>(Refused(Signed<Endorsement>.Decode(wire)));
    }

    // Vouchers

    [Fact]
    public void A_replayed_voucher_is_refused_with_VoucherNotNewer_and_changes_nothing()
    {
        var voucher = Voucher(1, 100);
        var channel = Accept(OpenStreaming(), voucher).Value;
        var snapshot = channel with { };
        var error = Assert.IsType<VoucherNotNewer>(Refused(Accept(channel, voucher)));
        Assert.Equal((Channel, 1UL, 1UL), (error.ChannelId, error.LastSequence, error.OfferedSequence));
        AssertUnchanged(snapshot, channel);
    }

    [Fact]
    public void An_older_voucher_is_refused_with_VoucherNotNewer_and_changes_nothing()
    {
        var channel = Paid(300, sequence: 5);
        var snapshot = channel with { };
        var error = Assert.IsType<VoucherNotNewer>(Refused(Accept(channel, Voucher(4, 400))));
        Assert.Equal((5UL, 4UL), (error.LastSequence, error.OfferedSequence));
        AssertUnchanged(snapshot, channel);
    }

    [Fact]
    public void The_same_sequence_with_a_higher_amount_is_refused_with_VoucherNotNewer()
    {
        var channel = Paid(300, sequence: 5);
        var error = Assert.IsType<VoucherNotNewer>(Refused(Accept(channel, Voucher(5, 400))));
        Assert.Equal((5UL, 5UL), (error.LastSequence, error.OfferedSequence));
        Assert.Equal(Eur(300), channel.Paid);
    }

    [Fact]
    public void A_voucher_of_sequence_zero_is_never_newer()
    {
        var error = Assert.IsType<VoucherNotNewer>(Refused(Accept(OpenStreaming(), Voucher(0, 10))));
        Assert.Equal((0UL, 0UL), (error.LastSequence, error.OfferedSequence));
    }

    [Fact]
    public void A_newer_voucher_with_a_lower_cumulative_amount_is_refused_with_CumulativeAmountDecreased()
    {
        var channel = Paid(300);
        var snapshot = channel with { };
        var error = Assert.IsType<CumulativeAmountDecreased>(Refused(Accept(channel, Voucher(2, 299))));
        Assert.Equal((Channel, 300L, 299L), (error.ChannelId, error.LastMinorUnits, error.OfferedMinorUnits));
        AssertUnchanged(snapshot, channel);
    }

    [Fact]
    public void A_voucher_above_the_deposit_is_refused_with_AmountExceedsDeposit()
    {
        var channel = OpenStreaming(1_000);
        var error = Assert.IsType<AmountExceedsDeposit>(Refused(Accept(channel, Voucher(1, 1_001))));
        Assert.Equal((Channel, 1_000L, 1_001L), (error.ChannelId, error.DepositMinorUnits, error.OfferedMinorUnits));
        Assert.Equal(Eur(0), channel.Paid);
    }

    [Fact]
    public void A_voucher_of_long_MaxValue_is_refused_with_AmountExceedsDeposit()
    {
        var error = Assert.IsType<AmountExceedsDeposit>(Refused(Accept(Paid(10), Voucher(2, long.MaxValue))));
        Assert.Equal(long.MaxValue, error.OfferedMinorUnits);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    public void A_negative_voucher_amount_is_refused_with_NegativeAmount(long amount)
    {
        var error = Assert.IsType<NegativeAmount>(Refused(Accept(OpenStreaming(), Voucher(1, amount))));
        Assert.Equal((Channel, "cumulative", amount), (error.ChannelId, error.Field, error.Value));
    }

    [Fact]
    public void A_voucher_in_another_currency_is_refused_with_CurrencyMismatch()
    {
        var channel = Paid(100);
        var snapshot = channel with { };
        var error = Assert.IsType<CurrencyMismatch>(Refused(Accept(channel, Voucher(2, 200, currency: Currency.Usd, increment: 100))));
        Assert.Equal((Currency.Eur, Currency.Usd), (error.Expected, error.Actual));
        AssertUnchanged(snapshot, channel);
    }

    [Fact]
    public void A_voucher_for_another_network_is_refused_with_WrongNetwork()
    {
        var error = Assert.IsType<WrongNetwork>(Refused(Accept(OpenStreaming(), Voucher(1, 10, network: OtherNetwork))));
        Assert.Equal((Channel, Network, OtherNetwork), (error.ChannelId, error.Expected, error.Actual));
    }

    [Fact]
    public void A_voucher_for_another_channel_is_refused_with_WrongChannel()
    {
        var error = Assert.IsType<WrongChannel>(Refused(Accept(OpenStreaming(), Voucher(1, 10, channel: OtherChannel))));
        Assert.Equal((Channel, OtherChannel), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_voucher_on_a_closed_channel_is_refused_with_ChannelNotOpen_and_the_settlement_stands()
    {
        var closed = StreamingChannels.RequestClose(Paid(100), Close(PayeeId, Keys.Payee), Now).Value;
        var snapshot = closed with { };
        var error = Assert.IsType<ChannelNotOpen>(Refused(Accept(closed, Voucher(2, 900))));
        Assert.Equal((Channel, ChannelStatus.Closed), (error.ChannelId, error.Status));
        Assert.Equal(snapshot, closed);
        Assert.Equal(Eur(100), closed.Settlement!.PayoutB);
    }

    [Fact]
    public void A_late_voucher_after_the_payers_deadline_is_refused_with_ChallengeWindowOver_and_the_old_split_settles()
    {
        var closing = PayerClosing(cumulative: 100);
        Assert.IsType<ChallengeWindowOver>(Refused(Accept(closing, Voucher(2, 900), At(WindowMs + 1))));
        Assert.Equal(Eur(100), StreamingChannels.FinalizeClose(closing, At(WindowMs + 1)).Value.Settlement!.PayoutB);
    }

    // Opening

    [Fact]
    public void A_zero_deposit_is_refused_with_ZeroAmount()
    {
        var error = Assert.IsType<ZeroAmount>(Refused(StreamingChannels.Open(StreamingTerms(deposit: 0))));
        Assert.Equal((Channel, "deposit"), (error.ChannelId, error.Field));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    public void A_negative_deposit_is_refused_with_NegativeAmount(long deposit)
    {
        var error = Assert.IsType<NegativeAmount>(Refused(StreamingChannels.Open(StreamingTerms(deposit: deposit))));
        Assert.Equal((Channel, "deposit", deposit), (error.ChannelId, error.Field, error.Value));
    }

    [Fact]
    public void A_payer_paying_itself_is_refused_with_SamePartyOnBothSides()
    {
        var terms = StreamingTerms() with { Payee = new ChannelParty(PayerId, Keys.Payee.PublicKey) };
        var error = Assert.IsType<SamePartyOnBothSides>(Refused(StreamingChannels.Open(terms)));
        Assert.Equal((Channel, DeviceId.Of(PayerId.Value)), (error.ChannelId, error.Party));
    }

    [Fact]
    public void A_payee_with_the_payers_key_is_refused_with_SamePartyOnBothSides()
    {
        var terms = StreamingTerms() with { Payee = new ChannelParty(PayeeId, Keys.Payer.PublicKey) };
        Assert.IsType<SamePartyOnBothSides>(Refused(StreamingChannels.Open(terms)));
    }

    [Fact]
    public void Duplex_deposits_of_long_MaxValue_each_are_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(Refused(DuplexChannels.Open(DuplexTerms(long.MaxValue, long.MaxValue))));
        Assert.Equal((long.MaxValue, long.MaxValue), (error.Left, error.Right));
    }

    [Fact]
    public void Duplex_deposits_that_overflow_by_one_are_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(Refused(DuplexChannels.Open(DuplexTerms(long.MaxValue, 1))));
        Assert.Equal((long.MaxValue, 1L), (error.Left, error.Right));
    }

    [Theory]
    [InlineData(-1, 500, "depositA")]
    [InlineData(500, -1, "depositB")]
    [InlineData(long.MinValue, long.MaxValue, "depositA")]
    public void A_negative_duplex_deposit_is_refused_with_NegativeAmount(long depositA, long depositB, string field)
    {
        var error = Assert.IsType<NegativeAmount>(Refused(DuplexChannels.Open(DuplexTerms(depositA, depositB))));
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Duplex_deposits_of_zero_on_both_sides_are_refused_with_ZeroAmount()
    {
        Assert.Equal("total deposit", Assert.IsType<ZeroAmount>(Refused(DuplexChannels.Open(DuplexTerms(0, 0)))).Field);
    }

    [Fact]
    public void Duplex_deposits_in_two_currencies_are_refused_with_CurrencyMismatch()
    {
        var terms = DuplexTerms() with { DepositB = Usd(500) };
        var error = Assert.IsType<CurrencyMismatch>(Refused(DuplexChannels.Open(terms)));
        Assert.Equal((Currency.Eur, Currency.Usd), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_duplex_channel_with_one_party_on_both_sides_is_refused_with_SamePartyOnBothSides()
    {
        Assert.IsType<SamePartyOnBothSides>(Refused(DuplexChannels.Open(DuplexTerms() with { PartyB = new ChannelParty(PayerId, Keys.Payee.PublicKey) })));
        Assert.IsType<SamePartyOnBothSides>(Refused(DuplexChannels.Open(DuplexTerms() with { PartyB = new ChannelParty(PayeeId, Keys.Payer.PublicKey) })));
    }

    // Closing

    [Fact]
    public void A_close_by_someone_who_is_not_a_party_is_refused_with_NotAParty_and_changes_nothing()
    {
        var channel = Paid(100);
        var snapshot = channel with { };
        var error = Assert.IsType<NotAParty>(Refused(StreamingChannels.RequestClose(channel, Close(StrangerId, Keys.Stranger), Now)));
        Assert.Equal((Channel, StrangerId.Value), (error.ChannelId, error.Signer));
        AssertUnchanged(snapshot, channel);
    }

    [Fact]
    public void A_close_in_the_payees_name_signed_by_the_payer_is_refused_with_InvalidSignature()
    {
        var channel = Paid(100);
        var error = Assert.IsType<InvalidSignature>(Refused(StreamingChannels.RequestClose(channel, Close(PayeeId, Keys.Payer), Now)));
        Assert.Equal((Channel, ObjectKind.CloseRequest, PayeeId.Value), (error.ChannelId, error.Kind, error.Signer));
        Assert.Equal(ChannelStatus.Open, channel.Status);
    }

    [Fact]
    public void A_close_in_the_payers_name_signed_by_a_stranger_is_refused_with_InvalidSignature_and_starts_no_window()
    {
        var channel = Paid(100);
        var snapshot = channel with { };
        var error = Assert.IsType<InvalidSignature>(Refused(StreamingChannels.RequestClose(channel, Close(PayerId, Keys.Stranger), Now)));
        Assert.Equal(PayerId.Value, error.Signer);
        Assert.Null(channel.ChallengeDeadline);
        AssertUnchanged(snapshot, channel);
    }

    [Fact]
    public void A_close_request_for_another_channel_is_refused_with_WrongChannel()
    {
        var error = Assert.IsType<WrongChannel>(Refused(StreamingChannels.RequestClose(Paid(100), Close(PayeeId, Keys.Payee, channel: OtherChannel), Now)));
        Assert.Equal((Channel, OtherChannel), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_close_request_for_another_network_is_refused_with_WrongNetwork()
    {
        var error = Assert.IsType<WrongNetwork>(Refused(StreamingChannels.RequestClose(Paid(100), Close(PayeeId, Keys.Payee, network: OtherNetwork), Now)));
        Assert.Equal((Network, OtherNetwork), (error.Expected, error.Actual));
    }

    [Fact]
    public void Closing_a_closed_channel_again_is_refused_with_ChannelNotOpen_and_the_settlement_stands()
    {
        var closed = StreamingChannels.RequestClose(Paid(100), Close(PayeeId, Keys.Payee), Now).Value;
        var snapshot = closed with { };
        var error = Assert.IsType<ChannelNotOpen>(Refused(StreamingChannels.RequestClose(closed, Close(PayeeId, Keys.Payee), At(1))));
        Assert.Equal(ChannelStatus.Closed, error.Status);
        Assert.Equal(snapshot, closed);
    }

    // Duplex states

    [Fact]
    public void A_duplex_state_signed_by_only_one_party_is_refused_with_InvalidSignature_and_changes_nothing()
    {
        var channel = DuplexChannels.Update(OpenDuplex(), State(1, 400, 600), Now).Value;
        var snapshot = channel with { };
        var error = Assert.IsType<InvalidSignature>(Refused(DuplexChannels.Update(channel, State(2, 1_000, 0, signerB: Keys.Stranger), Now)));
        Assert.Equal((Channel, ObjectKind.DuplexState, PayeeId.Value), (error.ChannelId, error.Kind, error.Signer));
        AssertUnchanged(snapshot, channel);
    }

    [Fact]
    public void A_duplex_state_with_a_forged_first_signature_is_refused_with_InvalidSignature()
    {
        var error = Assert.IsType<InvalidSignature>(Refused(DuplexChannels.Update(OpenDuplex(), State(1, 0, 1_000, signerA: Keys.Stranger), Now)));
        Assert.Equal(PayerId.Value, error.Signer);
    }

    [Fact]
    public void A_duplex_state_signed_twice_by_the_same_party_is_refused_with_InvalidSignature()
    {
        var error = Assert.IsType<InvalidSignature>(Refused(DuplexChannels.Update(OpenDuplex(), State(1, 1_000, 0, signerA: Keys.Payer, signerB: Keys.Payer), Now)));
        Assert.Equal(PayeeId.Value, error.Signer);
    }

    [Fact]
    public void A_duplex_state_with_the_signatures_swapped_is_refused_with_InvalidSignature()
    {
        var error = Assert.IsType<InvalidSignature>(Refused(DuplexChannels.Update(OpenDuplex(), State(1, 400, 600, signerA: Keys.Payee, signerB: Keys.Payer), Now)));
        Assert.Equal(PayerId.Value, error.Signer);
    }

    [Theory]
    [InlineData(400, 700)]
    [InlineData(400, 500)]
    [InlineData(0, 0)]
    public void Duplex_balances_that_do_not_sum_to_the_deposits_are_refused_with_BalancesDoNotMatchDeposits(long balanceA, long balanceB)
    {
        var channel = OpenDuplex();
        var error = Assert.IsType<BalancesDoNotMatchDeposits>(Refused(DuplexChannels.Update(channel, State(1, balanceA, balanceB), Now)));
        Assert.Equal((Channel, balanceA, balanceB, 1_000L), (error.ChannelId, error.BalanceA, error.BalanceB, error.TotalDeposit));
        Assert.Equal(0UL, channel.Version);
    }

    [Fact]
    public void A_negative_duplex_balance_offset_by_a_larger_one_is_refused_with_NegativeAmount()
    {
        var error = Assert.IsType<NegativeAmount>(Refused(DuplexChannels.Update(OpenDuplex(), State(1, -100, 1_100), Now)));
        Assert.Equal(("balanceA", -100L), (error.Field, error.Value));
        Assert.Equal("balanceB", Assert.IsType<NegativeAmount>(Refused(DuplexChannels.Update(OpenDuplex(), State(1, 1_100, -100), Now))).Field);
    }

    [Fact]
    public void Duplex_balances_whose_sum_overflows_are_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(Refused(DuplexChannels.Update(OpenDuplex(), State(1, long.MaxValue, long.MaxValue), Now)));
        Assert.Equal((long.MaxValue, long.MaxValue), (error.Left, error.Right));
    }

    [Fact]
    public void A_duplex_state_in_another_currency_is_refused_with_CurrencyMismatch()
    {
        var error = Assert.IsType<CurrencyMismatch>(Refused(DuplexChannels.Update(OpenDuplex(), State(1, 400, 600, currency: Currency.Usd), Now)));
        Assert.Equal((Currency.Eur, Currency.Usd), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_duplex_state_for_another_channel_or_network_is_refused_with_WrongChannel_or_WrongNetwork()
    {
        Assert.Equal(OtherChannel, Assert.IsType<WrongChannel>(Refused(DuplexChannels.Update(OpenDuplex(), State(1, 400, 600, channel: OtherChannel), Now))).Actual);
        Assert.Equal(OtherNetwork, Assert.IsType<WrongNetwork>(Refused(DuplexChannels.Update(OpenDuplex(), State(1, 400, 600, network: OtherNetwork), Now))).Actual);
    }

    [Fact]
    public void A_stale_duplex_version_during_the_challenge_is_refused_with_StateNotNewer()
    {
        var channel = DuplexChannels.Update(OpenDuplex(), State(5, 300, 700), Now).Value;
        var closing = DuplexChannels.RequestClose(channel, DuplexClose(PayeeId, Keys.Payee), Now).Value;
        var snapshot = closing with { };
        var error = Assert.IsType<StateNotNewer>(Refused(DuplexChannels.Update(closing, State(4, 900, 100), At(1_000))));
        Assert.Equal((Channel, 5UL, 4UL), (error.ChannelId, error.CurrentVersion, error.OfferedVersion));
        Assert.Equal(snapshot, closing);
        Assert.Equal(Eur(300), DuplexChannels.FinalizeClose(closing, At(WindowMs)).Value.Settlement!.PayoutA);
    }

    [Fact]
    public void A_replayed_duplex_state_is_refused_with_StateNotNewer()
    {
        var state = State(1, 300, 700);
        var channel = DuplexChannels.Update(OpenDuplex(), state, Now).Value;
        var error = Assert.IsType<StateNotNewer>(Refused(DuplexChannels.Update(channel, state, Now)));
        Assert.Equal((1UL, 1UL), (error.CurrentVersion, error.OfferedVersion));
    }

    [Fact]
    public void A_duplex_state_at_version_0_is_refused_with_StateNotNewer()
    {
        Assert.Equal(0UL, Assert.IsType<StateNotNewer>(Refused(DuplexChannels.Update(OpenDuplex(), State(0, 1_000, 0), Now))).OfferedVersion);
    }

    [Fact]
    public void A_final_state_sent_as_an_update_is_refused_with_FinalStateNotUpdatable()
    {
        var channel = OpenDuplex();
        var error = Assert.IsType<FinalStateNotUpdatable>(Refused(DuplexChannels.Update(channel, State(1, 400, 600, isFinal: true), Now)));
        Assert.Equal((Channel, 1UL), (error.ChannelId, error.Version));
        Assert.Equal(ChannelStatus.Open, channel.Status);
    }

    [Fact]
    public void A_cooperative_close_with_a_non_final_state_is_refused_with_FinalStateRequired()
    {
        var channel = OpenDuplex();
        var snapshot = channel with { };
        var error = Assert.IsType<FinalStateRequired>(Refused(DuplexChannels.CloseCooperatively(channel, State(1, 400, 600), Now)));
        Assert.Equal((Channel, 1UL), (error.ChannelId, error.Version));
        AssertUnchanged(snapshot, channel);
    }

    [Fact]
    public void A_cooperative_close_with_a_stale_final_state_is_refused_with_StateNotNewer()
    {
        var channel = DuplexChannels.Update(OpenDuplex(), State(3, 100, 900), Now).Value;
        var error = Assert.IsType<StateNotNewer>(Refused(DuplexChannels.CloseCooperatively(channel, State(2, 900, 100, isFinal: true), Now)));
        Assert.Equal((3UL, 2UL), (error.CurrentVersion, error.OfferedVersion));
    }

    [Fact]
    public void A_cooperative_close_with_a_final_state_signed_by_one_party_is_refused_with_InvalidSignature()
    {
        var error = Assert.IsType<InvalidSignature>(Refused(DuplexChannels.CloseCooperatively(OpenDuplex(), State(1, 1_000, 0, isFinal: true, signerB: Keys.Stranger), Now)));
        Assert.Equal(PayeeId.Value, error.Signer);
    }

    [Fact]
    public void A_cooperative_close_with_unbalanced_final_state_is_refused_with_BalancesDoNotMatchDeposits()
    {
        Assert.IsType<BalancesDoNotMatchDeposits>(Refused(DuplexChannels.CloseCooperatively(OpenDuplex(), State(1, 1_000, 1, isFinal: true), Now)));
    }

    [Fact]
    public void A_duplex_close_by_a_non_party_is_refused_with_NotAParty()
    {
        var channel = OpenDuplex();
        var snapshot = channel with { };
        Assert.IsType<NotAParty>(Refused(DuplexChannels.RequestClose(channel, DuplexClose(StrangerId, Keys.Stranger), Now)));
        AssertUnchanged(snapshot, channel);
    }

    // Broken wire forms

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Every_truncation_of_every_kind_is_refused_with_Truncated_never_an_exception(string name)
    {
        var sample = Samples.Named(name);
        for (var length = 0; length < sample.Wire.Length; length++)
        {
            var result = sample.Decode(sample.Wire[..length]);
            var error = Assert.IsType<Truncated>(result.Error);
            Assert.Equal(sample.Kind, error.Kind);
            Assert.True(error.Available < error.Needed, $"prefix {length}: {error}");
        }
    }

    [Fact]
    public void An_empty_input_is_refused_with_Truncated()
    {
        var error = Assert.IsType<Truncated>(Refused(Signed<Voucher>.Decode([])));
        Assert.Equal((ObjectKind.Voucher, 4, 0), (error.Kind, error.Needed, error.Available));
    }

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Trailing_bytes_after_any_kind_are_refused_with_TrailingBytes(string name)
    {
        var sample = Samples.Named(name);
        var error = Assert.IsType<TrailingBytes>(sample.Decode(Bytes.Append(sample.Wire, 0)).Error);
        Assert.Equal((sample.Kind, 1), (error.Kind, error.Count));
        Assert.Equal(3, Assert.IsType<TrailingBytes>(sample.Decode(Bytes.Append(sample.Wire, 1, 2, 3)).Error).Count);
    }

    [Theory]
    [InlineData(1_153)]
    [InlineData(4_096)]
    [InlineData(1 << 20)]
    public void An_oversized_input_is_refused_with_EncodingTooLarge(int length)
    {
        var wire = new byte[length];
        Voucher(1, 100).Wire.CopyTo(wire);
        var error = Assert.IsType<EncodingTooLarge>(Refused(Signed<Voucher>.Decode(wire)));
        Assert.Equal((length, CanonicalWriter.MaxObjectBytes), (error.Length, error.Max));
    }

    [Fact]
    public void An_input_just_under_the_size_bound_is_still_refused_by_name()
    {
        var wire = new byte[1_152];
        Voucher(1, 100).Wire.CopyTo(wire);
        Assert.IsType<TrailingBytes>(Refused(Signed<Voucher>.Decode(wire)));
    }

    [Theory]
    [InlineData((byte)'X', (byte)'N')]
    [InlineData((byte)'E', (byte)'n')]
    [InlineData((byte)'N', (byte)'E')]
    [InlineData(0, 0)]
    public void A_bad_magic_is_refused_with_NotAnEnergyObject(byte first, byte second)
    {
        var wire = Bytes.Set(Bytes.Set(Voucher(1, 100).Wire, 0, first), 1, second);
        var error = Assert.IsType<NotAnEnergyObject>(Refused(Signed<Voucher>.Decode(wire)));
        Assert.Equal((first, second), (error.First, error.Second));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x19)]
    [InlineData(0x18)]
    [InlineData(0x7F)]
    [InlineData(0xFF)]
    public void An_unknown_kind_tag_is_refused_with_UnknownKind(byte tag)
    {
        Assert.Equal(tag, Assert.IsType<UnknownKind>(Refused(Signed<Voucher>.Decode(Bytes.Set(Voucher(1, 100).Wire, 2, tag)))).Tag);
    }

    [Fact]
    public void The_retired_tag_0x05_is_refused_with_UnknownKind_for_every_kind()
    {
        Assert.False(ObjectKinds.IsDefined(0x05));
        foreach (var sample in Samples.All)
            Assert.Equal(0x05, Assert.IsType<UnknownKind>(sample.Decode(Bytes.Set(sample.Wire, 2, 0x05)).Error).Tag);
    }

    [Fact]
    public void A_voucher_decoded_as_a_meter_reading_is_refused_with_WrongKind()
    {
        var error = Assert.IsType<WrongKind>(Refused(Signed<MeterReading>.Decode(Voucher(1, 100).Wire)));
        Assert.Equal((ObjectKind.MeterReading, ObjectKind.Voucher), (error.Expected, error.Actual));
    }

    [Fact]
    public void A_close_request_decoded_as_a_revocation_of_the_same_layout_is_refused_with_WrongKind()
    {
        var error = Assert.IsType<WrongKind>(Refused(Signed<Revocation>.Decode(Close(PayerId, Keys.Payer).Wire)));
        Assert.Equal((ObjectKind.Revocation, ObjectKind.CloseRequest), (error.Expected, error.Actual));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(255)]
    public void An_unknown_format_version_is_refused_with_UnsupportedVersion(byte version)
    {
        var error = Assert.IsType<UnsupportedVersion>(Refused(Signed<Voucher>.Decode(Bytes.Set(Voucher(1, 100).Wire, 3, version))));
        Assert.Equal((ObjectKind.Voucher, version, CanonicalWriter.FormatVersion), (error.Kind, error.Version, error.Supported));
    }

    [Theory]
    [InlineData(NetworkLengthAt, 0, "network")]
    [InlineData(NetworkLengthAt, 65, "network")]
    [InlineData(NetworkLengthAt, 255, "network")]
    [InlineData(ChannelLengthAt, 0, "channel")]
    [InlineData(ChannelLengthAt, 65, "channel")]
    public void An_identifier_length_outside_1_to_64_is_refused_with_LengthOutOfBounds(int offset, byte length, string field)
    {
        var error = Assert.IsType<LengthOutOfBounds>(Refused(Signed<Voucher>.Decode(Bytes.Set(Voucher(1, 100).Wire, offset, length))));
        Assert.Equal((ObjectKind.Voucher, field, (int)length, 64), (error.Kind, error.Field, error.Length, error.Max));
    }

    [Theory]
    [InlineData(NetworkFirstCharAt, (byte)'E', "network")]   // "Energy-test"
    [InlineData(ChannelFirstCharAt, (byte)'C', "channel")]   // "Ch-1"
    [InlineData(ChannelFirstCharAt, (byte)' ', "channel")]
    [InlineData(ChannelFirstCharAt, (byte)'/', "channel")]
    [InlineData(ChannelFirstCharAt, 0x00, "channel")]
    [InlineData(ChannelFirstCharAt, 0xC3, "channel")]        // not ASCII
    public void An_identifier_outside_a_z_0_9_and_punctuation_is_refused_with_NonCanonicalEncoding(int offset, byte value, string field)
    {
        var error = Assert.IsType<NonCanonicalEncoding>(Refused(Signed<Voucher>.Decode(Bytes.Set(Voucher(1, 100).Wire, offset, value))));
        Assert.Equal((ObjectKind.Voucher, field), (error.Kind, error.Field));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0xFF)]
    public void A_boolean_byte_other_than_0_or_1_is_refused_with_NonCanonicalEncoding(byte value)
    {
        var state = State(1, 400, 600);
        var error = Assert.IsType<NonCanonicalEncoding>(Refused(Signed<DuplexState>.Decode(Bytes.Set(state.Wire, state.BodyLength - 1, value))));
        Assert.Equal((ObjectKind.DuplexState, "isFinal"), (error.Kind, error.Field));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(255)]
    public void An_undefined_role_byte_in_an_endorsement_is_refused_with_NonCanonicalEncoding(byte role)
    {
        var endorsement = Endorsement();
        var error = Assert.IsType<NonCanonicalEncoding>(Refused(Signed<Endorsement>.Decode(Bytes.Set(endorsement.Wire, endorsement.BodyLength - 33, role))));
        Assert.Equal((ObjectKind.Endorsement, "role"), (error.Kind, error.Field));
    }

    [Theory]
    [InlineData(0, (byte)'e')]  // "eUR"
    [InlineData(2, (byte)'r')]  // "EUr"
    [InlineData(1, (byte)'1')]  // "E1R"
    [InlineData(0, 0x00)]
    public void Currency_bytes_that_are_not_upper_case_letters_are_refused_with_NonCanonicalEncoding(int letter, byte value)
    {
        var voucher = Voucher(1, 100);
        var currencyAt = voucher.BodyLength - 20; // three currency bytes, the eight cumulative bytes, the eight increment bytes, the purpose's byte
        var error = Assert.IsType<NonCanonicalEncoding>(Refused(Signed<Voucher>.Decode(Bytes.Set(voucher.Wire, currencyAt + letter, value))));
        Assert.Equal((ObjectKind.Voucher, "cumulative"), (error.Kind, error.Field));
    }

    [Fact]
    public void A_voucher_whose_amount_was_raised_on_the_wire_decodes_but_is_refused_with_InvalidSignature()
    {
        var voucher = Voucher(1, 100);
        // Cumulative and increment raised alike (100 -> 868), so that only the signature can tell.
        var tampered = Signed<Voucher>.Decode(Bytes.Set(Bytes.Set(voucher.Wire, voucher.BodyLength - 11, 0x03), voucher.BodyLength - 3, 0x03)).Value;
        Assert.Equal(868, tampered.Payload.Cumulative.MinorUnits);
        Assert.IsType<InvalidSignature>(Refused(Accept(OpenStreaming(), tampered)));
    }

    // Meter readings and tolls

    [Fact]
    public void A_replayed_reading_with_a_higher_register_is_refused_with_ReadingNotNewer()
    {
        var first = MeterReadings.Accept(Reading(3, 5_000), Network, MeterId, Keys.Meter.PublicKey, null).Value;
        var error = Assert.IsType<ReadingNotNewer>(Refused(MeterReadings.Accept(Reading(3, 9_000), Network, MeterId, Keys.Meter.PublicKey, first)));
        Assert.Equal((3UL, 3UL), (error.LastSequence, error.OfferedSequence));
    }

    [Fact]
    public void A_reading_whose_register_was_raised_on_the_wire_is_refused_with_InvalidSignature()
    {
        var reading = Reading(1, 5_000);
        var tampered = Signed<MeterReading>.Decode(Bytes.Flip(reading.Wire, reading.BodyLength - 1, 0x40)).Value;
        Assert.NotEqual(reading.Payload.Register, tampered.Payload.Register);
        Assert.IsType<InvalidSignature>(Refused(MeterReadings.Accept(tampered, Network, MeterId, Keys.Meter.PublicKey, null)));
    }

    [Fact]
    public void A_toll_request_whose_price_was_lowered_on_the_wire_is_refused_with_InvalidSignature()
    {
        var request = Toll(150);
        var tampered = Signed<TollRequest>.Decode(Bytes.Set(request.Wire, request.BodyLength - 1, 0x80)).Value; // 150 -> 128
        Assert.Equal(Eur(128), tampered.Payload.Price);
        Assert.IsType<InvalidSignature>(Refused(TollRequests.Verify(tampered, Network, VehicleId, Keys.Gantry.PublicKey, Eur(500))));
    }

    [Fact]
    public void A_toll_request_for_another_vehicle_is_refused_even_within_the_price()
    {
        var error = Assert.IsType<TollRequestMismatch>(Refused(TollRequests.Verify(Toll(1, vehicle: OtherVehicleId), Network, VehicleId, Keys.Gantry.PublicKey, Eur(500))));
        Assert.Equal(("vehicle", OtherVehicleId.Value), (error.Field, error.Actual));
    }

    [Fact]
    public void A_toll_price_above_the_maximum_is_refused_even_when_correctly_signed()
    {
        var error = Assert.IsType<TollRequestMismatch>(Refused(TollRequests.Verify(Toll(10_000), Network, VehicleId, Keys.Gantry.PublicKey, Eur(500))));
        Assert.Equal(("price", "10000"), (error.Field, error.Actual));
    }
}
