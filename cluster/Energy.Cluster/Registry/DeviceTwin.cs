using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Registry;

/// <summary>
/// A device's twin: its endorsement by its operator, and its revocation. It verifies both against the
/// operator's registered key.
/// </summary>
public sealed class DeviceTwin : ReceivePersistentActor
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _operators;
    private DeviceIdentity? _identity;
    private Timestamp _endorsedAt;
    private Timestamp? _revokedAt;
    private string? _connection;

    public DeviceTwin(string id, EnergySettings settings, IActorRef operators)
    {
        _id = id;
        _settings = settings;
        _operators = operators;

        Recover<DeviceEndorsed>(e =>
        {
            _identity = new DeviceIdentity(Signed<Endorsement>.Decode(e.Endorsement).Unwrap());
            _endorsedAt = e.At;
        });
        Recover<DeviceRevoked>(e =>
        {
            _revokedAt = e.At;
            RevocationList.Get(Context.System).MarkRevoked(_id);
        });

        CommandAsync<EndorseDevice>(EndorseAsync);
        CommandAsync<RevokeDevice>(RevokeAsync);
        Command<DeviceConnected>(c => _connection = c.Connection);
        Command<DeviceDisconnected>(c => { if (_connection == c.Connection) _connection = null; });
        Command<GetDeviceConnection>(q => Sender.Tell(new DeviceConnection(q.Device, _revokedAt is null ? _connection : null)));
        Command<GetDevice>(command => Sender.Tell(_identity is null ? Refusal.From(new DeviceNotFound(command.Device)) : View()));
    }

    public override string PersistenceId => "device-" + _id;

    public static Props Props(string id, EnergySettings settings, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new DeviceTwin(id, settings, operators));

    private async Task EndorseAsync(EndorseDevice command)
    {
        var sender = Sender;
        var decoded = Signed<Endorsement>.Decode(command.Endorsement);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var endorsement = decoded.Value;
        if (endorsement.Payload.Device != command.Device)
        {
            sender.Tell(Refusal.From(new DeviceIdMismatch(command.Device, endorsement.Payload.Device)));
            return;
        }
        if (_revokedAt is not null) { sender.Tell(Refusal.From(new DeviceIsRevoked(command.Device, _revokedAt.Value))); return; }
        if (_identity is not null)
        {
            sender.Tell(_identity.Endorsement.Equals(endorsement)
                ? View()
                : Refusal.From(new DeviceAlreadyEndorsed(command.Device, _identity.Key.Hex)));
            return;
        }
        var operatorKey = await OperatorKeyAsync(endorsement.Payload.Operator);
        if (!operatorKey.IsOk) { sender.Tell(Refusal.From(operatorKey.Error)); return; }
        var identity = DeviceIdentity.Verify(endorsement, _settings.Network, endorsement.Payload.Operator, operatorKey.Value);
        if (!identity.IsOk) { sender.Tell(Refusal.From(identity.Error)); return; }
        Persist(new DeviceEndorsed(command.Endorsement, _settings.Clock.Now), e =>
        {
            _identity = identity.Value;
            _endorsedAt = e.At;
            sender.Tell(View());
        });
    }

    private async Task RevokeAsync(RevokeDevice command)
    {
        var sender = Sender;
        var decoded = Signed<Revocation>.Decode(command.Revocation);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var revocation = decoded.Value.Payload;
        if (_identity is null) { sender.Tell(Refusal.From(new DeviceNotFound(command.Device))); return; }
        if (revocation.Device != command.Device) { sender.Tell(Refusal.From(new DeviceIdMismatch(command.Device, revocation.Device))); return; }
        if (revocation.Network != _settings.Network)
        {
            sender.Tell(Refusal.From(new WrongNetwork(ChannelId.None, _settings.Network, revocation.Network)));
            return;
        }
        if (revocation.Operator != _identity.Operator)
        {
            sender.Tell(Refusal.From(new EndorsementMismatch(command.Device, "operator", _identity.Operator.Value, revocation.Operator.Value)));
            return;
        }
        if (_revokedAt is not null) { sender.Tell(View()); return; }
        var operatorKey = await OperatorKeyAsync(revocation.Operator);
        if (!operatorKey.IsOk) { sender.Tell(Refusal.From(operatorKey.Error)); return; }
        if (!decoded.Value.IsSignedBy(operatorKey.Value))
        {
            sender.Tell(Refusal.From(new InvalidSignature(ChannelId.None, ObjectKind.Revocation, revocation.Operator.Value)));
            return;
        }
        // Every reachable node refuses the device's key before the revocation is recorded and acknowledged.
        var replicated = await RevocationWatcher.ReplicateAsync(Context.System, command.Device, _settings.AskTimeout);
        if (!replicated) Context.GetLogger().Warning("revocation of {0} has not reached every node yet; it spreads by gossip", _id);
        Persist(new DeviceRevoked(command.Revocation, _settings.Clock.Now), e =>
        {
            _revokedAt = e.At;
            sender.Tell(View());
        });
    }

    private async Task<Result<DevicePublicKey>> OperatorKeyAsync(OperatorId operatorId)
    {
        object answer;
        try { answer = await _operators.Ask<object>(new GetOperator(operatorId), _settings.AskTimeout); }
        catch (AskTimeoutException) { return new OperatorNotFound(operatorId); }
        return answer switch
        {
            OperatorView view => DevicePublicKey.FromHex(view.PublicKeyHex),
            _ => new OperatorNotFound(operatorId),
        };
    }

    private DeviceView View() =>
        new(_identity!.Device, _identity.Operator, _identity.Role, _identity.Key.Hex, _revokedAt is not null, _endorsedAt, _revokedAt);
}
