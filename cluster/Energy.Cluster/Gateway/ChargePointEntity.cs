using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Persistence;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
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
    private readonly Dictionary<int, ChargingTransaction> _transactions = [];
    private readonly Dictionary<int, string> _connectorStatus = [];
    private int _lastTransactionId;
    private string? _connection;

    public ChargePointEntity(string id, EnergySettings settings, IActorRef devices, IActorRef sessions)
    {
        _sessions = sessions;
        _id = id;
        _settings = settings;
        _devices = devices;
        Recover<ChargePointBooted>(_ => { });
        Recover<TransactionStarted>(Apply);
        Recover<TransactionMeterValue>(Apply);
        Recover<TransactionStopped>(Apply);
        CommandAsync<ChargePointRequest>(HandleAsync);
        Command<GetChargingTransaction>(q => Sender.Tell(new ChargingTransactionView(_transactions.GetValueOrDefault(q.TransactionId))));
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
        if (!_transactions.TryGetValue(command.TransactionId, out var transaction) || transaction.MeterStopWh is not null || _connection is null) return;
        var call = new OcppOutgoingCall("RemoteStopTransaction", JsonSerializer.SerializeToElement(new { transactionId = command.TransactionId }));
        ((ExtendedActorSystem)Context.System).Provider.ResolveActorRef(_connection).Tell(call);
    }

    private bool FeedsSession(ChargingTransaction transaction) =>
        transaction.Authorization == "Accepted" && DeviceId.Parse(_id).IsOk && Charging.ChargingSessionEntity.IsValidId(SessionOf(_id, transaction.TransactionId));

    private string Now => _settings.Clock.Now.ToDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private async Task HandleAsync(ChargePointRequest request)
    {
        var sender = Sender;
        var p = request.Payload;
        switch (request.Action)
        {
            case "BootNotification":
                Persist(new ChargePointBooted(p.GetProperty("chargePointVendor").GetString()!, p.GetProperty("chargePointModel").GetString()!, _settings.Clock.Now),
                    _ => Reply(sender, new { status = "Accepted", currentTime = Now, interval = 300 }));
                break;
            case "Heartbeat":
                Reply(sender, new { currentTime = Now });
                break;
            case "StatusNotification":
                _connectorStatus[p.GetProperty("connectorId").GetInt32()] = p.GetProperty("status").GetString()!;
                Reply(sender, new { });
                break;
            case "Authorize":
                Reply(sender, new { idTagInfo = new { status = await AuthorizeAsync(p.GetProperty("idTag").GetString()!) } });
                break;
            case "StartTransaction":
                await StartAsync(sender, p);
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

    /// <summary>The idTag is a vehicle's identity: a registered vehicle is Accepted, a revoked one Blocked, anything else Invalid.</summary>
    private async Task<string> AuthorizeAsync(string idTag)
    {
        if (!DeviceId.Parse(idTag).IsOk) return "Invalid";
        try
        {
            var answer = await _devices.Ask<object>(new GetDevice(new DeviceId(idTag)), _settings.AskTimeout);
            return answer switch
            {
                DeviceView { Revoked: true } => "Blocked",
                DeviceView { Role: DeviceRole.Vehicle } => "Accepted",
                _ => "Invalid",
            };
        }
        catch (AskTimeoutException)
        {
            return "Invalid";
        }
    }

    private async Task StartAsync(IActorRef sender, JsonElement p)
    {
        var idTag = p.GetProperty("idTag").GetString()!;
        var authorization = await AuthorizeAsync(idTag);
        var started = new TransactionStarted(_lastTransactionId + 1, p.GetProperty("connectorId").GetInt32(), idTag, authorization,
            p.GetProperty("meterStart").GetInt64(), _settings.Clock.Now);
        // The charger gets a transaction id even when the idTag is refused; it then stops the transaction itself.
        Persist(started, e =>
        {
            Apply(e);
            Reply(sender, new { transactionId = e.TransactionId, idTagInfo = new { status = authorization } });
            if (FeedsSession(_transactions[e.TransactionId]))
                _sessions.Tell(new Charging.StartWitnessedSession(SessionOf(_id, e.TransactionId), new DeviceId(_id), new DeviceId(idTag), e.MeterStartWh));
        });
    }

    private void MeterValues(IActorRef sender, JsonElement p)
    {
        if (!p.TryGetProperty("transactionId", out var id) || !_transactions.TryGetValue(id.GetInt32(), out var transaction) || transaction.MeterStopWh is not null)
        {
            Reply(sender, new { });
            return;
        }
        var register = EnergyRegister(p.GetProperty("meterValue"));
        if (register is null || register.Value <= transaction.LastRegisterWh)
        {
            // No energy register, or one that went backwards or did not move: answered, not recorded.
            Reply(sender, new { });
            return;
        }
        Persist(new TransactionMeterValue(transaction.TransactionId, register.Value, _settings.Clock.Now), e =>
        {
            Apply(e);
            Reply(sender, new { });
            if (FeedsSession(transaction)) _sessions.Tell(new Charging.WitnessedReading(SessionOf(_id, e.TransactionId), e.RegisterWh, Final: false));
        });
    }

    private void Stop(IActorRef sender, JsonElement p)
    {
        var transactionId = p.GetProperty("transactionId").GetInt32();
        var meterStop = p.GetProperty("meterStop").GetInt64();
        if (!_transactions.TryGetValue(transactionId, out var transaction))
        {
            Reply(sender, new { idTagInfo = new { status = "Invalid" } });
            return;
        }
        if (transaction.MeterStopWh is not null || meterStop < transaction.MeterStartWh || meterStop < transaction.LastRegisterWh)
        {
            // A repeated stop gets the same answer; a stop below what was metered is refused in the answer and recorded nowhere.
            var status = transaction.MeterStopWh is not null ? transaction.Authorization : "Invalid";
            Reply(sender, new { idTagInfo = new { status } });
            return;
        }
        var reason = p.TryGetProperty("reason", out var r) ? r.GetString() : null;
        Persist(new TransactionStopped(transactionId, meterStop, reason, _settings.Clock.Now), e =>
        {
            Apply(e);
            Reply(sender, new { idTagInfo = new { status = transaction.Authorization } });
            if (FeedsSession(transaction)) _sessions.Tell(new Charging.WitnessedReading(SessionOf(_id, e.TransactionId), e.MeterStopWh, Final: true));
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

    private void Apply(object e)
    {
        switch (e)
        {
            case TransactionStarted s:
                _lastTransactionId = Math.Max(_lastTransactionId, s.TransactionId);
                _transactions[s.TransactionId] = new ChargingTransaction(s.TransactionId, s.ConnectorId, s.IdTag, s.Authorization, s.MeterStartWh, s.MeterStartWh, null);
                break;
            case TransactionMeterValue m:
                _transactions[m.TransactionId] = _transactions[m.TransactionId] with { LastRegisterWh = m.RegisterWh };
                break;
            case TransactionStopped t:
                _transactions[t.TransactionId] = _transactions[t.TransactionId] with { MeterStopWh = t.MeterStopWh, LastRegisterWh = t.MeterStopWh };
                break;
        }
    }

    private static void Reply(IActorRef sender, object payload) =>
        sender.Tell(new ChargePointResponse(JsonSerializer.SerializeToElement(payload), null, null));
}

[Manifest("ocpp.get-transaction.v1")]
public sealed record GetChargingTransaction(string ChargePoint, int TransactionId) : IEnergyMessage, IWithEntityId
{
    public string EntityId => ChargePoint;
}

[Manifest("ocpp.transaction-view.v1")]
public sealed record ChargingTransactionView(ChargingTransaction? Transaction) : IEnergyMessage;
