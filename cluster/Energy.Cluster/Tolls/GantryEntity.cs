using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using Energy.Cluster.Channels;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Wire;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tolls;

/// <summary>
/// A free-flow gantry on the network: a shell around <see cref="TollPassBook"/> and <see cref="TollPasses"/>.
/// Its operator's signed tariff places and prices it. For each vehicle it sees, the gantry signs a toll
/// request; the entity records the pass, passes the request to the vehicle at once and waits, bounded, for a
/// voucher on the vehicle's channel to the operator that names the pass. Which channel the voucher is on is
/// durable before the channel sees it, so that after a crash the gantry asks the channel what was paid instead
/// of calling a paid pass late. Each pass resolves once: paid, or one violation, filed with the operator's toll
/// office until acknowledged. Every pass also goes to the vehicle's twin and to the zone.
/// </summary>
public sealed class GantryEntity : ReceivePersistentActor, IWithTimers
{
    private static readonly TimeSpan Sweep = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ZoneRefresh = TimeSpan.FromSeconds(1);
    private const int MaxChannelAsks = 5;
    private const int MaxFiledAtOnce = 1_000;

    private readonly string _id;
    private readonly DeviceId _gantry;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _channels;
    private readonly IActorRef _offices;
    private readonly IActorRef _zones;
    private readonly IActorRef _operators;
    private readonly TollPassBook _book;
    private readonly DevicePush _push;

    // What the shell keeps beside the book: the live price.
    private TollPricing _pricing;
    private int _vehiclesInZone;

    public GantryEntity(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones)
    {
        _id = id;
        _gantry = new DeviceId(id);
        _book = new TollPassBook(_gantry);
        _settings = settings;
        _devices = devices;
        _operators = operators;
        _channels = channels;
        _offices = offices;
        _zones = zones;
        // A vehicle passing is looked up once: without a connection it cannot answer, and its pass ends late.
        _push = new DevicePush(Context, this, devices, settings.Clock, settings.AskTimeout,
            new DevicePushBounds(MaxConnections: 10_000, MaxResolved: 1_000, KeepFor: DurationMs.FromSeconds(30), MaxLookups: 1, LookAgainAfter: TimeSpan.FromSeconds(1)));

        Recover<IEnergyMessage>(_book.Apply);
        Recover<RecoveryCompleted>(_ =>
        {
            EnergyMetrics.EntityActivated("gantry");
            Start();
        });
        Command<ConfigureGantry>(OnConfigure);
        Command<TollPass>(OnPass);
        Command<PayToll>(OnPay);
        Command<DeclineToll>(command => { if (AnsweredPass(command.Pass, command.Vehicle, refuseWhileBeingPaid: false) is { } pass) Resolve(pass, TollPasses.DecideDecline(pass, Tariff!.Operator, command.Reason, Now), Sender); });
        Command<VoucherAnswered<(PassId Pass, Signed<Voucher> Voucher)>>(OnPaymentAnswered);
        Command<PassPaymentFound>(OnPassPaymentFound);
        Command<DeviceConnectionFound>(found => { if (_push.Found(found, wanted: _book.Find(PassId.Of(found.Key)) is { IsOpen: true }) is not null) PushRequest(_book.Find(PassId.Of(found.Key))!); });
        Command<ViolationFiled>(filed => { if (_book.IsUnfiled(filed.Violation)) PersistAsync(new ViolationFiledRecorded(filed.Violation), _book.Apply); });
        Command<GetGantry>(_ => Sender.Tell(View()));
        Command<Tick>(OnTick);
        Command<ZoneView>(zone => { _vehiclesInZone = zone.VehiclesLastMinute; UpdatePrice(); });
        Command<Status.Failure>(_ => { });
    }

    /// <summary>The gantry's periodic work: deadlines swept, the zone's traffic asked for its price, violations filed again.</summary>
    private enum Tick { Sweep, Zone, File }

    public override string PersistenceId => "gantry-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones) =>
        Akka.Actor.Props.Create(() => new GantryEntity(id, settings, devices, operators, channels, offices, zones));

    private GantryTariff? Tariff => _book.Tariff;

    private Timestamp Now => _settings.Clock.Now;

    private void Start()
    {
        Timers.StartPeriodicTimer(Tick.Sweep, Tick.Sweep, Sweep);
        Timers.StartPeriodicTimer(Tick.File, Tick.File, TimeSpan.FromSeconds(1));
        if (Tariff is not null) Priced();
        FileUnfiled();
        // A pass whose voucher was handed to its channel before a restart: the channel may have persisted it while the
        // gantry did not learn so. The pass waits (not swept as late) for the channel's answer, asked again when none came.
        foreach (var pass in _book.HandedToChannel)
        {
            _book.PaymentStarted(pass.Id);
            var id = pass.Id;
            RetriedAsks.AskAsync(_channels, new GetPurposePaid(pass.Channel!.Value, pass.Purpose), _settings.AskTimeout, MaxChannelAsks)
                .PipeTo(Self, success: answer => new PassPaymentFound(id, answer), failure: _ => new PassPaymentFound(id, null));
        }
    }

    private void OnTick(Tick tick)
    {
        switch (tick)
        {
            case Tick.Sweep:
                foreach (var late in _book.DecideLate((long)_settings.TollAnswerTimeout.TotalMilliseconds, Now)) Resolve(_book.Find(late.Violation.Pass)!, late, ActorRefs.Nobody);
                break;
            case Tick.Zone when Tariff is { CongestionThreshold: > 0 } tariff:
                _zones.Ask<object>(new GetZone(tariff.Zone), _settings.AskTimeout).PipeTo(Self);
                break;
            case Tick.File:
                FileUnfiled();
                break;
        }
    }

    private void OnPassPaymentFound(PassPaymentFound found)
    {
        if (_book.Find(found.Pass) is not { IsOpen: true } pass) return;
        _book.PaymentEnded(pass.Id);
        // Not paid (the voucher never became durable), or no answer: the deadline decides, as for any pass.
        if (TollPasses.DecideFound(pass, Tariff!.Operator, found.Answer, Now) is { } paid) Resolve(pass, paid, ActorRefs.Nobody);
    }

    // Configuration and price

    private void OnConfigure(ConfigureGantry command)
    {
        var sender = Sender;
        var decoded = Signed<GantryTariff>.Decode(command.Tariff);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var checkedTariff = _book.CheckTariff(decoded.Value, command.Gantry, _settings.Network, _settings.Currency);
        if (!checkedTariff.IsOk) { sender.Tell(Refusal.From(checkedTariff.Error)); return; }
        if (checkedTariff.Value is not { } tariff) { sender.Tell(View()); return; }
        AwaitedAnswers.AskBoth(Context, Stash, (_devices, new GetDevice(command.Gantry)), (_operators, new GetOperator(tariff.Operator)), _settings.AskTimeout, (device, tollOperator) =>
        {
            if (device is null || tollOperator is null) { sender.Tell(Refusal.From(new NotAnsweredInTime("registry"))); return; }
            var configured = TollPassBook.DecideConfigure(decoded.Value, command.Tariff, command.Gantry, device, tollOperator, Now);
            if (!configured.IsOk) { sender.Tell(Refusal.From(configured.Error)); return; }
            Persist(configured.Value, e => { _book.Apply(e); Priced(); sender.Tell(View()); });
        });
    }

    private void Priced()
    {
        Timers.StartPeriodicTimer(Tick.Zone, Tick.Zone, ZoneRefresh);
        UpdatePrice();
    }

    private void UpdatePrice()
    {
        if (Tariff is null) return;
        var (pricing, changed) = _pricing.Next(Tariff, Now, _vehiclesInZone);
        if (!changed) return;
        _pricing = pricing;
        PushPrice();
    }

    private void PushPrice()
    {
        if (_pricing.Current is { } price) _push.Push(_gantry, new TollPriceEvent(_gantry, price.MinorUnits, price.Currency, _vehiclesInZone));
    }

    // Passes

    private void OnPass(TollPass command)
    {
        // The gateway authenticated this gantry: its connection is where prices and verdicts go, even when this request is refused.
        if (command.Connection is not null && command.Connection != _push.ConnectionOf(_gantry))
        {
            _push.Pin(_gantry, command.Connection);
            PushPrice();
        }
        var decided = _book.DecidePass(command.Request, _settings.Network, RevocationList.Get(Context.System).IsRevoked(_gantry), _pricing, Now);
        if (!decided.IsOk)
        {
            if (TollPassBook.AsksCurrentPrice(decided.Error)) PushPrice();
            Sender.Tell(Refusal.From(decided.Error));
            return;
        }
        // The same request again (a retry): the same pass.
        if (decided.Value.Known is { } known) { Sender.Tell(known.View()); return; }
        // The book takes the pass at once, so that the next request gets the next number and a retry finds it;
        // the gantry is answered only once it is durable. The vehicle is asked at once.
        var recorded = decided.Value.Recorded!;
        _book.Apply(recorded, decided.Value.Request);
        var pass = _book.Find(recorded.Pass)!;
        var (sender, vehicle, tariff) = (Sender, pass.Payload.Vehicle, Tariff!);
        if (_push.Reaches(vehicle, pass.Id.Value)) PushRequest(pass);
        PersistAsync(recorded, _ => sender.Tell(pass.View()));
        _devices.Tell(new VehicleSeen(vehicle, _gantry, tariff.Operator, tariff.Zone, tariff.PositionX, tariff.PositionY, pass.Payload.Time));
    }

    private void PushRequest(TollPassState pass) => _push.Push(_book.RequestNotice(pass));

    // Answers

    /// <summary>The pass a vehicle answers, or null when it was told instead why not, or how the pass stands.</summary>
    private TollPassState? AnsweredPass(PassId id, DeviceId vehicle, bool refuseWhileBeingPaid)
    {
        var answer = TollPasses.CheckAnswer(_book.Find(id), id, vehicle, _book.IsBeingPaid(id), refuseWhileBeingPaid);
        if (answer.Refused is { } refused) Sender.Tell(Refusal.From(refused));
        else if (answer.Standing is { } standing) Sender.Tell(standing);
        return answer.Pass;
    }

    private void OnPay(PayToll command)
    {
        if (AnsweredPass(command.Pass, command.Vehicle, refuseWhileBeingPaid: true) is not { } pass) return;
        _push.Remember(command.Vehicle, command.Connection);
        var (sender, decoded) = (Sender, Signed<Voucher>.Decode(command.Voucher));
        // The pass's payment, until it resolves: the channel's span is this one's child.
        var span = EnergyTracing.StartHandling("gantry.pay", command.TraceParent);
        switch (TollPasses.DecidePayment(pass, Tariff!.Operator, decoded, Now))
        {
            case ViolationRecorded violation:
                Resolve(pass, violation, sender, span);
                break;
            case PassPaymentSubmitted submitted:
                _book.PaymentStarted(pass.Id);
                // Which channel the voucher is on is durable before the channel sees the voucher: a crash in between
                // leaves a pass the gantry can settle by asking that channel (see AskChannelForPass).
                PersistAsync(submitted, e =>
                {
                    _book.Apply(e);
                    ChannelPayments.Submit(Context, _channels, e.Channel, command.Voucher, _settings.AskTimeout, (e.Pass, decoded.Value), sender, span,
                        new NotAnsweredInTime("channel"));
                });
                break;
        }
    }

    private void OnPaymentAnswered(VoucherAnswered<(PassId Pass, Signed<Voucher> Voucher)> answered)
    {
        var (id, voucher) = answered.For;
        if (_book.Find(id) is not { IsOpen: true } pass)
        {
            EnergyTracing.End(answered.Span, "resolved while the voucher was checked");
            answered.ReplyTo.Tell(Refusal.From(_book.Find(id) is { } resolved ? new PassAlreadyResolved(id, resolved.Status) : new PassNotFound(id)));
            return;
        }
        _book.PaymentEnded(pass.Id);
        Resolve(pass, TollPasses.DecideAnswer(pass, Tariff!.Operator, voucher, answered.Answer, Now), answered.ReplyTo, answered.Span);
    }

    /// <summary>
    /// Resolves a pass: paid, or one violation. The book takes it at once, so that nothing resolves the pass a
    /// second time while it is written; whoever asked is answered, and the gantry told, once it is durable.
    /// </summary>
    private void Resolve(TollPassState pass, IEnergyMessage resolution, IActorRef replyTo, System.Diagnostics.Activity? span = null)
    {
        _book.PaymentEnded(pass.Id);
        _book.Apply(resolution);
        var resolved = _book.Find(pass.Id) ?? TollPasses.Evolve(pass, resolution);
        PersistAsync(resolution, _ =>
        {
            EnergyTracing.End(span, resolution is ViolationRecorded recordedViolation ? recordedViolation.Violation.Cause.ToString() : null);
            if (resolution is PassPaid paid)
            {
                // From the gantry's detection (the time it signed) to the toll paid and durable, by this node's clock.
                EnergyMetrics.TollPaid(TimeSpan.FromMilliseconds(Now.UnixMilliseconds - resolved.Payload.Time.UnixMilliseconds));
                PublishPaid(resolved, paid);
            }
            if (resolution is ViolationRecorded recorded) PublishViolation(resolved, recorded.Violation);
            if (!replyTo.IsNobody()) replyTo.Tell(resolved.View());
            if (TollPasses.Notice(resolved, resolution) is { } notice) _push.Push(notice);
            if (resolution is ViolationRecorded { Violation: var violation }) _offices.Tell(new FileViolation(violation.Operator, violation));
        });
    }

    private void PublishPaid(TollPassState pass, PassPaid e)
    {
        var request = pass.Payload;
        var tariff = Tariff!;
        Activity.ActivityFeed.Get(Context.System).Publish(new Activity.TollPassPaid(pass.Id, tariff.Operator, _gantry, request.Vehicle, pass.Channel, e.Paid, tariff.Zone, e.At));
    }

    private void PublishViolation(TollPassState pass, TollViolation violation)
    {
        var request = pass.Payload;
        var tariff = Tariff!;
        Activity.ActivityFeed.Get(Context.System).Publish(new Activity.TollViolationRecorded(violation.Id, tariff.Operator, _gantry, request.Vehicle, request.Price,
            violation.Cause.ToString(), violation.Detail, tariff.Zone, violation.RecordedAt));
    }

    private void FileUnfiled()
    {
        foreach (var violation in _book.Unfiled.Take(MaxFiledAtOnce)) _offices.Tell(new FileViolation(violation.Operator, violation));
    }

    private GantryView View() => _book.View(_pricing.Current);

    private sealed record PassPaymentFound(PassId Pass, object? Answer);
}
