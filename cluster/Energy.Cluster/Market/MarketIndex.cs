using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Market;
using Energy.Lifecycles.Market;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Market;

/// <summary>
/// The network's durable list of zones whose markets must run without being asked: a market marks itself active
/// before it acknowledges its first order (so an acknowledged order is always cleared on time) and idle when it has
/// nothing left to do. <see cref="MarketWatch"/> reads it on every node's start and every so often after, and wakes
/// each market it lists. One persisted entity.
/// </summary>
public sealed class MarketIndex : ReceivePersistentActor
{
    public const string EntityName = MarketIndexRules.EntityName;
    private const int SnapshotEveryEvents = 500;

    private MarketIndexState _state = MarketIndexState.Empty;
    private int _eventsSinceSnapshot;

    public MarketIndex()
    {
        Recover<SnapshotOffer>(offer => _state = MarketIndexState.Empty with
        {
            Active = MarketIndexState.Empty.Active.Union(((MarketIndexSnapshot)offer.Snapshot).Zones),
        });
        Recover<MarketActivityRecorded>(e => _state = MarketIndexRules.Apply(_state, e));
        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<MarkMarketActive>(command =>
        {
            var decided = MarketIndexRules.DecideActive(_state, command.Zone);
            if (!decided.IsOk) { Sender.Tell(Refusal.From(decided.Error!)); return; }
            if (decided.Value is not { } recorded) { Sender.Tell(new MarketIndexed(command.Zone)); return; }
            var sender = Sender;
            Persist(recorded, e => { Evolve(e); sender.Tell(new MarketIndexed(command.Zone)); });
        });
        Command<MarkMarketIdle>(command =>
        {
            if (MarketIndexRules.DecideIdle(_state, command.Zone) is { } recorded) Persist(recorded, Evolve);
        });
        Command<GetActiveMarkets>(_ => Sender.Tell(new ActiveMarkets([.. _state.Active])));
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(failure => Context.GetLogger().Warning(failure.Cause, "market index: snapshot failed"));
    }

    public override string PersistenceId => EntityName;

    public static Props Props() => Akka.Actor.Props.Create(() => new MarketIndex());

    private void Evolve(MarketActivityRecorded e)
    {
        _state = MarketIndexRules.Apply(_state, e);
        if (++_eventsSinceSnapshot < SnapshotEveryEvents) return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(new MarketIndexSnapshot([.. _state.Active]));
    }
}

/// <summary>
/// Keeps the zones' markets running across restarts and failovers. A market's clearing timer dies with its actor,
/// and after a restart nothing else would start it before its next order; every interval (and at once when the node
/// starts) this reads the <see cref="MarketIndex"/> and wakes each active market, which clears whatever gate has
/// closed meanwhile and goes on with its own timer.
/// </summary>
public sealed class MarketWatch : Kernel.PeriodicWatch
{
    private readonly IActorRef _index;

    public MarketWatch(IActorRef index, IActorRef markets, TimeSpan interval) : base(interval)
    {
        _index = index;
        Receive<ActiveMarkets>(active =>
        {
            foreach (var zone in active.Zones) markets.Tell(new ClearDue(zone), ActorRefs.NoSender);
        });
    }

    public static Props Props(IActorRef index, IActorRef markets, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new MarketWatch(index, markets, interval));

    protected override void Look() => _index.Tell(GetActiveMarkets.Instance);
}
