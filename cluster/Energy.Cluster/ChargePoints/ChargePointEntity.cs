using Akka.Actor;
using Akka.Persistence;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.ChargePoints;
using Energy.Lifecycles.Charging;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.ChargePoints;

/// <summary>
/// A charge point speaking OCPP 1.6J: a shell around <see cref="ChargePointTransactions"/>, which decides each
/// call's event and answer. Transaction messages are exactly-once: a repeated stop, a stop below the start, a
/// register going backwards or an unknown transaction each get a defined CALLRESULT and change nothing, so a
/// charger is never pushed into a retry loop. Everything is persisted before the charger is answered, and the
/// transaction's session is told once it is durable.
/// </summary>
public sealed class ChargePointEntity : UntypedPersistentActor
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
    }

    // The handlers are switches rather than Receive tables: a node wakes tens of thousands of charge points after a
    // restart, and a table is built for each instance.
    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case IEnergyMessage e:
                _state = ChargePointTransactions.Evolve(_state, e);
                break;
            case RecoveryCompleted:
                EnergyMetrics.EntityActivated("charge-point");
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case ChargePointRequest request:
                Handle(ChargePointCalls.Read(request.Action, request.Payload), new Caller(Sender, request.Call));
                break;
            case GetChargingTransaction q:
                Sender.Tell(new ChargingTransactionView(_state.Find(q.TransactionId)));
                break;
            case ChargePointConnected c:
                (_connection, var close) = LiveConnections.Admit(_connection, new LiveConnection(c.Connection, c.AuthenticatedAtMs));
                if (close is not null) LiveConnections.TellReplaced(Context.System, close, _id);
                break;
            case ChargePointDisconnected c:
                _connection = LiveConnections.Ended(_connection, c.Connection);
                break;
            case StopUnconsentedTransaction command:
                OnStopUnconsented(command);
                break;
            case StopEntity:
                StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public override string PersistenceId => "charge-point-" + _id;

    public static Props Props(string id, EnergySettings settings, IActorRef devices, IActorRef sessions) =>
        Akka.Actor.Props.Create(() => new ChargePointEntity(id, settings, devices, sessions));

    private Timestamp Now => _settings.Clock.Now;

    /// <summary>
    /// Decides a call, after asking the registry about its idTag when it names one: the answer is awaited before
    /// anything else, so a transaction is decided on the state the answer finds.
    /// </summary>
    private void Handle(ChargePointCall call, Caller sender)
    {
        if (ChargePointCalls.IdTagToAuthorize(call) is not { } idTag || !ChargePointTransactions.IsLookedUp(idTag))
        {
            Take(ChargePointTransactions.Decide(_state, _id, call, OcppAuthorization.Invalid, Now), sender);
            return;
        }
        AwaitedAnswers.Ask(Context, Stash, _devices, new GetDevice(new DeviceId(idTag)), _settings.AskTimeout,
            answer => Take(ChargePointTransactions.Decide(_state, _id, call, ChargePointTransactions.Authorize(answer), Now), sender));
    }

    /// <summary>Persists the decided event, evolves by it, answers the charger, then tells the transaction's session, if it has one.</summary>
    private void Take(ChargePointDecision decision, Caller sender)
    {
        if (decision.Event is null) { sender.Tell(decision.Answer); return; }
        Persist(decision.Event, persisted =>
        {
            _state = ChargePointTransactions.Evolve(_state, persisted);
            sender.Tell(decision.Answer);
            if (ChargePointTransactions.ToSession(_id, _state, persisted) is { } command) _sessions.Tell(command);
        });
    }

    /// <summary>
    /// The first call the network makes to a charger: stop a transaction whose vehicle did not consent. Sent on the
    /// charge point's live connection; a charger that is not connected stops it itself when its idTag expires.
    /// </summary>
    private void OnStopUnconsented(StopUnconsentedTransaction command)
    {
        if (_connection is null || ChargePointTransactions.DecideRemoteStop(_state, command) is not { } call) return;
        ((ExtendedActorSystem)Context.System).Provider.ResolveActorRef(_connection.Value.Path).Tell(call);
    }

    /// <summary>Who asked, and the number its answer carries back.</summary>
    private readonly record struct Caller(IActorRef Sender, long Call)
    {
        public void Tell(ChargePointResponse answer) => Sender.Tell(Call == 0 ? answer : answer with { Call = Call });
    }
}
