using Energy.Channels.Primitives;
using Energy.Cluster.Activity;
using Energy.Lifecycles.Charging;

namespace Energy.Cluster.Charging;

/// <summary>What a charging session tells the operators watching the network, as typed events of the activity feed.</summary>
public static class ChargingActivities
{
    /// <summary>A completed session as the activity feed carries it: its charge record, with the payee and zone of its start.</summary>
    public static ChargingSessionCompleted Completed(SessionId session, SessionStarted started, ChargeRecord record) =>
        new(session, started.Payee, record.Charger, record.Vehicle, record.Channel, new EnergyWh(record.EnergyWh), record.Cost, record.Paid, started.Zone,
            record.EndedAt);
}
