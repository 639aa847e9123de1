using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Cluster.Serialization;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Charging;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Charging;

/// <summary>
/// One charging session, from plug-in to charge record: a shell around <see cref="ChargingSession"/>. It looks
/// up what a decision needs, persists what the core decides, and tells the parties what the core says they hear.
/// Readings and the payments the channel acknowledged are taken at once and written in batches
/// (<see cref="BatchedWrites"/>); a charger's reading is answered once its batch is durable, with where the
/// session stands then. A payment is answered once the channel holds its voucher durably. An OCPP charge point
/// cannot sign: for it the node witnesses the meter values and signs the readings with its own key.
/// </summary>
public sealed class ChargingSessionEntity : ReceivePersistentActor, IWithTimers
{
    private readonly SessionId _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _channels;
    private readonly SessionLimits _limits;
    private readonly SessionTimeouts _timeouts;
    private readonly DevicePush _push;
    private readonly BatchedWrites _progress;
    private readonly EntityEffects _effects;
    private ChargingSessionState _state = ChargingSessionState.Empty;

    public ChargingSessionEntity(string id, EnergySettings settings, IActorRef devices, IActorRef channels)
    {
        (_id, _settings, _devices, _channels) = (new SessionId(id), settings, devices, channels);
        _limits = new SessionLimits(settings.Currency, settings.MaxPricePerKwh, settings.MaxSessionCredit);
        _timeouts = new SessionTimeouts(settings.SessionConsentTimeout, settings.SessionSettleTimeout);
        // The vehicle is looked for while the session waits for it: a minute, once a second.
        _push = new DevicePush(Context, this, devices, settings.Clock, settings.AskTimeout,
            new DevicePushBounds(MaxConnections: 2, MaxResolved: 8, KeepFor: null, MaxLookups: 60, LookAgainAfter: TimeSpan.FromSeconds(1)));
        _progress = new BatchedWrites("session " + id, settings.MaxWaitingSessionReplies);
        _effects = new EntityEffects(Context, this, _push.Push, _ => ClusterSharding.Get(Context.System).ShardRegion("charge-point"),
            published => ChargingActivities.Completed(_id, (SessionStarted)published.Key!, ((SessionCompleted)published.Message!).Record),
            (step, replyTo) => { if (step is SessionStep.Complete) Complete(replyTo); else OfferToVehicle(); });
        // A session is short and never snapshots: its recovery need not ask the snapshot store.
        SnapshotPluginId = "akka.persistence.no-snapshot-store";

        Recover<IEnergyMessage>(Evolve);
        Recover<RecoveryCompleted>(_ => OnRecovered());
        Command<StartSession>(OnStart);
        Command<StartWitnessedSession>(OnStartWitnessed);
        Command<AcceptSession>(OnAccept);
        Command<SubmitSessionReading>(OnReading);
        Command<WitnessedReading>(OnWitnessedReading);
        Command<PayForSession>(OnPay);
        Command<VoucherAnswered<Signed<Voucher>>>(OnPaymentAnswered);
        Command<StopSession>(OnStop);
        Command<GetSession>(_ => Sender.Tell(_state.IsStarted ? View() : Refusal.From(new SessionNotFound(_id))));
        Command<DeviceConnectionFound>(found =>
        {
            if (_push.Found(found, wanted: _push.ConnectionOf(Vehicle) is null && _state.AwaitsVehicle) is not null) _push.Push(Vehicle, ChargingSession.Offer(_state, _id));
        });
        Command<DeviceLookupDue>(_ => OfferToVehicle());
        Command<SessionDue>(due => { if (due == SessionDue.Settle) Complete(); else if (ChargingSession.DecideConsentExpiry(_state, Now) is { } expired) Record(expired, null); });
    }

    public override string PersistenceId => "session-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef channels) =>
        Akka.Actor.Props.Create(() => new ChargingSessionEntity(id, settings, devices, channels));

    private Timestamp Now => _settings.Clock.Now;

    private DeviceId Vehicle => _state.Started!.Vehicle;

    private void Evolve(object e) => _state = ChargingSession.Evolve(_state, e);

    /// <summary>Persists what the core decided; once durable, evolves by it and carries out what the core says follows (<paramref name="replyTo"/> hears the answer).</summary>
    private void Record(object e, IActorRef? replyTo) => Persist(e, durable =>
    {
        Evolve(durable);
        _effects.Run(ChargingSession.Durable(_state, _id, durable, _timeouts, EnergyJson.Options, Now), replyTo);
    });

    /// <summary>
    /// A payment is persisted with the next reading, not on its own: the channel holds it durably. After a restart
    /// the session asks the channel what is durably paid for it, and takes that if it is more, before it handles
    /// anything else (on no answer within the ask timeout it goes on with its own).
    /// </summary>
    private void OnRecovered()
    {
        EnergyMetrics.EntityActivated("charging-session");
        _effects.Run(ChargingSession.Resumed(_state, _timeouts, Now), null);
        if (ChargingSession.PaidToAsk(_state, _id) is not { } ask) return;
        AwaitedAnswers.Ask(Context, Stash, _channels, ask, _settings.AskTimeout, answer => Take(ChargingSession.DecideAdopt(_state, _id, answer as PurposePaid)));
    }

    /// <summary>Takes progress at once; it is written with the next batch, and nobody is answered about it before.</summary>
    private void Take(ProgressTaken? progress)
    {
        if (progress is null) return;
        Evolve(progress);
        _progress.Taken();
    }

    // Starting, accepting, and the vehicle's consent

    private void OnStart(StartSession command)
    {
        var (sender, check) = (Sender, ChargingSession.CheckStart(_state, _id, command, _limits));
        if (!check.IsOk || check.Value == SessionDecision.Repeat) { sender.Tell(check.IsOk ? View() : Refusal.From(check.Error)); return; }
        AskParties(command.Charger, command.Vehicle, (charger, vehicle) =>
        {
            var started = ChargingSession.DecideStart(command, _settings.Network, charger, vehicle, RevocationList.Get(Context.System).IsRevoked, Now);
            if (!started.IsOk) { sender.Tell(Refusal.From(started.Error)); return; }
            _push.Pin(command.Charger, command.Connection);
            Record(started.Value, sender);
        });
    }

    private void OnStartWitnessed(StartWitnessedSession command)
    {
        if (!ChargingSession.TakesWitnessedStart(_state)) return;
        AskParties(command.Charger, command.Vehicle, (charger, vehicle) =>
        {
            var started = ChargingSession.DecideWitnessedStart(command, _settings.Network, charger, vehicle, RevocationList.Get(Context.System).IsRevoked,
                _settings.NodeKey, new Money(_settings.WitnessedPricePerKwh, _settings.Currency), new Money(_settings.WitnessedCredit, _settings.Currency), Now);
            if (started.IsOk) Record(started.Value, null);
        });
    }

    private void AskParties(DeviceId charger, DeviceId vehicle, Action<object?, object?> then) =>
        AwaitedAnswers.AskBoth(Context, Stash, (_devices, new GetDevice(charger)), (_devices, new GetDevice(vehicle)), _settings.AskTimeout, then);

    /// <summary>Offers the session to the vehicle on its connection, looked up in its twin when it is not known yet.</summary>
    private void OfferToVehicle()
    {
        if (_state.AwaitsVehicle && _push.Reaches(Vehicle, "offer")) _push.Push(Vehicle, ChargingSession.Offer(_state, _id));
    }

    private void OnAccept(AcceptSession command)
    {
        var sender = Sender;
        if (ChargingSession.IsParty(_state, command.Vehicle, isCharger: false)) _push.Pin(command.Vehicle, command.Connection);
        var check = ChargingSession.CheckAccept(_state, _id, command.Vehicle, command.Channel);
        if (!check.IsOk || check.Value == SessionDecision.Repeat) { sender.Tell(check.IsOk ? View() : Refusal.From(check.Error)); return; }
        AwaitedAnswers.Ask(Context, Stash, _channels, new GetChannel(command.Channel), _settings.AskTimeout, answer =>
        {
            var bound = ChargingSession.DecideBind(_state, _id, command.Channel, answer);
            if (bound.IsOk) Record(bound.Value, sender);
            else sender.Tell(Refusal.From(bound.Error));
        });
    }

    // Readings

    private void OnReading(SubmitSessionReading command)
    {
        if (IsRefused(command.Charger, command.Connection, isCharger: true)) return;
        // Refused before it is taken: a reading taken is always answered once durable.
        if (_progress.Full is { } full) { Sender.Tell(Refusal.From(full)); return; }
        var taken = ChargingSession.DecideReading(_state, _id, command.Charger, command.Reading, _settings.Network);
        if (taken.IsOk) TakeReading(taken.Value, Sender);
        else Sender.Tell(Refusal.From(taken.Error));
    }

    private void OnWitnessedReading(WitnessedReading reading)
    {
        switch (ChargingSession.DecideWitnessed(_state, reading, _settings.Network, _settings.NodeKey, Now))
        {
            case SessionStopRequested stop: Record(stop, ActorRefs.Nobody); break;
            case ProgressTaken progress: TakeReading(progress, ActorRefs.Nobody); break;
        }
    }

    private void TakeReading(ProgressTaken reading, IActorRef replyTo)
    {
        Take(reading);
        if (ChargingSession.ReadingNotice(_state, _id, reading) is { } notice) _push.Push(notice);
        CheckCredit();
        if (!replyTo.IsNobody()) _progress.ReplyWhenDurable(replyTo, () => ChargingSession.Progress(_state, _id));
        WriteProgress();
    }

    /// <summary>Writes the progress taken, one batch at a time: what is taken meanwhile joins the next.</summary>
    private void WriteProgress()
    {
        if (!_progress.TryStart(out var write)) return;
        // The state took this progress already; replaying the batch in recovery gives the same state.
        PersistAsync(ChargingSession.ToProgressed(_state), _ =>
        {
            _progress.Written(write);
            WriteProgress();
        });
    }

    // Payments

    private void OnPay(PayForSession command)
    {
        if (IsRefused(command.Vehicle, command.Connection, isCharger: false, allowStopping: true)) return;
        var decided = ChargingSession.DecidePayment(_state, _id, command.Vehicle, command.Voucher);
        if (!decided.IsOk) { Sender.Tell(Refusal.From(decided.Error)); return; }
        var (span, channel) = (EnergyTracing.StartHandling("session.pay", command.TraceParent), _state.Channel!.Value);
        ChannelPayments.Submit(Context, _channels, channel, command.Voucher, _settings.AskTimeout, decided.Value, Sender, span,
            new ChannelNotUsable(_id, channel, "did not answer"));
    }

    private void OnPaymentAnswered(VoucherAnswered<Signed<Voucher>> answered)
    {
        EnergyTracing.End(answered.Span, (answered.Answer as Refusal)?.Code);
        if (answered.Answer is not VoucherAcknowledged ack) { answered.ReplyTo.Tell(answered.Answer); return; }
        // The channel holds the voucher durably: the session takes it and writes it with its next batch.
        Take(ChargingSession.DecideAcknowledged(_state, _id, answered.For, ack));
        if (ChargingSession.PaidNotice(_state, _id, readingAnswerWaiting: _progress.Held > 0) is { } notice) _push.Push(notice);
        CheckCredit();
        answered.ReplyTo.Tell(ChargingSession.Progress(_state, _id));
        if (_state.ReadyToComplete) Complete();
    }

    /// <summary>Suspends when what is owed and unpaid exceeds the credit; resumes once it no longer does.</summary>
    private void CheckCredit()
    {
        if (ChargingSession.DecideCredit(_state, Now) is { } decided) Record(decided, null);
    }

    // Stopping

    private void OnStop(StopSession command)
    {
        var decided = ChargingSession.DecideStop(_state, _id, command, _settings.Network, Now);
        if (decided.IsOk && decided.Value is null) { Sender.Tell(View()); return; }
        if (IsRefused(command.Charger, command.Connection, isCharger: true)) return;
        if (decided.IsOk) Record(decided.Value!, Sender);
        else Sender.Tell(Refusal.From(decided.Error));
    }

    /// <summary>Closes the session with its charge record: once the final reading is paid, or when the vehicle had its time and did not pay it.</summary>
    private void Complete(IActorRef? replyTo = null)
    {
        if (ChargingSession.DecideCompletion(_state, _id, Now) is not { } completed) return;
        Timers.Cancel(SessionDue.Settle);
        Record(completed, replyTo);
    }

    /// <summary>
    /// Refuses a command from a device that is not the session's party, or one after the end; a party's
    /// connection is remembered for pushes even when its command is then refused for its content.
    /// </summary>
    private bool IsRefused(DeviceId device, string? connection, bool isCharger, bool allowStopping = false)
    {
        if (ChargingSession.CheckParty(_state, _id, device, isCharger, allowStopping) is { } refused) { Sender.Tell(Refusal.From(refused)); return true; }
        _push.Pin(device, connection);
        return false;
    }

    private SessionView View() => ChargingSession.View(_state, _id);
}
