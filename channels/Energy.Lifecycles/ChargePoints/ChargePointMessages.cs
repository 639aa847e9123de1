using System.Text.Json;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.ChargePoints;

/// <summary>An OCPP request from a charge point, already parsed and validated against the 1.6 schema.</summary>
[Manifest("ocpp.request.v1")]
public sealed record ChargePointRequest(string ChargePoint, string Action, JsonElement Payload) : IEnergyMessage, IWithEntityId
{
    public string EntityId => ChargePoint;

    /// <summary>The connection's number for this call, given back in its answer; 0 when the caller tells calls apart otherwise.</summary>
    public long Call { get; init; }
}

/// <summary>The payload of the CALLRESULT, or a CALLERROR.</summary>
[Manifest("ocpp.response.v1")]
public sealed record ChargePointResponse(JsonElement? Payload, string? ErrorCode, string? ErrorDescription) : IEnergyMessage
{
    /// <summary>The number of the call this answers (<see cref="ChargePointRequest.Call"/>).</summary>
    public long Call { get; init; }
}

[Manifest("ocpp.event.boot.v1")]
public sealed record ChargePointBooted(string Vendor, string Model, Timestamp At) : IEnergyMessage;

[Manifest("ocpp.event.transaction-started.v1")]
public sealed record TransactionStarted(int TransactionId, int ConnectorId, string IdTag, string Authorization, long MeterStartWh, Timestamp At) : IEnergyMessage;

[Manifest("ocpp.event.meter-value.v1")]
public sealed record TransactionMeterValue(int TransactionId, long RegisterWh, Timestamp At) : IEnergyMessage;

[Manifest("ocpp.event.transaction-stopped.v1")]
public sealed record TransactionStopped(int TransactionId, long MeterStopWh, string? Reason, Timestamp At) : IEnergyMessage;

[Manifest("ocpp.get-transaction.v1")]
public sealed record GetChargingTransaction(string ChargePoint, int TransactionId) : IEnergyMessage, IWithEntityId
{
    public string EntityId => ChargePoint;
}

[Manifest("ocpp.transaction-view.v1")]
public sealed record ChargingTransactionView(ChargingTransaction? Transaction) : IEnergyMessage;

/// <summary>A transaction as the network knows it.</summary>
public sealed record ChargingTransaction(int TransactionId, int ConnectorId, string IdTag, string Authorization, long MeterStartWh, long LastRegisterWh, long? MeterStopWh)
{
    public long EnergyWh => (MeterStopWh ?? LastRegisterWh) - MeterStartWh;
}

/// <summary>
/// A charge point's OCPP connection opened on a node (live status, not persisted): the path of its connection actor and
/// when the charge point authenticated on it (0 from a node that does not say, as if long ago).
/// </summary>
[Manifest("ocpp.connected.v1")]
public sealed record ChargePointConnected(string ChargePoint, string Connection, long AuthenticatedAtMs = 0) : IEnergyMessage, IWithEntityId
{
    public string EntityId => ChargePoint;
}

[Manifest("ocpp.disconnected.v1")]
public sealed record ChargePointDisconnected(string ChargePoint, string Connection) : IEnergyMessage, IWithEntityId
{
    public string EntityId => ChargePoint;
}

/// <summary>A call the network makes to a charge point (OCPP-J CALL), written by its connection.</summary>
[Manifest("ocpp.outgoing-call.v1")]
public sealed record OcppOutgoingCall(string Action, JsonElement Payload) : IEnergyMessage;
