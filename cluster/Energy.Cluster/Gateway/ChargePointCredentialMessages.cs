using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Gateway;

/// <summary>A message for one shard of the charge point credential store (not for a charge point: see <see cref="ChargePointCredentialStore"/>).</summary>
public interface ICredentialStoreCommand : IEnergyMessage, IWithEntityId
{
    string Shard { get; }
    string IWithEntityId.EntityId => Shard;
}

/// <summary>
/// Takes an operator's signed OCPP password for one of its chargers (wire form of <c>Signed&lt;ChargePointPassword&gt;</c>),
/// already checked against the charger's twin and the operator's key; the store decides its version.
/// </summary>
[Manifest("ocpp.record-password.v1")]
public sealed record RecordChargePointPassword(string Shard, DeviceId ChargePoint, byte[] Password) : ICredentialStoreCommand;

/// <summary>Every password a shard holds, in wire form: how a node fills its table at start.</summary>
[Manifest("ocpp.get-credentials.v1")]
public sealed record GetChargePointCredentials(string Shard) : ICredentialStoreCommand;

[Manifest("ocpp.credentials.v1")]
public sealed record ChargePointCredentialList(string Shard, IReadOnlyList<byte[]> Passwords) : IEnergyMessage;

[Manifest("ocpp.event.password-recorded.v1")]
public sealed record ChargePointPasswordRecorded(byte[] Password, Timestamp At) : IEnergyMessage;

[Manifest("ocpp.credentials-snapshot.v1")]
public sealed record ChargePointCredentialSnapshot(IReadOnlyList<ChargePointPasswordRecorded> Newest) : IEnergyMessage;

/// <summary>What the network tells about a charger's password: never its salt or hash.</summary>
[Manifest("ocpp.password-view.v1")]
public sealed record ChargePointPasswordView(
    DeviceId ChargePoint,
    OperatorId Operator,
    ulong Version,
    bool AllowUnauthenticated,
    uint Iterations,
    Timestamp SignedAt,
    Timestamp RecordedAt) : IEnergyMessage;

public sealed record NotACharger(DeviceId Device, DeviceRole Role) : ProtocolError
{
    public override string Describe() => $"device {Device} is a {Role}, not a charger: only chargers authenticate on OCPP";
}

public sealed record NotTheChargePointOperator(DeviceId ChargePoint, OperatorId Operator, OperatorId Offered) : ProtocolError
{
    public override string Describe() => $"charge point {ChargePoint} belongs to operator {Operator}; operator {Offered} may not set its password";
}

public sealed record CredentialStoreFull(string Shard, int MaxChargePoints) : ProtocolError
{
    public override string Describe() => $"credential store {Shard} already holds the passwords of {MaxChargePoints} charge points";
}
