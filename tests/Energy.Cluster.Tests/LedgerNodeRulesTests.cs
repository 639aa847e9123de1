using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Cluster.Ledger;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

/// <summary>
/// Ledger node admissions, called directly: the authority admits a node's key as a signer of ledger blocks (or
/// withdraws it), statements signed by anyone else, for another network, replayed or stale are refused by name,
/// and an audit takes the blocks of its own key, configured keys and admitted keys, and no others.
/// </summary>
public sealed class LedgerNodeRulesTests : IDisposable
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private static readonly Timestamp Now = new(1_800_000_000_000);
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(10);

    private readonly DeviceKeyPair _authorityKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _stranger = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _node = DeviceKeyPair.Generate();
    private readonly NetworkAuthority _authority;

    public LedgerNodeRulesTests() => _authority = NetworkAuthority.Create([_authorityKey.PublicKey], 1).Unwrap();

    public void Dispose()
    {
        _authorityKey.Dispose();
        _stranger.Dispose();
        _node.Dispose();
    }

    private AuthorityApproved<LedgerNodeAdmission> Statement(bool admitted = true, ulong version = 1, Timestamp? at = null, DeviceKeyPair? signer = null,
        NetworkId? network = null, DevicePublicKey? key = null) =>
        AuthorityApproved<LedgerNodeAdmission>.Sign(new LedgerNodeAdmission(network ?? Network, key ?? _node.PublicKey, admitted, version, at ?? Now),
            [(0, signer ?? _authorityKey)]);

    private Result<LedgerNodeAdmission> Decide(LedgerNodesState state, AuthorityApproved<LedgerNodeAdmission> statement, Timestamp? now = null) =>
        LedgerNodeRules.Decide(state, statement, _authority, Network, now ?? Now, MaxAge);

    private static LedgerNodesState Take(LedgerNodesState state, AuthorityApproved<LedgerNodeAdmission> statement) =>
        LedgerNodeRules.Evolve(state, new LedgerNodeAdmissionRecorded(statement.ToArray(), Now));

    [Fact]
    public void The_authority_admits_a_node_key_and_then_withdraws_it_with_a_higher_version()
    {
        var admitted = Take(LedgerNodesState.Empty, Statement());
        Assert.Contains(_node.PublicKey.Hex, admitted.AdmittedKeys());

        var withdrawal = Statement(admitted: false, version: 2);
        Assert.True(Decide(admitted, withdrawal).IsOk);
        var withdrawn = Take(admitted, withdrawal);
        Assert.Empty(withdrawn.AdmittedKeys());
        Assert.Equal((false, 2UL), (withdrawn.Keys[_node.PublicKey.Hex].Admitted, withdrawn.Keys[_node.PublicKey.Hex].Version));
    }

    [Fact]
    public void A_statement_signed_by_a_key_that_is_not_the_authoritys_is_refused_with_InvalidSignature()
    {
        Assert.IsType<InvalidSignature>(Decide(LedgerNodesState.Empty, Statement(signer: _stranger)).Error);
        // The node cannot admit itself with its own key either.
        Assert.IsType<InvalidSignature>(Decide(LedgerNodesState.Empty, Statement(signer: _node)).Error);
    }

    [Fact]
    public void A_statement_for_another_network_is_refused_with_WrongNetwork()
    {
        Assert.IsType<WrongNetwork>(Decide(LedgerNodesState.Empty, Statement(network: NetworkId.Of("energy-elsewhere"))).Error);
    }

    [Fact]
    public void A_replayed_admission_after_a_withdrawal_and_a_statement_signed_long_ago_are_refused_as_StaleOrder()
    {
        var admission = Statement();
        var withdrawn = Take(Take(LedgerNodesState.Empty, admission), Statement(admitted: false, version: 2));

        var replayed = Assert.IsType<StaleOrder>(Decide(withdrawn, admission).Error);
        Assert.Equal((1UL, 2UL), (replayed.OfferedVersion, replayed.LastVersion));
        var old = new Timestamp(Now.UnixMilliseconds - (long)MaxAge.TotalMilliseconds - 1);
        Assert.IsType<StaleOrder>(Decide(LedgerNodesState.Empty, Statement(at: old)).Error);
        var future = new Timestamp(Now.UnixMilliseconds + (long)MaxAge.TotalMilliseconds + 1);
        Assert.IsType<StaleOrder>(Decide(LedgerNodesState.Empty, Statement(at: future)).Error);
        // The same version with other terms is no newer statement either.
        Assert.IsType<StaleOrder>(Decide(withdrawn, Statement(admitted: true, version: 2)).Error);
    }

    [Fact]
    public void The_same_statement_again_is_answered_as_held_however_old_it_now_is()
    {
        var admission = Statement();
        var held = Take(LedgerNodesState.Empty, admission);

        var later = new Timestamp(Now.UnixMilliseconds + (long)TimeSpan.FromDays(1).TotalMilliseconds);
        Assert.True(Decide(held, admission, later).IsOk);
        Assert.True(held.Holds(Decide(held, admission, later).Value));
    }

    [Fact]
    public void Without_an_authority_a_node_admits_no_ledger_node()
    {
        var refused = LedgerNodeRules.Decide(LedgerNodesState.Empty, Statement(), authority: null, Network, Now, MaxAge);
        Assert.IsType<NotPermitted>(refused.Error);
    }

    [Fact]
    public void The_register_holds_statements_about_at_most_MaxKeys_keys_and_refuses_more_by_name()
    {
        var state = LedgerNodesState.Empty;
        var keys = Enumerable.Range(0, LedgerNodesState.MaxKeys).Select(_ => DeviceKeyPair.Generate()).ToList();
        foreach (var key in keys) state = Take(state, Statement(key: key.PublicKey));

        Assert.IsType<TooManyLedgerNodes>(Decide(state, Statement()).Error);
        // A further statement about a key already held still goes in.
        Assert.True(Decide(state, Statement(admitted: false, version: 2, key: keys[0].PublicKey)).IsOk);
        foreach (var key in keys) key.Dispose();
    }

    [Fact]
    public void An_audit_takes_blocks_of_its_own_key_of_configured_keys_and_of_admitted_keys_and_names_any_other_signer()
    {
        using var own = DeviceKeyPair.Generate();
        using var configured = DeviceKeyPair.Generate();
        using var admitted = DeviceKeyPair.Generate();
        using var unknown = DeviceKeyPair.Generate();
        var chain = new List<SettlementBlock>();
        foreach (var signer in new[] { own, configured, admitted, unknown })
        {
            var height = (ulong)chain.Count + 1;
            chain.Add(SettlementBlock.Commit(Network, "ledger-0", height, chain.Count == 0 ? SettlementBlock.GenesisHash : chain[^1].BlockHash(), new Timestamp(1),
                Currency.Eur, [new MintEntry($"m{height}", PartyId.Of("device:a"), 1, TestAuthority.Bank)], signer));
        }
        var signers = new LedgerSigners(own.PublicKey.Hex, new HashSet<string> { configured.PublicKey.Hex }, new HashSet<string> { admitted.PublicKey.Hex });

        var audit = LedgerAudit.Verify("ledger-0", chain, signers.Distrust, 1, SettlementBlock.GenesisHash);
        Assert.Equal((false, 3UL, (ulong?)4UL), (audit.Intact, audit.BlocksChecked, audit.FirstBadHeight));
        Assert.Contains(unknown.PublicKey.Hex, audit.Reason, StringComparison.Ordinal);
        Assert.Contains("not a trusted ledger node", audit.Reason, StringComparison.Ordinal);
        Assert.True(LedgerAudit.Verify("ledger-0", chain[..3], signers.Distrust, 1, SettlementBlock.GenesisHash).Intact);

        // When the register cannot be read, an audit says so at the first block of a signer it does not know, not that the signer is untrusted.
        var unread = signers with { Admitted = null };
        var undecided = LedgerAudit.Verify("ledger-0", chain, unread.Distrust, 1, SettlementBlock.GenesisHash);
        Assert.Equal((ulong?)3UL, undecided.FirstBadHeight);
        Assert.Contains("could not be read", undecided.Reason, StringComparison.Ordinal);
        Assert.Equal(
            [LedgerSignerStanding.Own, LedgerSignerStanding.Configured, LedgerSignerStanding.Admitted, LedgerSignerStanding.NotTrusted],
            new[] { own, configured, admitted, unknown }.Select(k => signers.StandingOf(k.PublicKey.Hex)));
        Assert.Equal(LedgerSignerStanding.NotTrusted, signers.NetworkStandingOf(own.PublicKey.Hex));
    }
}
