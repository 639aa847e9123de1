using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>The canonical encoding: one form per value, and every malformed input refused by name.</summary>
public sealed class EncodingTests : IDisposable
{
    private readonly TestParties _p = new();

    public void Dispose() => _p.Dispose();

    [Fact]
    public void Every_kind_round_trips_byte_for_byte()
    {
        using var key = DeviceKeyPair.Generate();
        AssertRoundTrip(_p.Voucher(7, 1234));
        AssertRoundTrip(_p.Close(PayeeId, _p.PayeeKey));
        AssertRoundTrip(_p.State(3, 100, 900, isFinal: true));
        AssertRoundTrip(Signed<MeterReading>.Sign(new MeterReading(Network, DeviceId.Of("meter-1"), 9, Now, new EnergyWh(42_000)), key));
        AssertRoundTrip(Signed<TollRequest>.Sign(new TollRequest(Network, DeviceId.Of("gantry-1"), DeviceId.Of("vehicle-1"), SegmentId.Of("a1-km12"), Now, Eur(150)), key));
        AssertRoundTrip(DeviceIdentity.Endorse(Network, OperatorId.Of("cpo-1"), key, DeviceId.Of("meter-1"), DeviceRole.Meter, _p.PayerKey.PublicKey).Endorsement);
        AssertRoundTrip(Signed<Revocation>.Sign(new Revocation(Network, OperatorId.Of("cpo-1"), DeviceId.Of("meter-1"), Now), key));
        AssertRoundTrip(Signed<StreamingOpening>.Sign(new StreamingOpening(Network, Channel, PayerId, PayeeId, Eur(5_000), DurationMs.FromSeconds(30)), key));
        AssertRoundTrip(Signed<AuthenticationChallenge>.Sign(new AuthenticationChallenge(Network, DeviceId.Of("vehicle-1"), new byte[32], Now), key));
    }

    private static void AssertRoundTrip<T>(Signed<T> signed) where T : ISignable<T>
    {
        var decoded = Signed<T>.Decode(signed.Wire).Value;
        Assert.Equal(signed, decoded);
        Assert.Equal(signed.Body.ToArray(), Signed<T>.EncodeBody(decoded.Payload));
    }

    [Fact]
    public void Every_truncation_of_a_voucher_is_refused_by_name_and_never_throws()
    {
        var wire = _p.Voucher(1, 100).ToArray();
        for (var length = 0; length < wire.Length; length++)
        {
            var result = Signed<Voucher>.Decode(wire.AsSpan(0, length));
            Assert.False(result.IsOk, $"a prefix of {length} bytes decoded");
            Assert.True(result.Error is Truncated or LengthOutOfBounds or NonCanonicalEncoding, $"{length}: {result.Error}");
        }
    }

    [Fact]
    public void Trailing_bytes_are_refused_with_TrailingBytes()
    {
        var wire = _p.Voucher(1, 100).ToArray().Append((byte)0).ToArray();
        Assert.Equal(1, Assert.IsType<TrailingBytes>(Signed<Voucher>.Decode(wire).Error).Count);
    }

    [Fact]
    public void An_oversized_input_is_refused_with_EncodingTooLarge()
    {
        Assert.IsType<EncodingTooLarge>(Signed<Voucher>.Decode(new byte[4096]).Error);
    }

    [Fact]
    public void A_bad_magic_is_refused_with_NotAnEnergyObject()
    {
        var wire = _p.Voucher(1, 100).ToArray();
        wire[0] = (byte)'X';
        Assert.IsType<NotAnEnergyObject>(Signed<Voucher>.Decode(wire).Error);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x05)]
    [InlineData(0x0F)]
    [InlineData(0xFF)]
    public void An_unknown_or_retired_kind_tag_is_refused_with_UnknownKind(byte tag)
    {
        var wire = _p.Voucher(1, 100).ToArray();
        wire[2] = tag;
        Assert.Equal(tag, Assert.IsType<UnknownKind>(Signed<Voucher>.Decode(wire).Error).Tag);
    }

    [Fact]
    public void A_voucher_decoded_as_a_meter_reading_is_refused_with_WrongKind()
    {
        var error = Assert.IsType<WrongKind>(Signed<MeterReading>.Decode(_p.Voucher(1, 100).Wire).Error);
        Assert.Equal((ObjectKind.MeterReading, ObjectKind.Voucher), (error.Expected, error.Actual));
    }

    [Fact]
    public void An_unknown_format_version_is_refused_with_UnsupportedVersion()
    {
        var wire = _p.Voucher(1, 100).ToArray();
        wire[3] = 2;
        Assert.Equal(2, Assert.IsType<UnsupportedVersion>(Signed<Voucher>.Decode(wire).Error).Version);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void An_identifier_length_outside_1_to_64_is_refused_with_LengthOutOfBounds(byte length)
    {
        var wire = _p.Voucher(1, 100).ToArray();
        wire[4] = length; // the network id's length byte
        Assert.IsType<LengthOutOfBounds>(Signed<Voucher>.Decode(wire).Error);
    }

    [Fact]
    public void An_identifier_with_upper_case_is_refused_with_NonCanonicalEncoding()
    {
        var wire = _p.Voucher(1, 100).ToArray();
        wire[5] = (byte)'E'; // "energy-test" -> "Energy-test"
        Assert.Equal("network", Assert.IsType<NonCanonicalEncoding>(Signed<Voucher>.Decode(wire).Error).Field);
    }

    [Fact]
    public void A_boolean_byte_other_than_0_or_1_is_refused_with_NonCanonicalEncoding()
    {
        var state = _p.State(1, 400, 600);
        var wire = state.ToArray();
        wire[state.BodyLength - 1] = 2;
        Assert.Equal("isFinal", Assert.IsType<NonCanonicalEncoding>(Signed<DuplexState>.Decode(wire).Error).Field);
    }

    [Fact]
    public void Lower_case_currency_bytes_are_refused_with_NonCanonicalEncoding()
    {
        var voucher = _p.Voucher(1, 100);
        var wire = voucher.ToArray();
        wire[voucher.BodyLength - 11] = (byte)'e'; // the first currency letter, before the eight amount bytes
        Assert.Equal("cumulative", Assert.IsType<NonCanonicalEncoding>(Signed<Voucher>.Decode(wire).Error).Field);
    }

    [Fact]
    public void An_undefined_role_in_an_endorsement_is_refused_with_NonCanonicalEncoding()
    {
        var endorsement = DeviceIdentity.Endorse(Network, OperatorId.Of("cpo-1"), _p.PayeeKey, DeviceId.Of("meter-1"), DeviceRole.Meter, _p.PayerKey.PublicKey).Endorsement;
        var wire = endorsement.ToArray();
        wire[endorsement.BodyLength - 33] = 9;
        Assert.Equal("role", Assert.IsType<NonCanonicalEncoding>(Signed<Endorsement>.Decode(wire).Error).Field);
    }

    [Fact]
    public void An_endorsement_of_a_small_order_key_is_refused_with_WeakPublicKey()
    {
        var endorsement = DeviceIdentity.Endorse(Network, OperatorId.Of("cpo-1"), _p.PayeeKey, DeviceId.Of("meter-1"), DeviceRole.Meter, _p.PayerKey.PublicKey).Endorsement;
        var wire = endorsement.ToArray();
        var keyOffset = endorsement.BodyLength - 32;
        Array.Clear(wire, keyOffset, 32);
        wire[keyOffset] = 1; // the identity point
        Assert.IsType<WeakPublicKey>(Signed<Endorsement>.Decode(wire).Error);
    }
}
