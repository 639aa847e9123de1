using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Cluster.Serialization;
using Energy.Lifecycles.Charging;

namespace Energy.Cluster.Charging;

/// <summary>
/// One charging session, from plug-in to charge record: a shell around <see cref="ChargingSession"/>. It has others asked
/// what a decision needs (<see cref="SessionLookups"/>), persists what the core decides, and carries out what the core says
/// follows (<see cref="EntityEffects"/>). Readings and the payments the channel acknowledged are taken at once and written in
/// batches (<see cref="SessionProgressWrites"/>): a reading is answered once its batch is durable, a payment once the channel
/// holds its voucher durably. For an OCPP charge point, which cannot sign, the node signs the meter values it witnesses.
/// </summary>
public sealed class ChargingSessionEntity : ReceivePersistentActor, IWithTimers
{
    private readonly SessionId _id;
    private readonly EnergySettings _settings;
    private readonly SessionTimeouts _timeouts;
    private readonly DevicePush _push;
    private readonly SessionLookups _lookups;
    private readonly SessionProgressWrites _progress;
    private readonly EntityEffects _effects;
    private ChargingSessionState _state = ChargingSessionState.Empty;

    public ChargingSessionEntity(string id, EnergySettings settings, IActorRef devices, IActorRef channels)
    {
        (_id, _settings) = (new SessionId(id), settings);
        _timeouts = new SessionTimeouts(settings.SessionConsentTimeout, settings.SessionSettleTimeout);
        _push = SessionLookups.Push(Context, this, devices, settings);
        _lookups = new SessionLookups(Context, this, _id, settings, devices, channels, _push, () => _state, Record);
        _effects = new EntityEffects(Context, this, _push.Push, _ => ClusterSharding.Get(Context.System).ShardRegion("charge-point"),
            published => ChargingActivities.Completed(_id, (SessionStarted)published.Key!, ((SessionCompleted)published.Message!).Record),
            (step, replyTo) => { if (step is SessionStep.Complete) Complete(replyTo); else _lookups.Offer(); }, e => Record(e, null));
        _progress = new SessionProgressWrites(_id, settings, () => _state, Evolve, PersistAsync, _effects);
        // A session is short and never snapshots: its recovery need not ask the snapshot store.
        SnapshotPluginId = "akka.persistence.no-snapshot-store";

        Recover<IEnergyMessage>(Evolve);
        Recover<RecoveryCompleted>(_ => OnRecovered());
        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<StartSession>(command => _lookups.Start(command, Sender));
        Command<StartWitnessedSession>(_lookups.StartWitnessed);
        Command<AcceptSession>(command => _lookups.Accept(command, Sender));
        Command<SubmitSessionReading>(OnReading);
        Command<WitnessedReading>(OnWitnessedReading);
        Command<PayForSession>(command => _lookups.Pay(command, Sender));
        Command<VoucherAnswered<Signed<Voucher>>>(_progress.PaymentAnswered);
        Command<StopSession>(OnStop);
        Command<GetSession>(_ => Sender.Tell(ChargingSession.Get(_state, _id)));
        Command<DeviceConnectionFound>(_lookups.Found);
        Command<DeviceLookupDue>(_ => _lookups.Offer());
        Command<SessionDue>(due => _effects.Run(ChargingSession.Due(_state, _id, due, Now), null));
    }

    public override string PersistenceId => "session-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef channels) =>
        Akka.Actor.Props.Create(() => new ChargingSessionEntity(id, settings, devices, channels));

    private Timestamp Now => _settings.Clock.Now;

    private void Evolve(object e) => _state = ChargingSession.Evolve(_state, e);

    /// <summary>Persists what the core decided; once durable, evolves by it and carries out what the core says follows (<paramref name="replyTo"/> hears the answer).</summary>
    private void Record(object e, IActorRef? replyTo) => Persist(e, durable =>
    {
        Evolve(durable);
        _effects.Run(ChargingSession.Durable(_state, _id, durable, _timeouts, EnergyJson.Options, Now), replyTo);
    });

    /// <summary>A restarted session waits for its deadlines again, and first takes what its channel holds paid for it, if more than its own.</summary>
    private void OnRecovered()
    {
        EnergyMetrics.EntityActivated("charging-session");
        _effects.Run(ChargingSession.Resumed(_state, _timeouts, Now), null);
        _lookups.Paid(_progress.Take);
    }

    private void OnReading(SubmitSessionReading command)
    {
        _lookups.Pin(command.Charger, command.Connection, isCharger: true);
        var taken = ChargingSession.DecideReading(_state, _id, command, _settings.Network, _progress.Full);
        if (taken.IsOk) _progress.TakeReading(taken.Value, Sender);
        else Sender.Tell(Refusal.From(taken.Error));
    }

    /// <summary>A meter value the node witnessed: the final one stops the session, any other is taken as a reading nobody waits for.</summary>
    private void OnWitnessedReading(WitnessedReading reading)
    {
        var decided = ChargingSession.DecideWitnessed(_state, reading, _settings.Network, _settings.NodeKey, Now);
        if (decided is ProgressTaken progress) _progress.TakeReading(progress, null);
        else if (decided is not null) Record(decided, null);
    }

    private void OnStop(StopSession command)
    {
        _lookups.Pin(command.Charger, command.Connection, isCharger: true);
        var decided = ChargingSession.DecideStop(_state, _id, command, _settings.Network, Now);
        if (!decided.IsOk) Sender.Tell(Refusal.From(decided.Error));
        else if (decided.Value is { } stop) Record(stop, Sender);
        else Sender.Tell(ChargingSession.View(_state, _id));
    }

    /// <summary>Closes the session with its charge record, once it is stopped and its end reading paid (<paramref name="replyTo"/> hears it).</summary>
    private void Complete(IActorRef? replyTo)
    {
        if (ChargingSession.DecideCompletion(_state, _id, Now) is { } completed) Record(completed, replyTo);
    }
}
