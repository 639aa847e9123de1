using Energy.Channels.Primitives;
using Energy.Channels.Tolls;
using Energy.Cluster.Activity;
using Energy.Lifecycles;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tolls;

/// <summary>What a gantry tells the operators watching the network, as typed events of the activity feed.</summary>
public static class TollActivities
{
    /// <summary>How a pass resolved as the activity feed carries it: paid over its channel, or one violation with its cause; none for anything else.</summary>
    public static NetworkActivity? Resolved(DeviceId gantry, GantryTariff tariff, TollPassState pass, IEnergyMessage resolution)
    {
        var request = pass.Payload;
        return resolution switch
        {
            PassPaid paid => new TollPassPaid(pass.Id, tariff.Operator, gantry, request.Vehicle, pass.Channel, paid.Paid, tariff.Zone, paid.At),
            ViolationRecorded { Violation: var violation } => new TollViolationRecorded(violation.Id, tariff.Operator, gantry, request.Vehicle, request.Price,
                violation.Cause.ToString(), violation.Detail, tariff.Zone, violation.RecordedAt),
            _ => null,
        };
    }
}
