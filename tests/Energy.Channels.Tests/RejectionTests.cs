using System.Numerics;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>Hostile inputs: each is refused with its named error, carrying the offending values, and changes nothing.</summary>
public sealed class RejectionTests : IDisposable
{
    private readonly TestParties _p = new();

    public void Dispose() => _p.Dispose();

    private StreamingChannel Paid(long cumulative, ulong sequence = 1) =>
        StreamingChannels.AcceptVoucher(_p.OpenStreaming(), _p.Voucher(sequence, cumulative), Now).Value.Channel;

    // Signatures

    [Fact]
    public void A_voucher_signed_by_another_key_is_refused_with_InvalidSignature()
    {
        var channel = _p.OpenStreaming();
        var result = StreamingChannels.AcceptVoucher(channel, _p.Voucher(1, 100, _p.StrangerKey), Now);
        var error = Assert.IsType<InvalidSignature>(result.Error);
        Assert.Equal(Channel, error.ChannelId);
        Assert.Equal(PayerId.Value, error.Signer);
    }

    [Fact]
    public void A_voucher_signed_by_the_payee_is_refused_with_InvalidSignature()
    {
        var result = StreamingChannels.AcceptVoucher(_p.OpenStreaming(), _p.Voucher(1, 100, _p.PayeeKey), Now);
        Assert.IsType<InvalidSignature>(result.Error);
    }

    [Fact]
    public void A_malleated_signature_with_non_canonical_S_does_not_verify()
    {
        var voucher = _p.Voucher(1, 100);
        var wire = voucher.ToArray();
        var sOffset = voucher.BodyLength + 32;
        var s = new BigInteger(wire.AsSpan(sOffset, 32), isUnsigned: true, isBigEndian: false);
        var order = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493", System.Globalization.CultureInfo.InvariantCulture);
        var malleated = (s + order).ToByteArray(isUnsigned: true, isBigEndian: false);
        Array.Clear(wire, sOffset, 32);
        malleated.CopyTo(wire, sOffset);

        var decoded = Signed<Voucher>.Decode(wire).Value;
        Assert.False(decoded.IsSignedBy(_p.PayerKey.PublicKey));
        Assert.IsType<InvalidSignature>(StreamingChannels.AcceptVoucher(_p.OpenStreaming(), decoded, Now).Error);
    }

    [Fact]
    public void A_signature_of_zeros_is_refused()
    {
        var wire = _p.Voucher(1, 100).ToArray();
        Array.Clear(wire, wire.Length - 64, 64);
        Assert.IsType<InvalidSignature>(StreamingChannels.AcceptVoucher(_p.OpenStreaming(), Signed<Voucher>.Decode(wire).Value, Now).Error);
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000080")]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")]
    [InlineData("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85")]
    [InlineData("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")]
    [InlineData("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa")]
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    public void A_small_order_public_key_is_refused_with_WeakPublicKey(string hex)
    {
        Assert.IsType<WeakPublicKey>(DevicePublicKey.FromHex(hex).Error);
    }

    [Theory]
    [InlineData("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    [InlineData("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    [InlineData("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    public void A_non_canonical_point_encoding_is_refused_with_WeakPublicKey(string hex)
    {
        var error = Assert.IsType<WeakPublicKey>(DevicePublicKey.FromHex(hex).Error);
        Assert.Contains("canonical", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void A_public_key_of_the_wrong_length_is_refused(int length)
    {
        Assert.IsType<WeakPublicKey>(DevicePublicKey.FromRaw(new byte[length]).Error);
    }

    [Fact]
    public void A_public_key_that_is_not_hexadecimal_is_refused_with_MalformedValue()
    {
        Assert.IsType<MalformedValue>(DevicePublicKey.FromHex(new string('z', 64)).Error);
    }

    // Vouchers

    [Fact]
    public void A_replayed_voucher_is_refused_with_VoucherNotNewer_and_changes_nothing()
    {
        var channel = Paid(100);
        var result = StreamingChannels.AcceptVoucher(channel, _p.Voucher(1, 100), Now);
        var error = Assert.IsType<VoucherNotNewer>(result.Error);
        Assert.Equal((1UL, 1UL), (error.LastSequence, error.OfferedSequence));
        Assert.Equal(100, channel.Paid.MinorUnits);
    }

    [Fact]
    public void An_older_voucher_is_refused_with_VoucherNotNewer()
    {
        var channel = Paid(300, sequence: 5);
        Assert.IsType<VoucherNotNewer>(StreamingChannels.AcceptVoucher(channel, _p.Voucher(4, 400), Now).Error);
    }

    [Fact]
    public void The_same_sequence_with_a_higher_amount_is_refused_with_VoucherNotNewer()
    {
        var channel = Paid(300, sequence: 5);
        Assert.IsType<VoucherNotNewer>(StreamingChannels.AcceptVoucher(channel, _p.Voucher(5, 400), Now).Error);
    }

    [Fact]
    public void A_newer_voucher_with_a_lower_cumulative_amount_is_refused_with_CumulativeAmountDecreased()
    {
        var channel = Paid(300);
        var error = Assert.IsType<CumulativeAmountDecreased>(StreamingChannels.AcceptVoucher(channel, _p.Voucher(2, 299), Now).Error);
        Assert.Equal((300L, 299L), (error.LastMinorUnits, error.OfferedMinorUnits));
    }

    [Fact]
    public void A_voucher_above_the_deposit_is_refused_with_AmountExceedsDeposit()
    {
        var error = Assert.IsType<AmountExceedsDeposit>(StreamingChannels.AcceptVoucher(_p.OpenStreaming(1_000), _p.Voucher(1, 1_001), Now).Error);
        Assert.Equal((1_000L, 1_001L), (error.DepositMinorUnits, error.OfferedMinorUnits));
    }

    [Fact]
    public void A_voucher_of_long_MaxValue_is_refused_with_AmountExceedsDeposit()
    {
        Assert.IsType<AmountExceedsDeposit>(StreamingChannels.AcceptVoucher(_p.OpenStreaming(), _p.Voucher(1, long.MaxValue), Now).Error);
    }

    [Fact]
    public void A_negative_voucher_amount_is_refused_with_NegativeAmount()
    {
        var error = Assert.IsType<NegativeAmount>(StreamingChannels.AcceptVoucher(_p.OpenStreaming(), _p.Voucher(1, -5), Now).Error);
        Assert.Equal(-5, error.Value);
    }

    [Fact]
    public void A_voucher_in_another_currency_is_refused_with_CurrencyMismatch()
    {
        var voucher = Signed<Voucher>.Sign(new Voucher(Network, Channel, 1, new Money(10, Currency.Usd)), _p.PayerKey);
        Assert.IsType<CurrencyMismatch>(StreamingChannels.AcceptVoucher(_p.OpenStreaming(), voucher, Now).Error);
    }

    [Fact]
    public void A_voucher_for_another_network_is_refused_with_WrongNetwork()
    {
        var error = Assert.IsType<WrongNetwork>(StreamingChannels.AcceptVoucher(_p.OpenStreaming(), _p.Voucher(1, 10, network: NetworkId.Of("other-net")), Now).Error);
        Assert.Equal(NetworkId.Of("other-net"), error.Actual);
    }

    [Fact]
    public void A_voucher_for_another_channel_is_refused_with_WrongChannel()
    {
        var error = Assert.IsType<WrongChannel>(StreamingChannels.AcceptVoucher(_p.OpenStreaming(), _p.Voucher(1, 10, channel: ChannelId.Of("ch-2")), Now).Error);
        Assert.Equal(ChannelId.Of("ch-2"), error.Actual);
    }

    [Fact]
    public void A_voucher_on_a_closed_channel_is_refused_with_ChannelNotOpen()
    {
        var closed = StreamingChannels.RequestClose(Paid(100), _p.Close(PayeeId, _p.PayeeKey), Now).Value;
        var error = Assert.IsType<ChannelNotOpen>(StreamingChannels.AcceptVoucher(closed, _p.Voucher(2, 200), Now).Error);
        Assert.Equal(ChannelStatus.Closed, error.Status);
    }

    [Fact]
    public void A_voucher_after_the_challenge_deadline_is_refused_with_ChallengeWindowOver()
    {
        var closing = StreamingChannels.RequestClose(Paid(100), _p.Close(PayerId, _p.PayerKey), Now).Value;
        Assert.IsType<ChallengeWindowOver>(StreamingChannels.AcceptVoucher(closing, _p.Voucher(2, 200), At(60_000)).Error);
    }

    // Opening

    [Fact]
    public void A_zero_deposit_is_refused_with_ZeroAmount()
    {
        Assert.IsType<ZeroAmount>(StreamingChannels.Open(_p.StreamingTerms(deposit: 0)).Error);
    }

    [Fact]
    public void A_negative_deposit_is_refused_with_NegativeAmount()
    {
        Assert.IsType<NegativeAmount>(StreamingChannels.Open(_p.StreamingTerms(deposit: -1)).Error);
    }

    [Fact]
    public void A_payer_paying_itself_is_refused_with_SamePartyOnBothSides()
    {
        var terms = _p.StreamingTerms() with { Payee = new ChannelParty(PayerId, _p.PayeeKey.PublicKey) };
        Assert.IsType<SamePartyOnBothSides>(StreamingChannels.Open(terms).Error);
    }

    [Fact]
    public void A_negative_challenge_window_is_refused_with_MalformedValue()
    {
        Assert.IsType<MalformedValue>(StreamingChannels.Open(_p.StreamingTerms(windowMs: -1)).Error);
    }

    [Fact]
    public void Duplex_deposits_that_overflow_together_are_refused_with_AmountOverflow()
    {
        Assert.IsType<AmountOverflow>(DuplexChannels.Open(_p.DuplexTerms(long.MaxValue, 1)).Error);
    }

    // Closing

    [Fact]
    public void A_close_by_someone_who_is_not_a_party_is_refused_with_NotAParty()
    {
        var result = StreamingChannels.RequestClose(Paid(100), _p.Close(PartyId.Of("mallory"), _p.StrangerKey), Now);
        Assert.Equal("mallory", Assert.IsType<NotAParty>(result.Error).Signer);
    }

    [Fact]
    public void A_close_in_the_payees_name_signed_by_the_payer_is_refused_with_InvalidSignature()
    {
        Assert.IsType<InvalidSignature>(StreamingChannels.RequestClose(Paid(100), _p.Close(PayeeId, _p.PayerKey), Now).Error);
    }

    [Fact]
    public void Finalizing_before_the_deadline_is_refused_with_ChallengeWindowStillOpen()
    {
        var closing = StreamingChannels.RequestClose(Paid(100), _p.Close(PayerId, _p.PayerKey), Now).Value;
        var error = Assert.IsType<ChallengeWindowStillOpen>(StreamingChannels.FinalizeClose(closing, At(59_999)).Error);
        Assert.Equal(At(60_000), error.Deadline);
    }

    [Fact]
    public void Closing_a_closed_channel_again_is_refused_with_ChannelNotOpen()
    {
        var closed = StreamingChannels.RequestClose(Paid(100), _p.Close(PayeeId, _p.PayeeKey), Now).Value;
        Assert.IsType<ChannelNotOpen>(StreamingChannels.RequestClose(closed, _p.Close(PayeeId, _p.PayeeKey), Now).Error);
    }

    // Duplex

    [Fact]
    public void A_duplex_state_signed_by_only_one_party_is_refused_with_InvalidSignature()
    {
        var state = _p.State(1, 400, 600, signerB: _p.StrangerKey);
        var error = Assert.IsType<InvalidSignature>(DuplexChannels.Update(_p.OpenDuplex(), state, Now).Error);
        Assert.Equal(PayeeId.Value, error.Signer);
    }

    [Fact]
    public void A_duplex_state_with_the_signatures_swapped_is_refused_with_InvalidSignature()
    {
        var state = _p.State(1, 400, 600, signerA: _p.PayeeKey, signerB: _p.PayerKey);
        Assert.IsType<InvalidSignature>(DuplexChannels.Update(_p.OpenDuplex(), state, Now).Error);
    }

    [Fact]
    public void Duplex_balances_that_do_not_sum_to_the_deposits_are_refused_with_BalancesDoNotMatchDeposits()
    {
        var error = Assert.IsType<BalancesDoNotMatchDeposits>(DuplexChannels.Update(_p.OpenDuplex(), _p.State(1, 400, 700), Now).Error);
        Assert.Equal((400L, 700L, 1_000L), (error.BalanceA, error.BalanceB, error.TotalDeposit));
    }

    [Fact]
    public void A_negative_duplex_balance_is_refused_with_NegativeAmount()
    {
        Assert.IsType<NegativeAmount>(DuplexChannels.Update(_p.OpenDuplex(), _p.State(1, -100, 1_100), Now).Error);
    }

    [Fact]
    public void A_stale_duplex_version_during_the_challenge_is_refused_with_StateNotNewer()
    {
        var channel = DuplexChannels.Update(_p.OpenDuplex(), _p.State(5, 300, 700), Now).Value;
        var closing = DuplexChannels.RequestClose(channel, _p.Close(PayerId, _p.PayerKey), Now).Value;
        var error = Assert.IsType<StateNotNewer>(DuplexChannels.Update(closing, _p.State(4, 900, 100), At(1_000)).Error);
        Assert.Equal((5UL, 4UL), (error.CurrentVersion, error.OfferedVersion));
    }

    [Fact]
    public void A_final_state_sent_as_an_update_is_refused_with_FinalStateNotUpdatable()
    {
        Assert.IsType<FinalStateNotUpdatable>(DuplexChannels.Update(_p.OpenDuplex(), _p.State(1, 400, 600, isFinal: true), Now).Error);
    }

    [Fact]
    public void A_cooperative_close_with_a_non_final_state_is_refused_with_FinalStateRequired()
    {
        Assert.IsType<FinalStateRequired>(DuplexChannels.CloseCooperatively(_p.OpenDuplex(), _p.State(1, 400, 600), Now).Error);
    }

    [Fact]
    public void Duplex_deposits_in_two_currencies_are_refused_with_CurrencyMismatch()
    {
        var terms = _p.DuplexTerms() with { DepositB = new Money(500, Currency.Usd) };
        Assert.IsType<CurrencyMismatch>(DuplexChannels.Open(terms).Error);
    }

    // Meter readings and tolls

    [Fact]
    public void A_meter_register_going_backwards_is_refused_with_RegisterWentBackwards()
    {
        using var meterKey = DeviceKeyPair.Generate();
        var meter = DeviceId.Of("meter-1");
        var first = MeterReadings.Accept(Reading(meterKey, meter, 1, 5_000), Network, meter, meterKey.PublicKey, null).Value;
        var error = Assert.IsType<RegisterWentBackwards>(MeterReadings.Accept(Reading(meterKey, meter, 2, 4_999), Network, meter, meterKey.PublicKey, first).Error);
        Assert.Equal((5_000L, 4_999L), (error.LastWh, error.OfferedWh));
    }

    [Fact]
    public void A_replayed_meter_reading_is_refused_with_ReadingNotNewer()
    {
        using var meterKey = DeviceKeyPair.Generate();
        var meter = DeviceId.Of("meter-1");
        var reading = Reading(meterKey, meter, 1, 5_000);
        var first = MeterReadings.Accept(reading, Network, meter, meterKey.PublicKey, null).Value;
        Assert.IsType<ReadingNotNewer>(MeterReadings.Accept(reading, Network, meter, meterKey.PublicKey, first).Error);
    }

    [Fact]
    public void A_reading_signed_by_another_meter_is_refused_with_InvalidSignature()
    {
        using var meterKey = DeviceKeyPair.Generate();
        using var otherMeterKey = DeviceKeyPair.Generate();
        var meter = DeviceId.Of("meter-1");
        Assert.IsType<InvalidSignature>(MeterReadings.Accept(Reading(otherMeterKey, meter, 1, 10), Network, meter, meterKey.PublicKey, null).Error);
    }

    [Fact]
    public void A_reading_naming_another_meter_is_refused_with_ReadingFromWrongMeter()
    {
        using var meterKey = DeviceKeyPair.Generate();
        var error = Assert.IsType<ReadingFromWrongMeter>(MeterReadings.Accept(Reading(meterKey, DeviceId.Of("meter-2"), 1, 10), Network,
            DeviceId.Of("meter-1"), meterKey.PublicKey, null).Error);
        Assert.Equal(DeviceId.Of("meter-2"), error.Actual);
    }

    [Fact]
    public void A_toll_request_for_another_vehicle_is_refused_with_TollRequestMismatch()
    {
        using var gantryKey = DeviceKeyPair.Generate();
        var request = Signed<TollRequest>.Sign(new TollRequest(Network, DeviceId.Of("gantry-1"), DeviceId.Of("vehicle-2"), SegmentId.Of("a1-km12"), Now, Eur(150)), gantryKey);
        var error = Assert.IsType<TollRequestMismatch>(TollRequests.Verify(request, Network, DeviceId.Of("vehicle-1"), gantryKey.PublicKey, Eur(500)).Error);
        Assert.Equal("vehicle", error.Field);
    }

    [Fact]
    public void A_toll_price_above_the_vehicles_maximum_is_refused_with_TollRequestMismatch()
    {
        using var gantryKey = DeviceKeyPair.Generate();
        var request = Signed<TollRequest>.Sign(new TollRequest(Network, DeviceId.Of("gantry-1"), DeviceId.Of("vehicle-1"), SegmentId.Of("a1-km12"), Now, Eur(501)), gantryKey);
        Assert.Equal("price", Assert.IsType<TollRequestMismatch>(TollRequests.Verify(request, Network, DeviceId.Of("vehicle-1"), gantryKey.PublicKey, Eur(500)).Error).Field);
    }

    [Fact]
    public void A_forged_toll_request_is_refused_with_InvalidSignature()
    {
        using var gantryKey = DeviceKeyPair.Generate();
        var request = Signed<TollRequest>.Sign(new TollRequest(Network, DeviceId.Of("gantry-1"), DeviceId.Of("vehicle-1"), SegmentId.Of("a1-km12"), Now, Eur(150)), _p.StrangerKey);
        Assert.IsType<InvalidSignature>(TollRequests.Verify(request, Network, DeviceId.Of("vehicle-1"), gantryKey.PublicKey, Eur(500)).Error);
    }

    [Fact]
    public void An_endorsement_signed_by_another_operator_key_is_refused_with_InvalidSignature()
    {
        var identity = DeviceIdentity.Endorse(Network, OperatorId.Of("cpo-1"), _p.StrangerKey, DeviceId.Of("vehicle-1"), DeviceRole.Vehicle, _p.PayerKey.PublicKey);
        Assert.IsType<InvalidSignature>(DeviceIdentity.Verify(identity.Endorsement, Network, OperatorId.Of("cpo-1"), _p.PayeeKey.PublicKey).Error);
    }

    [Fact]
    public void An_endorsement_for_another_network_is_refused_with_WrongNetwork()
    {
        var identity = DeviceIdentity.Endorse(NetworkId.Of("other-net"), OperatorId.Of("cpo-1"), _p.PayeeKey, DeviceId.Of("vehicle-1"), DeviceRole.Vehicle, _p.PayerKey.PublicKey);
        Assert.IsType<WrongNetwork>(DeviceIdentity.Verify(identity.Endorsement, Network, OperatorId.Of("cpo-1"), _p.PayeeKey.PublicKey).Error);
    }

    // Arithmetic

    [Fact]
    public void Adding_money_past_long_MaxValue_is_refused_with_AmountOverflow()
    {
        var error = Assert.IsType<AmountOverflow>(Eur(long.MaxValue).Add(Eur(1)).Error);
        Assert.Equal((long.MaxValue, 1L), (error.Left, error.Right));
    }

    [Fact]
    public void Subtracting_money_past_long_MinValue_is_refused_with_AmountOverflow()
    {
        Assert.IsType<AmountOverflow>(Eur(long.MinValue).Subtract(Eur(1)).Error);
    }

    [Fact]
    public void Pricing_energy_that_overflows_is_refused_with_AmountOverflow()
    {
        Assert.IsType<AmountOverflow>(new EnergyWh(long.MaxValue).PriceAt(new Tariff(Eur(1_000_000))).Error);
    }

    [Fact]
    public void A_timestamp_plus_a_window_that_overflows_is_refused_with_AmountOverflow()
    {
        Assert.IsType<AmountOverflow>(new Timestamp(long.MaxValue).Plus(new DurationMs(1)).Error);
    }

    private static Signed<MeterReading> Reading(DeviceKeyPair key, DeviceId meter, ulong sequence, long registerWh) =>
        Signed<MeterReading>.Sign(new MeterReading(Network, meter, sequence, At((long)sequence * 1_000), new EnergyWh(registerWh)), key);
}
