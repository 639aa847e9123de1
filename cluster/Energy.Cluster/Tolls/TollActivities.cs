using Energy.Channels.Primitives;
using Energy.Channels.Tolls;
using Energy.Cluster.Activity;
using Energy.Lifecycles;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tolls;

/// <summary>What a gantry tells the operators watching the network, as typed events of the activity feed.</summary>
public static class TollActivities
{
    /// <summary>
    /// The feed's event for a resolved pass a gantry's core published (<see cref="TollPasses.Resolved"/>: the durable
    /// resolution, about the pass as it resolved); a paid toll is timed from the gantry's detection (the time it
    /// signed) to durable, by this node's clock.
    /// </summary>
    public static NetworkActivity? Published(DeviceId gantry, GantryTariff tariff, Effect published, Timestamp now)
    {
        var (pass, resolution) = ((TollPassState)published.Key!, (IEnergyMessage)published.Message!);
        if (resolution is PassPaid) EnergyMetrics.TollPaid(TimeSpan.FromMilliseconds(now.UnixMilliseconds - pass.Payload.Time.UnixMilliseconds));
        return Resolved(gantry, tariff, pass, resolution);
    }

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
