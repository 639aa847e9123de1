using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Market;

/// <summary>
/// The market of one grid zone. Its rules are <see cref="ZoneMarkets"/> over the pure <see cref="MarketBook"/>;
/// the entity looks up signers' keys (piped back, never awaited), persists, and only then answers. Clearing
/// runs on a timer (while the market has open intervals it keeps itself awake) and on <see cref="ClearDue"/>. Money moves over
/// payment channels: once an interval settles, the market reads (by message, the answers piped back) what each participant's
/// channel with the grid operator holds as paid for the interval, until every payment is covered or the payment window ends.
/// </summary>
public sealed class MarketEntity : ReceivePersistentActor, IWithTimers
{
    private const int MaxClearingsPerTick = 64;

    /// <summary>The shortest payment window, for markets of intervals shorter than a minute.</summary>
    private static readonly DurationMs PaymentWindowMin = DurationMs.FromSeconds(60);

    /// <summary>Acknowledgements held while the market marks itself active in the index, at most; past it they go out at once.</summary>
    private const int MaxAcknowledgementsAwaitingIndex = 20_000;

    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _channels;
    private readonly IActorRef _markets;
    private readonly IActorRef _index;
    private readonly ZoneId _zone;
    private readonly MarketBook _empty;
    private ZoneMarket _market;
    private int _eventsSinceSnapshot;
    private readonly Dictionary<long, MarketPayments> _payments = [];
    private readonly List<(IActorRef ReplyTo, MarketOrderAccepted Accepted)> _awaitingIndex = [];
    private IndexStanding _standing = IndexStanding.Unknown;

    public MarketEntity(string id, EnergySettings settings, IActorRef devices, IActorRef channels, IActorRef markets, IActorRef index)
    {
        _settings = settings;
        _devices = devices;
        _channels = channels;
        _markets = markets;
        _index = index;
        _zone = ZoneId.Of(id);
        _empty = MarketBooks.Create(settings.Network, _zone, settings.Currency, settings.MarketRules).Unwrap();
        _market = new ZoneMarket(_empty);

        Recover<SnapshotOffer>(offer => _market = ZoneMarkets.FromSnapshot(_empty, (MarketSnapshot)offer.Snapshot));
        Recover<MarketOrderRecorded>(e => Evolve(e));
        Recover<MarketIntervalCleared>(e => Evolve(e));
        Recover<MarketIntervalSettled>(e => Evolve(e));
        Recover<MarketIntervalPaid>(e => Evolve(e));
        Recover<RecoveryCompleted>(_ =>
        {
            EnergyMetrics.EntityActivated("market");
            Timers.StartPeriodicTimer("clear-due", ClearCheckDue.Instance, settings.MarketClearCheckInterval);
            foreach (var (number, cleared) in _market.Cleared)
                if (cleared.Settlement is not null && !cleared.Paid) StartPayments(cleared.Settlement);
            if (HasWork) MarkActive();
        });

        Command<SubmitMarketOrder>(Submit);
        Command<OrderKeyFound>(Decide);
        Command<ClearDue>(_ => { Clear(); ReadPayments(); });
        // Through the region, not to itself: a market with open intervals or payments under way is busy, and the shard
        // does not put it to sleep as idle; a market with nothing to do lets itself be put to sleep.
        Command<ClearCheckDue>(_ =>
        {
            if (HasWork) _markets.Tell(new ClearDue(_zone), ActorRefs.NoSender);
            if (HasWork && _standing != IndexStanding.Active) MarkActive();
            if (!HasWork && _standing != IndexStanding.Idle) MarkIdle();
        });
        Command<IndexAnswered>(OnIndexAnswered);
        Command<GetMarketInterval>(q => Sender.Tell(ZoneMarkets.View(_market, q.Interval)));
        Command<GetMarketFills>(q => Sender.Tell(ZoneMarkets.FillsOf(_market, q.Interval, q.Device)));
        Command<SettleMarketInterval>(Settle);
        Command<PaymentRead>(OnPaymentRead);
        Command<ReadPaymentsDue>(_ => ReadPayments());
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(failure => Context.GetLogger().Warning(failure.Cause, "market {0}: snapshot failed", _zone));
    }

    public override string PersistenceId => "market-" + _zone.Value;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef channels, IActorRef markets, IActorRef index) =>
        Akka.Actor.Props.Create(() => new MarketEntity(id, settings, devices, channels, markets, index));

    /// <summary>Whether anything runs on the market's own timer: an interval to clear, or payments to finish.</summary>
    private bool HasWork => !_market.Book.Open.IsEmpty || _payments.Count > 0;

    // Orders

    private void Submit(SubmitMarketOrder command)
    {
        var decoded = Signed<MarketOrder>.Decode(command.Order);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error!)); return; }
        var order = decoded.Value;
        // Refused before the lookup when the order cannot count here, whoever signed it.
        if (order.Payload.Zone != _zone) { Sender.Tell(Refusal.From(new OrderOutOfZone(order.Payload.Device, _zone, order.Payload.Zone))); return; }
        var replyTo = Sender;
        _devices.Ask<object>(new GetDevice(order.Payload.Device), _settings.AskTimeout)
            .PipeTo(Self, replyTo, success: answer => new OrderKeyFound(order, answer, replyTo), failure: _ => new OrderKeyFound(order, null, replyTo));
    }

    private void Decide(OrderKeyFound found)
    {
        var order = found.Order.Payload;
        var key = KeyOf(order.Device, found.Answer);
        if (!key.IsOk) { found.ReplyTo.Tell(Refusal.From(key.Error!)); return; }
        var decision = ZoneMarkets.DecideOrder(_market, found.Order, key.Value, _settings.Clock.Now);
        if (!decision.IsOk) { found.ReplyTo.Tell(Refusal.From(decision.Error!)); return; }
        var accepted = decision.Value;
        Persist(new MarketOrderRecorded(found.Order.ToArray(), accepted.Sequence, accepted.AcceptedAt), e =>
        {
            Evolve(e);
            Activity.ActivityFeed.Get(Context.System).Publish(new Activity.MarketOrderPlaced(_zone, order.Interval.Number, order.Interval.Start, order.Side,
                order.Quantity, e.AcceptedAt));
            var answer = new MarketOrderAccepted(_zone, order.Interval.Number, order.Device, order.OrderNumber, e.Sequence, e.AcceptedAt);
            // An acknowledged order is cleared on time even if the node restarts before anything else reaches this
            // market: the index that wakes markets holds the zone before the first acknowledgement goes out.
            if (_standing == IndexStanding.Active || _awaitingIndex.Count >= MaxAcknowledgementsAwaitingIndex) { found.ReplyTo.Tell(answer); return; }
            _awaitingIndex.Add((found.ReplyTo, answer));
            MarkActive();
        });
    }

    // The index of active markets

    private void MarkActive()
    {
        if (_standing == IndexStanding.Marking) return;
        _standing = IndexStanding.Marking;
        _index.Ask<object>(new MarkMarketActive(_zone), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new IndexAnswered(answer), failure: _ => new IndexAnswered(null));
    }

    private void MarkIdle()
    {
        _index.Tell(new MarkMarketIdle(_zone), ActorRefs.NoSender);
        _standing = IndexStanding.Idle;
    }

    private void OnIndexAnswered(IndexAnswered answered)
    {
        if (answered.Answer is MarketIndexed) _standing = IndexStanding.Active;
        else if (answered.Answer is Refusal refusal)
        {
            // Full: the orders are durable and clear on the next message or tick; only the wake after a restart is lost.
            Context.GetLogger().Warning("market {0}: {1}", _zone, refusal.Error.Describe());
            _standing = IndexStanding.Active;
        }
        else { _standing = IndexStanding.Unknown; return; }
        foreach (var (replyTo, accepted) in _awaitingIndex) replyTo.Tell(accepted);
        _awaitingIndex.Clear();
    }

    /// <summary>The registered key of a meter that may trade: endorsed, unrevoked, a meter.</summary>
    private static Result<DevicePublicKey> KeyOf(DeviceId device, object? answer) => answer switch
    {
        DeviceView { Revoked: true } view => new DeviceIsRevoked(device, view.RevokedAt ?? view.EndorsedAt),
        DeviceView { Role: not DeviceRole.Meter } view => new NotAMeter(device, view.Role),
        DeviceView view => DevicePublicKey.FromHex(view.PublicKeyHex),
        Refusal refusal => refusal.Error,
        _ => new NotAnsweredInTime($"the registry, for {device}"),
    };

    // Clearing

    private void Clear()
    {
        var now = _settings.Clock.Now;
        var decided = ZoneMarkets.DecideDueClearings(_market, now, MaxClearingsPerTick);
        var replyTo = Sender;
        if (decided.Count == 0)
        {
            if (Asked(replyTo)) replyTo.Tell(new MarketCleared(_zone, [], _market.Book.LastCleared));
            return;
        }
        var results = decided.ToDictionary(d => d.Interval.Number, d => d.Result);
        var done = 0;
        PersistAll(decided.Select(d => new MarketIntervalCleared(d.Interval.Number, d.ClearedAt)), e =>
        {
            var result = results[e.Interval];
            Evolve(e, result);
            Activity.ActivityFeed.Get(Context.System).Publish(MarketActivities.Cleared(ZoneMarkets.View(_market, e.Interval), result, e.ClearedAt));
            if (++done == decided.Count && Asked(replyTo))
                replyTo.Tell(new MarketCleared(_zone, decided.Select(d => d.Interval.Number).ToList(), _market.Book.LastCleared));
        });
    }

    /// <summary>Whether someone asked (the market's own timer asks nobody to answer).</summary>
    private bool Asked(IActorRef sender) => !sender.IsNobody() && !sender.Equals(Self);

    // Settlement

    private void Settle(SettleMarketInterval command)
    {
        var found = ZoneMarkets.Find(_market, command.Interval);
        if (!found.IsOk) { Sender.Tell(Refusal.From(found.Error!)); return; }
        if (found.Value.Settlement is not null)
        {
            Sender.Tell(Answer(ZoneMarkets.DecideSettlement(_market, command.Interval, command.MarketOperator, [], _settings.Clock.Now)));
            return;
        }
        if (command.Evidence.Count > 2 * _settings.MarketRules.MaxOrdersPerInterval)
        {
            Sender.Tell(Refusal.From(new MalformedValue("evidence", command.Evidence.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "one proof per participant")));
            return;
        }
        var participants = found.Value.Result.Fills.Select(f => f.Device).Distinct().ToList();
        var replyTo = Sender;
        AwaitedAnswers.Await(Context, Stash, LookUpAsync(participants), [], keys =>
        {
            var evidence = Evidence(command.Evidence, keys);
            var decision = ZoneMarkets.DecideSettlement(_market, command.Interval, command.MarketOperator, evidence, _settings.Clock.Now, Channels(command.Evidence));
            // A settlement decided meanwhile (or an interval forgotten meanwhile) is answered as it stands, never written twice.
            if (!decision.IsOk || _market.Cleared.GetValueOrDefault(command.Interval)?.Settlement is not null) { replyTo.Tell(Answer(decision)); return; }
            Persist(decision.Value, e =>
            {
                Evolve(e);
                Activity.ActivityFeed.Get(Context.System).Publish(MarketActivities.Settled(_zone, e));
                replyTo.Tell(e);
                StartPayments(e);
            });
        });
    }

    private static object Answer(Result<MarketIntervalSettled> decision) => decision.IsOk ? decision.Value : Refusal.From(decision.Error!);

    /// <summary>Each participant's registered meter key, off the actor; a participant whose key is not found has none.</summary>
    private async Task<Dictionary<DeviceId, DevicePublicKey>> LookUpAsync(IReadOnlyList<DeviceId> participants)
    {
        var answers = await Task.WhenAll(participants.Select(async p =>
        {
            try { return (p, await _devices.Ask<object>(new GetDevice(p), _settings.AskTimeout)); }
            catch (AskTimeoutException) { return (p, (object?)null); }
        }));
        var keys = new Dictionary<DeviceId, DevicePublicKey>();
        foreach (var (participant, answer) in answers)
            if (answer is DeviceView { Revoked: false, Role: DeviceRole.Meter } view && DevicePublicKey.FromHex(view.PublicKeyHex) is { IsOk: true } key)
                keys[participant] = key.Value;
        return keys;
    }

    /// <summary>
    /// The evidence as the pure settlement takes it: a participant's own meter proves its delivery (it signs its
    /// orders too). Readings that do not decode, or of a participant without a registered key, count as missing.
    /// </summary>
    private static List<DeliveryEvidence> Evidence(IReadOnlyList<DeliveryProof> proofs, Dictionary<DeviceId, DevicePublicKey> keys)
    {
        var evidence = new List<DeliveryEvidence>(proofs.Count);
        foreach (var proof in proofs)
        {
            if (!keys.TryGetValue(proof.Participant, out var key)) continue;
            evidence.Add(new DeliveryEvidence(proof.Participant, proof.Side, proof.Participant, key, Reading(proof.Start), Reading(proof.End)));
        }
        return evidence;
    }

    /// <summary>The channel each participant's proof names for its payment on that side (the first, when it is named twice).</summary>
    private static Dictionary<(DeviceId Participant, MarketSide Side), ChannelId> Channels(IReadOnlyList<DeliveryProof> proofs)
    {
        var channels = new Dictionary<(DeviceId Participant, MarketSide Side), ChannelId>();
        foreach (var proof in proofs)
            if (proof.Channel is { } channel) channels.TryAdd((proof.Participant, proof.Side), channel);
        return channels;
    }

    private static Signed<MeterReading>? Reading(byte[]? wire) =>
        wire is not null && Signed<MeterReading>.Decode(wire) is { IsOk: true } decoded ? decoded.Value : null;

    // Payments: read from each participant's channel with the operator, until covered or the window ends.

    private void StartPayments(MarketIntervalSettled settled)
    {
        if (_payments.ContainsKey(settled.Interval) || !_market.Cleared.TryGetValue(settled.Interval, out var cleared)) return;
        // A participant has an interval's length after the settlement (a minute at least) to pay what it owes, and the
        // operator as long to pay the sellers.
        var windowEnds = settled.SettledAt.Plus(new DurationMs(Math.Max(cleared.Interval.Length.Milliseconds, PaymentWindowMin.Milliseconds)));
        var payments = new MarketPayments(cleared.Interval, settled.MarketOperator, MarketPaymentRules.Due(settled),
            windowEnds.IsOk ? windowEnds.Value : settled.SettledAt);
        _payments[settled.Interval] = payments;
        Read(payments);
    }

    private void ReadPayments()
    {
        foreach (var payments in _payments.Values.ToList()) Read(payments);
    }

    /// <summary>
    /// Asks each channel whose payment is not yet covered. Once the window has passed, one last round of reads decides:
    /// the payments close when its answers are all in (each ask is answered, or fails, within the ask timeout).
    /// </summary>
    private void Read(MarketPayments payments)
    {
        if (payments.Covered) { Paid(payments); return; }
        if (payments.Closing) return;
        var unsettled = payments.Unsettled();
        var final = _settings.Clock.Now >= payments.WindowEnds;
        if (final && unsettled.Count == 0) { Paid(payments); return; }
        // At most one round of reads in flight, and the final one: every ask is answered or fails within the ask timeout.
        if (!final && payments.Reading) { payments.ReadWanted = true; return; }
        payments.ReadWanted = false;
        var round = payments.StartRound(final, unsettled.Count);
        foreach (var due in unsettled)
        {
            var (participant, side) = (due.Participant, due.Side);
            _channels.Ask<object>(new GetPurposePaid(due.Channel!.Value, payments.Purpose), _settings.AskTimeout)
                .PipeTo(Self, success: answer => new PaymentRead(payments.Interval, participant, side, answer, round),
                    failure: _ => new PaymentRead(payments.Interval, participant, side, null, round));
        }
        Timers.StartSingleTimer("payments", ReadPaymentsDue.Instance, _settings.AskTimeout + _settings.AskTimeout);
    }

    private void OnPaymentRead(PaymentRead read)
    {
        if (!_payments.TryGetValue(read.Interval, out var payments)) return;
        if (payments.Answer(read.Participant, read.Side, read.Answer, read.Round)) Paid(payments);
        else if (payments.ReadWanted && !payments.Reading) Read(payments);
    }

    private void Paid(MarketPayments payments)
    {
        if (!_payments.Remove(payments.Interval)) return;
        if (_payments.Count == 0) Timers.Cancel("payments");
        Persist(payments.Close(), Evolve);
    }

    // The only way the state changes.

    private void Evolve(MarketOrderRecorded e) { _market = ZoneMarkets.Apply(_market, e); Snapshotted(); }

    private void Evolve(MarketIntervalCleared e) => Evolve(e, null);

    private void Evolve(MarketIntervalCleared e, ClearingResult? decided) { _market = ZoneMarkets.Apply(_market, e, decided); Snapshotted(); }

    private void Evolve(MarketIntervalSettled e) { _market = ZoneMarkets.Apply(_market, e); Snapshotted(); }

    private void Evolve(MarketIntervalPaid e) { _market = ZoneMarkets.Apply(_market, e); Snapshotted(); }

    private void Snapshotted()
    {
        if (++_eventsSinceSnapshot < _settings.MarketSnapshotEveryEvents || IsRecovering) return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(ZoneMarkets.ToSnapshot(_market));
    }

    private sealed record OrderKeyFound(Signed<MarketOrder> Order, object? Answer, IActorRef ReplyTo);

    private sealed record IndexAnswered(object? Answer);

    /// <summary>What the market knows of its own place in the index.</summary>
    private enum IndexStanding { Unknown, Marking, Active, Idle }

    private sealed record PaymentRead(long Interval, DeviceId Participant, MarketSide Side, object? Answer, int Round);

    private sealed record ClearCheckDue
    {
        public static readonly ClearCheckDue Instance = new();
    }

    private sealed record ReadPaymentsDue
    {
        public static readonly ReadPaymentsDue Instance = new();
    }
}
