using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Properties;

/// <summary>
/// A signature covers exactly the canonical bytes: change any byte and the object fails to decode or no
/// longer verifies; the same payload under another channel, network or kind does not verify with the
/// original signature (though it would with a fresh one).
/// </summary>
public class SignatureBindingProperties
{
    private static readonly Gen<(int Position, byte Mask)> Flips =
        from position in Gen.Choose(0, 10_000) from mask in Gen.Choose(1, 255) select (position, (byte)mask);

    [Property(MaxTest = 300)]
    public Property Flipping_any_byte_of_any_kind_fails_decoding_or_verification() =>
        Prop.ForAll(Gens.AnySigned.ToArbitrary(), Flips.ToArbitrary(), (sample, flip) =>
        {
            Assert.True(sample.VerifiesBySigners(sample.Wire), "the unflipped object must verify");
            var index = flip.Position % sample.Wire.Length;
            var flipped = Bytes.Flip(sample.Wire, index, flip.Mask);
            var decoded = sample.Decode(flipped);
            Assert.False(decoded.IsOk && sample.VerifiesBySigners(flipped), $"{sample.Name}: byte {index} ^ 0x{flip.Mask:x2} still decodes and verifies");
        });

    /// <summary>Every byte and every single-bit flip of one object of each kind, exhaustively.</summary>
    [Theory]
    [MemberData(nameof(Samples.Names), MemberType = typeof(Samples))]
    public void Flipping_any_bit_of_any_byte_fails_decoding_or_verification(string name)
    {
        var sample = Samples.Named(name);
        for (var index = 0; index < sample.Wire.Length; index++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var flipped = Bytes.Flip(sample.Wire, index, (byte)(1 << bit));
                Assert.False(sample.Decode(flipped).IsOk && sample.VerifiesBySigners(flipped), $"{name}: byte {index} bit {bit} still verifies");
            }
        }
    }

    /// <summary>The network id sits in the header of every kind: put another one there, as re-encoding the payload with it would.</summary>
    private static byte[] WithNetwork(ReadOnlySpan<byte> body, NetworkId network)
    {
        var oldLength = body[4];
        return [.. body[..4], (byte)network.Value.Length, .. System.Text.Encoding.ASCII.GetBytes(network.Value), .. body[(5 + oldLength)..]];
    }

    private static readonly Gen<(KindSample Sample, NetworkId Network)> SampleAndNetwork =
        from sample in Gens.AnySigned from network in Gens.Network
        where network.Value != System.Text.Encoding.ASCII.GetString(sample.Wire, 5, sample.Wire[4])
        select (sample, network);

    [Property(MaxTest = 150)]
    public Property A_signature_does_not_verify_for_the_same_payload_on_another_network() =>
        Prop.ForAll(SampleAndNetwork.ToArbitrary(), pair =>
        {
            var (sample, network) = pair;
            var body = sample.Wire.AsSpan(0, sample.BodyLength);
            var moved = WithNetwork(body, network);
            var signatures = sample.Wire.AsSpan(sample.BodyLength);

            // Re-signed, the moved payload is a valid object on the other network...
            var resigned = sample.Decode([.. moved, .. signatures]);
            Assert.True(resigned.IsOk, resigned.Error?.ToString());
            // ...but no signature of the original verifies for it.
            Assert.False(sample.VerifiesBySigners([.. moved, .. signatures]), $"{sample.Name} signature carried over to network {network}");
        });

    [Fact]
    public void Splicing_the_network_is_the_same_as_encoding_the_payload_with_it()
    {
        var voucher = new Voucher(TestParties.Network, TestParties.Channel, 9, TestParties.Eur(99), TestParties.Eur(9), PaymentPurpose.ForSession("s-9").Unwrap());
        var spliced = WithNetwork(Signed<Voucher>.EncodeBody(voucher), TestParties.OtherNetwork);
        Assert.Equal(Signed<Voucher>.EncodeBody(voucher with { Network = TestParties.OtherNetwork }), spliced);
    }

    [Property(MaxTest = 150)]
    public Property A_signature_does_not_verify_for_the_same_payload_under_another_kind_tag() =>
        Prop.ForAll(Gens.AnySigned.ToArbitrary(), sample =>
        {
            var body = sample.Wire.AsSpan(0, sample.BodyLength).ToArray();
            foreach (var tag in Enumerable.Range(1, 0x0E).Select(t => (byte)t).Where(t => ObjectKinds.IsDefined(t) && t != (byte)sample.Kind))
            {
                var retagged = Bytes.Set(body, 2, tag);
                for (var i = 0; i < sample.SignatureCount; i++)
                {
                    var signature = sample.Wire.AsSpan(sample.BodyLength + i * Ed25519Signatures.SignatureBytes, Ed25519Signatures.SignatureBytes);
                    foreach (var key in Keys.Pool)
                        Assert.False(key.PublicKey.Verifies(retagged, signature), $"a {sample.Name} signature verified under tag 0x{tag:x2}");
                }
            }
        });

    private static readonly Gen<(Voucher Voucher, ChannelId Other)> VoucherAndChannel =
        from voucher in Gens.Voucher from other in Gens.Channel where other != voucher.ChannelId select (voucher, other);

    [Property(MaxTest = 100)]
    public Property A_voucher_signature_does_not_verify_for_another_channel() =>
        Prop.ForAll(VoucherAndChannel.ToArbitrary(), pair =>
        {
            var signed = Signed<Voucher>.Sign(pair.Voucher, Keys.Payer);
            var moved = pair.Voucher with { ChannelId = pair.Other };
            var forged = Signed<Voucher>.Assemble(moved, signed.SignatureAt(0).ToArray());
            Assert.False(forged.IsSignedBy(Keys.Payer.PublicKey));
            Assert.True(Signed<Voucher>.Sign(moved, Keys.Payer).IsSignedBy(Keys.Payer.PublicKey));
        });

    private static readonly Gen<(DuplexState State, ChannelId Other)> StateAndChannel =
        from state in Gens.DuplexState from other in Gens.Channel where other != state.ChannelId select (state, other);

    [Property(MaxTest = 100)]
    public Property A_duplex_state_signature_does_not_verify_for_another_channel() =>
        Prop.ForAll(StateAndChannel.ToArbitrary(), pair =>
        {
            var signed = TestParties.CoSign(pair.State, Keys.Payer, Keys.Payee);
            var forged = Signed<DuplexState>.Assemble(pair.State with { ChannelId = pair.Other }, signed.SignatureAt(0).ToArray(), signed.SignatureAt(1).ToArray());
            Assert.False(forged.IsSignedBy(Keys.Payer.PublicKey, 0));
            Assert.False(forged.IsSignedBy(Keys.Payee.PublicKey, 1));
        });

    private static readonly Gen<(CloseRequest Close, ChannelId Other)> CloseAndChannel =
        from close in Gens.CloseRequest from other in Gens.Channel where other != close.ChannelId select (close, other);

    [Property(MaxTest = 100)]
    public Property A_close_request_signature_does_not_verify_for_another_channel() =>
        Prop.ForAll(CloseAndChannel.ToArbitrary(), pair =>
        {
            var signed = Signed<CloseRequest>.Sign(pair.Close, Keys.Payer);
            var forged = Signed<CloseRequest>.Assemble(pair.Close with { ChannelId = pair.Other }, signed.SignatureAt(0).ToArray());
            Assert.False(forged.IsSignedBy(Keys.Payer.PublicKey));
        });

    /// <summary>
    /// A close request names its channel's kind inside the signed bytes: signed for a streaming channel, it
    /// never verifies for the duplex channel of the same id, nor the reverse.
    /// </summary>
    [Property(MaxTest = 100)]
    public Property A_close_request_signature_never_verifies_for_the_other_channel_kind() =>
        Prop.ForAll(Gens.CloseRequest.ToArbitrary(), close =>
        {
            var signed = Signed<CloseRequest>.Sign(close, Keys.Operator);
            var other = close with { ChannelKind = close.ChannelKind == ChannelKind.Streaming ? ChannelKind.Duplex : ChannelKind.Streaming };
            var forged = Signed<CloseRequest>.Assemble(other, signed.SignatureAt(0).ToArray());
            Assert.NotEqual(signed.Body.ToArray(), forged.Body.ToArray());
            Assert.False(forged.IsSignedBy(Keys.Operator.PublicKey));
        });

    /// <summary>A close request's signature never verifies as a revocation with the same fields: the kind tag is signed.</summary>
    [Property(MaxTest = 100)]
    public Property A_close_request_signature_never_verifies_as_the_revocation_with_the_same_fields() =>
        Prop.ForAll(Gens.CloseRequest.ToArbitrary(), generated =>
        {
            var close = generated with { Closer = PartyId.From(DeviceId.Of(generated.Closer.Name)) };
            var signed = Signed<CloseRequest>.Sign(close, Keys.Operator);
            var twin = new Revocation(close.Network, OperatorId.Of(close.ChannelId.Value), close.Closer.AsDevice(), close.RequestedAt);
            var twinBody = Signed<Revocation>.EncodeBody(twin);
            Assert.False(Keys.Operator.PublicKey.Verifies(twinBody, signed.SignatureAt(0)));
            var forged = Signed<Revocation>.Decode([.. twinBody, .. signed.SignatureAt(0)]).Value;
            Assert.False(forged.IsSignedBy(Keys.Operator.PublicKey));
        });

    /// <summary>A close request re-tagged as a revocation does not verify, and is refused outright as a settlement block.</summary>
    [Fact]
    public void A_signature_made_for_one_kind_is_refused_when_presented_as_another_in_the_channel_rules()
    {
        var close = Signed<CloseRequest>.Sign(new CloseRequest(TestParties.Network, ChannelKind.Streaming, TestParties.Channel, TestParties.PayerId, TestParties.Now), Keys.Payer);
        var retagged = Bytes.Set(close.Wire, 2, (byte)ObjectKind.Revocation);
        // The close's channel kind byte stands where a revocation's operator id begins: the bytes are refused, or decode and do not verify.
        var asRevocation = Signed<Revocation>.Decode(retagged);
        Assert.True(!asRevocation.IsOk || !asRevocation.Value.IsSignedBy(Keys.Payer.PublicKey));
        Assert.IsType<WrongKind>(Signed<SettlementBlockHeader>.Decode(close.Wire).Error);
    }
}
