using Akka.Actor;
using Akka.Persistence;
using Energy.Channels.Primitives;
using Energy.Cluster.Charging;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Ocpp;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.ChargePoints;

/// <summary>
/// A charge point speaking OCPP 1.6J: a shell around <see cref="ChargePointCalls"/> and
/// <see cref="ChargePointTransactions"/>. Transaction messages are exactly-once: a repeated stop, a stop
/// below the start, a register going backwards or an unknown transaction each get a defined CALLRESULT and
/// change nothing, so a charger is never pushed into a retry loop. Everything is persisted before the
/// charger is answered, and the transaction's session is told once it is durable.
/// </summary>
public sealed class ChargePointEntity : ReceivePersistentActor
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _sessions;
    private ChargePointState _state = ChargePointState.Empty;
    private LiveConnection? _connection;

    public ChargePointEntity(string id, EnergySettings settings, IActorRef devices, IActorRef sessions)
    {
        _id = id;
        _settings = settings;
        _devices = devices;
        _sessions = sessions;
        Recover<IEnergyMessage>(e => _state = ChargePointTransactions.Evolve(_state, e));
        Recover<RecoveryCompleted>(_ => EnergyMetrics.EntityActivated("charge-point"));
        Command<ChargePointRequest>(request => Handle(ChargePointCalls.Read(request.Action, request.Payload), Sender));
        Command<GetChargingTransaction>(q => Sender.Tell(new ChargingTransactionView(_state.Find(q.TransactionId))));
        Command<ChargePointConnected>(c =>
        {
            (_connection, var close) = LiveConnections.Admit(_connection, new LiveConnection(c.Connection, c.AuthenticatedAtMs));
            if (close is not null) Context.ActorSelection(close).Tell(new ConnectionReplaced(_id));
        });
        Command<ChargePointDisconnected>(c => _connection = LiveConnections.Ended(_connection, c.Connection));
        Command<StopUnconsentedTransaction>(OnStopUnconsented);
    }

    public override string PersistenceId => "charge-point-" + _id;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef sessions) =>
        Akka.Actor.Props.Create(() => new ChargePointEntity(id, settings, devices, sessions));

    private Timestamp Now => _settings.Clock.Now;

    private void Handle(ChargePointCall call, IActorRef sender)
    {
        switch (call)
        {
            case BootNotificationCall boot:
                Record(new ChargePointBooted(boot.Vendor, boot.Model, Now), () => Reply(sender, ChargePointCalls.Booted(Now)));
                break;
            case HeartbeatCall:
                Reply(sender, ChargePointCalls.Heartbeat(Now));
                break;
            case StatusNotificationCall:
                Reply(sender, EmptyConf.Instance);
                break;
            case AuthorizeCall authorize:
                AwaitAuthorization(authorize.IdTag, authorization => Reply(sender, new AuthorizeConf(ChargePointCalls.IdTag(authorization))));
                break;
            case StartTransactionCall start:
                AwaitAuthorization(start.IdTag, authorization => Start(sender, start, authorization));
                break;
            case MeterValuesCall values:
                if (ChargePointTransactions.DecideMeterValue(_state, values.TransactionId, values.RegisterWh, Now) is { } value) Record(value, () => Reply(sender, EmptyConf.Instance));
                else Reply(sender, EmptyConf.Instance);
                break;
            case StopTransactionCall stop:
                var (status, stopped) = ChargePointTransactions.DecideStop(_state, stop.TransactionId, stop.MeterStopWh, stop.Reason, Now);
                var answer = new StopTransactionConf(ChargePointCalls.IdTag(status));
                if (stopped is not null) Record(stopped, () => Reply(sender, answer));
                else Reply(sender, answer);
                break;
            case UnsupportedCall unsupported:
                sender.Tell(new ChargePointResponse(null, OcppErrorCode.NotImplemented, $"action {unsupported.Action} is not implemented"));
                break;
        }
    }

    private void Start(IActorRef sender, StartTransactionCall call, OcppAuthorization authorization)
    {
        var started = ChargePointTransactions.DecideStart(_state, _id, call.ConnectorId, call.IdTag, authorization, call.MeterStartWh, Now);
        if (!started.IsOk) { sender.Tell(new ChargePointResponse(null, OcppErrorCode.InternalError, started.Error.Describe())); return; }
        var e = started.Value;
        Record(e, () => Reply(sender, new StartTransactionConf(e.TransactionId, new IdTagInfo(e.Authorization))));
    }

    /// <summary>Persists an event, evolves by it, answers the charger, then tells the transaction's session, if it has one.</summary>
    private void Record(IEnergyMessage e, Action answer) => Persist(e, persisted =>
    {
        _state = ChargePointTransactions.Evolve(_state, persisted);
        answer();
        if (ChargePointTransactions.ToSession(_id, _state, persisted) is { } command) _sessions.Tell(command);
    });

    /// <summary>
    /// Asks the registry about an idTag and goes on with the authorization before anything else, so a transaction
    /// is decided on the state the answer finds. An idTag that is no device id is Invalid without asking.
    /// </summary>
    private void AwaitAuthorization(string idTag, Action<OcppAuthorization> then)
    {
        if (!DeviceId.Parse(idTag).IsOk) { then(OcppAuthorization.Invalid); return; }
        AwaitedAnswers.Ask(Context, Stash, _devices, new GetDevice(new DeviceId(idTag)), _settings.AskTimeout,
            answer => then(ChargePointTransactions.Authorize(answer)));
    }

    /// <summary>
    /// The first call the network makes to a charger: stop a transaction whose vehicle did not consent. Sent on the
    /// charge point's live connection; a charger that is not connected stops it itself when its idTag expires.
    /// </summary>
    private void OnStopUnconsented(StopUnconsentedTransaction command)
    {
        if (!ChargePointTransactions.IsRunning(_state, command.TransactionId) || _connection is null) return;
        var call = new OcppOutgoingCall(Ocpp16Actions.RemoteStopTransaction, Ocpp16Json.ToElement(new RemoteStopTransactionReq(command.TransactionId)));
        ((ExtendedActorSystem)Context.System).Provider.ResolveActorRef(_connection.Value.Path).Tell(call);
    }

    private static void Reply(IActorRef sender, object body) => sender.Tell(new ChargePointResponse(Ocpp16Json.ToElement(body), null, null));
}
