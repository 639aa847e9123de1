using System.Text.Json;
using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using Energy.Cluster.Channels;
using Energy.Cluster.Charging;
using Energy.Cluster.Registry;

namespace Energy.Cluster.Tolls;

/// <summary>
/// A free-flow gantry on the network. Its operator's signed tariff places it (segment, zone, position)
/// and prices it (time bands, congestion). For each vehicle it sees, the gantry signs a toll request;
/// the entity checks it (the gantry's key, its segment, the current price, the time), records the pass,
/// passes the request to the vehicle at once and waits, bounded, for the vehicle's voucher on its
/// channel to the operator, which must name the pass. The gantry records which channel the voucher is on
/// before it hands it to the channel, so that after a crash it asks the channel what was paid for the
/// pass instead of calling a paid pass late. The pass then resolves exactly once: paid (the channel has
/// persisted vouchers naming it for the price) or one violation with its cause, filed with the
/// operator's toll office until acknowledged.
/// Every pass also goes to the vehicle's twin (cloned-identity watch, speed) and to the zone (counts).
/// </summary>
public sealed class GantryEntity : ReceivePersistentActor, IWithTimers
{
    private const int MaxResolvedKept = 10_000;
    private static readonly TimeSpan Sweep = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ZoneRefresh = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ConnectionCacheFor = TimeSpan.FromSeconds(30);
    private const long PriceChangeGraceMs = 5_000;
    private const long RequestClockSkewMs = 30_000;
    private const int MaxChannelAsks = 5;

    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _channels;
    private readonly IActorRef _offices;
    private readonly IActorRef _zones;
    private readonly IActorRef _operators;
    private readonly Dictionary<string, Pass> _open = new(StringComparer.Ordinal);

    private Signed<GantryTariff>? _tariff;
    private DevicePublicKey? _gantryKey;
    private readonly Dictionary<string, Pass> _passes = new(StringComparer.Ordinal);
    private readonly Queue<string> _resolvedOrder = new();
    private readonly Dictionary<string, string> _passByRequest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TollViolation> _unfiled = new(StringComparer.Ordinal);
    private readonly Dictionary<DeviceId, (string Path, DateTime Until)> _vehicleConnections = [];
    private readonly Gateway.DevicePusher _pusher;
    private long _passCount;
    private long _paidCount;
    private long _violationCount;
    private long _paidMinorUnits;
    private int _vehiclesInZone;
    private Money? _price;
    private Money? _previousPrice;
    private long _priceChangedAt;
    private string? _gantryConnection;

    public GantryEntity(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones)
    {
        _operators = operators;
        _pusher = new Gateway.DevicePusher(Context.System, 1_000);
        _id = id;
        _settings = settings;
        _devices = devices;
        _channels = channels;
        _offices = offices;
        _zones = zones;

        Recover<GantryConfigured>(Apply);
        Recover<PassRecorded>(Apply);
        Recover<PassPaymentSubmitted>(Apply);
        Recover<PassPaid>(Apply);
        Recover<ViolationRecorded>(Apply);
        Recover<ViolationFiledRecorded>(Apply);
        Recover<RecoveryCompleted>(_ => Start());

        CommandAsync<ConfigureGantry>(ConfigureAsync);
        Command<TollPass>(OnPass);
        Command<PayToll>(OnPay);
        Command<DeclineToll>(OnDecline);
        Command<PaymentAnswered>(OnPaymentAnswered);
        Command<PassPaymentFound>(OnPassPaymentFound);
        Command<VehicleConnectionFound>(OnVehicleConnection);
        Command<ViolationFiled>(filed =>
        {
            if (_unfiled.ContainsKey(filed.Violation)) PersistAsync(new ViolationFiledRecorded(filed.Violation), Apply);
        });
        Command<GetGantry>(_ => Sender.Tell(View()));
        Command<SweepDeadlines>(_ => SweepOpenPasses());
        Command<RefreshZone>(_ => AskZone());
        Command<ZoneView>(zone => { _vehiclesInZone = zone.VehiclesLastMinute; UpdatePrice(); });
        Command<FileAgain>(_ => FileUnfiled());
        Command<Status.Failure>(_ => { });
    }

    public override string PersistenceId => "gantry-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones) =>
        Akka.Actor.Props.Create(() => new GantryEntity(id, settings, devices, operators, channels, offices, zones));

    private GantryTariff? Tariff => _tariff?.Payload;

    private void Start()
    {
        Timers.StartPeriodicTimer("sweep", SweepDeadlines.Instance, Sweep);
        Timers.StartPeriodicTimer("file", FileAgain.Instance, TimeSpan.FromSeconds(1));
        if (Tariff is not null)
        {
            Timers.StartPeriodicTimer("zone", RefreshZone.Instance, ZoneRefresh);
            UpdatePrice();
        }
        FileUnfiled();
        foreach (var pass in _open.Values.Where(p => p.Channel is not null)) AskChannelForPass(pass);
    }

    /// <summary>
    /// A pass whose voucher was handed to its channel before a restart: the channel may have persisted it
    /// while the gantry did not learn so. The pass waits (not swept as late) for the channel's answer.
    /// </summary>
    private void AskChannelForPass(Pass pass)
    {
        pass.Answering = true;
        _channels.Ask<object>(new GetPurposePaid(pass.Channel!.Value, pass.Purpose), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new PassPaymentFound(pass.Id, answer), failure: _ => new PassPaymentFound(pass.Id, null));
    }

    private void OnPassPaymentFound(PassPaymentFound found)
    {
        if (!_passes.TryGetValue(found.Pass, out var pass) || pass.Status != "awaiting-payment") return;
        var request = pass.Request.Payload;
        if (found.Answer is null && ++pass.ChannelAsks < MaxChannelAsks) { AskChannelForPass(pass); return; }
        pass.Answering = false;
        // Not paid (the voucher never became durable), or no answer: the deadline decides, as for any pass.
        if (found.Answer is not PurposePaid paid || paid.Payer != PartyId.From(request.Vehicle) || paid.Payee != PartyId.From(Tariff!.Operator)
            || paid.Paid.Currency != request.Price.Currency || paid.Paid < request.Price) return;
        MarkPaid(pass, null, paid.Paid, paid.ChannelId, ActorRefs.Nobody);
    }

    // Configuration

    private async Task ConfigureAsync(ConfigureGantry command)
    {
        var sender = Sender;
        var decoded = Signed<GantryTariff>.Decode(command.Tariff);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var tariff = decoded.Value.Payload;
        var checkedTariff = GantryTariffs.Check(tariff);
        if (!checkedTariff.IsOk) { sender.Tell(Refusal.From(checkedTariff.Error)); return; }
        if (tariff.Network != _settings.Network) { sender.Tell(Refusal.From(new WrongNetwork(ChannelId.None, _settings.Network, tariff.Network))); return; }
        if (tariff.Gantry != command.Gantry) { sender.Tell(Refusal.From(new DeviceIdMismatch(command.Gantry, tariff.Gantry))); return; }
        if (tariff.Currency != _settings.Currency) { sender.Tell(Refusal.From(new CurrencyMismatch(_settings.Currency, tariff.Currency))); return; }
        if (Tariff is not null && tariff.Version <= Tariff.Version)
        {
            sender.Tell(_tariff!.Equals(decoded.Value) ? View() : Refusal.From(new TariffNotNewer(command.Gantry, Tariff.Version, tariff.Version)));
            return;
        }
        object gantry, op;
        try
        {
            gantry = await _devices.Ask<object>(new GetDevice(command.Gantry), _settings.AskTimeout);
            op = await _operators.Ask<object>(new GetOperator(tariff.Operator), _settings.AskTimeout);
        }
        catch (AskTimeoutException)
        {
            sender.Tell(new Refusal("Timeout", "the registry did not answer in time"));
            return;
        }
        if (gantry is not DeviceView device) { sender.Tell(Refusal.From(new DeviceNotFound(command.Gantry))); return; }
        if (device.Role != DeviceRole.Gantry) { sender.Tell(Refusal.From(new DeviceRoleRefused(command.Gantry, device.Role.ToString(), "Gantry"))); return; }
        if (device.Revoked) { sender.Tell(Refusal.From(new DeviceIsRevoked(command.Gantry, device.RevokedAt ?? _settings.Clock.Now))); return; }
        if (device.Operator != tariff.Operator)
        {
            sender.Tell(Refusal.From(new EndorsementMismatch(command.Gantry, "operator", device.Operator.Value, tariff.Operator.Value)));
            return;
        }
        if (op is not OperatorView operatorView) { sender.Tell(Refusal.From(new OperatorNotFound(tariff.Operator))); return; }
        var operatorKey = DevicePublicKey.FromHex(operatorView.PublicKeyHex);
        if (!operatorKey.IsOk || !decoded.Value.IsSignedBy(operatorKey.Value))
        {
            sender.Tell(Refusal.From(new InvalidSignature(ChannelId.None, ObjectKind.GantryTariff, tariff.Operator.Value)));
            return;
        }
        Persist(new GantryConfigured(command.Tariff, device.PublicKeyHex), e =>
        {
            Apply(e);
            Timers.StartPeriodicTimer("zone", RefreshZone.Instance, ZoneRefresh);
            UpdatePrice();
            sender.Tell(View());
        });
    }

    private void AskZone()
    {
        if (Tariff is not { CongestionThreshold: > 0 }) return;
        _zones.Ask<object>(new GetZone(Tariff.Zone), _settings.AskTimeout).PipeTo(Self);
    }

    private void UpdatePrice()
    {
        if (Tariff is null) return;
        var price = GantryTariffs.PriceAt(Tariff, _settings.Clock.Now, _vehiclesInZone);
        if (price == _price) return;
        _previousPrice = _price;
        _price = price;
        _priceChangedAt = _settings.Clock.Now.UnixMilliseconds;
        PushPrice();
    }

    private void PushPrice()
    {
        if (_price is not { } price) return;
        Push(_gantryConnection, new DeviceId(_id), "toll.price", new { gantry = _id, price = price.MinorUnits, currency = price.Currency.Code, vehiclesInZone = _vehiclesInZone });
    }

    // Passes

    private void OnPass(TollPass command)
    {
        // The gateway authenticated this gantry: its connection is where prices and verdicts go, even when this request is refused.
        if (command.Connection is not null && command.Connection != _gantryConnection)
        {
            _gantryConnection = command.Connection;
            PushPrice();
        }
        var error = CheckPass(command, out var signed);
        if (error is not null)
        {
            // A request at a stale price: tell the gantry the current one, so that it asks again at once.
            if (error is TollRequestRefused { Field: "price" }) PushPrice();
            Sender.Tell(Refusal.From(error));
            return;
        }
        var requestKey = Convert.ToBase64String(signed!.Wire);
        if (_passByRequest.TryGetValue(requestKey, out var existing) && _passes.TryGetValue(existing, out var known))
        {
            // The same request again (a retry): the same pass.
            Sender.Tell(known.View());
            return;
        }
        var request = signed.Payload;
        var id = $"{_id}.{_passCount + 1}";
        var now = _settings.Clock.Now;
        var pass = new Pass(id, signed, now);
        _passCount++;
        _passes[id] = pass;
        _open[id] = pass;
        _passByRequest[requestKey] = id;
        // The vehicle is asked at once; the pass is durable before the gantry is answered.
        OfferToVehicle(pass);
        var sender = Sender;
        PersistAsync(new PassRecorded(id, signed.ToArray(), now), _ => sender.Tell(pass.View()));
        var tariff = Tariff!;
        _devices.Tell(new VehicleSeen(request.Vehicle, new DeviceId(_id), tariff.Operator, tariff.Zone, tariff.PositionX, tariff.PositionY, request.Time));
    }

    private ProtocolError? CheckPass(TollPass command, out Signed<TollRequest>? signed)
    {
        signed = null;
        if (Tariff is null) return new GantryNotConfigured(command.Gantry);
        var decoded = Signed<TollRequest>.Decode(command.Request);
        if (!decoded.IsOk) return decoded.Error;
        var request = decoded.Value.Payload;
        var gantry = new DeviceId(_id);
        if (request.Network != _settings.Network) return new WrongNetwork(ChannelId.None, _settings.Network, request.Network);
        if (request.Gantry != gantry) return new TollRequestRefused(gantry, "gantry", _id, request.Gantry.Value);
        if (RevocationList.Get(Context.System).IsRevoked(gantry)) return new DeviceIsRevoked(gantry, _settings.Clock.Now);
        if (!decoded.Value.IsSignedBy(_gantryKey!)) return new InvalidSignature(ChannelId.None, ObjectKind.TollRequest, _id);
        if (request.Segment != Tariff.Segment) return new TollRequestRefused(gantry, "segment", Tariff.Segment.Value, request.Segment.Value);
        var skew = Math.Abs(request.Time.UnixMilliseconds - _settings.Clock.Now.UnixMilliseconds);
        if (skew > RequestClockSkewMs) return new TollRequestRefused(gantry, "time", $"within {RequestClockSkewMs / 1000} s of the network's clock", $"{skew} ms off");
        var graceful = _previousPrice is not null && request.Price == _previousPrice && _settings.Clock.Now.UnixMilliseconds - _priceChangedAt <= PriceChangeGraceMs;
        if (request.Price != _price && !graceful)
            return new TollRequestRefused(gantry, "price", $"{_price!.Value.MinorUnits} {_price.Value.Currency}", $"{request.Price.MinorUnits} {request.Price.Currency}");
        signed = decoded.Value;
        return null;
    }

    private void OfferToVehicle(Pass pass)
    {
        var vehicle = pass.Request.Payload.Vehicle;
        if (_vehicleConnections.TryGetValue(vehicle, out var cached) && cached.Until > DateTime.UtcNow)
        {
            PushRequest(cached.Path, pass);
            return;
        }
        _devices.Ask<object>(new GetDeviceConnection(vehicle), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new VehicleConnectionFound(pass.Id, (answer as DeviceConnection)?.Connection), failure: _ => new VehicleConnectionFound(pass.Id, null));
    }

    private void OnVehicleConnection(VehicleConnectionFound found)
    {
        // With no connection the vehicle cannot answer: the pass ends as a late answer at its deadline.
        if (found.Connection is null || !_passes.TryGetValue(found.Pass, out var pass) || pass.Status != "awaiting-payment") return;
        var vehicle = pass.Request.Payload.Vehicle;
        if (_vehicleConnections.Count >= 10_000) _vehicleConnections.Clear();
        _vehicleConnections[vehicle] = (found.Connection, DateTime.UtcNow + ConnectionCacheFor);
        PushRequest(found.Connection, pass);
    }

    private void PushRequest(string connection, Pass pass) =>
        Push(connection, pass.Request.Payload.Vehicle, "toll.request", new
        {
            pass = pass.Id,
            request = Convert.ToBase64String(pass.Request.Wire),
            gantryKey = _gantryKey!.Hex,
            payee = PartyId.From(Tariff!.Operator).Value,
            price = pass.Request.Payload.Price.MinorUnits,
            currency = pass.Request.Payload.Price.Currency.Code,
        });

    // Answers

    private void OnPay(PayToll command)
    {
        if (!_passes.TryGetValue(command.Pass, out var pass)) { Sender.Tell(Refusal.From(new PassNotFound(command.Pass))); return; }
        if (pass.Request.Payload.Vehicle != command.Vehicle) { Sender.Tell(Refusal.From(new NotPassVehicle(command.Pass, command.Vehicle))); return; }
        if (pass.Status != "awaiting-payment" || pass.Answering) { Sender.Tell(pass.Status == "awaiting-payment" ? Refusal.From(new PassAlreadyResolved(command.Pass, "being paid")) : pass.View()); return; }
        if (command.Connection is not null && _vehicleConnections.Count < 10_000)
            _vehicleConnections[command.Vehicle] = (command.Connection, DateTime.UtcNow + ConnectionCacheFor);
        var decoded = Signed<Voucher>.Decode(command.Voucher);
        if (!decoded.IsOk)
        {
            Violate(pass, ViolationCause.InvalidAnswer, decoded.Error.Describe(), Sender);
            return;
        }
        var voucher = decoded.Value.Payload;
        if (voucher.Purpose != pass.Purpose)
        {
            Violate(pass, ViolationCause.InvalidAnswer, $"the voucher pays for {voucher.Purpose}, not for {pass.Purpose}", Sender);
            return;
        }
        pass.Answering = true;
        var sender = Sender;
        // Which channel the voucher is on is durable before the channel sees the voucher: a crash in between
        // leaves a pass the gantry can settle by asking that channel (see AskChannelForPass).
        PersistAsync(new PassPaymentSubmitted(pass.Id, voucher.ChannelId), e =>
        {
            Apply(e);
            _channels.Ask<object>(new SubmitVoucher(voucher.ChannelId, command.Voucher), _settings.AskTimeout)
                .PipeTo(Self, success: answer => new PaymentAnswered(pass.Id, decoded.Value, answer, sender),
                    failure: _ => new PaymentAnswered(pass.Id, decoded.Value, new Refusal("Timeout", "the channel did not answer in time"), sender));
        });
    }

    private void OnPaymentAnswered(PaymentAnswered answered)
    {
        if (!_passes.TryGetValue(answered.Pass, out var pass) || pass.Status != "awaiting-payment")
        {
            answered.ReplyTo.Tell(new Refusal(nameof(PassAlreadyResolved), $"pass {answered.Pass} was resolved while the voucher was checked"));
            return;
        }
        pass.Answering = false;
        var request = pass.Request.Payload;
        switch (answered.Answer)
        {
            case VoucherAcknowledged ack when ack.Payee != PartyId.From(Tariff!.Operator) || ack.Payer != PartyId.From(request.Vehicle):
                Violate(pass, ViolationCause.InvalidAnswer, $"the voucher is on channel {ack.ChannelId}, which does not pay {Tariff.Operator} from {request.Vehicle}", answered.ReplyTo);
                break;
            // What counts is what the vouchers naming this pass paid in all, never what the channel's cumulative grew by.
            case VoucherAcknowledged ack when ack.Purpose != pass.Purpose || ack.PaidForPurpose is not { } sum || sum < request.Price:
                Violate(pass, ViolationCause.InvalidAnswer, $"the vouchers for {pass.Purpose} add {ack.PaidForPurpose?.MinorUnits ?? 0}; the toll is {request.Price.MinorUnits}", answered.ReplyTo);
                break;
            case VoucherAcknowledged ack:
                MarkPaid(pass, answered.Voucher.ToArray(), ack.PaidForPurpose!.Value, ack.ChannelId, answered.ReplyTo);
                break;
            case Refusal refusal:
                var cause = refusal.Code switch
                {
                    nameof(ChannelNotFound) => ViolationCause.NoChannel,
                    nameof(AmountExceedsDeposit) => ViolationCause.DepositExhausted,
                    _ => ViolationCause.InvalidAnswer,
                };
                Violate(pass, cause, $"{refusal.Code}: {refusal.Message}", answered.ReplyTo);
                break;
            default:
                Violate(pass, ViolationCause.InvalidAnswer, "the channel gave no answer", answered.ReplyTo);
                break;
        }
    }

    private void MarkPaid(Pass pass, byte[]? voucher, Money amount, ChannelId channel, IActorRef replyTo)
    {
        var request = pass.Request.Payload;
        var paid = new PassPaid(pass.Id, voucher, amount, _settings.Clock.Now);
        Apply(paid);
        PersistAsync(paid, e =>
        {
            Dashboard.DashboardFeed.Get(Context.System).Publish(new Dashboard.DashboardItem("pass", pass.Id,
                $"{request.Vehicle} paid {e.Paid.MinorUnits} at {_id}", [Tariff!.Operator.Value], e.Paid.MinorUnits, 0, Tariff.Zone.Value, e.At,
                ["device:" + _id, "device:" + request.Vehicle.Value, "channel:" + channel.Value]));
            if (!replyTo.IsNobody()) replyTo.Tell(pass.View());
            Push(_gantryConnection, new DeviceId(_id), "toll.confirmed", new
            {
                pass = pass.Id,
                vehicle = request.Vehicle.Value,
                paid = e.Paid.MinorUnits,
                passedAt = request.Time.UnixMilliseconds,
            });
        });
    }

    private void OnDecline(DeclineToll command)
    {
        if (!_passes.TryGetValue(command.Pass, out var pass)) { Sender.Tell(Refusal.From(new PassNotFound(command.Pass))); return; }
        if (pass.Request.Payload.Vehicle != command.Vehicle) { Sender.Tell(Refusal.From(new NotPassVehicle(command.Pass, command.Vehicle))); return; }
        if (pass.Status != "awaiting-payment" || pass.Answering) { Sender.Tell(pass.View()); return; }
        var cause = command.Reason switch
        {
            nameof(ViolationCause.NoChannel) => ViolationCause.NoChannel,
            nameof(ViolationCause.DepositExhausted) => ViolationCause.DepositExhausted,
            _ => ViolationCause.InvalidAnswer,
        };
        Violate(pass, cause, $"the vehicle declined: {command.Reason}", Sender);
    }

    private void SweepOpenPasses()
    {
        var now = _settings.Clock.Now.UnixMilliseconds;
        var deadline = (long)_settings.TollAnswerTimeout.TotalMilliseconds;
        if (_open.Count == 0) return;
        foreach (var pass in _open.Values.Where(p => !p.Answering && now - p.RecordedAt.UnixMilliseconds > deadline).ToList())
            Violate(pass, ViolationCause.Late, $"no valid payment within {deadline} ms", ActorRefs.Nobody);
    }

    private void Violate(Pass pass, ViolationCause cause, string detail, IActorRef replyTo)
    {
        var request = pass.Request.Payload;
        var violation = new TollViolation($"{pass.Id}.v", pass.Id, new DeviceId(_id), request.Vehicle, Tariff!.Operator, request.Segment, request.Price,
            cause, detail, request.Time, _settings.Clock.Now);
        var recorded = new ViolationRecorded(violation);
        Apply(recorded);
        PersistAsync(recorded, e =>
        {
            Dashboard.DashboardFeed.Get(Context.System).Publish(new Dashboard.DashboardItem("violation", violation.Id,
                $"{request.Vehicle} at {_id}: {cause} ({detail})", [Tariff.Operator.Value], request.Price.MinorUnits, 0, Tariff.Zone.Value, violation.RecordedAt,
                ["device:" + _id, "device:" + request.Vehicle.Value]));
            if (!replyTo.IsNobody()) replyTo.Tell(pass.View());
            Push(_gantryConnection, new DeviceId(_id), "toll.violation", new { pass = pass.Id, vehicle = request.Vehicle.Value, cause = JsonNamingPolicy.CamelCase.ConvertName(cause.ToString()), detail });
            _offices.Tell(new FileViolation(violation.Operator, e.Violation));
        });
    }

    private void FileUnfiled()
    {
        foreach (var violation in _unfiled.Values.Take(1_000)) _offices.Tell(new FileViolation(violation.Operator, violation));
    }

    // State

    private void Apply(object e)
    {
        switch (e)
        {
            case GantryConfigured c:
                _tariff = Signed<GantryTariff>.Decode(c.Tariff).Unwrap();
                _gantryKey = DevicePublicKey.FromHex(c.GantryKeyHex).Unwrap();
                break;
            case PassRecorded r when !_passes.ContainsKey(r.Pass):
                var signed = Signed<TollRequest>.Decode(r.Request).Unwrap();
                _passes[r.Pass] = new Pass(r.Pass, signed, r.At);
                _open[r.Pass] = _passes[r.Pass];
                _passByRequest[Convert.ToBase64String(signed.Wire)] = r.Pass;
                _passCount = Math.Max(_passCount, long.Parse(r.Pass[(r.Pass.LastIndexOf('.') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
                break;
            case PassPaymentSubmitted s when _passes.TryGetValue(s.Pass, out var submitted):
                submitted.Channel = s.Channel;
                break;
            case PassPaid p when _passes.TryGetValue(p.Pass, out var paid) && paid.Status == "awaiting-payment":
                paid.Status = "paid";
                paid.Paid = p.Paid.MinorUnits;
                _paidCount++;
                _paidMinorUnits += p.Paid.MinorUnits;
                Resolved(paid);
                break;
            case ViolationRecorded v when _passes.TryGetValue(v.Violation.Pass, out var violated) && violated.Status == "awaiting-payment":
                violated.Status = "violation";
                violated.Violation = v.Violation.Cause;
                _violationCount++;
                _unfiled[v.Violation.Id] = v.Violation;
                Resolved(violated);
                break;
            case ViolationFiledRecorded f:
                _unfiled.Remove(f.Violation);
                break;
        }
    }

    /// <summary>Keeps a bounded number of resolved passes for answering retries; the oldest are forgotten.</summary>
    private void Resolved(Pass pass)
    {
        _open.Remove(pass.Id);
        _resolvedOrder.Enqueue(pass.Id);
        while (_resolvedOrder.Count > MaxResolvedKept)
        {
            var old = _resolvedOrder.Dequeue();
            if (_passes.Remove(old, out var gone)) _passByRequest.Remove(Convert.ToBase64String(gone.Request.Wire));
        }
    }

    private void Push(string? connection, DeviceId device, string name, object body) => _pusher.Push(connection, device, name, body);

    private GantryView View() => new(new DeviceId(_id), Tariff?.Operator, Tariff?.Segment, Tariff?.Zone, Tariff?.Version ?? 0, _price,
        _passCount, _paidCount, _violationCount, _paidMinorUnits);

    private sealed class Pass(string id, Signed<TollRequest> request, Timestamp recordedAt)
    {
        public string Id { get; } = id;
        public Signed<TollRequest> Request { get; } = request;
        public Timestamp RecordedAt { get; } = recordedAt;

        /// <summary>What a voucher must name to pay this pass.</summary>
        public PaymentPurpose Purpose { get; } = PaymentPurpose.ForTollPass(id).Unwrap();

        /// <summary>The channel a voucher for this pass was handed to, once that is durable.</summary>
        public ChannelId? Channel { get; set; }

        public int ChannelAsks { get; set; }
        public string Status { get; set; } = "awaiting-payment";
        public bool Answering { get; set; }
        public long? Paid { get; set; }
        public ViolationCause? Violation { get; set; }

        public PassView View() => new(Id, Request.Payload.Gantry, Request.Payload.Vehicle, Request.Payload.Price, Status, Paid, Violation);
    }

    private sealed record PaymentAnswered(string Pass, Signed<Voucher> Voucher, object Answer, IActorRef ReplyTo);

    private sealed record VehicleConnectionFound(string Pass, string? Connection);

    private sealed record PassPaymentFound(string Pass, object? Answer);

    private sealed record SweepDeadlines
    {
        public static readonly SweepDeadlines Instance = new();
    }

    private sealed record RefreshZone
    {
        public static readonly RefreshZone Instance = new();
    }

    private sealed record FileAgain
    {
        public static readonly FileAgain Instance = new();
    }
}
