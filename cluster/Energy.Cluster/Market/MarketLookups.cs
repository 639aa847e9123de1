using Akka.Actor;
using Energy.Channels.Encoding;
using Energy.Channels.Market;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles;
using Energy.Lifecycles.Market;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Market;

/// <summary>An order's signer's twin answered (null when it did not in time), piped back to the market with whoever placed the order.</summary>
public sealed record SignerFound(Signed<MarketOrder> Order, object? Answer, IActorRef ReplyTo);

/// <summary>
/// What a zone's market asks the registry before its core decides. An order's signer is looked up while the market goes on
/// taking orders (the answer piped back as <see cref="SignerFound"/>, never awaited), so that the orders of many meters are
/// looked up at once. A settlement's participants are looked up all at once and awaited (<see cref="AwaitedAnswers"/>):
/// everything else the market receives waits meanwhile, so the core settles the <paramref name="market"/> as the answers
/// find it and an interval is never settled twice. What the core accepts goes to <paramref name="record"/> (the market's
/// persist, whoever asked waiting for it); what it refuses is told to whoever asked by name. The <paramref name="owner"/>'s
/// stash is given to it only once it is constructed.
/// </summary>
public sealed class MarketLookups(IActorContext context, IActorStash owner, IActorRef devices, EnergySettings settings, Func<ZoneMarket> market,
    Action<MarketIntervalSettled, IActorRef> record)
{
    /// <summary>An order: refused at once when it cannot count in this market, whoever signed it; else its signer's twin is asked.</summary>
    public void Signer(SubmitMarketOrder command, IActorRef sender)
    {
        var read = ZoneMarkets.ReadOrder(market(), command.Order);
        if (!read.IsOk) { sender.Tell(Refusal.From(read.Error)); return; }
        var order = read.Value;
        devices.Ask<object>(new GetDevice(order.Payload.Device), settings.AskTimeout)
            .PipeTo(context.Self, sender, success: answer => new SignerFound(order, answer, sender), failure: _ => new SignerFound(order, null, sender));
    }

    /// <summary>
    /// A settlement: answered at once when the core knows the answer without the meters' keys, else decided once the
    /// participants' twins answered; a settlement made meanwhile is answered as it stands.
    /// </summary>
    public void Participants(SettleMarketInterval command, IActorRef sender)
    {
        if (ZoneMarkets.KnownSettlement(market(), command, settings.Clock.Now) is { } known) { sender.Tell(Answers.Of(known)); return; }
        var participants = ZoneMarkets.Participants(market(), command.Interval);
        AwaitedAnswers.Await(context, owner.Stash, DeviceAnswers.AskAllAsync(devices, participants, settings.AskTimeout), [], answers =>
        {
            var decided = ZoneMarkets.DecideSettlement(market(), command, answers, settings.Clock.Now);
            if (decided is { IsOk: true, Value.IsNew: true }) record(decided.Value.Settlement, sender);
            else sender.Tell(decided.IsOk ? decided.Value.Settlement : Refusal.From(decided.Error));
        });
    }
}
