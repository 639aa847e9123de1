using Energy.Channels.Primitives;

namespace Energy.Cluster.Charging;

/// <summary>
/// The vehicle did not consent to the transaction's session in time: the charger is told to stop it. The session
/// decides it, so it is declared here, below the charge point that carries it out.
/// </summary>
[Manifest("ocpp.stop-unconsented.v1")]
public sealed record StopUnconsentedTransaction(string ChargePoint, int TransactionId) : IEnergyMessage, IWithEntityId
{
    public string EntityId => ChargePoint;
}
