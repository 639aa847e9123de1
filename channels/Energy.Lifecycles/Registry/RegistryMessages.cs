using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Registry;

/// <summary>The names of the registry's single entities, which their messages are addressed to.</summary>
public static class RegistryEntities
{
    public const string Alerts = "alerts";

    public const string LedgerNodes = "ledger-nodes";
}

public interface IOperatorCommand : IEnergyMessage, IWithEntityId
{
    OperatorId Operator { get; }
    string IWithEntityId.EntityId => Operator.Value;
}

/// <summary>An admission signed by the network authority (wire form of <c>AuthorityApproved&lt;Admission&gt;</c>).</summary>
[Manifest("registry.admit-operator.v1")]
public sealed record AdmitOperator(OperatorId Operator, byte[] Admission) : IOperatorCommand;

[Manifest("registry.get-operator.v1")]
public sealed record GetOperator(OperatorId Operator) : IOperatorCommand;

/// <summary>A settlement bank takes part of its issuance limit for one funding order; the same request again takes nothing more.</summary>
[Manifest("registry.reserve-issuance.v1")]
public sealed record ReserveIssuance(OperatorId Operator, string RequestId, Money Amount) : IOperatorCommand;

/// <summary>An operator's endorsement of a dashboard key (wire form of <c>Signed&lt;ViewerKey&gt;</c>).</summary>
[Manifest("registry.add-viewer-key.v1")]
public sealed record AddViewerKey(OperatorId Operator, byte[] Endorsement) : IOperatorCommand;

/// <summary>Whether a key (hex) is a live viewer key of the operator: answered by <see cref="ViewerKeyAccepted"/> or a named refusal.</summary>
[Manifest("registry.check-viewer-key.v1")]
public sealed record CheckViewerKey(OperatorId Operator, string KeyHex) : IOperatorCommand;

[Manifest("registry.viewer-key-accepted.v1")]
public sealed record ViewerKeyAccepted(OperatorView Operator, ViewerKeyView Key) : IEnergyMessage;

[Manifest("registry.viewer-key-view.v1")]
public sealed record ViewerKeyView(OperatorId Operator, string KeyHex, Timestamp ExpiresAt, ulong AdmissionVersion) : IEnergyMessage;

[Manifest("registry.issuance-reserved.v1")]
public sealed record IssuanceReserved(OperatorId Operator, string RequestId, Money Amount, long IssuedMinorUnits) : IEnergyMessage;

[Manifest("registry.operator-admitted.v1")]
public sealed record OperatorAdmitted(byte[] Admission, Timestamp At) : IEnergyMessage;

[Manifest("registry.issuance-recorded.v1")]
public sealed record IssuanceRecorded(string RequestId, long AmountMinorUnits) : IEnergyMessage;

/// <summary>A viewer key endorsed under the operator's admission of that version: it stops working when a new admission replaces that one.</summary>
[Manifest("registry.viewer-key-endorsed.v1")]
public sealed record ViewerKeyEndorsed(byte[] Endorsement, ulong AdmissionVersion, Timestamp At) : IEnergyMessage;

[Manifest("registry.operator-view.v1")]
public sealed record OperatorView(
    OperatorId Operator,
    OperatorRoles Roles,
    string PublicKeyHex,
    ulong Version,
    Money IssuanceLimit,
    long IssuedMinorUnits,
    Timestamp AdmittedAt) : IEnergyMessage
{
    public bool Has(OperatorRoles role) => (Roles & role) == role;
}

public interface IDeviceCommand : IEnergyMessage, IWithEntityId
{
    DeviceId Device { get; }
    string IWithEntityId.EntityId => Device.Value;
}

/// <summary>An operator's endorsement of a device key, in its canonical signed wire form.</summary>
[Manifest("registry.endorse-device.v1")]
public sealed record EndorseDevice(DeviceId Device, byte[] Endorsement) : IDeviceCommand;

/// <summary>An operator's signed revocation, in its canonical wire form.</summary>
[Manifest("registry.revoke-device.v1")]
public sealed record RevokeDevice(DeviceId Device, byte[] Revocation) : IDeviceCommand;

[Manifest("registry.get-device.v1")]
public sealed record GetDevice(DeviceId Device) : IDeviceCommand;

[Manifest("registry.device-endorsed.v1")]
public sealed record DeviceEndorsed(byte[] Endorsement, Timestamp At) : IEnergyMessage;

[Manifest("registry.device-revoked.v1")]
public sealed record DeviceRevoked(byte[] Revocation, Timestamp At) : IEnergyMessage;

[Manifest("registry.device-view.v1")]
public sealed record DeviceView(
    DeviceId Device,
    OperatorId Operator,
    Energy.Channels.Identity.DeviceRole Role,
    string PublicKeyHex,
    bool Revoked,
    Timestamp EndorsedAt,
    Timestamp? RevokedAt) : IEnergyMessage
{
    public bool Quarantined { get; init; }

    public bool CloneAlertOpen { get; init; }
}

/// <summary>
/// A device authenticated on a gateway connection (live status, not persisted; the gateway repeats it while connected), and
/// when it authenticated there (0 from a node that does not say, as if long ago).
/// </summary>
[Manifest("registry.device-connected.v1")]
public sealed record DeviceConnected(DeviceId Device, string Connection, long AuthenticatedAtMs = 0) : IDeviceCommand;

[Manifest("registry.device-disconnected.v1")]
public sealed record DeviceDisconnected(DeviceId Device, string Connection) : IDeviceCommand;

[Manifest("registry.get-connection.v1")]
public sealed record GetDeviceConnection(DeviceId Device) : IDeviceCommand;

[Manifest("registry.connection.v1")]
public sealed record DeviceConnection(DeviceId Device, string? Connection) : IEnergyMessage;

/// <summary>A gantry saw the vehicle: the twin checks the pass against the last one (clone watch) and reports speed to the zone.</summary>
[Manifest("registry.vehicle-seen.v1")]
public sealed record VehicleSeen(DeviceId Device, DeviceId Gantry, OperatorId TollOperator, SegmentId Zone, long PositionX, long PositionY, Timestamp At)
    : IDeviceCommand;

/// <summary>An operator's signed quarantine or release (wire form of <c>Signed&lt;Quarantine&gt;</c>).</summary>
[Manifest("registry.quarantine.v1")]
public sealed record QuarantineDevice(DeviceId Device, byte[] Order) : IDeviceCommand;

[Manifest("registry.device-quarantine-changed.v1")]
public sealed record DeviceQuarantineChanged(byte[] Order, Timestamp At) : IEnergyMessage;

[Manifest("registry.clone-suspected.v1")]
public sealed record CloneSuspected(Alert Alert) : IEnergyMessage;

/// <summary>Something an operator should look at: a suspected clone, a quarantine, a revocation.</summary>
[Manifest("alert.v1")]
public sealed record Alert(string Id, string Kind, DeviceId Device, string Detail, Timestamp At) : IEnergyMessage;

[Manifest("alert.raise.v1")]
public sealed record RaiseAlert(Alert Alert) : IEnergyMessage, IWithEntityId
{
    public string EntityId => RegistryEntities.Alerts;
}

[Manifest("alert.get.v1")]
public sealed record GetAlerts : IEnergyMessage, IWithEntityId
{
    public string EntityId => RegistryEntities.Alerts;
}

[Manifest("alert.list.v1")]
public sealed record AlertList(long Total, IReadOnlyList<Alert> Latest) : IEnergyMessage;

[Manifest("alert.event.raised.v1")]
public sealed record AlertRaised(Alert Alert) : IEnergyMessage;

/// <summary>The authority's signed statement about a ledger node key (<see cref="Energy.Channels.Identity.LedgerNodeAdmission"/>, approved).</summary>
[Manifest("registry.admit-ledger-node.v1")]
public sealed record AdmitLedgerNode(byte[] Admission) : IEnergyMessage, IWithEntityId
{
    public string EntityId => RegistryEntities.LedgerNodes;
}

[Manifest("registry.get-ledger-nodes.v1")]
public sealed record GetLedgerNodes : IEnergyMessage, IWithEntityId
{
    public static readonly GetLedgerNodes Instance = new();

    public string EntityId => RegistryEntities.LedgerNodes;
}

/// <summary>The registry took the statement: its wire form as the authority signed it, and when.</summary>
[Manifest("registry.ledger-node-admission-recorded.v1")]
public sealed record LedgerNodeAdmissionRecorded(byte[] Admission, Timestamp At) : IEnergyMessage;

/// <summary>What the network holds about one ledger node key.</summary>
[Manifest("registry.ledger-node.v1")]
public sealed record LedgerNodeView(string Key, bool Admitted, ulong Version, Timestamp SignedAt, Timestamp RecordedAt) : IEnergyMessage;

[Manifest("registry.ledger-nodes.v1")]
public sealed record LedgerNodeList(IReadOnlyList<LedgerNodeView> Nodes) : IEnergyMessage;
