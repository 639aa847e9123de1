using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tolls;

/// <summary>
/// How a gantry reaches the devices it talks to through their gateway connections (<see cref="DevicePush"/>): the gantry on
/// the connection its requests come from, and each passing vehicle on the one it last answered from or, for a vehicle
/// not heard from yet, the one its twin names. A vehicle is looked up once: without a connection it cannot answer, and
/// its pass ends late. Which toll request a vehicle is owed is the <paramref name="book"/>'s to say. The
/// <paramref name="owner"/>'s timers are given to it only once it is constructed.
/// </summary>
public sealed class GantryPushes(IActorContext context, IWithTimers owner, IActorRef devices, EnergySettings settings, TollPassBook book)
{
    // A busy gantry hears from thousands of vehicles, each for the few seconds of its pass: many connections are kept, none for long.
    private static readonly DevicePushBounds Bounds =
        new(MaxConnections: 10_000, MaxResolved: 1_000, KeepFor: DurationMs.FromSeconds(30), MaxLookups: 1, LookAgainAfter: TimeSpan.FromSeconds(1));

    private readonly DevicePush _push = new(context, owner, devices, settings.Clock, settings.AskTimeout, Bounds);

    /// <summary>Pushes what the gantry's core decided to its device's connection; dropped when none is known.</summary>
    public void Push(DeviceEvent notice) => _push.Push(notice);

    /// <summary>
    /// The gateway authenticated the gantry on <paramref name="connection"/>: it is where prices and verdicts go from now on.
    /// True when it is a connection the gantry was not known on, so that what it was told on its old one is told again.
    /// </summary>
    public bool GantryOn(string? connection) => _push.Repin(book.Gantry, connection);

    /// <summary>A vehicle answered from <paramref name="connection"/>: its next toll requests go there while it is trusted, without asking its twin.</summary>
    public void VehicleOn(DeviceId vehicle, string? connection) => _push.Remember(vehicle, connection);

    /// <summary>A new pass: its vehicle is asked to pay at once where it is connected, or once its twin says where.</summary>
    public void AskToPay(TollPassState pass)
    {
        if (_push.Reaches(pass.Payload.Vehicle, pass.Id.Value)) _push.Push(book.RequestNotice(pass));
    }

    /// <summary>The vehicle's twin said where it is connected: its toll request goes there while its pass is still open.</summary>
    public void Found(DeviceConnectionFound found) => _push.Deliver(found, book.AwaitedNotice(found.Key));
}
