using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
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
    private const int MaxChannelAsks = 5;

    private readonly DeviceId _gantry;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _channels;
    private readonly IActorRef _operators;
    private readonly TollPassBook _book;
    private readonly DevicePush _push;
    private readonly EntityEffects _effects;

    public GantryEntity(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones)
    {
        (_gantry, _settings, _devices, _channels, _operators) = (new DeviceId(id), settings, devices, channels, operators);
        _book = new TollPassBook(_gantry);
        // A vehicle passing is looked up once: without a connection it cannot answer, and its pass ends late.
        _push = new DevicePush(Context, this, devices, settings.Clock, settings.AskTimeout,
            new DevicePushBounds(MaxConnections: 10_000, MaxResolved: 1_000, KeepFor: DurationMs.FromSeconds(30), MaxLookups: 1, LookAgainAfter: TimeSpan.FromSeconds(1)));
        _effects = new EntityEffects(Context, this, _push.Push, peer => peer switch { Peer.TollOffices => offices, Peer.Zones => zones, _ => devices },
            published => TollActivities.Published(_gantry, _book.Tariff!, published, Now), (resolution, _) => Resolve((IEnergyMessage)resolution, null));

        Recover<IEnergyMessage>(_book.Apply);
        Recover<RecoveryCompleted>(_ => Start());
        Command<ConfigureGantry>(OnConfigure);
        Command<TollPass>(OnPass);
        Command<PayToll>(OnPay);
        Command<DeclineToll>(command =>
        {
            var decided = _book.DecideDecline(command.Pass, command.Vehicle, command.Reason, Now);
            if (decided.Decided is { } violation) Resolve(violation, Sender); else Sender.Tell(decided.Answer);
        });
        Command<VoucherAnswered<(PassId Pass, Signed<Voucher> Voucher)>>(OnPaymentAnswered);
        Command<PassPaymentFound>(found => { if (_book.DecideFound(found.Pass, found.Answer, Now) is { } paid) Resolve(paid, null); });
        Command<DeviceConnectionFound>(found => _push.Deliver(found, _book.AwaitedNotice(found.Key)));
        Command<ViolationFiled>(filed => { if (_book.IsUnfiled(filed.Violation)) PersistAsync(new ViolationFiledRecorded(filed.Violation), _book.Apply); });
        Command<GetGantry>(_ => Sender.Tell(_book.View()));
        Command<GantryTick>(tick => _effects.Run(_book.Tick(tick, settings.TollAnswerTimeout, Now), null));
        Command<ZoneView>(zone => _effects.Run(_book.Repriced(Now, zone.VehiclesLastMinute), null));
    }

    public override string PersistenceId => "gantry-" + _gantry;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones) =>
        Akka.Actor.Props.Create(() => new GantryEntity(id, settings, devices, operators, channels, offices, zones));

    private Timestamp Now => _settings.Clock.Now;

    private void Start()
    {
        EnergyMetrics.EntityActivated("gantry");
        _effects.Run(_book.Resumed(Now), null);
        // A pass whose voucher was handed to its channel before a restart waits (not swept as late) for the channel's answer.
        foreach (var pass in _book.ResumePayments())
            RetriedAsks.PipeTo(_channels, TollPasses.PaidToAsk(pass), _settings.AskTimeout, MaxChannelAsks, Self, answer => new PassPaymentFound(pass.Id, answer));
    }

    private void OnConfigure(ConfigureGantry command)
    {
        var (sender, checkedTariff) = (Sender, _book.CheckTariff(command.Tariff, command.Gantry, _settings.Network, _settings.Currency));
        if (!checkedTariff.IsOk || checkedTariff.Value is not { } tariff) { sender.Tell(checkedTariff.IsOk ? _book.View() : Refusal.From(checkedTariff.Error)); return; }
        AwaitedAnswers.AskBoth(Context, Stash, (_devices, new GetDevice(command.Gantry)), (_operators, new GetOperator(tariff.Payload.Operator)), _settings.AskTimeout, (device, tollOperator) =>
        {
            var configured = TollPassBook.DecideConfigure(tariff, command.Tariff, command.Gantry, device, tollOperator, Now);
            if (configured.IsOk) Persist(configured.Value, e => { _book.Apply(e); _effects.Run(_book.Configured(Now), sender); });
            else sender.Tell(Refusal.From(configured.Error));
        });
    }

    private void OnPass(TollPass command)
    {
        // The gateway authenticated this gantry: its connection is where prices and verdicts go, even when this request is refused.
        if (_push.Repin(_gantry, command.Connection) && _book.PriceNotice() is { } price) _push.Push(price);
        var decided = _book.DecidePass(command.Request, _settings.Network, RevocationList.Get(Context.System).IsRevoked(_gantry), Now);
        if (!decided.IsOk) { _effects.Run(_book.Refused(decided.Error), Sender); return; }
        // The same request again (a retry): the same pass.
        if (decided.Value.Known is { } known) { Sender.Tell(known); return; }
        // The book takes the pass at once and the vehicle is asked at once; the gantry is answered only once the pass is durable.
        var (pass, sender) = (_book.Take(decided.Value), Sender);
        if (_push.Reaches(pass.Payload.Vehicle, pass.Id.Value)) _push.Push(_book.RequestNotice(pass));
        PersistAsync(decided.Value.Recorded!, _ => sender.Tell(pass.View()));
        _devices.Tell(_book.Seen(pass));
    }

    private void OnPay(PayToll command)
    {
        var (sender, voucher) = (Sender, Signed<Voucher>.Decode(command.Voucher));
        var decided = _book.DecidePay(command.Pass, command.Vehicle, voucher, Now);
        if (decided.Pass is null) { sender.Tell(decided.Answer); return; }
        _push.Remember(command.Vehicle, command.Connection);
        // The pass's payment, until it resolves: the channel's span is this one's child.
        var span = EnergyTracing.StartHandling("gantry.pay", command.TraceParent);
        if (decided.Decided is not PassPaymentSubmitted submitted) { Resolve(decided.Decided!, sender, span); return; }
        _book.PaymentStarted(submitted.Pass);
        // Which channel the voucher is on is durable before the channel sees the voucher: a crash in between
        // leaves a pass the gantry settles by asking that channel (see Start).
        PersistAsync(submitted, e =>
        {
            _book.Apply(e);
            ChannelPayments.Submit(Context, _channels, e.Channel, command.Voucher, _settings.AskTimeout, (e.Pass, voucher.Value), sender, span, new NotAnsweredInTime("channel"));
        });
    }

    private void OnPaymentAnswered(VoucherAnswered<(PassId Pass, Signed<Voucher> Voucher)> answered)
    {
        _book.PaymentEnded(answered.For.Pass);
        var decided = _book.DecideAnswer(answered.For.Pass, answered.For.Voucher, answered.Answer, Now);
        if (decided.Resolution is { } resolution) Resolve(resolution, answered.ReplyTo, answered.Span);
        else { EnergyTracing.End(answered.Span, "resolved while the voucher was checked"); answered.ReplyTo.Tell(Refusal.From(decided.Refused!)); }
    }

    /// <summary>Resolves an open pass: the book takes it at once (see <see cref="TollPassBook.Resolve(IEnergyMessage)"/>); once durable, what the core says follows is carried out.</summary>
    private void Resolve(IEnergyMessage resolution, IActorRef? replyTo, System.Diagnostics.Activity? span = null)
    {
        var resolved = _book.Resolve(resolution);
        PersistAsync(resolution, _ =>
        {
            EnergyTracing.End(span, (resolution as ViolationRecorded)?.Violation.Cause.ToString());
            _effects.Run(TollPasses.Resolved(resolved, resolution, answered: replyTo is not null && !replyTo.IsNobody()), replyTo);
        });
    }

    private sealed record PassPaymentFound(PassId Pass, object? Answer);
}
