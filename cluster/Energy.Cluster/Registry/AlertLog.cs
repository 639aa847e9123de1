using Akka.Actor;
using Akka.Persistence;

using Energy.Lifecycles.Registry;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Registry;

/// <summary>
/// The network's alerts (suspected clones, quarantines), one persisted log. Raising the same alert twice
/// records it once; the log keeps the newest <see cref="MaxKept"/> for reading.
/// </summary>
public sealed class AlertLog : ReceivePersistentActor
{
    public const string EntityName = RegistryEntities.Alerts;
    public const int MaxKept = 10_000;

    private readonly LinkedList<Alert> _latest = new();
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private long _total;

    public AlertLog()
    {
        Recover<AlertRaised>(Apply);
        Recover<RecoveryCompleted>(_ => EnergyMetrics.EntityActivated("alert-log"));
        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<RaiseAlert>(raise =>
        {
            if (_ids.Contains(raise.Alert.Id)) return;
            Persist(new AlertRaised(raise.Alert), e =>
            {
                Apply(e);
                Activity.ActivityFeed.Get(Context.System).Publish(new Activity.DeviceAlertRaised(e.Alert.Id, e.Alert.Kind, e.Alert.Device, e.Alert.Detail, e.Alert.At));
            });
        });
        Command<GetAlerts>(_ => Sender.Tell(new AlertList(_total, _latest.Reverse().ToList())));
    }

    public override string PersistenceId => "alert-log";

    public static Props Props() => Akka.Actor.Props.Create(() => new AlertLog());

    private void Apply(AlertRaised raised)
    {
        if (!_ids.Add(raised.Alert.Id)) return;
        _total++;
        _latest.AddLast(raised.Alert);
        while (_latest.Count > MaxKept)
        {
            _ids.Remove(_latest.First!.Value.Id);
            _latest.RemoveFirst();
        }
    }
}
