using Akka.Actor;
using Akka.Persistence;
using Energy.Channels.Identity;

namespace Energy.Cluster.Registry;

/// <summary>An operator: its name, role and the key with which it endorses and revokes its devices.</summary>
public sealed class OperatorEntity : ReceivePersistentActor
{
    private readonly string _id;
    private OperatorRegistered? _registration;

    public OperatorEntity(string id, EnergySettings settings)
    {
        _id = id;
        Recover<OperatorRegistered>(e => _registration = e);

        Command<RegisterOperator>(command =>
        {
            if (_registration is not null)
            {
                if (_registration.PublicKeyHex == command.PublicKeyHex) Sender.Tell(View(_registration));
                else Sender.Tell(Refusal.From(new OperatorAlreadyRegistered(command.Operator)));
                return;
            }
            var key = DevicePublicKey.FromHex(command.PublicKeyHex);
            if (!key.IsOk) { Sender.Tell(Refusal.From(key.Error)); return; }
            var name = command.Name.Length is > 0 and <= 200 ? command.Name : command.Operator.Value;
            Persist(new OperatorRegistered(command.Operator, name, command.Role, key.Value.Hex, settings.Clock.Now), e =>
            {
                _registration = e;
                Sender.Tell(View(e));
            });
        });
        Command<GetOperator>(command => Sender.Tell(_registration is null
            ? Refusal.From(new OperatorNotFound(command.Operator))
            : View(_registration)));
    }

    public override string PersistenceId => "operator-" + _id;

    private static OperatorView View(OperatorRegistered e) => new(e.Operator, e.Name, e.Role, e.PublicKeyHex, e.RegisteredAt);

    public static Props Props(string id, EnergySettings settings) => Akka.Actor.Props.Create(() => new OperatorEntity(id, settings));
}
