using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>The network authority (k of n keys) and the admissions it signs.</summary>
public sealed class AuthorityTests
{
    private static readonly DeviceKeyPair[] AuthorityKeys = [Keys.Operator, Keys.OtherOperator, Keys.Gantry];
    private static readonly NetworkAuthority TwoOfThree = NetworkAuthority.Create(AuthorityKeys.Select(k => k.PublicKey).ToList(), 2).Unwrap();

    private static Admission Cpo(OperatorRoles roles = OperatorRoles.ChargePointOperator, long limit = 0, ulong version = 1) =>
        new(Network, OperatorName, roles, Keys.Payee.PublicKey, version, new Money(limit, Currency.Eur), Now);

    private static AuthorityApproved<Admission> Approve(Admission admission, params int[] indexes) =>
        AuthorityApproved<Admission>.Sign(admission, indexes.Select(i => ((byte)i, AuthorityKeys[i])).ToList());

    [Fact]
    public void An_admission_signed_by_the_threshold_of_authority_keys_verifies_and_round_trips()
    {
        var approved = Approve(Cpo(OperatorRoles.SettlementBank | OperatorRoles.FleetOwner, limit: 5_000, version: 3), 0, 2);
        var decoded = AuthorityApproved<Admission>.Decode(approved.ToArray()).Value;
        var admission = TwoOfThree.Verify(decoded, Network).Value;
        Assert.Equal((OperatorName, OperatorRoles.SettlementBank | OperatorRoles.FleetOwner, 3UL, 5_000L), (admission.Operator, admission.Roles, admission.Version, admission.IssuanceLimit.MinorUnits));
        Assert.Equal(approved.ToArray(), decoded.ToArray());
    }

    [Fact]
    public void Fewer_signatures_than_the_threshold_are_refused_with_AuthorityThresholdNotMet()
    {
        var one = AuthorityApproved<Admission>.Decode(Approve(Cpo(), 1).ToArray()).Value;
        Assert.IsType<AuthorityThresholdNotMet>(TwoOfThree.Verify(one, Network).Error);
    }

    [Fact]
    public void A_signature_by_a_key_outside_the_authority_or_over_other_terms_is_refused()
    {
        var forged = AuthorityApproved<Admission>.Sign(Cpo(), [(0, Keys.Stranger), (1, Keys.OtherOperator)]);
        Assert.IsType<InvalidSignature>(TwoOfThree.Verify(AuthorityApproved<Admission>.Decode(forged.ToArray()).Value, Network).Error);
        var unknownIndex = AuthorityApproved<Admission>.Sign(Cpo(), [(0, Keys.Operator), (7, Keys.Stranger)]);
        Assert.IsType<UnknownAuthorityKey>(TwoOfThree.Verify(AuthorityApproved<Admission>.Decode(unknownIndex.ToArray()).Value, Network).Error);

        // Roles swapped after signing: the body no longer matches the approvals.
        var wire = Approve(Cpo(), 0, 1).ToArray();
        var rolesAt = Signed<Admission>.EncodeBody(Cpo()).Length - (1 + 32 + 8 + 11 + 8);
        wire[rolesAt] = (byte)OperatorRoles.GridOperator;
        Assert.IsType<InvalidSignature>(TwoOfThree.Verify(AuthorityApproved<Admission>.Decode(wire).Value, Network).Error);
        Assert.IsType<WrongNetwork>(TwoOfThree.Verify(AuthorityApproved<Admission>.Decode(
            Approve(Cpo() with { Network = OtherNetwork }, 0, 1).ToArray()).Value, Network).Error);
    }

    [Fact]
    public void One_key_cannot_count_twice_toward_the_threshold()
    {
        var wire = Approve(Cpo(), 0, 1).ToArray();
        var bodyLength = Signed<Admission>.EncodeBody(Cpo()).Length;
        wire[bodyLength + 1 + 65] = 0; // the second approval names key 0 again
        Assert.IsType<NonCanonicalEncoding>(AuthorityApproved<Admission>.Decode(wire).Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(32)]
    [InlineData(0xFF)]
    public void Undefined_role_bits_are_refused(byte roles)
    {
        var wire = Approve(Cpo(), 0, 1).ToArray();
        var rolesAt = Signed<Admission>.EncodeBody(Cpo()).Length - (1 + 32 + 8 + 11 + 8);
        Assert.Equal((byte)OperatorRoles.ChargePointOperator, wire[rolesAt]);
        wire[rolesAt] = roles;
        Assert.IsType<NonCanonicalEncoding>(AuthorityApproved<Admission>.Decode(wire).Error);
    }

    [Fact]
    public void Only_a_settlement_bank_carries_an_issuance_limit_and_versions_start_at_one()
    {
        Assert.IsType<NonCanonicalEncoding>(AuthorityApproved<Admission>.Decode(Approve(Cpo(limit: 1), 0, 1).ToArray()).Error);
        Assert.IsType<NonCanonicalEncoding>(AuthorityApproved<Admission>.Decode(Approve(Cpo(version: 0), 0, 1).ToArray()).Error);
        Assert.IsType<Truncated>(AuthorityApproved<Admission>.Decode(Signed<Admission>.EncodeBody(Cpo())).Error);
        Assert.IsType<TrailingBytes>(AuthorityApproved<Admission>.Decode([.. Approve(Cpo(), 0, 1).ToArray(), 0]).Error);
    }

    [Fact]
    public void An_authority_needs_distinct_keys_and_a_threshold_within_them()
    {
        Assert.False(NetworkAuthority.Create([], 1).IsOk);
        Assert.False(NetworkAuthority.Create([Keys.Payer.PublicKey, Keys.Payer.PublicKey], 1).IsOk);
        Assert.False(NetworkAuthority.Create([Keys.Payer.PublicKey], 2).IsOk);
        Assert.False(NetworkAuthority.Create([Keys.Payer.PublicKey], 0).IsOk);
    }

    private static AuthorityApproved<LedgerNodeAdmission> ApproveNode(LedgerNodeAdmission admission, params int[] indexes) =>
        AuthorityApproved<LedgerNodeAdmission>.Sign(admission, indexes.Select(i => ((byte)i, AuthorityKeys[i])).ToList());

    [Fact]
    public void A_ledger_node_admission_signed_by_the_threshold_verifies_round_trips_and_names_the_key_and_whether_it_is_admitted()
    {
        var approved = ApproveNode(new LedgerNodeAdmission(Network, Keys.Stranger.PublicKey, false, 2, Now), 1, 2);
        var decoded = AuthorityApproved<LedgerNodeAdmission>.Decode(approved.ToArray()).Value;
        var admission = TwoOfThree.Verify(decoded, Network).Value;

        Assert.Equal((Keys.Stranger.PublicKey.Hex, false, 2UL, Now), (admission.NodeKey.Hex, admission.Admitted, admission.Version, admission.At));
        Assert.Equal(approved.ToArray(), decoded.ToArray());
    }

    [Fact]
    public void A_ledger_node_admission_of_a_non_authority_key_below_the_threshold_or_for_another_network_is_refused_by_name()
    {
        var admission = new LedgerNodeAdmission(Network, Keys.Stranger.PublicKey, true, 1, Now);
        var forged = AuthorityApproved<LedgerNodeAdmission>.Sign(admission, [(0, Keys.Stranger), (1, Keys.OtherOperator)]);
        Assert.IsType<InvalidSignature>(TwoOfThree.Verify(AuthorityApproved<LedgerNodeAdmission>.Decode(forged.ToArray()).Value, Network).Error);
        Assert.IsType<AuthorityThresholdNotMet>(TwoOfThree.Verify(AuthorityApproved<LedgerNodeAdmission>.Decode(ApproveNode(admission, 0).ToArray()).Value, Network).Error);
        var elsewhere = ApproveNode(admission with { Network = OtherNetwork }, 0, 1);
        Assert.IsType<WrongNetwork>(TwoOfThree.Verify(AuthorityApproved<LedgerNodeAdmission>.Decode(elsewhere.ToArray()).Value, Network).Error);
        // An operator admission's signature does not make a ledger node admission: the kind is in the signed bytes.
        var operatorWire = Approve(Cpo(), 0, 1).ToArray();
        Assert.IsType<WrongKind>(AuthorityApproved<LedgerNodeAdmission>.Decode(operatorWire).Error);
    }

    [Fact]
    public void A_ledger_node_admission_starts_at_version_one_and_carries_an_ed25519_key()
    {
        Assert.IsType<NonCanonicalEncoding>(AuthorityApproved<LedgerNodeAdmission>.Decode(
            ApproveNode(new LedgerNodeAdmission(Network, Keys.Stranger.PublicKey, true, 0, Now), 0, 1).ToArray()).Error);
        var wire = ApproveNode(new LedgerNodeAdmission(Network, Keys.Stranger.PublicKey, true, 1, Now), 0, 1).ToArray();
        var keyAt = Signed<LedgerNodeAdmission>.EncodeBody(new LedgerNodeAdmission(Network, Keys.Stranger.PublicKey, true, 1, Now)).Length - (32 + 1 + 8 + 8);
        // A key that is no point on the curve (the y coordinate 2^255 - 1) is refused by name, not taken.
        for (var i = 0; i < 32; i++) wire[keyAt + i] = 0xFF;
        wire[keyAt + 31] = 0x7F;
        Assert.False(AuthorityApproved<LedgerNodeAdmission>.Decode(wire).IsOk);
        Assert.IsType<Truncated>(AuthorityApproved<LedgerNodeAdmission>.Decode(wire.AsSpan(0, keyAt + 10)).Error);
    }
}
