using Energy.Cluster.Kernel;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Registry;

/// <summary>
/// A device's twin: its endorsement by its operator, and its revocation. It verifies both against the
/// operator's admitted key; only an operator with the role for the device's kind may endorse it.
/// </summary>
public sealed class DeviceTwin : ReceivePersistentActor
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _operators;
    private DeviceIdentity? _identity;
    private Timestamp _endorsedAt;
    private Timestamp? _revokedAt;
    private LiveConnection? _connection;
    private bool _quarantined;
    private ulong _quarantineVersion;
    private bool _cloneAlertOpen;
    private VehicleSeen? _lastSeen;
    private readonly IActorRef _zones;
    private readonly IActorRef _alerts;

    public DeviceTwin(string id, EnergySettings settings, IActorRef operators, IActorRef zones, IActorRef alerts)
    {
        _zones = zones;
        _alerts = alerts;
        Recover<DeviceQuarantineChanged>(ApplyQuarantine);
        Recover<CloneSuspected>(_ => _cloneAlertOpen = true);
        Recover<RecoveryCompleted>(_ => EnergyMetrics.EntityActivated("device"));
        _id = id;
        _settings = settings;
        _operators = operators;

        Recover<DeviceEndorsed>(e =>
        {
            _identity = new DeviceIdentity(Signed<Endorsement>.Decode(e.Endorsement).Unwrap());
            _endorsedAt = e.At;
        });
        Recover<DeviceRevoked>(e =>
        {
            _revokedAt = e.At;
            RevocationList.Get(Context.System).MarkRevoked(_id);
        });

        CommandAsync<EndorseDevice>(EndorseAsync);
        CommandAsync<RevokeDevice>(RevokeAsync);
        Command<VehicleSeen>(OnSeen);
        CommandAsync<QuarantineDevice>(QuarantineAsync);
        Command<DeviceConnected>(c =>
        {
            (_connection, var close) = LiveConnections.Admit(_connection, new LiveConnection(c.Connection, c.AuthenticatedAtMs));
            if (close is not null) Context.ActorSelection(close).Tell(new ConnectionReplaced(c.Device.Value));
        });
        Command<DeviceDisconnected>(c => _connection = LiveConnections.Ended(_connection, c.Connection));
        Command<GetDeviceConnection>(q => Sender.Tell(new DeviceConnection(q.Device, _revokedAt is null ? _connection?.Path : null)));
        Command<GetDevice>(command => Sender.Tell(_identity is null ? Refusal.From(new DeviceNotFound(command.Device)) : View()));
    }

    public override string PersistenceId => "device-" + _id;

    public static Props Props(string id, EnergySettings settings, IActorRef operators, IActorRef zones, IActorRef alerts) =>
        Akka.Actor.Props.Create(() => new DeviceTwin(id, settings, operators, zones, alerts));

    /// <summary>
    /// A gantry saw this vehicle. Two passes at different gantries closer in time than the distance allows at
    /// the network's maximum plausible speed cannot be one vehicle: the identity is cloned or hijacked, and one
    /// alert is raised (no more until a quarantine is released). Otherwise the speed between them goes to the zone.
    /// </summary>
    private void OnSeen(VehicleSeen seen)
    {
        var last = _lastSeen;
        if (last is null || seen.At >= last.At) _lastSeen = seen;
        double? speed = null;
        if (last is not null && last.Gantry != seen.Gantry)
        {
            var metres = Math.Sqrt(Math.Pow(seen.PositionX - last.PositionX, 2) + Math.Pow(seen.PositionY - last.PositionY, 2));
            var hours = Math.Abs(seen.At.UnixMilliseconds - last.At.UnixMilliseconds) / 3_600_000.0;
            var kmh = hours == 0 ? (metres == 0 ? 0 : double.PositiveInfinity) : metres / 1000.0 / hours;
            if (kmh > _settings.MaxPlausibleSpeedKmh)
            {
                if (!_cloneAlertOpen)
                {
                    var alert = new Alert($"clone:{_id}:{seen.At.UnixMilliseconds}", "cloned-identity", seen.Device,
                        $"seen at {last.Gantry} and {seen.Gantry}, {metres / 1000.0:0.###} km apart within {Math.Abs(seen.At.UnixMilliseconds - last.At.UnixMilliseconds)} ms " +
                        $"(over {_settings.MaxPlausibleSpeedKmh} km/h)", seen.At);
                    _cloneAlertOpen = true;
                    Persist(new CloneSuspected(alert), e => _alerts.Tell(new RaiseAlert(e.Alert)));
                }
            }
            else
            {
                speed = Math.Round(kmh, 1);
            }
        }
        _zones.Tell(new Energy.Lifecycles.Tolls.ZonePass(seen.Zone, seen.Device, seen.At, speed));
    }

    /// <summary>
    /// A signed quarantine or release. Only the device's own operator or a grid operator may give it (a toll
    /// operator reports a suspected clone; it does not quarantine others' vehicles). Each order must carry a
    /// higher version than the last one taken, and a time close to now, so an old order cannot be replayed.
    /// </summary>
    private async Task QuarantineAsync(QuarantineDevice command)
    {
        var sender = Sender;
        var decoded = Signed<Quarantine>.Decode(command.Order);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var order = decoded.Value.Payload;
        if (_identity is null) { sender.Tell(Refusal.From(new DeviceNotFound(command.Device))); return; }
        if (order.Device != command.Device) { sender.Tell(Refusal.From(new DeviceIdMismatch(command.Device, order.Device))); return; }
        if (order.Network != _settings.Network) { sender.Tell(Refusal.From(new WrongNetwork(ChannelId.None, _settings.Network, order.Network))); return; }
        var issuer = await OperatorAsync(order.Operator);
        if (!issuer.IsOk) { sender.Tell(Refusal.From(issuer.Error)); return; }
        var op = issuer.Value;
        if (op.Operator != _identity.Operator && !op.Has(OperatorRoles.GridOperator))
        {
            sender.Tell(Refusal.From(new NotPermitted($"operator {order.Operator}", $"quarantine or release {command.Device}",
                $"only its operator {_identity.Operator} or a grid operator may")));
            return;
        }
        var key = DevicePublicKey.FromHex(op.PublicKeyHex);
        if (!key.IsOk || !decoded.Value.IsSignedBy(key.Value))
        {
            sender.Tell(Refusal.From(new InvalidSignature(ChannelId.None, ObjectKind.Quarantine, order.Operator.Value)));
            return;
        }
        var now = _settings.Clock.Now;
        if (order.Version <= _quarantineVersion || Math.Abs(now.UnixMilliseconds - order.At.UnixMilliseconds) > _settings.MaxOrderAge.TotalMilliseconds)
        {
            sender.Tell(Refusal.From(new StaleOrder($"quarantine of {command.Device}", order.Version, _quarantineVersion, order.At, now)));
            return;
        }
        if (order.Quarantined != _quarantined)
        {
            // Every reachable node refuses (or again accepts) the device's payments before the order is acknowledged.
            var replicated = await RevocationWatcher.ReplicateQuarantineAsync(Context.System, command.Device, order.Quarantined, _settings.AskTimeout);
            if (!replicated) Context.GetLogger().Warning("quarantine of {0} has not reached every node yet; it spreads by gossip", _id);
        }
        var changes = order.Quarantined != _quarantined;
        Persist(new DeviceQuarantineChanged(command.Order, _settings.Clock.Now), e =>
        {
            ApplyQuarantine(e);
            if (changes)
                _alerts.Tell(new RaiseAlert(new Alert($"quarantine:{_id}:{e.At.UnixMilliseconds}", order.Quarantined ? "quarantined" : "released",
                    command.Device, $"by {order.Operator}", e.At)));
            sender.Tell(View());
        });
    }

    private void ApplyQuarantine(DeviceQuarantineChanged changed)
    {
        var order = Signed<Quarantine>.Decode(changed.Order).Unwrap().Payload;
        _quarantined = order.Quarantined;
        _quarantineVersion = Math.Max(_quarantineVersion, order.Version);
        if (!_quarantined) _cloneAlertOpen = false;
        RevocationList.Get(Context.System).SetQuarantined(_id, _quarantined);
    }

    private async Task EndorseAsync(EndorseDevice command)
    {
        var sender = Sender;
        var decoded = Signed<Endorsement>.Decode(command.Endorsement);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var endorsement = decoded.Value;
        if (endorsement.Payload.Device != command.Device)
        {
            sender.Tell(Refusal.From(new DeviceIdMismatch(command.Device, endorsement.Payload.Device)));
            return;
        }
        if (_revokedAt is not null) { sender.Tell(Refusal.From(new DeviceIsRevoked(command.Device, _revokedAt.Value))); return; }
        if (_identity is not null)
        {
            sender.Tell(_identity.Endorsement.Equals(endorsement)
                ? View()
                : Refusal.From(new DeviceAlreadyEndorsed(command.Device, _identity.Key.Hex)));
            return;
        }
        var endorser = await OperatorAsync(endorsement.Payload.Operator);
        if (!endorser.IsOk) { sender.Tell(Refusal.From(endorser.Error)); return; }
        var required = EndorserRole(endorsement.Payload.Role);
        if ((endorser.Value.Roles & required) == 0)
        {
            sender.Tell(Refusal.From(new RoleNotHeld(endorsement.Payload.Operator, required, $"endorse a {endorsement.Payload.Role}")));
            return;
        }
        // A device never takes the id of an operator: the two kinds of party stay apart everywhere.
        if (await OperatorExistsAsync(new OperatorId(_id)))
        {
            sender.Tell(Refusal.From(new PartyKindConflict(_id, PartyKind.Operator)));
            return;
        }
        var operatorKey = DevicePublicKey.FromHex(endorser.Value.PublicKeyHex);
        if (!operatorKey.IsOk) { sender.Tell(Refusal.From(operatorKey.Error)); return; }
        var identity = DeviceIdentity.Verify(endorsement, _settings.Network, endorsement.Payload.Operator, operatorKey.Value);
        if (!identity.IsOk) { sender.Tell(Refusal.From(identity.Error)); return; }
        Persist(new DeviceEndorsed(command.Endorsement, _settings.Clock.Now), e =>
        {
            _identity = identity.Value;
            _endorsedAt = e.At;
            sender.Tell(View());
        });
    }

    private async Task RevokeAsync(RevokeDevice command)
    {
        var sender = Sender;
        var decoded = Signed<Revocation>.Decode(command.Revocation);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var revocation = decoded.Value.Payload;
        if (_identity is null) { sender.Tell(Refusal.From(new DeviceNotFound(command.Device))); return; }
        if (revocation.Device != command.Device) { sender.Tell(Refusal.From(new DeviceIdMismatch(command.Device, revocation.Device))); return; }
        if (revocation.Network != _settings.Network)
        {
            sender.Tell(Refusal.From(new WrongNetwork(ChannelId.None, _settings.Network, revocation.Network)));
            return;
        }
        if (revocation.Operator != _identity.Operator)
        {
            sender.Tell(Refusal.From(new EndorsementMismatch(command.Device, "operator", _identity.Operator.Value, revocation.Operator.Value)));
            return;
        }
        if (_revokedAt is not null) { sender.Tell(View()); return; }
        var revoker = await OperatorAsync(revocation.Operator);
        if (!revoker.IsOk) { sender.Tell(Refusal.From(revoker.Error)); return; }
        var operatorKey = DevicePublicKey.FromHex(revoker.Value.PublicKeyHex);
        if (!operatorKey.IsOk || !decoded.Value.IsSignedBy(operatorKey.Value))
        {
            sender.Tell(Refusal.From(new InvalidSignature(ChannelId.None, ObjectKind.Revocation, revocation.Operator.Value)));
            return;
        }
        // Every reachable node refuses the device's key before the revocation is recorded and acknowledged.
        var replicated = await RevocationWatcher.ReplicateAsync(Context.System, command.Device, _settings.AskTimeout);
        if (!replicated) Context.GetLogger().Warning("revocation of {0} has not reached every node yet; it spreads by gossip", _id);
        Persist(new DeviceRevoked(command.Revocation, _settings.Clock.Now), e =>
        {
            _revokedAt = e.At;
            _alerts.Tell(new RaiseAlert(new Alert($"revoked:{_id}", "revoked", command.Device, $"by {revocation.Operator}", e.At)));
            sender.Tell(View());
        });
    }

    /// <summary>Which role an operator needs to endorse a device of each kind.</summary>
    public static OperatorRoles EndorserRole(DeviceRole role) => role switch
    {
        DeviceRole.Vehicle => OperatorRoles.FleetOwner,
        DeviceRole.Charger => OperatorRoles.ChargePointOperator,
        DeviceRole.Gantry => OperatorRoles.TollOperator,
        DeviceRole.Meter => OperatorRoles.GridOperator | OperatorRoles.ChargePointOperator,
        _ => OperatorRoles.None,
    };

    private async Task<Result<OperatorView>> OperatorAsync(OperatorId operatorId)
    {
        object answer;
        try { answer = await _operators.Ask<object>(new GetOperator(operatorId), _settings.AskTimeout); }
        catch (AskTimeoutException) { return new OperatorNotFound(operatorId); }
        return answer is OperatorView view ? view : new OperatorNotFound(operatorId);
    }

    private async Task<bool> OperatorExistsAsync(OperatorId operatorId)
    {
        try { return await _operators.Ask<object>(new GetOperator(operatorId), _settings.AskTimeout) is OperatorView; }
        catch (AskTimeoutException) { return true; } // Unsure is refused: the id may be an operator's.
    }

    private DeviceView View() =>
        new(_identity!.Device, _identity.Operator, _identity.Role, _identity.Key.Hex, _revokedAt is not null, _endorsedAt, _revokedAt)
        {
            Quarantined = _quarantined,
            CloneAlertOpen = _cloneAlertOpen,
        };
}
