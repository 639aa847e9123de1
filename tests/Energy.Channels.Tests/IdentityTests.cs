using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>Device keys and operators' endorsements of them.</summary>
public class IdentityTests
{
    // Keys

    [Fact]
    public void A_key_survives_export_and_import_of_its_seed()
    {
        using var key = DeviceKeyPair.Generate();
        using var again = DeviceKeyPair.FromSeed(key.ExportSeed()).Value;

        Assert.Equal(key.PublicKey, again.PublicKey);
        Assert.True(key.PublicKey.Verifies([1, 2, 3], again.Sign([1, 2, 3])));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void A_seed_of_the_wrong_length_is_refused_with_MalformedValue(int length)
    {
        var error = Assert.IsType<MalformedValue>(DeviceKeyPair.FromSeed(new byte[length]).Error);
        Assert.Equal(("private key seed", $"{length} bytes"), (error.Field, error.Value));
    }

    [Fact]
    public void A_signature_verifies_only_for_its_own_message_and_key()
    {
        var signature = Keys.Payer.Sign([1, 2, 3]);
        Assert.Equal(Ed25519Signatures.SignatureBytes, signature.Length);
        Assert.True(Keys.Payer.PublicKey.Verifies([1, 2, 3], signature));
        Assert.False(Keys.Payer.PublicKey.Verifies([1, 2, 4], signature));
        Assert.False(Keys.Payee.PublicKey.Verifies([1, 2, 3], signature));
        Assert.False(Keys.Payer.PublicKey.Verifies([1, 2, 3], signature.AsSpan(0, 63)));
    }

    [Fact]
    public void A_public_key_round_trips_through_lower_case_hex()
    {
        var hex = Keys.Payer.PublicKey.Hex;
        Assert.Equal(64, hex.Length);
        Assert.Equal(hex.ToLowerInvariant(), hex);
        Assert.Equal(Keys.Payer.PublicKey, DevicePublicKey.FromHex(hex).Value);
        Assert.Equal(Keys.Payer.PublicKey, DevicePublicKey.FromHex(hex.ToUpperInvariant()).Value);
        Assert.Equal(Keys.Payer.PublicKey, DevicePublicKey.FromRaw(Keys.Payer.PublicKey.Raw).Value);
        Assert.NotEqual(Keys.Payer.PublicKey, Keys.Payee.PublicKey);
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")]
    [InlineData("0x00000000000000000000000000000000000000000000000000000000000000")]
    public void A_public_key_that_is_not_64_hex_digits_is_refused_with_MalformedValue(string hex)
    {
        var error = Assert.IsType<MalformedValue>(DevicePublicKey.FromHex(hex).Error);
        Assert.Equal(("public key", hex), (error.Field, error.Value));
    }

    [Fact]
    public void A_missing_public_key_is_refused_with_MalformedValue()
    {
        Assert.IsType<MalformedValue>(DevicePublicKey.FromHex(null).Error);
    }

    // Endorsements

    [Fact]
    public void An_endorsement_names_the_device_its_role_and_its_key_and_verifies_with_the_operators_key()
    {
        var identity = DeviceIdentity.Endorse(Network, OperatorName, Keys.Operator, MeterId, DeviceRole.Meter, Keys.Meter.PublicKey);

        Assert.Equal((MeterId, OperatorName, DeviceRole.Meter), (identity.Device, identity.Operator, identity.Role));
        Assert.Equal(Keys.Meter.PublicKey, identity.Key);
        Assert.True(identity.Endorsement.IsSignedBy(Keys.Operator.PublicKey));

        var verified = DeviceIdentity.Verify(identity.Endorsement, Network, OperatorName, Keys.Operator.PublicKey).Value;
        Assert.Equal(identity, verified);
    }

    [Theory]
    [InlineData(DeviceRole.Vehicle)]
    [InlineData(DeviceRole.Charger)]
    [InlineData(DeviceRole.Meter)]
    [InlineData(DeviceRole.Gantry)]
    public void Every_role_is_endorsed_and_survives_the_wire(DeviceRole role)
    {
        var endorsement = Endorsement(role);
        var decoded = Signed<Endorsement>.Decode(endorsement.Wire).Value;
        Assert.Equal(role, decoded.Payload.Role);
        Assert.Equal(role, DeviceIdentity.Verify(decoded, Network, OperatorName, Keys.Operator.PublicKey).Value.Role);
    }

    [Fact]
    public void An_endorsement_signed_by_another_operator_key_is_refused_with_InvalidSignature()
    {
        var forged = Endorsement(operatorKey: Keys.OtherOperator);
        var error = Assert.IsType<InvalidSignature>(DeviceIdentity.Verify(forged, Network, OperatorName, Keys.Operator.PublicKey).Error);
        Assert.Equal((ChannelId.None, ObjectKind.Endorsement, OperatorName.Value), (error.ChannelId, error.Kind, error.Signer));
    }

    [Fact]
    public void An_endorsement_self_signed_by_the_device_is_refused_with_InvalidSignature()
    {
        var selfSigned = Endorsement(operatorKey: Keys.Meter);
        Assert.IsType<InvalidSignature>(DeviceIdentity.Verify(selfSigned, Network, OperatorName, Keys.Operator.PublicKey).Error);
    }

    [Fact]
    public void An_endorsement_for_another_network_is_refused_with_WrongNetwork()
    {
        var error = Assert.IsType<WrongNetwork>(DeviceIdentity.Verify(Endorsement(network: OtherNetwork), Network, OperatorName, Keys.Operator.PublicKey).Error);
        Assert.Equal((Network, OtherNetwork), (error.Expected, error.Actual));
    }

    [Fact]
    public void An_endorsement_by_another_operator_is_refused_with_EndorsementMismatch()
    {
        var other = OperatorId.Of("cpo-2");
        var error = Assert.IsType<EndorsementMismatch>(DeviceIdentity.Verify(Endorsement(), Network, other, Keys.Operator.PublicKey).Error);
        Assert.Equal((MeterId, "operator", "cpo-2", OperatorName.Value), (error.DeviceId, error.Field, error.Expected, error.Actual));
    }

    [Fact]
    public void An_endorsement_whose_device_key_was_swapped_no_longer_verifies()
    {
        var endorsement = Endorsement();
        var wire = endorsement.ToArray();
        Keys.Stranger.PublicKey.Raw.CopyTo(wire.AsSpan(endorsement.BodyLength - 32));
        var swapped = Signed<Endorsement>.Decode(wire).Value;

        Assert.Equal(Keys.Stranger.PublicKey, swapped.Payload.DeviceKey);
        Assert.IsType<InvalidSignature>(DeviceIdentity.Verify(swapped, Network, OperatorName, Keys.Operator.PublicKey).Error);
    }

    [Fact]
    public void An_endorsement_whose_role_was_changed_no_longer_verifies()
    {
        var endorsement = Endorsement(DeviceRole.Meter);
        var wire = Bytes.Set(endorsement.Wire, endorsement.BodyLength - 33, (byte)DeviceRole.Charger);
        var changed = Signed<Endorsement>.Decode(wire).Value;

        Assert.Equal(DeviceRole.Charger, changed.Payload.Role);
        Assert.IsType<InvalidSignature>(DeviceIdentity.Verify(changed, Network, OperatorName, Keys.Operator.PublicKey).Error);
    }

    // Authentication challenges and revocations

    [Fact]
    public void A_signed_authentication_challenge_proves_the_device_holds_its_key()
    {
        var nonce = Enumerable.Range(1, AuthenticationChallenge.NonceBytes).Select(i => (byte)i).ToArray();
        var signed = Signed<AuthenticationChallenge>.Sign(new AuthenticationChallenge(Network, PartyId.From(VehicleId), nonce, Now), Keys.Payer);
        var decoded = Signed<AuthenticationChallenge>.Decode(signed.Wire).Value;

        Assert.True(decoded.IsSignedBy(Keys.Payer.PublicKey));
        Assert.False(decoded.IsSignedBy(Keys.Stranger.PublicKey));
        Assert.Equal(nonce, decoded.Payload.Nonce);
    }

    [Fact]
    public void A_challenge_with_a_nonce_of_the_wrong_length_cannot_be_signed()
    {
        Assert.Throws<ArgumentException>(() => Signed<AuthenticationChallenge>.Sign(new AuthenticationChallenge(Network, PartyId.From(VehicleId), new byte[31], Now), Keys.Payer));
    }

    [Fact]
    public void A_revocation_verifies_with_the_operators_key_only()
    {
        var revocation = Signed<Revocation>.Sign(new Revocation(Network, OperatorName, MeterId, Now), Keys.Operator);
        Assert.True(revocation.IsSignedBy(Keys.Operator.PublicKey));
        Assert.False(revocation.IsSignedBy(Keys.OtherOperator.PublicKey));
    }
}
