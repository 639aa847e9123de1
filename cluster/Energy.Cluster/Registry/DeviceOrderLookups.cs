using Akka.Actor;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Registry;

/// <summary>
/// What a device's twin asks of others before it records an operator's order (<see cref="DeviceOrders"/>): the operators
/// the order names are asked for their admitted keys and roles, and a change of the device's standing the core decided
/// reaches every reachable node (<see cref="StandingBroadcast"/>). Each answer is piped back, never awaited, and everything
/// else the twin receives waits meanwhile (<see cref="AwaitedAnswers"/>), so the core decides on the twin's state as the
/// answers find it. What the core takes goes to <paramref name="record"/> (the twin's persist, with whoever waits for the
/// device's view); what it refuses is told to the sender by name. The <paramref name="owner"/>'s stash is given to it
/// only once it is constructed.
/// </summary>
public sealed class DeviceOrderLookups(IActorContext context, IActorStash owner, EnergySettings settings, IActorRef operators,
    Func<DeviceTwinState> state, Action<OrderTaken, IActorRef> record)
{
    /// <summary>An order: answered at once when the core knows the answer, else decided once the operators it names answered.</summary>
    public void Take(IDeviceCommand order, IActorRef sender)
    {
        var read = DeviceOrders.Read(state(), order, settings.Network);
        if (read.Pending is not { } pending) { sender.Tell(read.Answer); return; }
        AwaitedAnswers.AskAll(context, owner.Stash, operators, pending.Questions, settings.AskTimeout, answers =>
        {
            var decided = DeviceOrders.Decide(state(), pending, answers, settings.Network, settings.MaxOrderAge, settings.Clock.Now);
            if (!decided.IsOk) sender.Tell(Refusal.From(decided.Error));
            else StandingBroadcast.Spread(context, owner.Stash, decided.Value.Spread, settings.AskTimeout, () => record(decided.Value, sender));
        });
    }
}
