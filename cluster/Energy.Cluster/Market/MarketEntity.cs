using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels.Market;
using Energy.Cluster.Kernel;
using Energy.Lifecycles;
using Energy.Lifecycles.Market;

namespace Energy.Cluster.Market;

/// <summary>
/// The market of one grid zone, a thin shell around <see cref="ZoneMarkets"/>: it has signers' keys looked up
/// (<see cref="MarketLookups"/>), persists what the core decides and, once it is durable, carries out what the core says
/// follows (<see cref="EntityEffects"/>). Clearing runs on the market's own timer while it has work (<see cref="MarketClearChecks"/>)
/// and on <see cref="ClearDue"/>; once an interval settles, <see cref="MarketPaymentReads"/> reads what each participant's
/// channel with the grid operator holds as paid for it, until every payment is covered or the payment window ends.
/// </summary>
public sealed class MarketEntity : ReceivePersistentActor, IWithTimers
{
    private const int MaxClearingsPerTick = 64;

    private readonly EnergySettings _settings;
    private readonly ZoneId _zone;
    private readonly MarketIndexStanding _index;
    private readonly MarketPaymentReads _payments;
    private readonly MarketLookups _lookups;
    private readonly MarketClearChecks _checks;
    private readonly EntityEffects _effects;
    private readonly SnapshotCadence _snapshots;
    private ZoneMarket _market;

    public MarketEntity(string id, EnergySettings settings, IActorRef devices, IActorRef channels, IActorRef markets, IActorRef index)
    {
        (_settings, _zone) = (settings, ZoneId.Of(id));
        var empty = MarketBooks.Create(settings.Network, _zone, settings.Currency, settings.MarketRules).Unwrap();
        _market = new ZoneMarket(empty);
        _index = new MarketIndexStanding(Context, index, _zone, settings.AskTimeout);
        _payments = new MarketPaymentReads(Context, this, channels, settings, paid => Persist(paid, e => Evolve(e)));
        _lookups = new MarketLookups(Context, this, devices, settings, () => _market, (settled, replyTo) => Record(settled, replyTo, e => ZoneMarkets.Durable(_market, e)));
        _checks = new MarketClearChecks(this, markets, _zone, _index, settings.MarketClearCheckInterval);
        _effects = EntityEffects.WithoutPeers(Context, this, published => MarketActivities.Published(_market, published), Then);
        _snapshots = new SnapshotCadence(settings.MarketSnapshotEveryEvents);

        Recover<SnapshotOffer>(offer => _market = ZoneMarkets.FromSnapshot(empty, (MarketSnapshot)offer.Snapshot));
        Recover<IEnergyMessage>(e => Evolve(e));
        Recover<RecoveryCompleted>(_ => Resume());
        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<SubmitMarketOrder>(command => _lookups.Signer(command, Sender));
        Command<SignerFound>(OnSignerFound);
        Command<ClearDue>(_ => { Clear(); _payments.ReadAll(); });
        Command<ClearCheckDue>(_ => _checks.Check(HasWork));
        Command<IndexAnswered>(_index.Answered);
        Command<GetMarketInterval>(q => Sender.Tell(ZoneMarkets.View(_market, q.Interval)));
        Command<GetMarketFills>(q => Sender.Tell(ZoneMarkets.FillsOf(_market, q.Interval, q.Device)));
        Command<SettleMarketInterval>(command => _lookups.Participants(command, Sender));
        Command<PaymentRead>(_payments.Answered);
        Command<ReadPaymentsDue>(_ => _payments.ReadAll());
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(failure => Context.GetLogger().Warning(failure.Cause, "market {0}: snapshot failed", _zone));
    }

    public override string PersistenceId => "market-" + _zone.Value;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef channels, IActorRef markets, IActorRef index) =>
        Akka.Actor.Props.Create(() => new MarketEntity(id, settings, devices, channels, markets, index));

    /// <summary>Whether anything runs on the market's own timer: an interval to clear, or payments to finish.</summary>
    private bool HasWork => !_market.Book.Open.IsEmpty || _payments.Any;

    private void Resume()
    {
        EnergyMetrics.EntityActivated("market");
        _effects.Run(ZoneMarkets.Resumed(_market), null);
        _checks.Start(HasWork);
    }

    private void OnSignerFound(SignerFound found)
    {
        var decided = ZoneMarkets.DecideOrder(_market, found.Order, found.Answer, _settings.Clock.Now);
        if (decided.IsOk) Record(decided.Value, found.ReplyTo, e => ZoneMarkets.Durable(_market, e, found.Order.Payload));
        else found.ReplyTo.Tell(Refusal.From(decided.Error));
    }

    /// <summary>Clears the intervals whose gates have closed; whoever asked (the market's own timer asks nobody to answer) hears them once all are durable.</summary>
    private void Clear()
    {
        var replyTo = Sender.IsNobody() || Sender.Equals(Self) ? null : Sender;
        var clearings = ZoneMarkets.DecideClearings(_market, _settings.Clock.Now, MaxClearingsPerTick);
        if (clearings.IsEmpty) replyTo?.Tell(clearings.Answer(_market));
        else PersistAll(clearings.Events, e => { Evolve(e, clearings.ResultOf(e.Interval)); _effects.Run(ZoneMarkets.Durable(_market, e, clearings), replyTo); });
    }

    /// <summary>Persists what the core decided; once durable, evolves by it and carries out what the core says follows (<paramref name="replyTo"/> hears the answer).</summary>
    private void Record<T>(T e, IActorRef replyTo, Func<T, Effect[]> follows) where T : class =>
        Persist(e, durable => { Evolve(durable); _effects.Run(follows(durable), replyTo); });

    /// <summary>The steps the core goes on with that need the shell: an acknowledgement held for the index, an interval's payments read.</summary>
    private void Then(object step, IActorRef? replyTo)
    {
        if (step is AcknowledgeOnceIndexed acknowledgement) _index.Acknowledge(replyTo!, acknowledgement.Answer);
        else if (step is ReadPayments read) _payments.Start(read.Cleared, read.Settled);
    }

    /// <summary>The only way the state changes, live and in recovery.</summary>
    private void Evolve(object e, ClearingResult? decided = null)
    {
        _market = ZoneMarkets.Evolve(_market, e, decided);
        // Replayed events count toward the next snapshot, so that a long replay is cut short at the next live event; none is taken while replaying.
        if (_snapshots.Due(allDurable: !IsRecovering)) SaveSnapshot(ZoneMarkets.ToSnapshot(_market));
    }
}
