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
using Energy.Wire;

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
    private static readonly TimeSpan Sweep = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ZoneRefresh = TimeSpan.FromSeconds(1);
    private const long ConnectionCacheForMs = 30_000;
    private const int MaxConnectionsKept = 10_000;
    private const int MaxChannelAsks = 5;

    private readonly string _id;
    private readonly DeviceId _gantry;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _channels;
    private readonly IActorRef _offices;
    private readonly IActorRef _zones;
    private readonly IActorRef _operators;
    private readonly TollPassBook _book;
    private readonly Gateway.DevicePusher _pusher;

    // What the shell keeps beside the book: asks in flight, where devices are connected, the live price.
    private readonly HashSet<string> _answering = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _channelAsks = new(StringComparer.Ordinal);
    private readonly Dictionary<DeviceId, (string Path, Timestamp Until)> _vehicleConnections = [];
    private TollPricing _pricing;
    private int _vehiclesInZone;
    private string? _gantryConnection;

    public GantryEntity(string id, EnergySettings settings, IActorRef devices, IActorRef operators, IActorRef channels, IActorRef offices, IActorRef zones)
    {
        _operators = operators;
        _pusher = new Gateway.DevicePusher(Context.System, 1_000);
        _id = id;
        _gantry = new DeviceId(id);
        _book = new TollPassBook(_gantry);
        _settings = settings;
        _devices = devices;
        _channels = channels;
        _offices = offices;
        _zones = zones;

        Recover<IEnergyMessage>(_book.Apply);
        Recover<RecoveryCompleted>(_ => Start());

        Command<ConfigureGantry>(OnConfigure);
        Command<TollPass>(OnPass);
        Command<PayToll>(OnPay);
        Command<DeclineToll>(OnDecline);
        Command<PaymentAnswered>(OnPaymentAnswered);
        Command<PassPaymentFound>(OnPassPaymentFound);
        Command<VehicleConnectionFound>(OnVehicleConnection);
        Command<ViolationFiled>(filed =>
        {
            if (_book.IsUnfiled(filed.Violation)) PersistAsync(new ViolationFiledRecorded(filed.Violation), _book.Apply);
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

    private GantryTariff? Tariff => _book.Tariff;

    private Timestamp Now => _settings.Clock.Now;

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
        foreach (var pass in _book.Open.Where(p => p.Channel is not null).ToList()) AskChannelForPass(pass);
    }

    /// <summary>
    /// A pass whose voucher was handed to its channel before a restart: the channel may have persisted it
    /// while the gantry did not learn so. The pass waits (not swept as late) for the channel's answer.
    /// </summary>
    private void AskChannelForPass(TollPassState pass)
    {
        _answering.Add(pass.Id);
        var id = pass.Id;
        _channels.Ask<object>(new GetPurposePaid(pass.Channel!.Value, pass.Purpose), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new PassPaymentFound(id, answer), failure: _ => new PassPaymentFound(id, null));
    }

    private void OnPassPaymentFound(PassPaymentFound found)
    {
        if (_book.Find(found.Pass) is not { IsOpen: true } pass) return;
        if (found.Answer is null && CountChannelAsk(pass.Id) < MaxChannelAsks)
        {
            AskChannelForPass(pass);
            return;
        }
        _answering.Remove(pass.Id);
        // Not paid (the voucher never became durable), or no answer: the deadline decides, as for any pass.
        if (TollPasses.DecideFound(pass, Tariff!.Operator, found.Answer, Now) is { } paid) Resolve(pass, paid, ActorRefs.Nobody);
    }

    private int CountChannelAsk(string pass) => _channelAsks[pass] = _channelAsks.GetValueOrDefault(pass) + 1;

    // Configuration

    private void OnConfigure(ConfigureGantry command)
    {
        var sender = Sender;
        var decoded = Signed<GantryTariff>.Decode(command.Tariff);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var checkedTariff = _book.CheckTariff(decoded.Value, command.Gantry, _settings.Network, _settings.Currency);
        if (!checkedTariff.IsOk) { sender.Tell(Refusal.From(checkedTariff.Error)); return; }
        if (checkedTariff.Value is not { } tariff) { sender.Tell(View()); return; }
        FindRegistrationsAsync(command.Gantry, tariff.Operator).PipeTo(Self, success: found => found, failure: _ => new RegistrationsFound(null, null));
        BecomeStacked(message =>
        {
            if (message is not RegistrationsFound found)
            {
                Stash.Stash();
                return;
            }
            UnbecomeStacked();
            Stash.UnstashAll();
            if (found.Device is null || found.Operator is null) { sender.Tell(Refusal.From(new NotAnsweredInTime("registry"))); return; }
            var configured = TollPassBook.DecideConfigure(decoded.Value, command.Tariff, command.Gantry, found.Device, found.Operator, Now);
            if (!configured.IsOk) { sender.Tell(Refusal.From(configured.Error)); return; }
            Persist(configured.Value, e =>
            {
                _book.Apply(e);
                Timers.StartPeriodicTimer("zone", RefreshZone.Instance, ZoneRefresh);
                UpdatePrice();
                sender.Tell(View());
            });
        });
    }

    // Runs off the actor: it reads only what never changes, and its answer is piped back as a message.
    private async Task<RegistrationsFound> FindRegistrationsAsync(DeviceId gantry, OperatorId tollOperator)
    {
        try
        {
            var device = await _devices.Ask<object>(new GetDevice(gantry), _settings.AskTimeout);
            var found = await _operators.Ask<object>(new GetOperator(tollOperator), _settings.AskTimeout);
            return new RegistrationsFound(device, found);
        }
        catch (AskTimeoutException)
        {
            return new RegistrationsFound(null, null);
        }
    }

    private void AskZone()
    {
        if (Tariff is not { CongestionThreshold: > 0 }) return;
        _zones.Ask<object>(new GetZone(Tariff.Zone), _settings.AskTimeout).PipeTo(Self);
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
        if (_pricing.Current is not { } price) return;
        Push(_gantryConnection, _gantry, new TollPriceEvent(_gantry, price.MinorUnits, price.Currency, _vehiclesInZone));
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
        var decided = _book.DecidePass(command.Request, _settings.Network, RevocationList.Get(Context.System).IsRevoked(_gantry), _pricing, Now);
        if (!decided.IsOk)
        {
            // A request at a stale price: tell the gantry the current one, so that it asks again at once.
            if (decided.Error is TollRequestRefused { Field: "price" }) PushPrice();
            Sender.Tell(Refusal.From(decided.Error));
            return;
        }
        if (decided.Value.Known is { } known)
        {
            // The same request again (a retry): the same pass.
            Sender.Tell(known.View());
            return;
        }
        var recorded = decided.Value.Recorded!;
        var signed = decided.Value.Request;
        // The book takes the pass at once, so that the next request gets the next number and a retry finds it;
        // the gantry is answered only once it is durable. The vehicle is asked at once.
        _book.Apply(recorded, signed);
        var pass = _book.Find(recorded.Pass)!;
        OfferToVehicle(pass);
        var sender = Sender;
        PersistAsync(recorded, _ => sender.Tell(pass.View()));
        var tariff = Tariff!;
        var request = signed.Payload;
        _devices.Tell(new VehicleSeen(request.Vehicle, _gantry, tariff.Operator, tariff.Zone, tariff.PositionX, tariff.PositionY, request.Time));
    }

    private void OfferToVehicle(TollPassState pass)
    {
        var vehicle = pass.Payload.Vehicle;
        if (_vehicleConnections.TryGetValue(vehicle, out var cached) && cached.Until > Now)
        {
            PushRequest(cached.Path, pass);
            return;
        }
        var id = pass.Id;
        _devices.Ask<object>(new GetDeviceConnection(vehicle), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new VehicleConnectionFound(id, (answer as DeviceConnection)?.Connection), failure: _ => new VehicleConnectionFound(id, null));
    }

    private void OnVehicleConnection(VehicleConnectionFound found)
    {
        // With no connection the vehicle cannot answer: the pass ends as a late answer at its deadline.
        if (found.Connection is null || _book.Find(found.Pass) is not { IsOpen: true } pass) return;
        if (_vehicleConnections.Count >= MaxConnectionsKept) _vehicleConnections.Clear();
        RememberVehicle(pass.Payload.Vehicle, found.Connection);
        PushRequest(found.Connection, pass);
    }

    private void RememberVehicle(DeviceId vehicle, string connection) =>
        _vehicleConnections[vehicle] = (connection, new Timestamp(Now.UnixMilliseconds + ConnectionCacheForMs));

    private void PushRequest(string connection, TollPassState pass) =>
        Push(connection, pass.Payload.Vehicle, new TollRequestEvent(pass.Id, pass.Request.Wire.ToArray(), _book.GantryKey!.Hex, PartyId.From(Tariff!.Operator),
            pass.Payload.Price.MinorUnits, pass.Payload.Price.Currency));

    // Answers

    /// <summary>The pass a vehicle answers, or the refusal or view it is answered with instead.</summary>
    private TollPassState? AnsweredPass(string id, DeviceId vehicle, bool refuseWhileAnswering)
    {
        if (_book.Find(id) is not { } pass) { Sender.Tell(Refusal.From(new PassNotFound(id))); return null; }
        if (TollPasses.CheckVehicle(pass, vehicle) is { } refused) { Sender.Tell(Refusal.From(refused)); return null; }
        if (pass.IsOpen && !_answering.Contains(pass.Id)) return pass;
        Sender.Tell(pass.IsOpen && refuseWhileAnswering ? Refusal.From(new PassAlreadyResolved(id, "being paid")) : pass.View());
        return null;
    }

    private void OnPay(PayToll command)
    {
        if (AnsweredPass(command.Pass, command.Vehicle, refuseWhileAnswering: true) is not { } pass) return;
        if (command.Connection is not null && _vehicleConnections.Count < MaxConnectionsKept) RememberVehicle(command.Vehicle, command.Connection);
        var decoded = Signed<Voucher>.Decode(command.Voucher);
        var sender = Sender;
        switch (TollPasses.DecidePayment(pass, Tariff!.Operator, decoded, Now))
        {
            case ViolationRecorded violation:
                Resolve(pass, violation, sender);
                break;
            case PassPaymentSubmitted submitted:
                _answering.Add(pass.Id);
                // Which channel the voucher is on is durable before the channel sees the voucher: a crash in between
                // leaves a pass the gantry can settle by asking that channel (see AskChannelForPass).
                PersistAsync(submitted, e =>
                {
                    _book.Apply(e);
                    var voucher = decoded.Value;
                    _channels.Ask<object>(new SubmitVoucher(e.Channel, command.Voucher), _settings.AskTimeout)
                        .PipeTo(Self, success: answer => new PaymentAnswered(e.Pass, voucher, answer, sender),
                            failure: _ => new PaymentAnswered(e.Pass, voucher, Refusal.From(new NotAnsweredInTime("channel")), sender));
                });
                break;
        }
    }

    private void OnPaymentAnswered(PaymentAnswered answered)
    {
        if (_book.Find(answered.Pass) is not { IsOpen: true } pass)
        {
            answered.ReplyTo.Tell(Refusal.From(new PassAlreadyResolved(answered.Pass, "resolved while the voucher was checked")));
            return;
        }
        _answering.Remove(pass.Id);
        Resolve(pass, TollPasses.DecideAnswer(pass, Tariff!.Operator, answered.Voucher, answered.Answer, Now), answered.ReplyTo);
    }

    private void OnDecline(DeclineToll command)
    {
        if (AnsweredPass(command.Pass, command.Vehicle, refuseWhileAnswering: false) is not { } pass) return;
        Resolve(pass, TollPasses.DecideDecline(pass, Tariff!.Operator, command.Reason, Now), Sender);
    }

    private void SweepOpenPasses()
    {
        if (_book.OpenCount == 0 || Tariff is not { } tariff) return;
        var deadline = (long)_settings.TollAnswerTimeout.TotalMilliseconds;
        var now = Now;
        var late = _book.Open.Where(p => !_answering.Contains(p.Id)).Select(p => TollPasses.DecideLate(p, tariff.Operator, deadline, now)).OfType<ViolationRecorded>().ToList();
        foreach (var violation in late) Resolve(_book.Find(violation.Violation.Pass)!, violation, ActorRefs.Nobody);
    }

    /// <summary>
    /// Resolves a pass: paid, or one violation. The book takes it at once, so that nothing resolves the pass a
    /// second time while it is written; whoever asked is answered, and the gantry told, once it is durable.
    /// </summary>
    private void Resolve(TollPassState pass, IEnergyMessage resolution, IActorRef replyTo)
    {
        _answering.Remove(pass.Id);
        _channelAsks.Remove(pass.Id);
        _book.Apply(resolution);
        var resolved = _book.Find(pass.Id) ?? TollPasses.Evolve(pass, resolution);
        switch (resolution)
        {
            case PassPaid paid:
                PersistAsync(paid, e => OnPaid(resolved, e, replyTo));
                break;
            case ViolationRecorded violation:
                PersistAsync(violation, e => OnViolation(resolved, e.Violation, replyTo));
                break;
        }
    }

    private void OnPaid(TollPassState pass, PassPaid e, IActorRef replyTo)
    {
        var request = pass.Payload;
        var tariff = Tariff!;
        Activity.ActivityFeed.Get(Context.System).Publish(new Activity.TollPassPaid(pass.Id, tariff.Operator, _gantry, request.Vehicle, pass.Channel, e.Paid, tariff.Zone, e.At));
        if (!replyTo.IsNobody()) replyTo.Tell(pass.View());
        Push(_gantryConnection, _gantry, new TollConfirmedEvent(pass.Id, request.Vehicle, e.Paid.MinorUnits, request.Time.UnixMilliseconds));
    }

    private void OnViolation(TollPassState pass, TollViolation violation, IActorRef replyTo)
    {
        var request = pass.Payload;
        var tariff = Tariff!;
        Activity.ActivityFeed.Get(Context.System).Publish(new Activity.TollViolationRecorded(violation.Id, tariff.Operator, _gantry, request.Vehicle, request.Price,
            violation.Cause.ToString(), violation.Detail, tariff.Zone, violation.RecordedAt));
        if (!replyTo.IsNobody()) replyTo.Tell(pass.View());
        Push(_gantryConnection, _gantry, new TollViolationEvent(pass.Id, request.Vehicle, JsonNamingPolicy.CamelCase.ConvertName(violation.Cause.ToString()), violation.Detail));
        _offices.Tell(new FileViolation(violation.Operator, violation));
    }

    private void FileUnfiled()
    {
        foreach (var violation in _book.Unfiled.Take(1_000)) _offices.Tell(new FileViolation(violation.Operator, violation));
    }

    private void Push<TEvent>(string? connection, DeviceId device, TEvent body) where TEvent : IGatewayEvent => _pusher.Push(connection, device, body);

    private GantryView View() => new(_gantry, Tariff?.Operator, Tariff?.Segment, Tariff?.Zone, Tariff?.Version ?? 0, _pricing.Current,
        _book.PassCount, _book.PaidCount, _book.ViolationCount, _book.PaidMinorUnits);

    private sealed record PaymentAnswered(string Pass, Signed<Voucher> Voucher, object Answer, IActorRef ReplyTo);

    private sealed record VehicleConnectionFound(string Pass, string? Connection);

    private sealed record PassPaymentFound(string Pass, object? Answer);

    private sealed record RegistrationsFound(object? Device, object? Operator);

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
