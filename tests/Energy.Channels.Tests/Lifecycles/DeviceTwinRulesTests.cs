using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>
/// The rules a device's twin asks its core about, called directly: who may endorse, revoke and quarantine a device,
/// the refusals of hostile or replayed orders, and the sightings that raise a clone.
/// </summary>
public sealed class DeviceTwinRulesTests : IDisposable
{
    private static readonly NetworkId Network = TestParties.Network;
    private static readonly OperatorId Fleet = OperatorId.Of("fleet-1");
    private static readonly OperatorId Grid = OperatorId.Of("grid-1");
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-twin-1");
    private static readonly Timestamp Now = new(1_800_000_000_000);

    private readonly DeviceKeyPair _fleetKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _gridKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _vehicleKey = DeviceKeyPair.Generate();

    public void Dispose()
    {
        _fleetKey.Dispose();
        _gridKey.Dispose();
        _vehicleKey.Dispose();
    }

    private OperatorView FleetView(OperatorRoles roles = OperatorRoles.FleetOwner) =>
        new(Fleet, roles, _fleetKey.PublicKey.Hex, 1, new Money(0, Currency.Eur), 0, Now);

    private OperatorView GridView() => new(Grid, OperatorRoles.GridOperator, _gridKey.PublicKey.Hex, 1, new Money(0, Currency.Eur), 0, Now);

    private Signed<Endorsement> Endorsement(DeviceId? device = null, DeviceKeyPair? signer = null) =>
        Signed<Endorsement>.Sign(new Endorsement(Network, Fleet, device ?? Vehicle, DeviceRole.Vehicle, _vehicleKey.PublicKey), signer ?? _fleetKey);

    private static OperatorView? NoOperator => null;

    private DeviceTwinState Endorsed()
    {
        var endorsement = Endorsement();
        var decided = DeviceTwinRules.DecideEndorsement(endorsement, endorsement.ToArray(), Vehicle, Network, FleetView(), Refusal.From(new OperatorNotFound(OperatorId.Of(Vehicle.Value))), Now);
        return DeviceTwinRules.Evolve(DeviceTwinState.Empty, decided.Value);
    }

    [Fact]
    public void An_endorsement_needs_the_endorser_s_role_and_key_and_an_id_no_operator_holds()
    {
        var endorsement = Endorsement();
        var noOperatorOfThatId = Refusal.From(new OperatorNotFound(OperatorId.Of(Vehicle.Value)));
        Assert.Null(DeviceTwinRules.CheckEndorsement(DeviceTwinState.Empty, Vehicle, endorsement).Value);
        Assert.Equal(new DeviceIdMismatch(Vehicle, DeviceId.Of("other-9")), DeviceTwinRules.CheckEndorsement(DeviceTwinState.Empty, Vehicle, Endorsement(DeviceId.Of("other-9"))).Error);

        Assert.Equal(new OperatorNotFound(Fleet), DeviceTwinRules.DecideEndorsement(endorsement, endorsement.ToArray(), Vehicle, Network, NoOperator, noOperatorOfThatId, Now).Error);
        Assert.IsType<RoleNotHeld>(DeviceTwinRules.DecideEndorsement(endorsement, endorsement.ToArray(), Vehicle, Network, FleetView(OperatorRoles.TollOperator), noOperatorOfThatId, Now).Error);
        // A device never takes an operator's id; no answer about it is refused too.
        Assert.Equal(new PartyKindConflict(Vehicle.Value, PartyKind.Operator), DeviceTwinRules.DecideEndorsement(endorsement, endorsement.ToArray(), Vehicle, Network, FleetView(), GridView(), Now).Error);
        Assert.Equal(new PartyKindConflict(Vehicle.Value, PartyKind.Operator), DeviceTwinRules.DecideEndorsement(endorsement, endorsement.ToArray(), Vehicle, Network, FleetView(), null, Now).Error);
        var forged = Endorsement(signer: _gridKey);
        Assert.IsType<InvalidSignature>(DeviceTwinRules.DecideEndorsement(forged, forged.ToArray(), Vehicle, Network, FleetView(), noOperatorOfThatId, Now).Error);

        var state = Endorsed();
        Assert.Equal(state.View(), DeviceTwinRules.CheckEndorsement(state, Vehicle, endorsement).Value);
        Assert.IsType<DeviceAlreadyEndorsed>(DeviceTwinRules.CheckEndorsement(state, Vehicle, Signed<Endorsement>.Sign(endorsement.Payload with { Role = DeviceRole.Meter }, _fleetKey)).Error);
    }

    [Fact]
    public void A_revocation_is_its_own_operator_s_signed_by_its_key_and_a_revoked_device_is_endorsed_no_more()
    {
        var state = Endorsed();
        var revocation = Signed<Revocation>.Sign(new Revocation(Network, Fleet, Vehicle, Now), _fleetKey);
        Assert.Equal(new DeviceNotFound(Vehicle), DeviceTwinRules.CheckRevocation(DeviceTwinState.Empty, Vehicle, revocation.Payload, Network).Error);
        Assert.IsType<WrongNetwork>(DeviceTwinRules.CheckRevocation(state, Vehicle, revocation.Payload with { Network = NetworkId.Of("elsewhere") }, Network).Error);
        Assert.IsType<EndorsementMismatch>(DeviceTwinRules.CheckRevocation(state, Vehicle, revocation.Payload with { Operator = Grid }, Network).Error);
        Assert.Null(DeviceTwinRules.CheckRevocation(state, Vehicle, revocation.Payload, Network).Value);
        var forged = Signed<Revocation>.Sign(revocation.Payload, _gridKey);
        Assert.IsType<InvalidSignature>(DeviceTwinRules.DecideRevocation(forged, forged.ToArray(), FleetView(), Now).Error);
        Assert.Equal(new OperatorNotFound(Fleet), DeviceTwinRules.DecideRevocation(revocation, revocation.ToArray(), null, Now).Error);

        var revoked = DeviceTwinRules.Evolve(state, DeviceTwinRules.DecideRevocation(revocation, revocation.ToArray(), FleetView(), Now).Value);
        Assert.True(revoked.View().Revoked);
        Assert.Equal(revoked.View(), DeviceTwinRules.CheckRevocation(revoked, Vehicle, revocation.Payload, Network).Value);
        Assert.Equal(new DeviceIsRevoked(Vehicle, Now), DeviceTwinRules.CheckEndorsement(revoked, Vehicle, Endorsement()).Error);
    }

    [Fact]
    public void A_quarantine_is_its_operator_s_or_a_grid_operator_s_newer_and_recent_and_its_release_ends_the_clone_alert()
    {
        var state = DeviceTwinRules.Evolve(Endorsed(), new CloneSuspected(new Alert("clone", "cloned-identity", Vehicle, "seen twice", Now)));
        Signed<Quarantine> Order(OperatorId by, DeviceKeyPair key, bool quarantined, ulong version, Timestamp at) =>
            Signed<Quarantine>.Sign(new Quarantine(Network, by, Vehicle, quarantined, version, at), key);
        var byGrid = Order(Grid, _gridKey, true, 1, Now);
        Assert.Null(DeviceTwinRules.CheckQuarantine(state, Vehicle, byGrid.Payload, Network));
        Assert.Equal(new DeviceNotFound(Vehicle), DeviceTwinRules.CheckQuarantine(DeviceTwinState.Empty, Vehicle, byGrid.Payload, Network));

        var toll = new OperatorView(OperatorId.Of("toll-1"), OperatorRoles.TollOperator, _gridKey.PublicKey.Hex, 1, new Money(0, Currency.Eur), 0, Now);
        Assert.IsType<NotPermitted>(DeviceTwinRules.DecideQuarantine(state, byGrid, byGrid.ToArray(), toll, TimeSpan.FromMinutes(10), Now).Error);
        Assert.IsType<StaleOrder>(DeviceTwinRules.DecideQuarantine(state, byGrid, byGrid.ToArray(), GridView(), TimeSpan.FromMinutes(10), new Timestamp(Now.UnixMilliseconds + 600_001)).Error);
        var quarantined = DeviceTwinRules.Evolve(state, DeviceTwinRules.DecideQuarantine(state, byGrid, byGrid.ToArray(), GridView(), TimeSpan.FromMinutes(10), Now).Value);
        Assert.True(quarantined.Quarantined && quarantined.CloneAlertOpen);
        // The same version again is a replay; the device's own operator releases it with a newer one.
        Assert.IsType<StaleOrder>(DeviceTwinRules.DecideQuarantine(quarantined, byGrid, byGrid.ToArray(), GridView(), TimeSpan.FromMinutes(10), Now).Error);
        var release = Order(Fleet, _fleetKey, false, 2, Now);
        var changed = DeviceTwinRules.DecideQuarantine(quarantined, release, release.ToArray(), FleetView(), TimeSpan.FromMinutes(10), Now).Value;
        Assert.True(DeviceTwinRules.Changes(quarantined, changed));
        var released = DeviceTwinRules.Evolve(quarantined, changed);
        Assert.False(released.Quarantined || released.CloneAlertOpen);
        Assert.Equal(2UL, released.QuarantineVersion);
    }

    private static VehicleSeen Seen(string gantry, long x, long atMs) =>
        new(Vehicle, DeviceId.Of(gantry), OperatorId.Of("toll-1"), SegmentId.Of("zone-1"), x, 0, new Timestamp(Now.UnixMilliseconds + atMs));

    [Property(MaxTest = 200)]
    public Property Two_sightings_faster_apart_than_a_vehicle_drives_raise_one_clone_and_slower_ones_give_the_zone_their_speed() =>
        Prop.ForAll(Gen.Choose(0, 100_000).ToArbitrary(), Gen.Choose(0, 3_600_000).ToArbitrary(), (metres, apartMs) =>
        {
            var state = Endorsed();
            var first = Seen("gantry-a", 0, 0);
            var second = Seen("gantry-b", metres, apartMs);
            var decided = DeviceTwinRules.DecideSighting(state, first, second, 250);
            var kmh = apartMs == 0 ? (metres == 0 ? 0 : double.PositiveInfinity) : metres / 1000.0 / (apartMs / 3_600_000.0);
            Assert.Equal(second, decided.Last);
            if (kmh > 250)
            {
                Assert.Null(decided.SpeedKmh);
                Assert.Equal(Vehicle, decided.Suspected!.Alert.Device);
                // Once raised, no second alert until a quarantine is released.
                Assert.Null(DeviceTwinRules.DecideSighting(DeviceTwinRules.Evolve(state, decided.Suspected), first, second, 250).Suspected);
            }
            else
            {
                Assert.Null(decided.Suspected);
                Assert.Equal(Math.Round(kmh, 1), decided.SpeedKmh);
            }
            // The same gantry twice, or a first sighting, is no speed at all; an older sighting does not replace the newest.
            Assert.Equal(new SightingDecision(first, null, null), DeviceTwinRules.DecideSighting(state, null, first, 250));
            Assert.Null(DeviceTwinRules.DecideSighting(state, first, Seen("gantry-a", metres, apartMs), 250).SpeedKmh);
            Assert.Equal(apartMs > 0 ? second : first, DeviceTwinRules.DecideSighting(state, second, first, 250).Last);
        });
}
