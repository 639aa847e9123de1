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
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _channels;
    private readonly Gateway.DevicePusher _pusher;

    private SessionStarted? _started;
    private Signed<MeterReading>? _start;
    private DevicePublicKey? _meterKey;
    private Signed<MeterReading>? _latest;
    private ChannelId? _channel;
    private readonly PaymentPurpose _purpose;
    private Money _paid;
    private Signed<Voucher>? _bestVoucher;
    private bool _suspended;
    private int _suspensions;
    private Signed<MeterReading>? _end;
    private ChargeRecord? _record;
    private bool _unconsented;
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
        _id = id;
        _settings = settings;
        _devices = devices;
        _channels = channels;
        // A session whose id is no identifier cannot be named by a voucher: it takes none (see OnPay).
        _purpose = PaymentPurpose.ForSession(id) is { IsOk: true } purpose ? purpose.Value : PaymentPurpose.None;
        _pusher = new Gateway.DevicePusher(Context.System, 8);
        // A session is short and never snapshots: its recovery need not ask the snapshot store.
        SnapshotPluginId = "akka.persistence.no-snapshot-store";

        Recover<SessionStarted>(Apply);
        Recover<SessionChannelBound>(Apply);
        Recover<SessionProgressed>(Apply);
        Recover<SessionSuspended>(Apply);
        Recover<SessionResumed>(Apply);
        Recover<SessionStopRequested>(Apply);
        Recover<SessionCompleted>(Apply);
        Recover<SessionConsentExpired>(Apply);
        Recover<RecoveryCompleted>(_ => OnRecovered());

        CommandAsync<StartSession>(StartAsync);
        CommandAsync<StartWitnessedSession>(StartWitnessedAsync);
        CommandAsync<AcceptSession>(AcceptAsync);
        Command<SubmitSessionReading>(OnReading);
        Command<WitnessedReading>(OnWitnessedReading);
        Command<PayForSession>(OnPay);
        Command<PaymentAnswered>(OnPaymentAnswered);
        Command<StopSession>(OnStop);
        Command<GetSession>(_ => Sender.Tell(_started is null ? Refusal.From(new SessionNotFound(_id)) : View()));
        Command<VehicleConnectionFound>(OnVehicleConnectionFound);
        Command<SettleDeadline>(_ => Complete());
        Command<OfferAgain>(_ => OfferToVehicle());
        Command<ConsentDeadline>(_ => OnConsentDeadline());
    }

    /// <summary>
    /// A session persists a payment with its next reading, not on its own: the channel holds it durably
    /// and answered the vehicle. After a restart the session asks the channel what is durably paid for
    /// this session (the increments of the vouchers that name it) and takes it if it is more than its own,
    /// before it handles anything else (bounded by the ask timeout; on no answer it goes on with its own).
    /// </summary>
    private void OnRecovered()
    {
        if (_end is not null && _record is null) Timers.StartSingleTimer("settle", SettleDeadline.Instance, _settings.SessionSettleTimeout);
        if (AwaitsConsent) ScheduleConsentDeadline();
        if (_channel is not { } channel || _record is not null) return;
        _channels.Ask<object>(new GetPurposePaid(channel, _purpose), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new ChannelPaymentSynced(answer as PurposePaid), failure: _ => new ChannelPaymentSynced(null));
        BecomeStacked(message =>
        {
            if (message is not ChannelPaymentSynced synced)
            {
                Stash.Stash();
                return;
            }
            Adopt(synced.Answer);
            UnbecomeStacked();
            Stash.UnstashAll();
        });
    }

    private void Adopt(PurposePaid? answer)
    {
        if (answer is null || answer.ChannelId != _channel || answer.Purpose != _purpose) return;
        if (answer.Paid.Currency == _paid.Currency && answer.Paid > _paid) _paid = answer.Paid;
        if (answer.Voucher is not null && Signed<Voucher>.Decode(answer.Voucher) is { IsOk: true } decoded
            && decoded.Value.Payload.Sequence > (_bestVoucher?.Payload.Sequence ?? 0)) _bestVoucher = decoded.Value;
    }

    public override string PersistenceId => "session-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef channels) =>
        Akka.Actor.Props.Create(() => new ChargingSessionEntity(id, settings, devices, channels));

    public static bool IsValidId(string id) => id.Length is > 0 and <= 64 && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or ':' or '-');

    private Money Owed
    {
        get
        {
            if (_started is null || _start is null) return default;
            var energy = Energy;
            return new EnergyWh(energy).PriceAt(new Tariff(_started.PricePerKwh)).Unwrap();
        }
    }

    private long Energy => (_end ?? _latest ?? _start)!.Payload.Register.WattHours - _start!.Payload.Register.WattHours;

    /// <summary>The sum of the increments of the acknowledged vouchers that name this session.</summary>
    private Money Paid => _paid;

    private string Status =>
        _unconsented ? "unconsented"
        : _record is not null ? "completed"
        : _end is not null ? "stopping"
        : _channel is null ? "awaiting-vehicle"
        : _suspended ? "suspended"
        : "charging";

    // Starting

    private async Task StartAsync(StartSession command)
    {
        var sender = Sender;
        var reading = Signed<MeterReading>.Decode(command.Reading);
        if (!reading.IsOk) { sender.Tell(Refusal.From(reading.Error)); return; }
        if (_started is not null)
        {
            // The same start again (a retry) gets the same answer; different terms are refused.
            sender.Tell(_started.Charger == command.Charger && _started.StartReading.AsSpan().SequenceEqual(command.Reading)
                ? View() : Refusal.From(new SessionAlreadyStarted(_id)));
            return;
        }
        var terms = CheckTerms(command.PricePerKwh, command.Credit);
        if (terms is not null) { sender.Tell(Refusal.From(terms)); return; }
        var charger = await DeviceAsync(command.Charger, DeviceRole.Charger, DeviceRole.Meter);
        if (!charger.IsOk) { sender.Tell(Refusal.From(charger.Error)); return; }
        var vehicle = await DeviceAsync(command.Vehicle, DeviceRole.Vehicle);
        if (!vehicle.IsOk) { sender.Tell(Refusal.From(vehicle.Error)); return; }
        var meterKey = DevicePublicKey.FromHex(charger.Value.PublicKeyHex).Unwrap();
        var accepted = MeterReadings.Accept(reading.Value, _settings.Network, command.Charger, meterKey, null);
        if (!accepted.IsOk) { sender.Tell(Refusal.From(accepted.Error)); return; }
        _chargerConnection = command.Connection;
        Persist(new SessionStarted(command.Charger, command.Vehicle, PartyId.From(charger.Value.Operator), charger.Value.PublicKeyHex, false,
            command.PricePerKwh, command.Credit, command.Reading, _settings.Clock.Now) { Zone = command.Zone }, e =>
        {
            Apply(e);
            sender.Tell(View());
            OfferToVehicle();
        });
    }

    private async Task StartWitnessedAsync(StartWitnessedSession command)
    {
        if (_started is not null) return;
        var price = new Money(_settings.WitnessedPricePerKwh, _settings.Currency);
        var credit = new Money(_settings.WitnessedCredit, _settings.Currency);
        var charger = await DeviceAsync(command.Charger, DeviceRole.Charger, DeviceRole.Meter);
        var vehicle = await DeviceAsync(command.Vehicle, DeviceRole.Vehicle);
        if (!charger.IsOk || !vehicle.IsOk || command.MeterStartWh < 0) return;
        var reading = Signed<MeterReading>.Sign(new MeterReading(_settings.Network, command.Charger, 1, _settings.Clock.Now, new EnergyWh(command.MeterStartWh)), _settings.NodeKey);
        Persist(new SessionStarted(command.Charger, command.Vehicle, PartyId.From(charger.Value.Operator), _settings.NodeKey.PublicKey.Hex, true,
            price, credit, reading.ToArray(), _settings.Clock.Now), e =>
        {
            Apply(e);
            ScheduleConsentDeadline();
            OfferToVehicle();
        });
    }

    // Consent: a vehicle pays only for a session it accepted. An OCPP charger starts a transaction on an idTag
    // alone, so its session waits a bounded time for the vehicle to accept where it is plugged in; without
    // that, nothing is billed and the charger is told to stop (RemoteStopTransaction).

    private bool AwaitsConsent => _started is { Witnessed: true } && _channel is null && !_unconsented && _record is null && _end is null;

    private void ScheduleConsentDeadline()
    {
        var elapsed = TimeSpan.FromMilliseconds(Math.Max(0, _settings.Clock.Now.UnixMilliseconds - _started!.At.UnixMilliseconds));
        var left = _settings.SessionConsentTimeout - elapsed;
        Timers.StartSingleTimer("consent", ConsentDeadline.Instance, left > TimeSpan.Zero ? left : TimeSpan.Zero);
    }

    private void OnConsentDeadline()
    {
        if (!AwaitsConsent) return;
        Persist(new SessionConsentExpired(_settings.Clock.Now), e =>
        {
            Apply(e);
            Timers.Cancel("offer");
            if (Gateway.ChargePointEntity.TransactionOf(_id) is { } transaction)
                Akka.Cluster.Sharding.ClusterSharding.Get(Context.System).ShardRegion("charge-point")
                    .Tell(new Gateway.StopUnconsentedTransaction(transaction.ChargePoint, transaction.TransactionId));
        });
    }

    private ProtocolError? CheckTerms(Money price, Money credit)
    {
        if (price.Currency != _settings.Currency) return new CurrencyMismatch(_settings.Currency, price.Currency);
        if (credit.Currency != _settings.Currency) return new CurrencyMismatch(_settings.Currency, credit.Currency);
        if (price.IsNegative || price.MinorUnits > _settings.MaxPricePerKwh)
            return new InvalidSessionTerms(_id, $"a price of {price.MinorUnits} per kWh is outside 0..{_settings.MaxPricePerKwh}");
        if (credit.IsNegative || credit.MinorUnits > _settings.MaxSessionCredit)
            return new InvalidSessionTerms(_id, $"a credit of {credit.MinorUnits} is outside 0..{_settings.MaxSessionCredit}");
        return null;
    }

    private async Task<Result<DeviceView>> DeviceAsync(DeviceId device, params DeviceRole[] roles)
    {
        object answer;
        try { answer = await _devices.Ask<object>(new GetDevice(device), _settings.AskTimeout); }
        catch (AskTimeoutException) { return new DeviceNotFound(device); }
        if (answer is not DeviceView view) return new DeviceNotFound(device);
        if (view.Revoked || RevocationList.Get(Context.System).IsRevoked(device)) return new DeviceIsRevoked(device, view.RevokedAt ?? _settings.Clock.Now);
        if (!roles.Contains(view.Role)) return new DeviceRoleRefused(device, view.Role.ToString(), string.Join(" or ", roles));
        return view;
    }

    /// <summary>Offers the session to the vehicle on its connection, looked up in its twin when it is not known yet.</summary>
    private void OfferToVehicle()
    {
        if (_vehicleConnection is not null)
        {
            ToVehicle("session.offer", OfferBody());
            return;
        }
        _devices.Ask<object>(new GetDeviceConnection(_started!.Vehicle), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new VehicleConnectionFound((answer as DeviceConnection)?.Connection),
                failure: _ => new VehicleConnectionFound(null));
    }

    private void OnVehicleConnectionFound(VehicleConnectionFound found)
    {
        if (_vehicleConnection is not null || _channel is not null || _record is not null || _unconsented) return;
        if (found.Connection is null)
        {
            // The vehicle is not connected (yet): look again, a bounded number of times.
            if (++_offerAttempts < MaxOfferAttempts) Timers.StartSingleTimer("offer", OfferAgain.Instance, OfferRetryInterval);
            return;
        }
        _vehicleConnection = found.Connection;
        ToVehicle("session.offer", OfferBody());
    }

    private object OfferBody() => new
    {
        session = _id,
        charger = _started!.Charger.Value,
        payee = _started.Payee.Value,
        meterKey = _started.MeterKeyHex,
        witnessed = _started.Witnessed,
        pricePerKwh = _started.PricePerKwh.MinorUnits,
        credit = _started.Credit.MinorUnits,
        currency = _started.PricePerKwh.Currency.Code,
        startReading = Convert.ToBase64String(_started.StartReading),
    };

    private async Task AcceptAsync(AcceptSession command)
    {
        var sender = Sender;
        if (_started is null) { sender.Tell(Refusal.From(new SessionNotFound(_id))); return; }
        if (command.Vehicle != _started.Vehicle) { sender.Tell(Refusal.From(new NotSessionParty(_id, command.Vehicle, "vehicle"))); return; }
        _vehicleConnection = command.Connection ?? _vehicleConnection;
        if (_channel is not null)
        {
            sender.Tell(_channel == command.Channel ? View() : Refusal.From(new ChannelNotUsable(_id, command.Channel, $"is not the session's channel {_channel}")));
            return;
        }
        if (_record is not null || _unconsented) { sender.Tell(Refusal.From(new SessionEnded(_id, Status))); return; }
        object answer;
        try { answer = await _channels.Ask<object>(new GetChannel(command.Channel), _settings.AskTimeout); }
        catch (AskTimeoutException) { sender.Tell(Refusal.From(new ChannelNotUsable(_id, command.Channel, "did not answer"))); return; }
        var problem = answer switch
        {
            ChannelView { Status: not "open" } v => $"is {v.Status}, not open",
            ChannelView v when v.Payer != PartyId.From(_started.Vehicle) => $"is paid from {v.Payer}, not from the vehicle",
            ChannelView v when v.Payee != _started.Payee => $"pays {v.Payee}, not the charger's operator {_started.Payee}",
            ChannelView v when v.Deposit!.Value.Currency != _started.PricePerKwh.Currency => $"is in {v.Deposit.Value.Currency}",
            ChannelView => null,
            _ => "is not open",
        };
        if (problem is not null) { sender.Tell(Refusal.From(new ChannelNotUsable(_id, command.Channel, problem))); return; }
        var paidBefore = ((ChannelView)answer).Paid!.Value;
        Persist(new SessionChannelBound(command.Channel, paidBefore), e =>
        {
            Apply(e);
            sender.Tell(View());
            ToCharger("session.accepted", new { session = _id, channel = e.Channel.Value });
            // Readings that arrived before the vehicle accepted are owed now.
            if (_latest is not null) ToVehicle("session.reading", ReadingBody(_latest));
        });
    }

    // Readings

    private void OnReading(SubmitSessionReading command)
    {
        if (Refuse(command.Charger, "charger", command.Connection, isCharger: true)) return;
        var decoded = Signed<MeterReading>.Decode(command.Reading);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var accepted = MeterReadings.Accept(decoded.Value, _settings.Network, _started!.Charger, _meterKey!, (_latest ?? _start)!.Payload);
        if (!accepted.IsOk) { Sender.Tell(Refusal.From(accepted.Error)); return; }
        TakeReading(decoded.Value, Sender);
    }

    private void OnWitnessedReading(WitnessedReading reading)
    {
        if (_started is not { Witnessed: true } || _record is not null || _end is not null || _unconsented) return;
        var last = (_latest ?? _start)!.Payload;
        if (reading.RegisterWh < last.Register.WattHours || (reading.RegisterWh == last.Register.WattHours && !reading.Final)) return;
        var signed = Signed<MeterReading>.Sign(new MeterReading(_settings.Network, _started.Charger, last.Sequence + 1,
            _settings.Clock.Now > last.Time ? _settings.Clock.Now : last.Time, new EnergyWh(reading.RegisterWh)), _settings.NodeKey);
        if (reading.Final) Stop(signed, ActorRefs.Nobody);
        else TakeReading(signed, ActorRefs.Nobody);
    }

    private void TakeReading(Signed<MeterReading> reading, IActorRef replyTo)
    {
        _latest = reading;
        _dirty = true;
        if (_channel is not null) ToVehicle("session.reading", ReadingBody(reading));
        CheckCredit();
        ReplyWhenDurable(replyTo);
    }

    private object ReadingBody(Signed<MeterReading> reading) => new
    {
        session = _id,
        reading = Convert.ToBase64String(reading.Wire),
        energyWh = reading.Payload.Register.WattHours - _start!.Payload.Register.WattHours,
        owed = Owed.MinorUnits,
        paid = Paid.MinorUnits,
        final = _end is not null,
    };

    // Payments

    private void OnPay(PayForSession command)
    {
        if (Refuse(command.Vehicle, "vehicle", command.Connection, isCharger: false, allowStopping: true)) return;
        if (_channel is null) { Sender.Tell(Refusal.From(new SessionNotAccepted(_id))); return; }
        var decoded = Signed<Voucher>.Decode(command.Voucher);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var voucher = decoded.Value.Payload;
        if (voucher.ChannelId != _channel) { Sender.Tell(Refusal.From(new ChannelNotUsable(_id, voucher.ChannelId, $"is not the session's channel {_channel}"))); return; }
        // Only a voucher that names this session pays it: its increment then counts for nothing else.
        if (_purpose.IsNone || voucher.Purpose != _purpose) { Sender.Tell(Refusal.From(new VoucherForAnotherPurpose(_id, voucher.Purpose.ToString()))); return; }
        var paid = _paid.Add(voucher.Increment);
        if (!paid.IsOk) { Sender.Tell(Refusal.From(paid.Error)); return; }
        if (paid.Value > Owed) { Sender.Tell(Refusal.From(new PaymentAboveOwed(_id, paid.Value.MinorUnits, Owed.MinorUnits))); return; }
        // The channel verifies the voucher against the vehicle's registered key and persists it before it answers.
        var sender = Sender;
        var signed = decoded.Value;
        _channels.Ask<object>(new SubmitVoucher(_channel.Value, command.Voucher), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new PaymentAnswered(signed, answer, sender),
                failure: _ => new PaymentAnswered(signed, Refusal.From(new ChannelNotUsable(_id, _channel.Value, "did not answer")), sender));
    }

    private void OnPaymentAnswered(PaymentAnswered answered)
    {
        if (answered.Answer is not VoucherAcknowledged)
        {
            answered.ReplyTo.Tell(answered.Answer);
            return;
        }
        // The channel holds the voucher durably: the session keeps it and persists it with its next reading.
        // What is paid is the channel's sum for this session; answers may arrive out of order, sums only grow.
        var ack = (VoucherAcknowledged)answered.Answer;
        if (ack.Purpose == _purpose && ack.PaidForPurpose is { } sum && sum > _paid) _paid = sum;
        if (_bestVoucher is null || answered.Voucher.Payload.Sequence > _bestVoucher.Payload.Sequence) _bestVoucher = answered.Voucher;
        // A charger with a reading waiting for its answer learns what is paid from that answer; one
        // without (it may be holding back energy until paid) is told now.
        if (!ChargerAnswerPending) ToCharger("session.paid", new { session = _id, owed = Owed.MinorUnits, paid = Paid.MinorUnits });
        CheckCredit();
        answered.ReplyTo.Tell(Progress());
        if (_end is not null && Paid >= Owed) Complete();
    }

    /// <summary>Suspends when what is owed and unpaid exceeds the credit; resumes once it no longer does.</summary>
    private void CheckCredit()
    {
        var unpaid = Owed.MinorUnits - Paid.MinorUnits;
        if (!_suspended && unpaid > _started!.Credit.MinorUnits && _end is null)
        {
            Persist(new SessionSuspended(Owed, Paid, _settings.Clock.Now), e =>
            {
                Apply(e);
                ToCharger("session.suspend", new { session = _id, owed = e.Owed.MinorUnits, paid = e.Paid.MinorUnits, credit = _started.Credit.MinorUnits });
            });
        }
        else if (_suspended && unpaid <= _started!.Credit.MinorUnits)
        {
            Persist(new SessionResumed(Owed, Paid, _settings.Clock.Now), e =>
            {
                Apply(e);
                ToCharger("session.resume", new { session = _id, owed = e.Owed.MinorUnits, paid = e.Paid.MinorUnits });
            });
        }
    }

    // Stopping

    private void OnStop(StopSession command)
    {
        if (_started is not null && _end is not null && command.Charger == _started.Charger && _end.Wire.SequenceEqual(command.Reading))
        {
            Sender.Tell(View());
            return;
        }
        if (Refuse(command.Charger, "charger", command.Connection, isCharger: true)) return;
        var decoded = Signed<MeterReading>.Decode(command.Reading);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var last = (_latest ?? _start)!;
        var accepted = decoded.Value.Wire.SequenceEqual(last.Wire)
            ? (Result<MeterReading>)last.Payload
            : MeterReadings.Accept(decoded.Value, _settings.Network, _started!.Charger, _meterKey!, last.Payload);
        if (!accepted.IsOk) { Sender.Tell(Refusal.From(accepted.Error)); return; }
        Stop(decoded.Value, Sender);
    }

    private void Stop(Signed<MeterReading> end, IActorRef replyTo)
    {
        Persist(new SessionStopRequested(end.ToArray(), _settings.Clock.Now), e =>
        {
            Apply(e);
            if (_channel is not null) ToVehicle("session.reading", ReadingBody(end));
            if (_channel is null || Paid >= Owed)
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
        if (_record is not null || _end is null) return;
        Timers.Cancel("settle");
        var record = new ChargeRecord(_id, _started!.Charger, _started.Vehicle, _channel, _started.StartReading, _end.ToArray(), Energy,
            _started.PricePerKwh, Owed, Paid, Owed.Subtract(Paid).Unwrap() is { IsNegative: false } outstanding ? outstanding : Money.Zero(Owed.Currency),
            _bestVoucher?.ToArray(), _suspensions, _started.At, _settings.Clock.Now);
        Persist(new SessionCompleted(record), e =>
        {
            Apply(e);
            var body = JsonSerializer.SerializeToElement(e.Record, Serialization.EnergyJson.Options);
            ToCharger("session.completed", body);
            ToVehicle("session.completed", body);
            var r = e.Record;
            Dashboard.DashboardFeed.Get(Context.System).Publish(new Dashboard.DashboardItem("session", _id,
                $"{r.Vehicle} charged {r.EnergyWh} Wh at {r.Charger}, paid {r.Paid.MinorUnits} of {r.Cost.MinorUnits}", [_started!.Payee.Name], r.Paid.MinorUnits, r.EnergyWh,
                _started.Zone?.Value, r.EndedAt, r.Channel is { } ch ? ["device:" + r.Charger.Value, "device:" + r.Vehicle.Value, "channel:" + ch.Value] : ["device:" + r.Charger.Value, "device:" + r.Vehicle.Value]));
            replyTo?.Tell(View());
        });
    }

    // Shared

    /// <summary>Refuses a command from someone who is not the session's charger or vehicle, or that comes after the end.</summary>
    private bool Refuse(DeviceId device, string role, string? connection, bool isCharger, bool allowStopping = false)
    {
        ProtocolError? error = null;
        if (_started is null) error = new SessionNotFound(_id);
        else if (device != (isCharger ? _started.Charger : _started.Vehicle)) error = new NotSessionParty(_id, device, role);
        else if (_record is not null || (_end is not null && !allowStopping)) error = new SessionEnded(_id, Status);
        if (error is not null)
        {
            Sender.Tell(Refusal.From(error));
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
        PersistAsync(new SessionProgressed(_latest?.ToArray(), _bestVoucher?.ToArray(), _paid), _ =>
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

    private void ToCharger(string name, object body) => Push(_chargerConnection, _started!.Charger, name, body);

    private void ToVehicle(string name, object body) => Push(_vehicleConnection, _started!.Vehicle, name, body);

    private void Push(string? connection, DeviceId device, string name, object body) => _pusher.Push(connection, device, name, body);

    private void Apply(object e)
    {
        switch (e)
        {
            case SessionStarted s:
                _started = s;
                _start = Signed<MeterReading>.Decode(s.StartReading).Unwrap();
                _meterKey = DevicePublicKey.FromHex(s.MeterKeyHex).Unwrap();
                _paid = Money.Zero(s.PricePerKwh.Currency);
                break;
            case SessionChannelBound b:
                _channel = b.Channel;
                break;
            case SessionProgressed p:
                if (p.Reading is not null) _latest = Signed<MeterReading>.Decode(p.Reading).Unwrap();
                if (p.Voucher is not null) _bestVoucher = Signed<Voucher>.Decode(p.Voucher).Unwrap();
                if (p.Paid > _paid) _paid = p.Paid;
                break;
            case SessionSuspended:
                _suspended = true;
                _suspensions++;
                break;
            case SessionResumed:
                _suspended = false;
                break;
            case SessionStopRequested stop:
                _end = Signed<MeterReading>.Decode(stop.EndReading).Unwrap();
                break;
            case SessionCompleted c:
                _record = c.Record;
                _suspended = false;
                break;
            case SessionConsentExpired:
                _unconsented = true;
                break;
        }
    }

    private SessionProgress Progress() => new(_id, Status, Energy, Owed, Paid);

    private SessionView View() => new(_id, Status, _started!.Charger, _started.Vehicle, _channel, _started.PricePerKwh, _started.Credit,
        Energy, Owed, Paid, _suspensions, _record);

    private sealed record PaymentAnswered(Signed<Voucher> Voucher, object Answer, IActorRef ReplyTo);

    private sealed record VehicleConnectionFound(string? Connection);

    private sealed record ChannelPaymentSynced(PurposePaid? Answer);

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
