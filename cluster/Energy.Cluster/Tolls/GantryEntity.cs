using Akka.Actor;
using Akka.Persistence;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tolls;

/// <summary>
/// A free-flow gantry on the network: a shell around <see cref="TollPassBook"/> and <see cref="TollPasses"/>. Its
/// operator's signed tariff places and prices it, once the registry vouched for both (<see cref="GantryLookups"/>). For
/// each vehicle it sees, the gantry signs a toll request; the entity records the pass, passes the request to the vehicle
/// at once (<see cref="GantryPushes"/>) and waits, bounded, for a voucher on the vehicle's channel to the operator that
/// names the pass (<see cref="GantryPayments"/>). Each pass resolves once: paid, or one violation, filed with the
/// operator's toll office until acknowledged. Every pass also goes to the vehicle's twin and to the zone. What the core
/// says follows a decision is carried out by <see cref="EntityEffects"/>.
/// </summary>
public sealed class GantryEntity : ReceivePersistentActor, IWithTimers
{
    private readonly DeviceId _gantry;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly TollPassBook _book;
    private readonly GantryPushes _push;
    private readonly GantryLookups _lookups;
    private readonly GantryPayments _payments;
    private readonly EntityEffects _effects;

    public GantryEntity(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones)
    {
        (_gantry, _settings, _devices) = (new DeviceId(id), settings, devices);
        _book = new TollPassBook(_gantry);
        _push = new GantryPushes(Context, this, devices, settings, _book);
        _lookups = new GantryLookups(Context, this, devices, operators, settings, _book, Record);
        _payments = new GantryPayments(Context, channels, settings, _book, _push, PersistAsync, Resolve);
        _effects = new EntityEffects(Context, this, _push.Push, peer => peer switch { Peer.TollOffices => offices, Peer.Zones => zones, _ => devices },
            published => TollActivities.Published(_gantry, _book.Tariff!, published, Now), (resolution, _) => Resolve((IEnergyMessage)resolution, null, null));

        Recover<IEnergyMessage>(_book.Apply);
        Recover<RecoveryCompleted>(_ => Start());
        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<ConfigureGantry>(command => _lookups.Configure(command, Sender));
        Command<TollPass>(OnPass);
        Command<PayToll>(command => _payments.Pay(command, Sender));
        Command<DeclineToll>(OnDecline);
        Command<VoucherAnswered<(PassId Pass, Signed<Voucher> Voucher)>>(_payments.Answered);
        Command<PassPaymentFound>(_payments.Found);
        Command<DeviceConnectionFound>(_push.Found);
        Command<ViolationFiled>(filed => { if (_book.DecideFiled(filed.Violation) is { } recorded) PersistAsync(recorded, _book.Apply); });
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
        _payments.Resume();
    }

    /// <summary>A tariff the core accepted: once it is durable, the gantry works at it, and whoever configured it hears the gantry at its price.</summary>
    private void Record(GantryConfigured configured, IActorRef sender) =>
        Persist(configured, e => { _book.Apply(e); _effects.Run(_book.Configured(Now), sender); });

    private void OnPass(TollPass command)
    {
        // The gateway authenticated this gantry: its connection is where prices and verdicts go, even when this request is refused.
        if (_push.GantryOn(command.Connection)) _effects.Run(_book.Reconnected(), null);
        var decided = _book.DecidePass(command.Request, _settings.Network, RevocationList.Get(Context.System).IsRevoked(_gantry), Now);
        if (!decided.IsOk) { _effects.Run(_book.Refused(decided.Error), Sender); return; }
        // The same request again (a retry): the same pass.
        if (decided.Value.Known is { } known) { Sender.Tell(known); return; }
        // The book takes the pass at once and the vehicle is asked at once; the gantry is answered only once the pass is durable.
        var (pass, sender) = (_book.Take(decided.Value), Sender);
        _push.AskToPay(pass);
        PersistAsync(decided.Value.Recorded!, _ => sender.Tell(pass.View()));
        _devices.Tell(_book.Seen(pass));
    }

    private void OnDecline(DeclineToll command)
    {
        var decided = _book.DecideDecline(command.Pass, command.Vehicle, command.Reason, Now);
        if (decided.Decided is { } violation) Resolve(violation, Sender, null); else Sender.Tell(decided.Answer);
    }

    /// <summary>Resolves an open pass: the book takes it at once (see <see cref="TollPassBook.Resolve(IEnergyMessage)"/>); once durable, what the core says follows is carried out.</summary>
    private void Resolve(IEnergyMessage resolution, IActorRef? replyTo, System.Diagnostics.Activity? span)
    {
        var resolved = _book.Resolve(resolution);
        PersistAsync(resolution, _ =>
        {
            EnergyTracing.End(span, (resolution as ViolationRecorded)?.Violation.Cause.ToString());
            _effects.Run(TollPasses.Resolved(resolved, resolution, answered: replyTo is not null && !replyTo.IsNobody()), replyTo);
        });
    }
}
