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
/// A device's twin: a shell around <see cref="DeviceTwinRules"/>. Its endorsement by its operator, its revocation and
/// its quarantine are verified against the operator's admitted key, looked up in the operator's entity and piped back
/// (the twin handles nothing else meanwhile); a revocation or a change of quarantine reaches every reachable node
/// before it is recorded and acknowledged. It also keeps where the device is connected, and raises a clone when two
/// gantries saw the vehicle faster apart than it can drive.
/// </summary>
public sealed class DeviceTwin : ReceivePersistentActor
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _operators;
    private readonly IActorRef _zones;
    private readonly IActorRef _alerts;
    private DeviceTwinState _state = DeviceTwinState.Empty;
    private LiveConnection? _connection;
    private VehicleSeen? _lastSeen;

    public DeviceTwin(string id, EnergySettings settings, IActorRef operators, IActorRef zones, IActorRef alerts)
    {
        _id = id;
        _settings = settings;
        _operators = operators;
        _zones = zones;
        _alerts = alerts;
        Recover<IEnergyMessage>(Evolve);
        Recover<RecoveryCompleted>(_ => EnergyMetrics.EntityActivated("device"));

        Command<EndorseDevice>(OnEndorse);
        Command<RevokeDevice>(OnRevoke);
        Command<QuarantineDevice>(OnQuarantine);
        Command<VehicleSeen>(OnSeen);
        Command<DeviceConnected>(c =>
        {
            (_connection, var close) = LiveConnections.Admit(_connection, new LiveConnection(c.Connection, c.AuthenticatedAtMs));
            if (close is not null) Context.ActorSelection(close).Tell(new ConnectionReplaced(c.Device.Value));
        });
        Command<DeviceDisconnected>(c => _connection = LiveConnections.Ended(_connection, c.Connection));
        Command<GetDeviceConnection>(q => Sender.Tell(new DeviceConnection(q.Device, _state.RevokedAt is null ? _connection?.Path : null)));
        Command<GetDevice>(command => Sender.Tell(_state.Identity is null ? Refusal.From(new DeviceNotFound(command.Device)) : _state.View()));
    }

    public override string PersistenceId => "device-" + _id;

    public static Props Props(string id, EnergySettings settings, IActorRef operators, IActorRef zones, IActorRef alerts) =>
        Akka.Actor.Props.Create(() => new DeviceTwin(id, settings, operators, zones, alerts));

    /// <summary>The one way the state changes, live and in recovery; this node's revocation list follows it.</summary>
    private void Evolve(object e)
    {
        _state = DeviceTwinRules.Evolve(_state, e);
        if (e is DeviceRevoked) RevocationList.Get(Context.System).MarkRevoked(_id);
        if (e is DeviceQuarantineChanged) RevocationList.Get(Context.System).SetQuarantined(_id, _state.Quarantined);
    }

    private void OnEndorse(EndorseDevice command)
    {
        var sender = Sender;
        var decoded = Signed<Endorsement>.Decode(command.Endorsement);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var check = DeviceTwinRules.CheckEndorsement(_state, command.Device, decoded.Value);
        if (!check.IsOk || check.Value is not null) { sender.Tell(check.IsOk ? check.Value! : Refusal.From(check.Error)); return; }
        // The endorser's key and roles, and whether an operator holds this id (the two kinds of party stay apart everywhere).
        AwaitedAnswers.AskBoth(Context, Stash, (_operators, new GetOperator(decoded.Value.Payload.Operator)), (_operators, new GetOperator(new OperatorId(_id))),
            _settings.AskTimeout, (endorser, sameId) =>
            {
                var endorsed = DeviceTwinRules.DecideEndorsement(decoded.Value, command.Endorsement, command.Device, _settings.Network, endorser, sameId, _settings.Clock.Now);
                if (!endorsed.IsOk) sender.Tell(Refusal.From(endorsed.Error));
                else Persist(endorsed.Value, e => { Evolve(e); sender.Tell(_state.View()); });
            });
    }

    private void OnRevoke(RevokeDevice command)
    {
        var sender = Sender;
        var decoded = Signed<Revocation>.Decode(command.Revocation);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var revocation = decoded.Value.Payload;
        var check = DeviceTwinRules.CheckRevocation(_state, command.Device, revocation, _settings.Network);
        if (!check.IsOk || check.Value is not null) { sender.Tell(check.IsOk ? check.Value! : Refusal.From(check.Error)); return; }
        AwaitedAnswers.Ask(Context, Stash, _operators, new GetOperator(revocation.Operator), _settings.AskTimeout, revoker =>
        {
            var revoked = DeviceTwinRules.DecideRevocation(decoded.Value, command.Revocation, revoker, _settings.Clock.Now);
            if (!revoked.IsOk) { sender.Tell(Refusal.From(revoked.Error)); return; }
            // Every reachable node refuses the device's key before the revocation is recorded and acknowledged.
            Replicated(RevocationWatcher.ReplicateAsync(Context.System, command.Device, _settings.AskTimeout), "revocation", () =>
                Persist(revoked.Value, e =>
                {
                    Evolve(e);
                    _alerts.Tell(new RaiseAlert(new Alert($"revoked:{_id}", "revoked", command.Device, $"by {revocation.Operator}", e.At)));
                    sender.Tell(_state.View());
                }));
        });
    }

    private void OnQuarantine(QuarantineDevice command)
    {
        var sender = Sender;
        var decoded = Signed<Quarantine>.Decode(command.Order);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var order = decoded.Value.Payload;
        if (DeviceTwinRules.CheckQuarantine(_state, command.Device, order, _settings.Network) is { } refused) { sender.Tell(Refusal.From(refused)); return; }
        AwaitedAnswers.Ask(Context, Stash, _operators, new GetOperator(order.Operator), _settings.AskTimeout, issuer =>
        {
            var decided = DeviceTwinRules.DecideQuarantine(_state, decoded.Value, command.Order, issuer, _settings.MaxOrderAge, _settings.Clock.Now);
            if (!decided.IsOk) { sender.Tell(Refusal.From(decided.Error)); return; }
            var changes = DeviceTwinRules.Changes(_state, decided.Value);
            void Record() => Persist(decided.Value, e =>
            {
                Evolve(e);
                if (changes)
                    _alerts.Tell(new RaiseAlert(new Alert($"quarantine:{_id}:{e.At.UnixMilliseconds}", order.Quarantined ? "quarantined" : "released",
                        command.Device, $"by {order.Operator}", e.At)));
                sender.Tell(_state.View());
            });
            // Every reachable node refuses (or again accepts) the device's payments before the order is acknowledged.
            if (changes) Replicated(RevocationWatcher.ReplicateQuarantineAsync(Context.System, command.Device, order.Quarantined, _settings.AskTimeout), "quarantine", Record);
            else Record();
        });
    }

    /// <summary>Goes on once the replication across the nodes answered (the twin handles nothing else meanwhile); one not complete in time spreads by gossip.</summary>
    private void Replicated(Task<bool> replication, string what, Action then) =>
        AwaitedAnswers.Await(Context, Stash, replication, false, replicated =>
        {
            if (!replicated) Context.GetLogger().Warning("{0} of {1} has not reached every node yet; it spreads by gossip", what, _id);
            then();
        });

    private void OnSeen(VehicleSeen seen)
    {
        var decided = DeviceTwinRules.DecideSighting(_state, _lastSeen, seen, _settings.MaxPlausibleSpeedKmh);
        _lastSeen = decided.Last;
        if (decided.Suspected is { } suspected) Persist(suspected, e => { Evolve(e); _alerts.Tell(new RaiseAlert(e.Alert)); });
        _zones.Tell(new Energy.Lifecycles.Tolls.ZonePass(seen.Zone, seen.Device, seen.At, decided.SpeedKmh));
    }
}
