using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Tolls;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Tolls;

/// <summary>
/// Live road statistics of one zone from its gantries' passes: distinct vehicles and passes in the last
/// minute, and their average speed between gantries. Live state only (nothing to recover: a minute
/// later it is rebuilt); bounded to <see cref="MaxWindow"/> passes.
/// </summary>
public sealed class ZoneEntity : ReceiveActor
{
    public const int MaxWindow = 200_000;
    private const long WindowMs = 60_000;

    private readonly string _id;
    private readonly IClock _clock;
    private readonly Queue<(long At, DeviceId Vehicle, double? Speed)> _window = new();
    private readonly Dictionary<DeviceId, int> _vehicles = [];
    private double _speedSum;
    private int _speedCount;
    private long _total;

    public ZoneEntity(string id, IClock clock)
    {
        _id = id;
        _clock = clock;
        Receive<StopEntity>(_ => Context.Stop(Self)); // nothing durable: a zone stops when it is handed off
        Receive<ZonePass>(pass =>
        {
            Trim();
            if (_window.Count >= MaxWindow) Drop();
            _window.Enqueue((pass.At.UnixMilliseconds, pass.Vehicle, pass.SpeedKmh));
            _vehicles[pass.Vehicle] = _vehicles.GetValueOrDefault(pass.Vehicle) + 1;
            if (pass.SpeedKmh is { } speed) { _speedSum += speed; _speedCount++; }
            _total++;
        });
        Receive<GetZone>(_ =>
        {
            Trim();
            Sender.Tell(new ZoneView(new SegmentId(_id), _vehicles.Count, _window.Count, _speedCount > 0 ? Math.Round(_speedSum / _speedCount, 1) : null, _total));
        });
    }

    /// <summary>A zone lives in memory only: it is activated when started, with nothing to recover.</summary>
    protected override void PreStart() => EnergyMetrics.EntityActivated("zone");

    public static Props Props(string id, IClock clock) => Akka.Actor.Props.Create(() => new ZoneEntity(id, clock));

    private void Trim()
    {
        var from = _clock.Now.UnixMilliseconds - WindowMs;
        while (_window.Count > 0 && _window.Peek().At < from) Drop();
    }

    private void Drop()
    {
        var (_, vehicle, speed) = _window.Dequeue();
        if (--_vehicles[vehicle] == 0) _vehicles.Remove(vehicle);
        if (speed is { } s) { _speedSum -= s; _speedCount--; }
    }
}
