using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Registry;

/// <summary>
/// A device's twin: its endorsement by its operator, and its revocation. It verifies both against the
/// operator's registered key.
/// </summary>
public sealed class DeviceTwin : ReceivePersistentActor
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _operators;
    private DeviceIdentity? _identity;
    private Timestamp _endorsedAt;
    private Timestamp? _revokedAt;
    private string? _connection;
    private bool _quarantined;
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
        Command<DeviceConnected>(c => _connection = c.Connection);
        Command<DeviceDisconnected>(c => { if (_connection == c.Connection) _connection = null; });
        Command<GetDeviceConnection>(q => Sender.Tell(new DeviceConnection(q.Device, _revokedAt is null ? _connection : null)));
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
        _zones.Tell(new Tolls.ZonePass(seen.Zone, seen.Device, seen.At, speed));
    }

    /// <summary>An operator's signed quarantine or release: the device's own operator, or any toll operator.</summary>
    private async Task QuarantineAsync(QuarantineDevice command)
    {
        var sender = Sender;
        var decoded = Signed<Quarantine>.Decode(command.Order);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var order = decoded.Value.Payload;
        if (_identity is null) { sender.Tell(Refusal.From(new DeviceNotFound(command.Device))); return; }
        if (order.Device != command.Device) { sender.Tell(Refusal.From(new DeviceIdMismatch(command.Device, order.Device))); return; }
        if (order.Network != _settings.Network) { sender.Tell(Refusal.From(new WrongNetwork(ChannelId.None, _settings.Network, order.Network))); return; }
        object answer;
        try { answer = await _operators.Ask<object>(new GetOperator(order.Operator), _settings.AskTimeout); }
        catch (AskTimeoutException) { answer = new object(); }
        if (answer is not OperatorView op) { sender.Tell(Refusal.From(new OperatorNotFound(order.Operator))); return; }
        if (op.Operator != _identity.Operator && op.Role != OperatorRole.TollOperator)
        {
            sender.Tell(Refusal.From(new EndorsementMismatch(command.Device, "operator", $"{_identity.Operator} or a toll operator", order.Operator.Value)));
            return;
        }
        var key = DevicePublicKey.FromHex(op.PublicKeyHex);
        if (!key.IsOk || !decoded.Value.IsSignedBy(key.Value))
        {
            sender.Tell(Refusal.From(new InvalidSignature(ChannelId.None, ObjectKind.Quarantine, order.Operator.Value)));
            return;
        }
        if (order.Quarantined == _quarantined) { sender.Tell(View()); return; }
        // Every reachable node refuses (or again accepts) the device's payments before the order is acknowledged.
        var replicated = await RevocationWatcher.ReplicateQuarantineAsync(Context.System, command.Device, order.Quarantined, _settings.AskTimeout);
        if (!replicated) Context.GetLogger().Warning("quarantine of {0} has not reached every node yet; it spreads by gossip", _id);
        Persist(new DeviceQuarantineChanged(command.Order, _settings.Clock.Now), e =>
        {
            ApplyQuarantine(e);
            _alerts.Tell(new RaiseAlert(new Alert($"quarantine:{_id}:{e.At.UnixMilliseconds}", order.Quarantined ? "quarantined" : "released",
                command.Device, $"by {order.Operator}", e.At)));
            sender.Tell(View());
        });
    }

    private void ApplyQuarantine(DeviceQuarantineChanged changed)
    {
        var order = Signed<Quarantine>.Decode(changed.Order).Unwrap().Payload;
        _quarantined = order.Quarantined;
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
        var operatorKey = await OperatorKeyAsync(endorsement.Payload.Operator);
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
        var operatorKey = await OperatorKeyAsync(revocation.Operator);
        if (!operatorKey.IsOk) { sender.Tell(Refusal.From(operatorKey.Error)); return; }
        if (!decoded.Value.IsSignedBy(operatorKey.Value))
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

    private async Task<Result<DevicePublicKey>> OperatorKeyAsync(OperatorId operatorId)
    {
        object answer;
        try { answer = await _operators.Ask<object>(new GetOperator(operatorId), _settings.AskTimeout); }
        catch (AskTimeoutException) { return new OperatorNotFound(operatorId); }
        return answer switch
        {
            OperatorView view => DevicePublicKey.FromHex(view.PublicKeyHex),
            _ => new OperatorNotFound(operatorId),
        };
    }

    private DeviceView View() =>
        new(_identity!.Device, _identity.Operator, _identity.Role, _identity.Key.Hex, _revokedAt is not null, _endorsedAt, _revokedAt)
        {
            Quarantined = _quarantined,
            CloneAlertOpen = _cloneAlertOpen,
        };
}
