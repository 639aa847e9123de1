using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>The canonical encoding: one form per value, the documented layout, and round trips for every kind.</summary>
public class EncodingTests
{
    private static readonly byte[] Hash = Enumerable.Range(0, 32).Select(i => (byte)(255 - i)).ToArray();

    /// <summary>Decodes the wire form and checks: same payload, same bytes, and re-encoding gives the same body.</summary>
    internal static Signed<T> AssertRoundTrip<T>(Signed<T> signed) where T : ISignable<T>
    {
        var decoded = Signed<T>.Decode(signed.Wire).Value;
        Assert.Equal(signed.Wire.ToArray(), decoded.Wire.ToArray());
        Assert.Equal(signed.BodyLength, decoded.BodyLength);
        Assert.Equal(signed.Body.ToArray(), Signed<T>.EncodeBody(decoded.Payload));
        Assert.Equal(signed, decoded);
        for (var i = 0; i < T.SignatureCount; i++) Assert.Equal(signed.SignatureAt(i).ToArray(), decoded.SignatureAt(i).ToArray());
        return decoded;
    }

    [Fact]
    public void A_voucher_round_trips()
    {
        var signed = Voucher(7, 1_234);
        Assert.Equal(signed.Payload, AssertRoundTrip(signed).Payload);
        Assert.True(Signed<Voucher>.Decode(signed.Wire).Value.IsSignedBy(Keys.Payer.PublicKey));
    }

    [Fact]
    public void A_close_request_round_trips()
    {
        var signed = Close(PayeeId, Keys.Payee);
        Assert.Equal(signed.Payload, AssertRoundTrip(signed).Payload);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_duplex_state_round_trips_with_both_signatures(bool isFinal)
    {
        var signed = State(3, 100, 900, isFinal);
        var decoded = AssertRoundTrip(signed);
        Assert.Equal(signed.Payload, decoded.Payload);
        Assert.True(decoded.IsSignedBy(Keys.Payer.PublicKey, 0));
        Assert.True(decoded.IsSignedBy(Keys.Payee.PublicKey, 1));
    }

    [Fact]
    public void A_meter_reading_round_trips()
    {
        var signed = Reading(9, 42_000);
        Assert.Equal(signed.Payload, AssertRoundTrip(signed).Payload);
    }

    [Fact]
    public void A_toll_request_round_trips()
    {
        var signed = Toll(150);
        Assert.Equal(signed.Payload, AssertRoundTrip(signed).Payload);
    }

    [Fact]
    public void An_endorsement_round_trips()
    {
        var signed = Endorsement(DeviceRole.Gantry);
        Assert.Equal(signed.Payload, AssertRoundTrip(signed).Payload);
    }

    [Fact]
    public void A_revocation_round_trips()
    {
        var signed = Signed<Revocation>.Sign(new Revocation(Network, OperatorName, MeterId, Now), Keys.Operator);
        Assert.Equal(signed.Payload, AssertRoundTrip(signed).Payload);
    }

    [Fact]
    public void A_streaming_opening_round_trips()
    {
        var signed = Signed<StreamingOpening>.Sign(new StreamingOpening(Network, Channel, PayerId, PayeeId, Eur(5_000), DurationMs.FromSeconds(30)), Keys.Payer);
        Assert.Equal(signed.Payload, AssertRoundTrip(signed).Payload);
    }

    [Fact]
    public void A_duplex_opening_round_trips_with_both_signatures()
    {
        var signed = CoSign(new DuplexOpening(Network, Channel, PayerId, PayeeId, Eur(500), Eur(700), DurationMs.FromMinutes(1)), Keys.Payer, Keys.Payee);
        var decoded = AssertRoundTrip(signed);
        Assert.Equal(signed.Payload, decoded.Payload);
        Assert.True(decoded.IsSignedBy(Keys.Payee.PublicKey, 1));
    }

    [Fact]
    public void A_funding_order_round_trips()
    {
        var signed = Signed<FundingOrder>.Sign(new FundingOrder(Network, OperatorName, PayerId, Eur(10_000), "req-1"), Keys.Operator);
        Assert.Equal(signed.Payload, AssertRoundTrip(signed).Payload);
    }

    [Fact]
    public void A_withdrawal_order_round_trips()
    {
        var signed = Signed<WithdrawalOrder>.Sign(new WithdrawalOrder(Network, PayerId, Eur(2_500), "req-2"), Keys.Payer);
        Assert.Equal(signed.Payload, AssertRoundTrip(signed).Payload);
    }

    [Fact]
    public void An_authentication_challenge_round_trips_field_by_field()
    {
        var challenge = new AuthenticationChallenge(Network, PartyId.From(VehicleId), Hash, Now);
        var decoded = AssertRoundTrip(Signed<AuthenticationChallenge>.Sign(challenge, Keys.Payer)).Payload;
        Assert.Equal((challenge.Network, challenge.Party, challenge.IssuedAt), (decoded.Network, decoded.Party, decoded.IssuedAt));
        Assert.Equal(challenge.Nonce, decoded.Nonce);
    }

    [Fact]
    public void A_settlement_block_header_round_trips_field_by_field()
    {
        var header = new SettlementBlockHeader(Network, "shard-3", 12, Hash, Hash.Reverse().ToArray(), Now);
        var decoded = AssertRoundTrip(Signed<SettlementBlockHeader>.Sign(header, Keys.Operator)).Payload;
        Assert.Equal((header.Network, header.Shard, header.Height, header.CommittedAt), (decoded.Network, decoded.Shard, decoded.Height, decoded.CommittedAt));
        Assert.Equal(header.PreviousHash, decoded.PreviousHash);
        Assert.Equal(header.EntriesHash, decoded.EntriesHash);
    }

    /// <summary>decode(encode(x)) == x must hold for every kind; a record with a byte[] field compares the array by reference.</summary>
    [Fact]
    public void A_decoded_authentication_challenge_equals_the_original()
    {
        var signed = Signed<AuthenticationChallenge>.Sign(new AuthenticationChallenge(Network, PartyId.From(VehicleId), Hash, Now), Keys.Payer);
        Assert.Equal(signed.Payload, Signed<AuthenticationChallenge>.Decode(signed.Wire).Value.Payload);
    }

    /// <summary>decode(encode(x)) == x must hold for every kind; a record with a byte[] field compares the array by reference.</summary>
    [Fact]
    public void A_decoded_settlement_block_header_equals_the_original()
    {
        var signed = Signed<SettlementBlockHeader>.Sign(new SettlementBlockHeader(Network, "shard-3", 12, Hash, Hash, Now), Keys.Operator);
        Assert.Equal(signed.Payload, Signed<SettlementBlockHeader>.Decode(signed.Wire).Value.Payload);
    }

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Every_kind_starts_with_the_magic_its_tag_the_format_version_and_the_network(string name)
    {
        var sample = Samples.Named(name);
        Assert.Equal((byte)'E', sample.Wire[0]);
        Assert.Equal((byte)'N', sample.Wire[1]);
        Assert.Equal((byte)sample.Kind, sample.Wire[2]);
        Assert.Equal(CanonicalWriter.FormatVersion, sample.Wire[3]);
        Assert.Equal(Network.Value.Length, sample.Wire[4]);
        Assert.Equal(Network.Value, System.Text.Encoding.ASCII.GetString(sample.Wire, 5, Network.Value.Length));
        Assert.Equal(sample.BodyLength + sample.SignatureCount * Ed25519Signatures.SignatureBytes + sample.FramingBytes, sample.Wire.Length);
    }

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Every_kind_decodes_back_to_the_same_bytes_and_verifies(string name)
    {
        var sample = Samples.Named(name);
        Assert.Equal(sample.Wire, sample.Decode(sample.Wire).Value);
        Assert.True(sample.VerifiesBySigners(sample.Wire));
    }

    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Every_kind_decoded_as_any_other_kind_is_refused_with_WrongKind(string name)
    {
        var sample = Samples.Named(name);
        foreach (var other in Samples.All.Where(other => other.Kind != sample.Kind))
        {
            var error = Assert.IsType<WrongKind>(other.Decode(sample.Wire).Error);
            Assert.Equal((other.Kind, sample.Kind), (error.Expected, error.Actual));
        }
    }

    [Fact]
    public void A_voucher_has_exactly_the_documented_layout()
    {
        var voucher = Signed<Voucher>.Sign(new Voucher(NetworkId.Of("n1"), ChannelId.Of("c"), 0x0102030405060708, Eur(-2), Eur(3),
            PaymentPurpose.ForTollPass(DeviceId.Of("g"), 0x0a)), Keys.Payer);
        byte[] expected =
        [
            (byte)'E', (byte)'N', 0x15, 0x02,              // magic, kind, format version
            2, (byte)'n', (byte)'1',                       // network id
            1, (byte)'c',                                  // channel id
            1, 2, 3, 4, 5, 6, 7, 8,                        // sequence, big-endian
            (byte)'E', (byte)'U', (byte)'R',               // currency
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, // cumulative, big-endian two's complement
            0, 0, 0, 0, 0, 0, 0, 3,                        // increment, in the cumulative's currency
            2, 1, (byte)'g',                               // purpose: a toll pass, its gantry
            0, 0, 0, 0, 0, 0, 0, 0x0a,                     // and the pass's number
        ];
        Assert.Equal(expected, voucher.Body.ToArray());
        Assert.Equal(expected.Length + 64, voucher.Wire.Length);
    }

    [Fact]
    public void A_duplex_state_ends_with_its_final_flag_then_two_signatures()
    {
        var final = State(1, 400, 600, isFinal: true);
        var open = State(1, 400, 600, isFinal: false);
        Assert.Equal(1, final.Body[^1]);
        Assert.Equal(0, open.Body[^1]);
        Assert.Equal(final.BodyLength + 128, final.Wire.Length);
    }

    [Fact]
    public void The_same_payload_always_encodes_to_the_same_body()
    {
        var payload = new Voucher(Network, Channel, 42, Eur(4_200), Eur(200), PaymentPurpose.ForSession("s-1").Unwrap());
        Assert.Equal(Signed<Voucher>.EncodeBody(payload), Signed<Voucher>.EncodeBody(payload with { }));
        Assert.Equal(Signed<Voucher>.Sign(payload, Keys.Payer).Body.ToArray(), Signed<Voucher>.EncodeBody(payload));
    }

    [Fact]
    public void Signing_a_two_signature_kind_alone_throws()
    {
        var state = new DuplexState(Network, Channel, 1, Eur(1), Eur(1), false);
        Assert.Throws<InvalidOperationException>(() => Signed<DuplexState>.Sign(state, Keys.Payer));
    }

    [Fact]
    public void Assembling_with_the_wrong_number_or_size_of_signatures_throws()
    {
        var state = new DuplexState(Network, Channel, 1, Eur(1), Eur(1), false);
        var signature = Keys.Payer.Sign(Signed<DuplexState>.EncodeBody(state));
        Assert.Throws<ArgumentException>(() => Signed<DuplexState>.Assemble(state, signature));
        Assert.Throws<ArgumentException>(() => Signed<DuplexState>.Assemble(state, signature, signature[..63]));
    }

    [Fact]
    public void An_invalid_identifier_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => Signed<Voucher>.EncodeBody(new Voucher(Network, new ChannelId("Upper"), 1, Eur(1), Eur(1), PaymentPurpose.None)));
    }

    [Fact]
    public void Signed_objects_are_equal_exactly_when_their_wire_forms_are()
    {
        var a = Voucher(1, 100);
        var b = Signed<Voucher>.Decode(a.Wire).Value;
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Voucher(1, 101));
        var copy = a.ToArray();
        copy[0] = 0;
        Assert.Equal((byte)'E', a.Wire[0]);
    }
}
