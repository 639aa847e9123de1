using Akka.Actor;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tolls;

/// <summary>
/// What a gantry asks the registry before its core takes an operator's tariff. A tariff the core answers without the
/// registry (refused by name, or the same again) is answered at once; for a new one, the gantry's twin and its operator
/// are asked together and the answers piped back, awaited (<see cref="AwaitedAnswers"/>): everything else the gantry
/// receives waits meanwhile, so the core decides on the <paramref name="book"/> as the answers find it. What the core
/// accepts goes to <paramref name="record"/> (the gantry's persist, whoever configured it waiting for it); what it
/// refuses is told to whoever configured it by name. The <paramref name="owner"/>'s stash is given to it only once it
/// is constructed.
/// </summary>
public sealed class GantryLookups(IActorContext context, IActorStash owner, IActorRef devices, IActorRef operators, EnergySettings settings,
    TollPassBook book, Action<GantryConfigured, IActorRef> record)
{
    /// <summary>An operator's tariff for the gantry: answered at once when the core needs no lookup, else decided once the registry answered.</summary>
    public void Configure(ConfigureGantry command, IActorRef sender)
    {
        var decided = book.DecideTariff(command.Tariff, command.Gantry, settings.Network, settings.Currency);
        if (decided.ToLookUp is not { } tariff) { sender.Tell(decided.Answer); return; }
        AwaitedAnswers.AskBoth(context, owner.Stash, (devices, new GetDevice(command.Gantry)), (operators, new GetOperator(tariff.Payload.Operator)), settings.AskTimeout,
            (device, tollOperator) =>
            {
                var configured = TollPassBook.DecideConfigure(tariff, command.Tariff, command.Gantry, device, tollOperator, settings.Clock.Now);
                if (configured.IsOk) record(configured.Value, sender);
                else sender.Tell(Refusal.From(configured.Error));
            });
    }
}
