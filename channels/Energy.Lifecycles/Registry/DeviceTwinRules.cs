using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Registry;

/// <summary>A device as its twin keeps it: its endorsement, its revocation and its quarantine.</summary>
public sealed record DeviceTwinState(
    DeviceIdentity? Identity,
    Timestamp EndorsedAt,
    Timestamp? RevokedAt,
    bool Quarantined,
    ulong QuarantineVersion,
    bool CloneAlertOpen)
{
    public static readonly DeviceTwinState Empty = new(null, default, null, false, 0, false);

    public DeviceView View() =>
        new(Identity!.Device, Identity.Operator, Identity.Role, Identity.Key.Hex, RevokedAt is not null, EndorsedAt, RevokedAt)
        {
            Quarantined = Quarantined,
            CloneAlertOpen = CloneAlertOpen,
        };
}

/// <summary>What a gantry's sighting of a vehicle means: the newest sighting to keep, a clone to raise, or the speed for the zone.</summary>
public sealed record SightingDecision(VehicleSeen? Last, CloneSuspected? Suspected, double? SpeedKmh);

/// <summary>
/// The rules of a device's twin, pure: its endorsement and revocation are verified against the operator's admitted
/// key (the operator's view is looked up by the shell and handed in: null when it did not come in time), only an
/// operator with the role for the device's kind endorses it, and a quarantine order carries a newer version and a
/// time close to now.
/// </summary>
public static class DeviceTwinRules
{
    /// <summary>Which role an operator needs to endorse a device of each kind.</summary>
    public static OperatorRoles EndorserRole(DeviceRole role) => role switch
    {
        DeviceRole.Vehicle => OperatorRoles.FleetOwner,
        DeviceRole.Charger => OperatorRoles.ChargePointOperator,
        DeviceRole.Gantry => OperatorRoles.TollOperator,
        DeviceRole.Meter => OperatorRoles.GridOperator | OperatorRoles.ChargePointOperator,
        _ => OperatorRoles.None,
    };

    /// <summary>
    /// The checks of an endorsement that need no registry: for this device, not revoked, and not endorsed already
    /// (the same endorsement again is answered with the device as it stands). Null: the endorser is to be looked up.
    /// </summary>
    public static Result<DeviceView?> CheckEndorsement(DeviceTwinState state, DeviceId device, Signed<Endorsement> endorsement)
    {
        if (endorsement.Payload.Device != device) return new DeviceIdMismatch(device, endorsement.Payload.Device);
        if (state.RevokedAt is { } revokedAt) return new DeviceIsRevoked(device, revokedAt);
        if (state.Identity is null) return (DeviceView?)null;
        return state.Identity.Endorsement.Equals(endorsement) ? state.View() : new DeviceAlreadyEndorsed(device, state.Identity.Key.Hex);
    }

    /// <summary>
    /// An endorsement, with the endorser's view and the answer about an operator of the device's own id: the endorser
    /// holds the role for the device's kind, no operator has the id (a device never takes an operator's: no answer is
    /// refused too, as the id may be one), and the endorsement verifies against the endorser's key.
    /// </summary>
    public static Result<DeviceEndorsed> DecideEndorsement(Signed<Endorsement> endorsement, byte[] wire, DeviceId device, NetworkId network,
        object? endorserAnswer, object? sameIdAnswer, Timestamp now)
    {
        var payload = endorsement.Payload;
        if (endorserAnswer is not OperatorView endorser) return new OperatorNotFound(payload.Operator);
        var required = EndorserRole(payload.Role);
        if ((endorser.Roles & required) == 0) return new RoleNotHeld(payload.Operator, required, $"endorse a {payload.Role}");
        if (sameIdAnswer is null or OperatorView) return new PartyKindConflict(device.Value, PartyKind.Operator);
        var operatorKey = DevicePublicKey.FromHex(endorser.PublicKeyHex);
        if (!operatorKey.IsOk) return operatorKey.Error;
        var identity = DeviceIdentity.Verify(endorsement, network, payload.Operator, operatorKey.Value);
        if (!identity.IsOk) return identity.Error;
        return new DeviceEndorsed(wire, now);
    }

    /// <summary>
    /// The checks of a revocation that need no registry: of an endorsed device, for this device and network, by its
    /// own operator. A device revoked already is answered as it stands (null: the revoker is to be looked up).
    /// </summary>
    public static Result<DeviceView?> CheckRevocation(DeviceTwinState state, DeviceId device, Revocation revocation, NetworkId network)
    {
        if (state.Identity is null) return new DeviceNotFound(device);
        if (revocation.Device != device) return new DeviceIdMismatch(device, revocation.Device);
        if (revocation.Network != network) return new WrongNetwork(ChannelId.None, network, revocation.Network);
        if (revocation.Operator != state.Identity.Operator)
            return new EndorsementMismatch(device, "operator", state.Identity.Operator.Value, revocation.Operator.Value);
        return state.RevokedAt is not null ? state.View() : (DeviceView?)null;
    }

    /// <summary>A revocation signed with the operator's admitted key (its view handed in; null when it did not come in time).</summary>
    public static Result<DeviceRevoked> DecideRevocation(Signed<Revocation> revocation, byte[] wire, object? revokerAnswer, Timestamp now)
    {
        var payload = revocation.Payload;
        if (revokerAnswer is not OperatorView revoker) return new OperatorNotFound(payload.Operator);
        var key = DevicePublicKey.FromHex(revoker.PublicKeyHex);
        if (!key.IsOk || !revocation.IsSignedBy(key.Value)) return new InvalidSignature(ChannelId.None, ObjectKind.Revocation, payload.Operator.Value);
        return new DeviceRevoked(wire, now);
    }

    /// <summary>The checks of a quarantine order that need no registry: of an endorsed device, for this device and network.</summary>
    public static ProtocolError? CheckQuarantine(DeviceTwinState state, DeviceId device, Quarantine order, NetworkId network)
    {
        if (state.Identity is null) return new DeviceNotFound(device);
        if (order.Device != device) return new DeviceIdMismatch(device, order.Device);
        if (order.Network != network) return new WrongNetwork(ChannelId.None, network, order.Network);
        return null;
    }

    /// <summary>
    /// A signed quarantine or release. Only the device's own operator or a grid operator may give it (a toll operator
    /// reports a suspected clone; it does not quarantine others' vehicles). Each order must carry a higher version
    /// than the last one taken, and a time within <paramref name="maxOrderAge"/> of now, so an old order cannot be replayed.
    /// </summary>
    public static Result<DeviceQuarantineChanged> DecideQuarantine(DeviceTwinState state, Signed<Quarantine> signed, byte[] wire, object? issuerAnswer,
        TimeSpan maxOrderAge, Timestamp now)
    {
        var order = signed.Payload;
        if (issuerAnswer is not OperatorView issuer) return new OperatorNotFound(order.Operator);
        if (issuer.Operator != state.Identity!.Operator && !issuer.Has(OperatorRoles.GridOperator))
            return new NotPermitted($"operator {order.Operator}", $"quarantine or release {order.Device}", $"only its operator {state.Identity.Operator} or a grid operator may");
        var key = DevicePublicKey.FromHex(issuer.PublicKeyHex);
        if (!key.IsOk || !signed.IsSignedBy(key.Value)) return new InvalidSignature(ChannelId.None, ObjectKind.Quarantine, order.Operator.Value);
        if (order.Version <= state.QuarantineVersion || Math.Abs(now.UnixMilliseconds - order.At.UnixMilliseconds) > maxOrderAge.TotalMilliseconds)
            return new StaleOrder($"quarantine of {order.Device}", order.Version, state.QuarantineVersion, order.At, now);
        return new DeviceQuarantineChanged(wire, now);
    }

    /// <summary>Whether an order changes the device's standing (else it is taken for its version alone, and raises nothing).</summary>
    public static bool Changes(DeviceTwinState state, DeviceQuarantineChanged changed) => QuarantineOf(changed).Quarantined != state.Quarantined;

    public static Quarantine QuarantineOf(DeviceQuarantineChanged changed) => Signed<Quarantine>.Decode(changed.Order).Unwrap().Payload;

    /// <summary>What the twin answers about its device: the device as it stands, or <see cref="DeviceNotFound"/> while no endorsement was taken.</summary>
    public static object Get(DeviceTwinState state, DeviceId device) => state.Identity is null ? Refusal.From(new DeviceNotFound(device)) : state.View();

    /// <summary>
    /// Where the device is reached: at its live connection (<paramref name="live"/>, none when it is not connected), but
    /// nowhere once it is revoked, whatever socket it still holds, so that nothing more is pushed to a revoked key.
    /// </summary>
    public static DeviceConnection ConnectionOf(DeviceId device, bool revoked, string? live) => new(device, revoked ? null : live);

    /// <summary>
    /// A gantry saw the vehicle. Two passes at different gantries closer in time than the distance allows at
    /// <paramref name="maxPlausibleKmh"/> cannot be one vehicle: the identity is cloned or hijacked, and one alert is
    /// raised (no more until a quarantine is released). Otherwise the speed between them goes to the zone.
    /// </summary>
    public static SightingDecision DecideSighting(DeviceTwinState state, VehicleSeen? last, VehicleSeen seen, double maxPlausibleKmh)
    {
        var newest = last is null || seen.At >= last.At ? seen : last;
        if (last is null || last.Gantry == seen.Gantry) return new SightingDecision(newest, null, null);
        var metres = Math.Sqrt(Math.Pow(seen.PositionX - last.PositionX, 2) + Math.Pow(seen.PositionY - last.PositionY, 2));
        var apartMs = Math.Abs(seen.At.UnixMilliseconds - last.At.UnixMilliseconds);
        var hours = apartMs / 3_600_000.0;
        var kmh = hours == 0 ? (metres == 0 ? 0 : double.PositiveInfinity) : metres / 1000.0 / hours;
        if (kmh <= maxPlausibleKmh) return new SightingDecision(newest, null, Math.Round(kmh, 1));
        if (state.CloneAlertOpen) return new SightingDecision(newest, null, null);
        var alert = new Alert($"clone:{seen.Device}:{seen.At.UnixMilliseconds}", "cloned-identity", seen.Device,
            $"seen at {last.Gantry} and {seen.Gantry}, {metres / 1000.0:0.###} km apart within {apartMs} ms (over {maxPlausibleKmh} km/h)", seen.At);
        return new SightingDecision(newest, new CloneSuspected(alert), null);
    }

    /// <summary>The state after a durable event, the same live and in recovery.</summary>
    public static DeviceTwinState Evolve(DeviceTwinState state, object e) => e switch
    {
        DeviceEndorsed endorsed => state with { Identity = new DeviceIdentity(Signed<Endorsement>.Decode(endorsed.Endorsement).Unwrap()), EndorsedAt = endorsed.At },
        DeviceRevoked revoked => state with { RevokedAt = revoked.At },
        DeviceQuarantineChanged changed => QuarantineOf(changed) is var order
            ? state with
            {
                Quarantined = order.Quarantined,
                QuarantineVersion = Math.Max(state.QuarantineVersion, order.Version),
                CloneAlertOpen = order.Quarantined && state.CloneAlertOpen,
            }
            : state,
        CloneSuspected => state with { CloneAlertOpen = true },
        _ => state,
    };
}
