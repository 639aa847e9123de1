using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels.Encoding;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Market;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Market;

/// <summary>
/// The market of one grid zone, a thin shell around <see cref="ZoneMarkets"/>: it looks up signers' keys (piped back,
/// never awaited), persists, and only then answers. Clearing runs on a timer (while the market has work of its own it
/// keeps itself awake, and marked in the index: <see cref="MarketIndexStanding"/>) and on <see cref="ClearDue"/>. Money
/// moves over payment channels: once an interval settles, <see cref="MarketPaymentReads"/> reads what each participant's
/// channel with the grid operator holds as paid for it, until every payment is covered or the payment window ends.
/// </summary>
public sealed class MarketEntity : ReceivePersistentActor, IWithTimers
{
    private const int MaxClearingsPerTick = 64;

    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly ZoneId _zone;
    private readonly MarketIndexStanding _index;
    private readonly MarketPaymentReads _payments;
    private ZoneMarket _market;
    private int _eventsSinceSnapshot;

    public MarketEntity(string id, EnergySettings settings, IActorRef devices, IActorRef channels, IActorRef markets, IActorRef index)
    {
        _settings = settings;
        _devices = devices;
        _zone = ZoneId.Of(id);
        _index = new MarketIndexStanding(Context, index, _zone, settings.AskTimeout);
        _payments = new MarketPaymentReads(Context, this, channels, settings, paid => Persist(paid, Evolve));
        var empty = MarketBooks.Create(settings.Network, _zone, settings.Currency, settings.MarketRules).Unwrap();
        _market = new ZoneMarket(empty);

        Recover<SnapshotOffer>(offer => _market = ZoneMarkets.FromSnapshot(empty, (MarketSnapshot)offer.Snapshot));
        Recover<MarketOrderRecorded>(e => Evolve(e));
        Recover<MarketIntervalCleared>(e => Evolve(e));
        Recover<MarketIntervalSettled>(e => Evolve(e));
        Recover<MarketIntervalPaid>(e => Evolve(e));
        Recover<RecoveryCompleted>(_ =>
        {
            EnergyMetrics.EntityActivated("market");
            Timers.StartPeriodicTimer("clear-due", ClearCheckDue.Instance, settings.MarketClearCheckInterval);
            foreach (var (cleared, settled) in ZoneMarkets.AwaitingPayment(_market).ToList()) _payments.Start(cleared, settled);
            if (HasWork) _index.MarkActive();
        });

        Command<SubmitMarketOrder>(Submit);
        Command<OrderKeyFound>(Decide);
        Command<ClearDue>(_ => { Clear(); _payments.ReadAll(); });
        // Through the region, not to itself: a market with open intervals or payments under way is busy, and the shard
        // does not put it to sleep as idle; a market with nothing to do lets itself be put to sleep.
        Command<ClearCheckDue>(_ =>
        {
            if (HasWork) markets.Tell(new ClearDue(_zone), ActorRefs.NoSender);
            _index.Update(HasWork);
        });
        Command<IndexAnswered>(_index.Answered);
        Command<GetMarketInterval>(q => Sender.Tell(ZoneMarkets.View(_market, q.Interval)));
        Command<GetMarketFills>(q => Sender.Tell(ZoneMarkets.FillsOf(_market, q.Interval, q.Device)));
        Command<SettleMarketInterval>(Settle);
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

    private void Submit(SubmitMarketOrder command)
    {
        var read = ZoneMarkets.ReadOrder(_market, command.Order);
        if (!read.IsOk) { Sender.Tell(Refusal.From(read.Error)); return; }
        var (order, replyTo) = (read.Value, Sender);
        _devices.Ask<object>(new GetDevice(order.Payload.Device), _settings.AskTimeout)
            .PipeTo(Self, replyTo, success: answer => new OrderKeyFound(order, answer, replyTo), failure: _ => new OrderKeyFound(order, null, replyTo));
    }

    private void Decide(OrderKeyFound found)
    {
        var decision = ZoneMarkets.DecideOrder(_market, found.Order, found.Answer, _settings.Clock.Now);
        if (!decision.IsOk) { found.ReplyTo.Tell(Refusal.From(decision.Error)); return; }
        var order = found.Order.Payload;
        Persist(decision.Value, e =>
        {
            Evolve(e);
            Activity.ActivityFeed.Get(Context.System).Publish(new Activity.MarketOrderPlaced(_zone, order.Interval.Number, order.Interval.Start, order.Side,
                order.Quantity, e.AcceptedAt));
            _index.Acknowledge(found.ReplyTo, ZoneMarkets.Acknowledge(_zone, order, e));
        });
    }

    private void Clear()
    {
        var decided = ZoneMarkets.DecideDueClearings(_market, _settings.Clock.Now, MaxClearingsPerTick);
        var replyTo = Sender;
        // Someone asked (the market's own timer asks nobody to answer).
        var asked = !replyTo.IsNobody() && !replyTo.Equals(Self);
        if (decided.Count == 0)
        {
            if (asked) replyTo.Tell(new MarketCleared(_zone, [], _market.Book.LastCleared));
            return;
        }
        var results = decided.ToDictionary(d => d.Interval.Number, d => d.Result);
        var done = 0;
        PersistAll(decided.Select(d => new MarketIntervalCleared(d.Interval.Number, d.ClearedAt)), e =>
        {
            var result = results[e.Interval];
            Evolve(e, result);
            Activity.ActivityFeed.Get(Context.System).Publish(MarketActivities.Cleared(ZoneMarkets.View(_market, e.Interval), result, e.ClearedAt));
            if (++done == decided.Count && asked)
                replyTo.Tell(new MarketCleared(_zone, decided.Select(d => d.Interval.Number).ToList(), _market.Book.LastCleared));
        });
    }

    private void Settle(SettleMarketInterval command)
    {
        if (ZoneMarkets.KnownSettlement(_market, command, _settings.Clock.Now) is { } known) { Sender.Tell(Answer(known)); return; }
        var replyTo = Sender;
        AwaitedAnswers.Await(Context, Stash, DeviceAnswers.AskAllAsync(_devices, ZoneMarkets.Participants(_market, command.Interval), _settings.AskTimeout), [], answers =>
        {
            var decision = ZoneMarkets.DecideSettlement(_market, command, answers, _settings.Clock.Now);
            if (!decision.IsOk || !decision.Value.IsNew) { replyTo.Tell(decision.IsOk ? decision.Value.Settlement : Refusal.From(decision.Error)); return; }
            Persist(decision.Value.Settlement, e =>
            {
                Evolve(e);
                Activity.ActivityFeed.Get(Context.System).Publish(MarketActivities.Settled(_zone, e));
                replyTo.Tell(e);
                _payments.Start(_market.Cleared[e.Interval], e);
            });
        });
    }

    private static object Answer(Energy.Channels.Result<MarketIntervalSettled> decision) => decision.IsOk ? decision.Value : Refusal.From(decision.Error);

    // The only way the state changes, live and in recovery.

    private void Evolve(MarketOrderRecorded e) { _market = ZoneMarkets.Apply(_market, e); Snapshotted(); }

    private void Evolve(MarketIntervalCleared e, ClearingResult? decided = null) { _market = ZoneMarkets.Apply(_market, e, decided); Snapshotted(); }

    private void Evolve(MarketIntervalSettled e) { _market = ZoneMarkets.Apply(_market, e); Snapshotted(); }

    private void Evolve(MarketIntervalPaid e) { _market = ZoneMarkets.Apply(_market, e); Snapshotted(); }

    private void Snapshotted()
    {
        if (++_eventsSinceSnapshot < _settings.MarketSnapshotEveryEvents || IsRecovering) return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(ZoneMarkets.ToSnapshot(_market));
    }

    private sealed record OrderKeyFound(Signed<MarketOrder> Order, object? Answer, IActorRef ReplyTo);

    private sealed record ClearCheckDue
    {
        public static readonly ClearCheckDue Instance = new();
    }
}
