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

    private readonly DeviceId _gantry;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _channels;
    private readonly IActorRef _offices;
    private readonly IActorRef _zones;
    private readonly IActorRef _operators;
    private readonly TollPassBook _book;
    private readonly DevicePush _push;
    private readonly EntityEffects _effects;

    public GantryEntity(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones)
    {
        _gantry = new DeviceId(id);
        _book = new TollPassBook(_gantry);
        (_settings, _devices, _operators, _channels, _offices, _zones) = (settings, devices, operators, channels, offices, zones);
        // A vehicle passing is looked up once: without a connection it cannot answer, and its pass ends late.
        _push = new DevicePush(Context, this, devices, settings.Clock, settings.AskTimeout,
            new DevicePushBounds(MaxConnections: 10_000, MaxResolved: 1_000, KeepFor: DurationMs.FromSeconds(30), MaxLookups: 1, LookAgainAfter: TimeSpan.FromSeconds(1)));
        _effects = new EntityEffects(Context, this, _push.Push, peer => peer == Peer.TollOffices ? offices : devices, Published, (_, _) => { });

        Recover<IEnergyMessage>(_book.Apply);
        Recover<RecoveryCompleted>(_ => Start());
        Command<ConfigureGantry>(OnConfigure);
        Command<TollPass>(OnPass);
        Command<PayToll>(OnPay);
        Command<DeclineToll>(command =>
        {
            if (AnsweredPass(command.Pass, command.Vehicle, refuseWhileBeingPaid: false) is { } pass) Resolve(pass, TollPasses.DecideDecline(pass, Tariff.Operator, command.Reason, Now), Sender);
        });
        Command<VoucherAnswered<(PassId Pass, Signed<Voucher> Voucher)>>(OnPaymentAnswered);
        Command<PassPaymentFound>(found => { if (_book.DecideFound(found.Pass, found.Answer, Now) is { } paid) Resolve(_book.Find(paid.Pass)!, paid, ActorRefs.Nobody); });
        Command<DeviceConnectionFound>(found => { if (_push.Found(found, wanted: _book.Find(PassId.Of(found.Key)) is { IsOpen: true }) is not null) PushRequest(_book.Find(PassId.Of(found.Key))!); });
        Command<ViolationFiled>(filed => { if (_book.IsUnfiled(filed.Violation)) PersistAsync(new ViolationFiledRecorded(filed.Violation), _book.Apply); });
        Command<GetGantry>(_ => Sender.Tell(_book.View()));
        Command<Tick>(OnTick);
        Command<ZoneView>(zone => Reprice(zone.VehiclesLastMinute));
        Command<Status.Failure>(_ => { });
    }

    /// <summary>The gantry's periodic work: deadlines swept, the zone's traffic asked for its price, violations filed again.</summary>
    private enum Tick { Sweep, Zone, File }

    public override string PersistenceId => "gantry-" + _gantry;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones) =>
        Akka.Actor.Props.Create(() => new GantryEntity(id, settings, devices, operators, channels, offices, zones));

    /// <summary>The tariff in force: every pass is recorded under one, so a pass's handlers have it.</summary>
    private GantryTariff Tariff => _book.Tariff!;

    private Timestamp Now => _settings.Clock.Now;

    private void Start()
    {
        EnergyMetrics.EntityActivated("gantry");
        Timers.StartPeriodicTimer(Tick.Sweep, Tick.Sweep, Sweep);
        Timers.StartPeriodicTimer(Tick.File, Tick.File, TimeSpan.FromSeconds(1));
        if (_book.Tariff is not null) Priced();
        OnTick(Tick.File);
        // A pass whose voucher was handed to its channel before a restart waits (not swept as late) for the channel's answer.
        foreach (var pass in _book.ResumePayments())
        {
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
            case Tick.Zone when _book.ZoneToAsk() is { } ask:
                _zones.Ask<object>(ask, _settings.AskTimeout).PipeTo(Self);
                break;
            case Tick.File:
                foreach (var filing in _book.ToFile(MaxFiledAtOnce)) _offices.Tell(filing);
                break;
        }
    }

    // Configuration and price

    private void OnConfigure(ConfigureGantry command)
    {
        var sender = Sender;
        var decoded = Signed<GantryTariff>.Decode(command.Tariff);
        var checkedTariff = decoded.IsOk ? _book.CheckTariff(decoded.Value, command.Gantry, _settings.Network, _settings.Currency) : decoded.Error;
        if (!checkedTariff.IsOk || checkedTariff.Value is not { } tariff) { sender.Tell(checkedTariff.IsOk ? _book.View() : Refusal.From(checkedTariff.Error)); return; }
        AwaitedAnswers.AskBoth(Context, Stash, (_devices, new GetDevice(command.Gantry)), (_operators, new GetOperator(tariff.Operator)), _settings.AskTimeout, (device, tollOperator) =>
        {
            if (device is null || tollOperator is null) { sender.Tell(Refusal.From(new NotAnsweredInTime("registry"))); return; }
            var configured = TollPassBook.DecideConfigure(decoded.Value, command.Tariff, command.Gantry, device, tollOperator, Now);
            if (!configured.IsOk) { sender.Tell(Refusal.From(configured.Error)); return; }
            Persist(configured.Value, e => { _book.Apply(e); Priced(); sender.Tell(_book.View()); });
        });
    }

    private void Priced()
    {
        Timers.StartPeriodicTimer(Tick.Zone, Tick.Zone, ZoneRefresh);
        Reprice();
    }

    private void Reprice(int? vehiclesInZone = null)
    {
        if (_book.Reprice(Now, vehiclesInZone)) PushPrice();
    }

    private void PushPrice()
    {
        if (_book.PriceNotice() is { } notice) _push.Push(notice);
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
        var decided = _book.DecidePass(command.Request, _settings.Network, RevocationList.Get(Context.System).IsRevoked(_gantry), Now);
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
        var (pass, sender) = (_book.Find(recorded.Pass)!, Sender);
        if (_push.Reaches(pass.Payload.Vehicle, pass.Id.Value)) PushRequest(pass);
        PersistAsync(recorded, _ => sender.Tell(pass.View()));
        _devices.Tell(_book.Seen(pass));
    }

    private void PushRequest(TollPassState pass) => _push.Push(_book.RequestNotice(pass));

    // Answers

    /// <summary>The pass a vehicle answers, or null when it was told instead why not, or how the pass stands.</summary>
    private TollPassState? AnsweredPass(PassId id, DeviceId vehicle, bool refuseWhileBeingPaid)
    {
        var answer = _book.CheckAnswer(id, vehicle, refuseWhileBeingPaid);
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
        switch (TollPasses.DecidePayment(pass, Tariff.Operator, decoded, Now))
        {
            case ViolationRecorded violation:
                Resolve(pass, violation, sender, span);
                break;
            case PassPaymentSubmitted submitted:
                _book.PaymentStarted(pass.Id);
                // Which channel the voucher is on is durable before the channel sees the voucher: a crash in between
                // leaves a pass the gantry settles by asking that channel (see Start).
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
        _book.PaymentEnded(id);
        var decided = _book.DecideAnswer(id, voucher, answered.Answer, Now);
        if (decided.Pass is { } pass) { Resolve(pass, decided.Resolution!, answered.ReplyTo, answered.Span); return; }
        EnergyTracing.End(answered.Span, "resolved while the voucher was checked");
        answered.ReplyTo.Tell(Refusal.From(decided.Refused!));
    }

    /// <summary>
    /// Resolves an open pass: paid, or one violation. The book takes it at once, so that nothing resolves the pass a
    /// second time while it is written; once it is durable, what the core says follows is carried out.
    /// </summary>
    private void Resolve(TollPassState pass, IEnergyMessage resolution, IActorRef replyTo, System.Diagnostics.Activity? span = null)
    {
        var resolved = _book.Resolve(pass, resolution);
        PersistAsync(resolution, _ =>
        {
            EnergyTracing.End(span, resolution is ViolationRecorded recordedViolation ? recordedViolation.Violation.Cause.ToString() : null);
            _effects.Run(TollPasses.Resolved(resolved, resolution, answered: !replyTo.IsNobody()), replyTo);
        });
    }

    /// <summary>The feed's event for a resolved pass; a paid toll is timed from the gantry's detection (the time it signed) to durable, by this node's clock.</summary>
    private Activity.NetworkActivity? Published(Effect published)
    {
        var (pass, resolution) = ((TollPassState)published.Key!, (IEnergyMessage)published.Message!);
        if (resolution is PassPaid) EnergyMetrics.TollPaid(TimeSpan.FromMilliseconds(Now.UnixMilliseconds - pass.Payload.Time.UnixMilliseconds));
        return TollActivities.Resolved(_gantry, Tariff, pass, resolution);
    }

    private sealed record PassPaymentFound(PassId Pass, object? Answer);
}
