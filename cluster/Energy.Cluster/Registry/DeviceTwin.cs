using Akka.Actor;
using Akka.Persistence;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Registry;

/// <summary>
/// A device's twin: a shell around <see cref="DeviceTwinRules"/> and <see cref="DeviceOrders"/>. An operator's order
/// (its endorsement, its revocation, its quarantine) is decided by the core once the operators it names answered, and
/// a revocation or a change of quarantine reaches every reachable node before it is recorded and acknowledged
/// (<see cref="DeviceOrderLookups"/>; the twin handles nothing else meanwhile). It raises a clone when two gantries saw
/// the vehicle faster apart than it can drive. Where the device is connected is not the twin's: its
/// <see cref="DeviceEntity"/> keeps it, and starts the twin as its child when a message needs it.
/// </summary>
public sealed class DeviceTwin : UntypedPersistentActor
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _zones;
    private readonly IActorRef _alerts;
    private readonly DeviceOrderLookups _orders;
    private DeviceTwinState _state = DeviceTwinState.Empty;
    private VehicleSeen? _lastSeen;

    public DeviceTwin(string id, EnergySettings settings, IActorRef operators, IActorRef zones, IActorRef alerts)
    {
        (_id, _settings, _zones, _alerts) = (id, settings, zones, alerts);
        _orders = new DeviceOrderLookups(Context, this, settings, operators, () => _state, Record);
    }

    // The handlers are switches rather than Receive tables, which are built for each instance.
    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case IEnergyMessage e:
                Evolve(e);
                break;
            case RecoveryCompleted:
                EnergyMetrics.EntityActivated("device");
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case EndorseDevice command:
                _orders.Take(command, Sender);
                break;
            case RevokeDevice command:
                _orders.Take(command, Sender);
                break;
            case QuarantineDevice command:
                _orders.Take(command, Sender);
                break;
            case VehicleSeen seen:
                OnSeen(seen);
                break;
            case GetDevice q:
                Sender.Tell(DeviceTwinRules.Get(_state, q.Device));
                break;
            case StopEntity:
                StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>What every twin's persistence id starts with (the rest is the device's id).</summary>
    public const string PersistenceIdPrefix = "device-";

    public override string PersistenceId => PersistenceIdPrefix + _id;

    public static Props Props(string id, EnergySettings settings, IActorRef operators, IActorRef zones, IActorRef alerts) =>
        Akka.Actor.Props.Create(() => new DeviceTwin(id, settings, operators, zones, alerts));

    /// <summary>The one way the state changes, live and in recovery; this node's revocation list follows it.</summary>
    private void Evolve(object e)
    {
        _state = DeviceTwinRules.Evolve(_state, e);
        if (e is DeviceRevoked) RevocationList.Get(Context.System).MarkRevoked(_id);
        if (e is DeviceQuarantineChanged) RevocationList.Get(Context.System).SetQuarantined(_id, _state.Quarantined);
    }

    /// <summary>Records an order the core took; once it is durable, the twin evolves by it, raises its alert and answers with the device as it now stands.</summary>
    private void Record(OrderTaken taken, IActorRef sender) => Persist(taken.Event, e =>
    {
        Evolve(e);
        if (taken.Alert is { } alert) _alerts.Tell(new RaiseAlert(alert));
        sender.Tell(_state.View());
    });

    /// <summary>A gantry saw the vehicle: a clone the core suspects is recorded and then raised; the speed between two sightings goes to the zone.</summary>
    private void OnSeen(VehicleSeen seen)
    {
        var decided = DeviceTwinRules.DecideSighting(_state, _lastSeen, seen, _settings.MaxPlausibleSpeedKmh);
        _lastSeen = decided.Last;
        if (decided.Suspected is { } suspected) Persist(suspected, e => { Evolve(e); _alerts.Tell(new RaiseAlert(e.Alert)); });
        _zones.Tell(new ZonePass(seen.Zone, seen.Device, seen.At, decided.SpeedKmh));
    }
}
