using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Registry;

/// <summary>
/// An operator: it exists only through an admission signed by the network authority. A higher version
/// replaces the admission (key rotation, changed roles). A settlement bank's issuance is counted here, so
/// the limit holds across every ledger shard, and so are the viewer keys its dashboard signs in with.
/// </summary>
public sealed class OperatorEntity : ReceivePersistentActor
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private OperatorState _state = OperatorState.Empty;

    public OperatorEntity(string id, EnergySettings settings, IActorRef devices)
    {
        _id = id;
        _settings = settings;
        Recover<OperatorAdmitted>(e => _state = OperatorRules.Evolve(_state, e));
        Recover<IssuanceRecorded>(e => _state = OperatorRules.Evolve(_state, e));
        Recover<ViewerKeyEndorsed>(e => _state = OperatorRules.Evolve(_state, e));
        Recover<RecoveryCompleted>(_ => EnergyMetrics.EntityActivated("operator"));

        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<AdmitOperator>(command =>
        {
            var sender = Sender;
            var decoded = AuthorityApproved<Admission>.Decode(command.Admission);
            if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
            var decided = OperatorRules.DecideAdmission(_state, command.Operator, decoded.Value, settings.Authority, settings.Network, settings.Currency);
            if (!decided.IsOk) { sender.Tell(Refusal.From(decided.Error)); return; }
            if (_state.Admission == decided.Value) { sender.Tell(_state.View()); return; }
            if (_state.Admission is not null) { Admit(command, sender); return; }
            // The first admission asks the device registry about the id (the same name as a device), before anything else.
            AwaitedAnswers.Ask(Context, Stash, devices, new GetDevice(new DeviceId(command.Operator.Value)), settings.AskTimeout, device =>
            {
                if (OperatorRules.CheckNotADevice(command.Operator, device) is { } conflict) sender.Tell(Refusal.From(conflict));
                else Admit(command, sender);
            });
        });
        Command<ReserveIssuance>(command =>
        {
            var decided = OperatorRules.DecideIssuance(_state, command);
            if (!decided.IsOk) { Sender.Tell(Refusal.From(decided.Error)); return; }
            if (_state.Issuances.ContainsKey(command.RequestId)) { Sender.Tell(Reserved(command)); return; }
            var sender = Sender;
            Persist(decided.Value, e =>
            {
                _state = OperatorRules.Evolve(_state, e);
                sender.Tell(Reserved(command));
            });
        });
        Command<AddViewerKey>(command =>
        {
            var decoded = Signed<ViewerKey>.Decode(command.Endorsement);
            if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
            var decided = OperatorRules.DecideViewerKey(_state, command.Operator, decoded.Value, settings.Network, settings.Clock.Now);
            if (!decided.IsOk) { Sender.Tell(Refusal.From(decided.Error)); return; }
            var hex = decoded.Value.Payload.Key.Hex;
            if (_state.Holds(decided.Value)) { Sender.Tell(_state.ViewOf(_state.ViewerKeys[hex])); return; }
            var sender = Sender;
            Persist(decided.Value, e =>
            {
                _state = OperatorRules.Evolve(_state, e);
                sender.Tell(_state.ViewOf(_state.ViewerKeys[hex]));
            });
        });
        Command<CheckViewerKey>(command =>
        {
            var live = OperatorRules.LiveViewerKey(_state, command.Operator, command.KeyHex, settings.Clock.Now);
            Sender.Tell(live.IsOk ? new ViewerKeyAccepted(_state.View()!, _state.ViewOf(live.Value)) : Refusal.From(live.Error));
        });
        Command<GetOperator>(command => Sender.Tell(_state.View() is { } view ? view : Refusal.From(new OperatorNotFound(command.Operator))));
    }

    public override string PersistenceId => "operator-" + _id;

    private IssuanceReserved Reserved(ReserveIssuance command) => new(command.Operator, command.RequestId, command.Amount, _state.IssuedMinorUnits);

    private void Admit(AdmitOperator command, IActorRef sender) => Persist(new OperatorAdmitted(command.Admission, _settings.Clock.Now), e =>
    {
        _state = OperatorRules.Evolve(_state, e);
        sender.Tell(_state.View());
    });

    public static Props Props(string id, EnergySettings settings, IActorRef devices) =>
        Akka.Actor.Props.Create(() => new OperatorEntity(id, settings, devices));
}
