using System.Text.Json;
using Energy.Channels.Primitives;
using Energy.Cluster.Charging;
using Energy.Cluster.Serialization;
using Energy.Cluster.Tolls;
using Energy.Wire;
using Energy.Lifecycles.Charging;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Tests;

/// <summary>
/// What the entities answer and push, in the network's JSON, reads as the wire contract's records: the
/// part a device relies on is where the contract says it is.
/// </summary>
public sealed class WireContractTests
{
    private static T AsDeviceReadsIt<T>(object answer) => WireJson.Read<T>(JsonSerializer.SerializeToElement(answer, answer.GetType(), EnergyJson.Options));

    private static Money Eur(long minor) => new(minor, Currency.Eur);

    [Fact]
    public void A_charge_record_reads_as_the_session_completed_event()
    {
        var record = new ChargeRecord(SessionId.Of("s-1"), DeviceId.Of("charger-1"), DeviceId.Of("vehicle-1"), null, [1, 2], [3, 4], 1_500, Eur(30), Eur(45), Eur(40), Eur(5),
            null, 2, new Timestamp(1_800_000_000_000), new Timestamp(1_800_000_060_000));
        var completed = AsDeviceReadsIt<SessionCompletedEvent>(record);
        Assert.Equal((SessionId.Of("s-1"), DeviceId.Of("charger-1"), (ChannelId?)null, 1_500L, 45L, 40L, 5L, 2, 1_800_000_060_000L),
            (completed.Session, completed.Charger, completed.Channel, completed.EnergyWh, completed.Cost.MinorUnits, completed.Paid.MinorUnits,
                completed.Outstanding.MinorUnits, completed.Suspensions, completed.EndedAt));
        Assert.Equal([3, 4], completed.EndReading);
    }

    [Fact]
    public void A_sessions_progress_reads_as_the_session_reply()
    {
        var reply = AsDeviceReadsIt<SessionReply>(new SessionProgress(SessionId.Of("s-1"), SessionStatus.Charging, 100, Eur(3), Eur(2)));
        Assert.Equal((SessionId.Of("s-1"), 2L), (reply.Session, reply.Paid!.MinorUnits));
    }

    [Fact]
    public void A_gantrys_view_reads_as_the_gantry_reply_configured_or_not()
    {
        var configured = AsDeviceReadsIt<GantryReply>(new GantryView(DeviceId.Of("gantry-1"), OperatorId.Of("tolls-1"), SegmentId.Of("a1-km12"), SegmentId.Of("zone-north"),
            1, Eur(150), 0, 0, 0, 0));
        Assert.Equal((SegmentId.Of("a1-km12"), 150L), (configured.Segment, configured.Price!.MinorUnits));
        var bare = AsDeviceReadsIt<GantryReply>(new GantryView(DeviceId.Of("gantry-1"), null, null, null, 0, null, 0, 0, 0, 0));
        Assert.Null(bare.Segment);
        Assert.Null(bare.Price);
    }

    [Fact]
    public void A_pass_view_reads_as_the_toll_pass_reply()
    {
        var pass = AsDeviceReadsIt<TollPassReply>(new PassView(PassId.Of("gantry-1.17"), DeviceId.Of("gantry-1"), DeviceId.Of("vehicle-1"), Eur(150), PassStatus.AwaitingPayment, null, null));
        Assert.Equal(PassId.Of("gantry-1.17"), pass.Pass);
    }
}
