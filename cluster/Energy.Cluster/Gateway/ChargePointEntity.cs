using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Persistence;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.ChargePoints;
using Energy.Cluster.Registry;
using Energy.Ocpp;

namespace Energy.Cluster.Gateway;

/// <summary>
/// A charge point speaking OCPP 1.6J: its boot, its status and its transactions. Transaction messages are
/// exactly-once: a repeated stop, a stop below the start, a register going backwards or an unknown
/// transaction each get a defined CALLRESULT and change nothing, so a charger is never pushed into a
/// retry loop. Everything is persisted before the charger is answered.
/// </summary>
public sealed class ChargePointEntity : ReceivePersistentActor
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _sessions;
    private readonly Dictionary<int, string> _connectorStatus = [];
    private ChargePointState _state = ChargePointState.Empty;
    private string? _connection;

    public ChargePointEntity(string id, EnergySettings settings, IActorRef devices, IActorRef sessions)
    {
        _sessions = sessions;
        _id = id;
        _settings = settings;
        _devices = devices;
        Recover<IEnergyMessage>(e => _state = ChargePointTransactions.Evolve(_state, e));
        Command<ChargePointRequest>(Handle);
        Command<GetChargingTransaction>(q => Sender.Tell(new ChargingTransactionView(_state.Find(q.TransactionId))));
        Command<ChargePointConnected>(c => _connection = c.Connection);
        Command<ChargePointDisconnected>(c => { if (_connection == c.Connection) _connection = null; });
        Command<StopUnconsentedTransaction>(OnStopUnconsented);
    }

    public override string PersistenceId => "charge-point-" + _id;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef sessions) =>
        Akka.Actor.Props.Create(() => new ChargePointEntity(id, settings, devices, sessions));

    /// <summary>The charging session of an OCPP transaction: the same sessions, payments and records as agent chargers have.</summary>
    public static string SessionOf(string chargePoint, int transactionId) => $"ocpp:{chargePoint}:{transactionId}";

    /// <summary>The transaction of an OCPP session id, or null for a session of an agent charger.</summary>
    public static (string ChargePoint, int TransactionId)? TransactionOf(string session)
    {
        if (!session.StartsWith("ocpp:", StringComparison.Ordinal)) return null;
        var last = session.LastIndexOf(':');
        return last > 5 && int.TryParse(session.AsSpan(last + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var transaction)
            ? (session[5..last], transaction)
            : null;
    }

    /// <summary>
    /// The first call the network makes to a charger: stop a transaction whose vehicle did not consent. Sent on the
    /// charge point's live connection; a charger that is not connected stops it itself when its idTag expires.
    /// </summary>
    private void OnStopUnconsented(StopUnconsentedTransaction command)
    {
        if (_state.Find(command.TransactionId) is not { MeterStopWh: null } || _connection is null) return;
        var call = new OcppOutgoingCall("RemoteStopTransaction", JsonSerializer.SerializeToElement(new { transactionId = command.TransactionId }));
        ((ExtendedActorSystem)Context.System).Provider.ResolveActorRef(_connection).Tell(call);
    }

    private Timestamp Now => _settings.Clock.Now;

    private string NowText => Now.ToDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private void Handle(ChargePointRequest request)
    {
        var sender = Sender;
        var p = request.Payload;
        switch (request.Action)
        {
            case "BootNotification":
                Persist(new ChargePointBooted(p.GetProperty("chargePointVendor").GetString()!, p.GetProperty("chargePointModel").GetString()!, Now),
                    _ => Reply(sender, new { status = "Accepted", currentTime = NowText, interval = 300 }));
                break;
            case "Heartbeat":
                Reply(sender, new { currentTime = NowText });
                break;
            case "StatusNotification":
                _connectorStatus[p.GetProperty("connectorId").GetInt32()] = p.GetProperty("status").GetString()!;
                Reply(sender, new { });
                break;
            case "Authorize":
                AwaitAuthorization(p.GetProperty("idTag").GetString()!, authorization => Reply(sender, new { idTagInfo = new { status = authorization.ToWire() } }));
                break;
            case "StartTransaction":
                Start(sender, p);
                break;
            case "MeterValues":
                MeterValues(sender, p);
                break;
            case "StopTransaction":
                Stop(sender, p);
                break;
            default:
                sender.Tell(new ChargePointResponse(null, OcppErrorCode.NotImplemented, $"action {request.Action} is not implemented"));
                break;
        }
    }

    /// <summary>
    /// Asks the registry about an idTag and goes on with the authorization before anything else: what arrives
    /// meanwhile is stashed, so a transaction is decided on the state the answer finds.
    /// </summary>
    private void AwaitAuthorization(string idTag, Action<OcppAuthorization> then)
    {
        if (!DeviceId.Parse(idTag).IsOk)
        {
            then(OcppAuthorization.Invalid);
            return;
        }
        _devices.Ask<object>(new GetDevice(new DeviceId(idTag)), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new Authorized(ChargePointTransactions.Authorize(answer)), failure: _ => new Authorized(OcppAuthorization.Invalid));
        BecomeStacked(message =>
        {
            if (message is not Authorized authorized)
            {
                Stash.Stash();
                return;
            }
            UnbecomeStacked();
            Stash.UnstashAll();
            then(authorized.Authorization);
        });
    }

    private void Start(IActorRef sender, JsonElement p)
    {
        var idTag = p.GetProperty("idTag").GetString()!;
        var connectorId = p.GetProperty("connectorId").GetInt32();
        var meterStart = p.GetProperty("meterStart").GetInt64();
        AwaitAuthorization(idTag, authorization =>
        {
            var started = ChargePointTransactions.DecideStart(_state, _id, connectorId, idTag, authorization, meterStart, Now);
            if (!started.IsOk)
            {
                sender.Tell(new ChargePointResponse(null, OcppErrorCode.InternalError, started.Error.Describe()));
                return;
            }
            Persist(started.Value, e =>
            {
                _state = ChargePointTransactions.Evolve(_state, e);
                Reply(sender, new { transactionId = e.TransactionId, idTagInfo = new { status = e.Authorization } });
                if (ChargePointTransactions.FeedsSession(_id, _state.Find(e.TransactionId)!))
                    _sessions.Tell(new Charging.StartWitnessedSession(SessionOf(_id, e.TransactionId), new DeviceId(_id), new DeviceId(idTag), e.MeterStartWh));
            });
        });
    }

    private void MeterValues(IActorRef sender, JsonElement p)
    {
        int? transactionId = p.TryGetProperty("transactionId", out var id) ? id.GetInt32() : null;
        var register = transactionId is { } known && _state.Find(known) is { MeterStopWh: null } ? EnergyRegister(p.GetProperty("meterValue")) : null;
        if (ChargePointTransactions.DecideMeterValue(_state, transactionId, register, Now) is not { } value)
        {
            Reply(sender, new { });
            return;
        }
        Persist(value, e =>
        {
            _state = ChargePointTransactions.Evolve(_state, e);
            Reply(sender, new { });
            if (ChargePointTransactions.FeedsSession(_id, _state.Find(e.TransactionId)!))
                _sessions.Tell(new Charging.WitnessedReading(SessionOf(_id, e.TransactionId), e.RegisterWh, Final: false));
        });
    }

    private void Stop(IActorRef sender, JsonElement p)
    {
        var transactionId = p.GetProperty("transactionId").GetInt32();
        var meterStop = p.GetProperty("meterStop").GetInt64();
        var reason = p.TryGetProperty("reason", out var r) ? r.GetString() : null;
        var (status, stopped) = ChargePointTransactions.DecideStop(_state, transactionId, meterStop, reason, Now);
        if (stopped is null)
        {
            Reply(sender, new { idTagInfo = new { status } });
            return;
        }
        Persist(stopped, e =>
        {
            _state = ChargePointTransactions.Evolve(_state, e);
            Reply(sender, new { idTagInfo = new { status } });
            if (ChargePointTransactions.FeedsSession(_id, _state.Find(e.TransactionId)!))
                _sessions.Tell(new Charging.WitnessedReading(SessionOf(_id, e.TransactionId), e.MeterStopWh, Final: true));
        });
    }

    /// <summary>The last Energy.Active.Import.Register sample (the default measurand), in Wh; kWh is converted.</summary>
    public static long? EnergyRegister(JsonElement meterValues)
    {
        long? register = null;
        foreach (var meterValue in meterValues.EnumerateArray())
        {
            foreach (var sample in meterValue.GetProperty("sampledValue").EnumerateArray())
            {
                var measurand = sample.TryGetProperty("measurand", out var m) ? m.GetString() : "Energy.Active.Import.Register";
                if (measurand != "Energy.Active.Import.Register") continue;
                var unit = sample.TryGetProperty("unit", out var u) ? u.GetString() : "Wh";
                if (!decimal.TryParse(sample.GetProperty("value").GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) continue;
                // Decimal arithmetic throws on overflow: a value beyond any register is passed over before it is scaled.
                if (value > long.MaxValue) continue;
                var wh = unit switch { "kWh" => value * 1000m, "Wh" => value, _ => (decimal?)null };
                if (wh is null || wh < 0 || wh > long.MaxValue) continue;
                register = (long)Math.Round(wh.Value, MidpointRounding.AwayFromZero);
            }
        }
        return register;
    }

    private static void Reply(IActorRef sender, object payload) =>
        sender.Tell(new ChargePointResponse(JsonSerializer.SerializeToElement(payload), null, null));

    private sealed record Authorized(OcppAuthorization Authorization);
}

[Manifest("ocpp.get-transaction.v1")]
public sealed record GetChargingTransaction(string ChargePoint, int TransactionId) : IEnergyMessage, IWithEntityId
{
    public string EntityId => ChargePoint;
}

[Manifest("ocpp.transaction-view.v1")]
public sealed record ChargingTransactionView(ChargingTransaction? Transaction) : IEnergyMessage;
