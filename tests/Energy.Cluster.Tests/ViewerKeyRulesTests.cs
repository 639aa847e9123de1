using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Registry;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

/// <summary>
/// The rules of an operator's viewer keys, called directly: what an operator may endorse for its dashboard,
/// the bound on live keys, expiry, and a key rotation ending every key endorsed under the replaced admission.
/// </summary>
public sealed class ViewerKeyRulesTests : IDisposable
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private static readonly OperatorId Grid = OperatorId.Of("grid-1");
    private static readonly Timestamp Now = new(1_800_000_000_000);

    private readonly DeviceKeyPair _authority = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _operatorKey = DeviceKeyPair.Generate();
    private readonly List<DeviceKeyPair> _keys = [];

    public void Dispose()
    {
        _authority.Dispose();
        _operatorKey.Dispose();
        foreach (var key in _keys) key.Dispose();
    }

    private DeviceKeyPair NewKey()
    {
        var key = DeviceKeyPair.Generate();
        _keys.Add(key);
        return key;
    }

    private OperatorState Admitted(OperatorState state, DevicePublicKey key, ulong version) =>
        OperatorRules.Evolve(state, new OperatorAdmitted(AuthorityApproved<Admission>.Sign(
            new Admission(Network, Grid, OperatorRoles.GridOperator, key, version, new Money(0, Currency.Eur), Now), [(0, _authority)]).ToArray(), Now));

    private static Signed<ViewerKey> Endorsement(DeviceKeyPair signer, DevicePublicKey viewer, Timestamp expiresAt, OperatorId? op = null, NetworkId? network = null) =>
        Signed<ViewerKey>.Sign(new ViewerKey(network ?? Network, op ?? Grid, viewer, expiresAt), signer);

    private static Timestamp At(long plusMs) => new(Now.UnixMilliseconds + plusMs);

    /// <summary>Decides, and when taken evolves: the same path as the entity, live and in recovery.</summary>
    private static (OperatorState State, Result<ViewerKeyEndorsed> Decided) Endorse(OperatorState state, Signed<ViewerKey> signed, Timestamp now)
    {
        var decided = OperatorRules.DecideViewerKey(state, Grid, signed, Network, now);
        return (decided.IsOk ? OperatorRules.Evolve(state, decided.Value) : state, decided);
    }

    [Fact]
    public void An_operator_is_refused_the_id_of_a_device_and_the_id_the_registry_did_not_answer_about_in_time()
    {
        var device = new DeviceView(DeviceId.Of(Grid.Value), OperatorId.Of("other-1"), DeviceRole.Vehicle, _operatorKey.PublicKey.Hex, false, Now, null);
        Assert.Equal(new PartyKindConflict(Grid.Value, PartyKind.Device), OperatorRules.CheckNotADevice(Grid, device));
        Assert.Equal(new PartyKindConflict(Grid.Value, PartyKind.Device), OperatorRules.CheckNotADevice(Grid, null));
        Assert.Null(OperatorRules.CheckNotADevice(Grid, Refusal.From(new DeviceNotFound(DeviceId.Of(Grid.Value)))));
    }

    [Fact]
    public void A_viewer_key_signed_by_the_operator_key_is_taken_and_is_live_until_it_expires()
    {
        var state = Admitted(OperatorState.Empty, _operatorKey.PublicKey, 1);
        var viewer = NewKey();
        (state, var decided) = Endorse(state, Endorsement(_operatorKey, viewer.PublicKey, At(60_000)), Now);
        Assert.True(decided.IsOk, decided.ToString());

        var live = OperatorRules.LiveViewerKey(state, Grid, viewer.PublicKey.Hex, At(59_999));
        Assert.True(live.IsOk);
        Assert.Equal(1UL, live.Value.AdmissionVersion);
        Assert.IsType<ViewerKeyExpired>(OperatorRules.LiveViewerKey(state, Grid, viewer.PublicKey.Hex, At(60_000)).Error);
    }

    [Fact]
    public void The_operator_key_is_no_viewer_key_and_cannot_be_endorsed_as_one()
    {
        var state = Admitted(OperatorState.Empty, _operatorKey.PublicKey, 1);
        Assert.IsType<ViewerKeyUnknown>(OperatorRules.LiveViewerKey(state, Grid, _operatorKey.PublicKey.Hex, Now).Error);
        var (_, decided) = Endorse(state, Endorsement(_operatorKey, _operatorKey.PublicKey, At(60_000)), Now);
        Assert.IsType<ViewerKeyIsOperatorKey>(decided.Error);
    }

    [Fact]
    public void An_endorsement_that_is_not_the_operators_is_refused_by_name()
    {
        var state = Admitted(OperatorState.Empty, _operatorKey.PublicKey, 1);
        var stranger = NewKey();
        var viewer = NewKey();
        Assert.IsType<InvalidSignature>(Endorse(state, Endorsement(stranger, viewer.PublicKey, At(60_000)), Now).Decided.Error);
        Assert.IsType<OperatorIdMismatch>(Endorse(state, Endorsement(_operatorKey, viewer.PublicKey, At(60_000), OperatorId.Of("grid-2")), Now).Decided.Error);
        Assert.IsType<WrongNetwork>(Endorse(state, Endorsement(_operatorKey, viewer.PublicKey, At(60_000), network: NetworkId.Of("elsewhere")), Now).Decided.Error);
        Assert.IsType<OperatorNotFound>(Endorse(OperatorState.Empty, Endorsement(_operatorKey, viewer.PublicKey, At(60_000)), Now).Decided.Error);
        Assert.Empty(state.ViewerKeys);
    }

    [Fact]
    public void An_expired_or_too_long_lived_viewer_key_is_refused()
    {
        var state = Admitted(OperatorState.Empty, _operatorKey.PublicKey, 1);
        var viewer = NewKey();
        Assert.IsType<ViewerKeyExpired>(Endorse(state, Endorsement(_operatorKey, viewer.PublicKey, Now), Now).Decided.Error);
        var tooLate = At(OperatorState.MaxViewerKeyLifetime.Milliseconds + 1);
        Assert.IsType<ViewerKeyLifetimeTooLong>(Endorse(state, Endorsement(_operatorKey, viewer.PublicKey, tooLate), Now).Decided.Error);
        Assert.True(Endorse(state, Endorsement(_operatorKey, viewer.PublicKey, At(OperatorState.MaxViewerKeyLifetime.Milliseconds)), Now).Decided.IsOk);
    }

    [Fact]
    public void At_most_sixteen_viewer_keys_are_live_and_expired_ones_make_room()
    {
        var state = Admitted(OperatorState.Empty, _operatorKey.PublicKey, 1);
        for (var i = 0; i < OperatorState.MaxViewerKeys; i++)
        {
            // The first key expires after a minute, the others in a day.
            var (next, decided) = Endorse(state, Endorsement(_operatorKey, NewKey().PublicKey, At(i == 0 ? 60_000 : 86_400_000)), Now);
            Assert.True(decided.IsOk, decided.ToString());
            state = next;
        }
        var refused = Endorse(state, Endorsement(_operatorKey, NewKey().PublicKey, At(86_400_000)), At(1_000)).Decided;
        Assert.Equal(new TooManyViewerKeys(Grid, OperatorState.MaxViewerKeys), refused.Error);
        // Renewing a held key is no new key.
        Assert.True(Endorse(state, Endorsement(_operatorKey, _keys[1].PublicKey, At(2 * 86_400_000)), At(1_000)).Decided.IsOk);

        // Once the first expires, a new key is taken and the expired one is dropped: the table stays at the bound.
        var (after, taken) = Endorse(state, Endorsement(_operatorKey, NewKey().PublicKey, At(86_400_000)), At(60_001));
        Assert.True(taken.IsOk, taken.ToString());
        Assert.Equal(OperatorState.MaxViewerKeys, after.ViewerKeys.Count);
        Assert.False(after.ViewerKeys.ContainsKey(_keys[0].PublicKey.Hex));
    }

    [Fact]
    public void A_key_rotation_ends_every_viewer_key_endorsed_under_the_replaced_admission()
    {
        var state = Admitted(OperatorState.Empty, _operatorKey.PublicKey, 1);
        var viewer = NewKey();
        (state, _) = Endorse(state, Endorsement(_operatorKey, viewer.PublicKey, At(86_400_000)), Now);
        Assert.True(OperatorRules.LiveViewerKey(state, Grid, viewer.PublicKey.Hex, Now).IsOk);

        var rotated = NewKey();
        state = Admitted(state, rotated.PublicKey, 2);
        Assert.IsType<ViewerKeyUnknown>(OperatorRules.LiveViewerKey(state, Grid, viewer.PublicKey.Hex, Now).Error);
        Assert.Empty(state.ViewerKeys);
        // The old key can no longer endorse; the new one can, and the viewer key is live again under version 2.
        Assert.IsType<InvalidSignature>(Endorse(state, Endorsement(_operatorKey, viewer.PublicKey, At(86_400_000)), Now).Decided.Error);
        (state, var renewed) = Endorse(state, Endorsement(rotated, viewer.PublicKey, At(86_400_000)), Now);
        Assert.True(renewed.IsOk);
        Assert.Equal(2UL, OperatorRules.LiveViewerKey(state, Grid, viewer.PublicKey.Hex, Now).Value.AdmissionVersion);
    }

    [Fact]
    public void Replaying_the_events_gives_the_state_they_gave_live()
    {
        var random = new Random(7);
        for (var run = 0; run < 20; run++)
        {
            var events = new List<object>();
            var admitted = new OperatorAdmitted(AuthorityApproved<Admission>.Sign(
                new Admission(Network, Grid, OperatorRoles.GridOperator, _operatorKey.PublicKey, 1, new Money(0, Currency.Eur), Now), [(0, _authority)]).ToArray(), Now);
            var live = OperatorRules.Evolve(OperatorState.Empty, admitted);
            events.Add(admitted);
            var clock = Now;
            var held = new List<DeviceKeyPair>();
            for (var step = 0; step < 60; step++)
            {
                clock = At(clock.UnixMilliseconds - Now.UnixMilliseconds + random.Next(0, 5_000));
                var key = held.Count > 0 && random.Next(3) == 0 ? held[random.Next(held.Count)] : NewKey();
                held.Add(key);
                var decided = OperatorRules.DecideViewerKey(live, Grid, Endorsement(_operatorKey, key.PublicKey, new Timestamp(clock.UnixMilliseconds + random.Next(1, 40_000))), Network, clock);
                if (!decided.IsOk) continue;
                live = OperatorRules.Evolve(live, decided.Value);
                events.Add(decided.Value);
                Assert.True(live.ViewerKeys.Count <= OperatorState.MaxViewerKeys);
            }
            var recovered = events.Aggregate(OperatorState.Empty, OperatorRules.Evolve);
            Assert.Equal(live.ViewerKeys.OrderBy(k => k.Key).ToList(), recovered.ViewerKeys.OrderBy(k => k.Key).ToList());
        }
    }
}
