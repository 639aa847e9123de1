using System.Text.Json;
using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using Energy.Cluster.Registry;
using Energy.Wire;

namespace Energy.Cluster.Charging;

/// <summary>
/// One charging session, from plug-in to charge record. The charger streams signed meter readings; the
/// session checks each against the meter's registered key and the last reading, and passes it to the
/// vehicle with what is owed (the session's energy times the tariff, rounded half up to the minor unit,
/// on the running total so rounding never accumulates). The vehicle pays with cumulative vouchers on its
/// streaming channel to the charger's operator, each naming this session; the session hands each to the
/// channel, which persists it, and counts as paid only the increments of the vouchers that name it (never
/// the channel's cumulative, which other sessions and toll passes on the channel share), and tells the
/// charger what is paid. When unpaid energy exceeds the charger's credit the session tells
/// the charger to suspend, and to resume once paid. An OCPP charge point cannot sign: for it the node
/// witnesses the meter values and signs the readings with its own key.
/// </summary>
public sealed class ChargingSessionEntity : ReceivePersistentActor, IWithTimers
{
    private readonly SessionId _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _channels;
    private readonly Gateway.DevicePusher _pusher;
    private readonly SessionLimits _limits;

    private ChargingSessionState _state = ChargingSessionState.Empty;
    private string? _chargerConnection;
    private string? _vehicleConnection;
    private int _offerAttempts;
    private const int MaxOfferAttempts = 60;
    private static readonly TimeSpan OfferRetryInterval = TimeSpan.FromSeconds(1);

    // Progress batching: one SessionProgressed in flight; what arrives meanwhile goes in the next. An
    // answer says where the session stands when it is sent, so a charger's answer carries what was paid
    // in the meantime.
    private bool _flushInFlight;
    private bool _dirty;
    private List<IActorRef> _repliesWaiting = [];
    private List<IActorRef> _repliesInFlight = [];

    public ChargingSessionEntity(string id, EnergySettings settings, IActorRef devices, IActorRef channels)
    {
        _id = SessionId.Of(id);
        _settings = settings;
        _devices = devices;
        _channels = channels;
        _limits = new SessionLimits(settings.Currency, settings.MaxPricePerKwh, settings.MaxSessionCredit);
        _pusher = new Gateway.DevicePusher(Context.System, 8);
        // A session is short and never snapshots: its recovery need not ask the snapshot store.
        SnapshotPluginId = "akka.persistence.no-snapshot-store";

        Recover<IEnergyMessage>(e => _state = ChargingSession.Evolve(_state, e));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<StartSession>(OnStart);
        Command<StartWitnessedSession>(OnStartWitnessed);
        Command<AcceptSession>(OnAccept);
        Command<SubmitSessionReading>(OnReading);
        Command<WitnessedReading>(OnWitnessedReading);
        Command<PayForSession>(OnPay);
        Command<PaymentAnswered>(OnPaymentAnswered);
        Command<StopSession>(OnStop);
        Command<GetSession>(_ => Sender.Tell(_state.IsStarted ? View() : Refusal.From(new SessionNotFound(_id.Value))));
        Command<VehicleConnectionFound>(OnVehicleConnectionFound);
        Command<SettleDeadline>(_ => Complete());
        Command<OfferAgain>(_ => OfferToVehicle());
        Command<ConsentDeadline>(_ => OnConsentDeadline());
    }

    public override string PersistenceId => "session-" + _id.Value;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef channels) =>
        Akka.Actor.Props.Create(() => new ChargingSessionEntity(id, settings, devices, channels));

    public static bool IsValidId(string id) => id.Length is > 0 and <= 64 && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or ':' or '-');

    private Timestamp Now => _settings.Clock.Now;

    /// <summary>
    /// A session persists a payment with its next reading, not on its own: the channel holds it durably
    /// and answered the vehicle. After a restart the session asks the channel what is durably paid for
    /// this session (the increments of the vouchers that name it) and takes it if it is more than its own,
    /// before it handles anything else (bounded by the ask timeout; on no answer it goes on with its own).
    /// </summary>
    private void OnRecovered()
    {
        if (_state.End is not null && _state.Record is null) Timers.StartSingleTimer("settle", SettleDeadline.Instance, _settings.SessionSettleTimeout);
        if (_state.AwaitsConsent) ScheduleConsentDeadline();
        if (_state.Channel is not { } channel || _state.Record is not null) return;
        var asked = _channels.Ask<object>(new GetPurposePaid(channel, _id.Purpose), _settings.AskTimeout);
        AwaitAnswer(asked, answer => new ChannelPaymentSynced(answer as PurposePaid), _ => new ChannelPaymentSynced(null),
            synced => Take(ChargingSession.DecideAdopt(_state, _id, synced.Answer)));
    }

    /// <summary>
    /// Pipes an ask's answer back as a message and handles it before anything else: what arrives meanwhile is
    /// stashed, so the session decides on its state as the answer finds it, never on one changed under it.
    /// </summary>
    private void AwaitAnswer<T>(Task<object> asked, Func<object, T> success, Func<Exception, T> failure, Action<T> then) where T : class
    {
        asked.PipeTo(Self, success: answer => success(answer), failure: e => failure(e));
        BecomeStacked(message =>
        {
            if (message is not T answered)
            {
                Stash.Stash();
                return;
            }
            UnbecomeStacked();
            then(answered);
            Stash.UnstashAll();
        });
    }

    /// <summary>Takes progress at once; it is persisted with the next flush, and nobody is answered before.</summary>
    private void Take(ProgressTaken? progress)
    {
        if (progress is null) return;
        _state = ChargingSession.Evolve(_state, progress);
        _dirty = true;
    }

    // Starting

    private void OnStart(StartSession command)
    {
        var sender = Sender;
        var reading = Signed<MeterReading>.Decode(command.Reading);
        if (!reading.IsOk) { sender.Tell(Refusal.From(reading.Error)); return; }
        var check = ChargingSession.CheckStart(_state, _id, command, _limits);
        if (!check.IsOk) { sender.Tell(Refusal.From(check.Error)); return; }
        if (check.Value == SessionDecision.Repeat) { sender.Tell(View()); return; }
        AwaitDevices(command.Charger, command.Vehicle, (charger, vehicle) =>
        {
            var checkedCharger = CheckDevice(command.Charger, charger, DeviceRole.Charger, DeviceRole.Meter);
            if (!checkedCharger.IsOk) { sender.Tell(Refusal.From(checkedCharger.Error)); return; }
            var checkedVehicle = CheckDevice(command.Vehicle, vehicle, DeviceRole.Vehicle);
            if (!checkedVehicle.IsOk) { sender.Tell(Refusal.From(checkedVehicle.Error)); return; }
            var started = ChargingSession.DecideStart(command, reading.Value, _settings.Network, checkedCharger.Value, Now);
            if (!started.IsOk) { sender.Tell(Refusal.From(started.Error)); return; }
            _chargerConnection = command.Connection;
            Persist(started.Value, e =>
            {
                _state = ChargingSession.Evolve(_state, e);
                sender.Tell(View());
                OfferToVehicle();
            });
        });
    }

    private void OnStartWitnessed(StartWitnessedSession command)
    {
        if (_state.IsStarted) return;
        AwaitDevices(command.Charger, command.Vehicle, (charger, vehicle) =>
        {
            var checkedCharger = CheckDevice(command.Charger, charger, DeviceRole.Charger, DeviceRole.Meter);
            if (!checkedCharger.IsOk || !CheckDevice(command.Vehicle, vehicle, DeviceRole.Vehicle).IsOk) return;
            var started = ChargingSession.DecideWitnessedStart(command, _settings.Network, PartyId.From(checkedCharger.Value.Operator), _settings.NodeKey,
                new Money(_settings.WitnessedPricePerKwh, _settings.Currency), new Money(_settings.WitnessedCredit, _settings.Currency), Now);
            if (!started.IsOk) return;
            Persist(started.Value, e =>
            {
                _state = ChargingSession.Evolve(_state, e);
                ScheduleConsentDeadline();
                OfferToVehicle();
            });
        });
    }

    /// <summary>Looks up the charger's and the vehicle's twins together, and goes on with both answers (null for none).</summary>
    private void AwaitDevices(DeviceId charger, DeviceId vehicle, Action<object?, object?> then) =>
        AwaitAnswer(FindDevicesAsync(charger, vehicle), answer => (DevicesFound)answer, _ => new DevicesFound(null, null),
            found => then(found.Charger, found.Vehicle));

    // Runs off the actor: it reads only what never changes, and its answer is piped back as a message.
    private async Task<object> FindDevicesAsync(DeviceId charger, DeviceId vehicle)
    {
        var chargerView = AskDeviceAsync(charger);
        var vehicleView = AskDeviceAsync(vehicle);
        return new DevicesFound(await chargerView, await vehicleView);
    }

    private async Task<object?> AskDeviceAsync(DeviceId device)
    {
        try { return await _devices.Ask<object>(new GetDevice(device), _settings.AskTimeout); }
        catch (AskTimeoutException) { return null; }
    }

    private Result<DeviceView> CheckDevice(DeviceId device, object? answer, params DeviceRole[] roles)
    {
        if (answer is not DeviceView view) return new DeviceNotFound(device);
        if (view.Revoked || RevocationList.Get(Context.System).IsRevoked(device)) return new DeviceIsRevoked(device, view.RevokedAt ?? Now);
        if (!roles.Contains(view.Role)) return new DeviceRoleRefused(device, view.Role.ToString(), string.Join(" or ", roles));
        return view;
    }

    // Consent: a vehicle pays only for a session it accepted. An OCPP charger starts a transaction on an idTag
    // alone, so its session waits a bounded time for the vehicle to accept where it is plugged in; without
    // that, nothing is billed and the charger is told to stop (RemoteStopTransaction).

    private void ScheduleConsentDeadline()
    {
        var elapsed = TimeSpan.FromMilliseconds(Math.Max(0, Now.UnixMilliseconds - _state.Started!.At.UnixMilliseconds));
        var left = _settings.SessionConsentTimeout - elapsed;
        Timers.StartSingleTimer("consent", ConsentDeadline.Instance, left > TimeSpan.Zero ? left : TimeSpan.Zero);
    }

    private void OnConsentDeadline()
    {
        if (ChargingSession.DecideConsentExpiry(_state, Now) is not { } expired) return;
        Persist(expired, e =>
        {
            _state = ChargingSession.Evolve(_state, e);
            Timers.Cancel("offer");
            if (Gateway.ChargePointEntity.TransactionOf(_id.Value) is { } transaction)
                Akka.Cluster.Sharding.ClusterSharding.Get(Context.System).ShardRegion("charge-point")
                    .Tell(new Gateway.StopUnconsentedTransaction(transaction.ChargePoint, transaction.TransactionId));
        });
    }

    /// <summary>Offers the session to the vehicle on its connection, looked up in its twin when it is not known yet.</summary>
    private void OfferToVehicle()
    {
        if (_vehicleConnection is not null)
        {
            ToVehicle(OfferEvent());
            return;
        }
        _devices.Ask<object>(new GetDeviceConnection(_state.Started!.Vehicle), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new VehicleConnectionFound((answer as DeviceConnection)?.Connection),
                failure: _ => new VehicleConnectionFound(null));
    }

    private void OnVehicleConnectionFound(VehicleConnectionFound found)
    {
        if (_vehicleConnection is not null || _state.Channel is not null || _state.Record is not null || _state.Unconsented) return;
        if (found.Connection is null)
        {
            // The vehicle is not connected (yet): look again, a bounded number of times.
            if (++_offerAttempts < MaxOfferAttempts) Timers.StartSingleTimer("offer", OfferAgain.Instance, OfferRetryInterval);
            return;
        }
        _vehicleConnection = found.Connection;
        ToVehicle(OfferEvent());
    }

    private SessionOfferEvent OfferEvent()
    {
        var started = _state.Started!;
        return new SessionOfferEvent(_id.Value, started.Charger, started.Payee, started.MeterKeyHex, started.Witnessed, started.PricePerKwh.MinorUnits,
            started.Credit.MinorUnits, started.PricePerKwh.Currency, started.StartReading);
    }

    // Accepting

    private void OnAccept(AcceptSession command)
    {
        var sender = Sender;
        var check = ChargingSession.CheckAccept(_state, _id, command.Vehicle, command.Channel);
        if (_state.IsStarted && command.Vehicle == _state.Started!.Vehicle) _vehicleConnection = command.Connection ?? _vehicleConnection;
        if (!check.IsOk) { sender.Tell(Refusal.From(check.Error)); return; }
        if (check.Value == SessionDecision.Repeat) { sender.Tell(View()); return; }
        var asked = _channels.Ask<object>(new GetChannel(command.Channel), _settings.AskTimeout);
        AwaitAnswer(asked, answer => new ChannelFound(answer), _ => new ChannelFound(null), found =>
        {
            if (found.Answer is null) { sender.Tell(Refusal.From(new ChannelNotUsable(_id.Value, command.Channel, "did not answer"))); return; }
            var bound = ChargingSession.DecideBind(_state, _id, command.Channel, found.Answer);
            if (!bound.IsOk) { sender.Tell(Refusal.From(bound.Error)); return; }
            Persist(bound.Value, e =>
            {
                _state = ChargingSession.Evolve(_state, e);
                sender.Tell(View());
                ToCharger(new SessionAcceptedEvent(_id.Value, e.Channel));
                // Readings that arrived before the vehicle accepted are owed now.
                if (_state.Latest is not null) ToVehicle(ReadingEvent(_state.Latest));
            });
        });
    }

    // Readings

    private void OnReading(SubmitSessionReading command)
    {
        if (IsRefused(command.Charger, command.Connection, isCharger: true)) return;
        var taken = ChargingSession.DecideReading(_state, _id, command.Charger, command.Reading, _settings.Network);
        if (!taken.IsOk) { Sender.Tell(Refusal.From(taken.Error)); return; }
        TakeReading(taken.Value, Sender);
    }

    private void OnWitnessedReading(WitnessedReading reading)
    {
        if (ChargingSession.DecideWitnessedReading(_state, reading, _settings.Network, _settings.NodeKey, Now) is not { } signed) return;
        if (reading.Final) Stop(new SessionStopRequested(signed.ToArray(), Now), ActorRefs.Nobody);
        else TakeReading(ChargingSession.ReadingTaken(_state, signed), ActorRefs.Nobody);
    }

    private void TakeReading(ProgressTaken reading, IActorRef replyTo)
    {
        Take(reading);
        if (_state.Channel is not null) ToVehicle(ReadingEvent(reading.Reading!));
        CheckCredit();
        ReplyWhenDurable(replyTo);
    }

    private SessionReadingEvent ReadingEvent(Signed<MeterReading> reading) =>
        new(_id.Value, reading.Wire.ToArray(), reading.Payload.Register.WattHours - _state.Start!.Payload.Register.WattHours, _state.Owed.MinorUnits,
            _state.Paid.MinorUnits, _state.End is not null);

    // Payments

    private void OnPay(PayForSession command)
    {
        if (IsRefused(command.Vehicle, command.Connection, isCharger: false, allowStopping: true)) return;
        var decided = ChargingSession.DecidePayment(_state, _id, command.Vehicle, command.Voucher);
        if (!decided.IsOk) { Sender.Tell(Refusal.From(decided.Error)); return; }
        // The channel verifies the voucher against the vehicle's registered key and persists it before it answers.
        var sender = Sender;
        var signed = decided.Value;
        var channel = _state.Channel!.Value;
        _channels.Ask<object>(new SubmitVoucher(channel, command.Voucher), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new PaymentAnswered(signed, answer, sender),
                failure: _ => new PaymentAnswered(signed, Refusal.From(new ChannelNotUsable(_id.Value, channel, "did not answer")), sender));
    }

    private void OnPaymentAnswered(PaymentAnswered answered)
    {
        if (answered.Answer is not VoucherAcknowledged ack)
        {
            answered.ReplyTo.Tell(answered.Answer);
            return;
        }
        // The channel holds the voucher durably: the session keeps it and persists it with its next reading.
        Take(ChargingSession.DecideAcknowledged(_state, _id, answered.Voucher, ack));
        // A charger with a reading waiting for its answer learns what is paid from that answer; one
        // without (it may be holding back energy until paid) is told now.
        if (!ChargerAnswerPending) ToCharger(new SessionPaidEvent(_id.Value, _state.Owed.MinorUnits, _state.Paid.MinorUnits));
        CheckCredit();
        answered.ReplyTo.Tell(Progress());
        if (_state.End is not null && _state.Paid >= _state.Owed) Complete();
    }

    /// <summary>Suspends when what is owed and unpaid exceeds the credit; resumes once it no longer does.</summary>
    private void CheckCredit()
    {
        switch (ChargingSession.DecideCredit(_state, Now))
        {
            case SessionSuspended suspended:
                Persist(suspended, e =>
                {
                    _state = ChargingSession.Evolve(_state, e);
                    ToCharger(new SessionSuspendEvent(_id.Value, e.Owed.MinorUnits, e.Paid.MinorUnits, _state.Started!.Credit.MinorUnits));
                });
                break;
            case SessionResumed resumed:
                Persist(resumed, e =>
                {
                    _state = ChargingSession.Evolve(_state, e);
                    ToCharger(new SessionResumeEvent(_id.Value, e.Owed.MinorUnits, e.Paid.MinorUnits));
                });
                break;
        }
    }

    // Stopping

    private void OnStop(StopSession command)
    {
        var decided = ChargingSession.DecideStop(_state, _id, command, _settings.Network, Now);
        if (decided.IsOk && decided.Value is null) { Sender.Tell(View()); return; }
        if (IsRefused(command.Charger, command.Connection, isCharger: true)) return;
        if (!decided.IsOk) { Sender.Tell(Refusal.From(decided.Error)); return; }
        Stop(decided.Value!, Sender);
    }

    private void Stop(SessionStopRequested stop, IActorRef replyTo)
    {
        Persist(stop, e =>
        {
            _state = ChargingSession.Evolve(_state, e);
            if (_state.Channel is not null) ToVehicle(ReadingEvent(_state.End!));
            if (_state.IsSettled)
            {
                Complete(replyTo);
                return;
            }
            Timers.StartSingleTimer("settle", SettleDeadline.Instance, _settings.SessionSettleTimeout);
            replyTo.Tell(View());
        });
    }

    /// <summary>Closes the session with its charge record: once the final reading is paid, or when the vehicle had its time and did not pay it.</summary>
    private void Complete(IActorRef? replyTo = null)
    {
        if (ChargingSession.DecideCompletion(_state, _id, Now) is not { } completed) return;
        Timers.Cancel("settle");
        Persist(completed, e =>
        {
            _state = ChargingSession.Evolve(_state, e);
            var body = JsonSerializer.SerializeToElement(e.Record, Serialization.EnergyJson.Options);
            Push(_chargerConnection, _state.Started!.Charger, GatewayEvents.SessionCompleted, body);
            Push(_vehicleConnection, _state.Started!.Vehicle, GatewayEvents.SessionCompleted, body);
            PublishCompleted(e.Record);
            replyTo?.Tell(View());
        });
    }

    private void PublishCompleted(ChargeRecord r)
    {
        var started = _state.Started!;
        Activity.ActivityFeed.Get(Context.System).Publish(new Activity.ChargingSessionCompleted(_id.Value, started.Payee, r.Charger, r.Vehicle, r.Channel,
            new EnergyWh(r.EnergyWh), r.Cost, r.Paid, started.Zone, r.EndedAt));
    }

    // Shared

    /// <summary>
    /// Refuses a command from a device that is not the session's party, or one after the end; a party's
    /// connection is remembered for pushes even when its command is then refused for its content.
    /// </summary>
    private bool IsRefused(DeviceId device, string? connection, bool isCharger, bool allowStopping = false)
    {
        var refused = ChargingSession.CheckParty(_state, _id, device, isCharger, allowStopping);
        if (refused is not null)
        {
            Sender.Tell(Refusal.From(refused));
            return true;
        }
        if (connection is not null)
        {
            if (isCharger) _chargerConnection = connection;
            else _vehicleConnection = connection;
        }
        return false;
    }

    private void ReplyWhenDurable(IActorRef replyTo)
    {
        if (!_dirty && !_flushInFlight)
        {
            // Nothing waits to be written: what the sender asked about is durable already.
            if (!replyTo.IsNobody()) replyTo.Tell(Progress());
            return;
        }
        if (!replyTo.IsNobody()) _repliesWaiting.Add(replyTo);
        Flush();
    }

    private bool ChargerAnswerPending => _repliesWaiting.Count > 0 || _repliesInFlight.Count > 0;

    private void Flush()
    {
        if (_flushInFlight || !_dirty) return;
        _dirty = false;
        _flushInFlight = true;
        (_repliesInFlight, _repliesWaiting) = (_repliesWaiting, _repliesInFlight);
        // PersistAsync: readings and payments keep arriving while the flush is written, and join the next one.
        // The state took this progress already; replaying it on recovery gives the same state.
        PersistAsync(ChargingSession.ToProgressed(_state), _ =>
        {
            _flushInFlight = false;
            var progress = Progress();
            foreach (var to in _repliesInFlight) to.Tell(progress);
            _repliesInFlight.Clear();
            Flush();
            if (!_dirty && _repliesWaiting.Count > 0)
            {
                // Nothing new to persist: what they asked about is already durable.
                foreach (var to in _repliesWaiting) to.Tell(progress);
                _repliesWaiting.Clear();
            }
        });
    }

    private void ToCharger<TEvent>(TEvent body) where TEvent : IGatewayEvent => _pusher.Push(_chargerConnection, _state.Started!.Charger, body);

    private void ToVehicle<TEvent>(TEvent body) where TEvent : IGatewayEvent => _pusher.Push(_vehicleConnection, _state.Started!.Vehicle, body);

    private void Push(string? connection, DeviceId device, string name, object body) => _pusher.Push(connection, device, name, body);

    private SessionProgress Progress() => new(_id.Value, _state.Status.ToWire(), _state.DeliveredWh, _state.Owed, _state.Paid);

    private SessionView View()
    {
        var started = _state.Started!;
        return new(_id.Value, _state.Status.ToWire(), started.Charger, started.Vehicle, _state.Channel, started.PricePerKwh, started.Credit,
            _state.DeliveredWh, _state.Owed, _state.Paid, _state.Suspensions, _state.Record);
    }

    private sealed record PaymentAnswered(Signed<Voucher> Voucher, object Answer, IActorRef ReplyTo);

    private sealed record VehicleConnectionFound(string? Connection);

    private sealed record ChannelPaymentSynced(PurposePaid? Answer);

    private sealed record DevicesFound(object? Charger, object? Vehicle);

    private sealed record ChannelFound(object? Answer);

    private sealed record OfferAgain
    {
        public static readonly OfferAgain Instance = new();
    }

    private sealed record ConsentDeadline
    {
        public static readonly ConsentDeadline Instance = new();
    }

    private sealed record SettleDeadline
    {
        public static readonly SettleDeadline Instance = new();
    }
}
