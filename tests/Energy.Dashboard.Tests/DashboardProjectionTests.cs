using Energy.Channels.Primitives;
using Energy.Cluster.Activity;

namespace Energy.Dashboard.Tests;

/// <summary>
/// The dashboard's reading of the network's activity: each domain event becomes the item the page shows (kind,
/// title, value, energy, zone, links), and the operators it names decide who besides the grid operators sees it.
/// </summary>
public sealed class DashboardProjectionTests
{
    private static readonly Timestamp At = new(1_800_000_000_000);
    private static readonly Viewer Grid = new("grid-1", SeesEverything: true);
    private static readonly Viewer ChargePoints = new("cpo-1", SeesEverything: false);
    private static readonly Viewer OtherChargePoints = new("cpo-2", SeesEverything: false);
    private static readonly Viewer Tolls = new("tolls-1", SeesEverything: false);

    private static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    private static ChargingSessionCompleted Session(string id, string chargePointOperator, ChannelId? channel = null) =>
        new(SessionId.Of(id), PartyId.Of("operator:" + chargePointOperator), DeviceId.Of("charger-" + id), DeviceId.Of("vehicle-" + id), channel,
            new EnergyWh(7_000), Eur(245), Eur(240), SegmentId.Of("zone-a"), At);

    private static TollPassPaid Pass(ulong number) =>
        new(new PassId(DeviceId.Of("gantry-1"), number), OperatorId.Of("tolls-1"), DeviceId.Of("gantry-1"), DeviceId.Of($"vehicle-p{number}"), ChannelId.Of($"channel-p{number}"), Eur(120), SegmentId.Of("zone-b"), At);

    private static TollViolationRecorded Violation(string id) =>
        new(id, OperatorId.Of("tolls-1"), DeviceId.Of("gantry-1"), DeviceId.Of("vehicle-" + id), Eur(120), "NoChannel", "no open channel", SegmentId.Of("zone-b"), At);

    private static readonly DuplexTradeAgreed Trade = new(ChannelId.Of("duplex-1"), 4, PartyId.Of("device:home-1"), PartyId.Of("device:home-2"), Eur(35), At);

    private static readonly SettlementBlockCommitted Block = new("ledger-2", 9, 3, Eur(300),
        [new OperatorSettlement(OperatorId.Of("cpo-1"), Eur(200)), new OperatorSettlement(OperatorId.Of("tolls-1"), Eur(60))], At);

    private static readonly ChannelDisputeOpened Dispute = new(ChannelId.Of("channel-9"), PartyId.Of("device:vehicle-9"), PartyId.Of("operator:cpo-1"), At);

    private static readonly ChannelEscrowAlert EscrowAlert = new(ChannelId.Of("channel-8"), "EscrowMismatch", "the ledger locked another escrow", At);

    private static readonly DeviceAlertRaised Clone = new("clone:vehicle-7", "clone", DeviceId.Of("vehicle-7"), "seen 40 km apart within a minute", At);

    private static DashboardItem ItemOf(NetworkActivity happened) => Assert.IsType<DashboardItem>(DashboardProjection.ItemOf(happened));

    [Fact]
    public void A_completed_session_is_shown_to_its_charge_point_operator_with_its_energy_what_was_paid_and_links_to_charger_vehicle_and_channel()
    {
        var item = ItemOf(Session("s1", "cpo-1", ChannelId.Of("channel-1")));

        Assert.Equal(("session", "s1", "vehicle-s1 charged 7000 Wh at charger-s1, paid 240 of 245"), (item.Kind, item.Id, item.Title));
        Assert.Equal(["cpo-1"], item.Operators);
        Assert.Equal((240L, 7_000L, "zone-a", At), (item.ValueMinorUnits, item.EnergyWh, item.Zone, item.At));
        Assert.Equal(["device:charger-s1", "device:vehicle-s1", "channel:channel-1"], item.Links);
        Assert.Equal(["device:charger-s2", "device:vehicle-s2"], ItemOf(Session("s2", "cpo-1")).Links);
    }

    [Fact]
    public void Passes_and_violations_are_shown_to_the_toll_operator_with_the_toll_and_the_gantrys_zone()
    {
        var pass = ItemOf(Pass(1));
        Assert.Equal(("pass", "gantry-1.1", "vehicle-p1 paid 120 at gantry-1", 120L, "zone-b"), (pass.Kind, pass.Id, pass.Title, pass.ValueMinorUnits, pass.Zone));
        Assert.Equal(["tolls-1"], pass.Operators);
        Assert.Equal(["device:gantry-1", "device:vehicle-p1", "channel:channel-p1"], pass.Links);

        var violation = ItemOf(Violation("v1"));
        Assert.Equal(("violation", "v1", "vehicle-v1 at gantry-1: NoChannel (no open channel)", 120L, "zone-b"),
            (violation.Kind, violation.Id, violation.Title, violation.ValueMinorUnits, violation.Zone));
        Assert.Equal(["tolls-1"], violation.Operators);
        Assert.Equal(["device:gantry-1", "device:vehicle-v1"], violation.Links);
    }

    [Fact]
    public void Trades_blocks_and_alerts_name_no_operator_and_link_to_what_they_concern()
    {
        var trade = ItemOf(Trade);
        Assert.Equal(("trade", "duplex-1.4", "device:home-1 and device:home-2 trade 35 on duplex-1 (state 4)", 35L), (trade.Kind, trade.Id, trade.Title, trade.ValueMinorUnits));
        Assert.Equal(["channel:duplex-1", "device:home-1", "device:home-2"], trade.Links);

        var block = ItemOf(Block);
        Assert.Equal(("block", "ledger-2:9", "ledger-2 block 9: 3 entries", 300L), (block.Kind, block.Id, block.Title, block.ValueMinorUnits));
        Assert.Equal(["block:ledger-2:9"], block.Links);
        Assert.Equal(new Dictionary<string, long> { ["operator:cpo-1"] = 200, ["operator:tolls-1"] = 60 }, block.SettledTo);

        var escrow = ItemOf(EscrowAlert);
        Assert.Equal(("alert", "EscrowMismatch:channel-8", "the ledger locked another escrow"), (escrow.Kind, escrow.Id, escrow.Title));
        Assert.Equal(["channel:channel-8"], escrow.Links);

        var clone = ItemOf(Clone);
        Assert.Equal(("alert", "clone:vehicle-7", "clone: vehicle-7: seen 40 km apart within a minute"), (clone.Kind, clone.Id, clone.Title));
        Assert.Equal(["device:vehicle-7"], clone.Links);

        Assert.All([trade, block, escrow, clone], item => Assert.Empty(item.Operators));
    }

    [Fact]
    public void A_dispute_is_an_alert_for_the_payee_who_may_answer_it()
    {
        var dispute = ItemOf(Dispute);

        Assert.Equal(("alert", "dispute:channel-9"), (dispute.Kind, dispute.Id));
        Assert.Equal("dispute: device:vehicle-9 closed channel-9 alone; operator:cpo-1 may answer with a newer voucher until the window ends", dispute.Title);
        Assert.Equal(["cpo-1"], dispute.Operators);
        Assert.Equal(["channel:channel-9"], dispute.Links);
    }

    [Fact]
    public void The_grid_operator_sees_every_event_and_any_other_operator_only_the_events_that_name_it()
    {
        var state = new DashboardState();
        NetworkActivity[] events = [Session("s1", "cpo-1"), Session("s2", "cpo-2"), Pass(1), Violation("v1"), Trade, Block, Dispute, EscrowAlert, Clone];
        state.Apply(DashboardProjection.Of(new ActivityBatch("node-1", events, Payments: 5, At)), 1_000);

        Assert.Equal(events.Length, Shown(state, Grid).Count);
        Assert.Equal(["alert:dispute:channel-9", "session:s1"], Shown(state, ChargePoints));
        Assert.Equal(["session:s2"], Shown(state, OtherChargePoints));
        Assert.Equal(["pass:gantry-1.1", "violation:v1"], Shown(state, Tolls));
        Assert.Equal(5, state.ViewFor(Grid).Payments);
        Assert.Equal(0, state.ViewFor(ChargePoints).Payments);
    }

    [Fact]
    public void What_a_block_settled_to_an_operator_counts_in_that_operators_totals_only()
    {
        var state = new DashboardState();
        state.Apply(DashboardProjection.Of(new ActivityBatch("node-1", [Block], 0, At)), 1_000);

        Assert.Equal(300, state.ViewFor(Grid).Totals.SettledMinorUnits);
        Assert.Equal(200, state.ViewFor(ChargePoints).Totals.SettledMinorUnits);
        Assert.Equal(60, state.ViewFor(Tolls).Totals.SettledMinorUnits);
        Assert.Equal(0, state.ViewFor(OtherChargePoints).Totals.SettledMinorUnits);
    }

    /// <summary>Every item in the viewer's feeds, as "kind:id", in order.</summary>
    private static List<string> Shown(DashboardState state, Viewer viewer) =>
        state.ViewFor(viewer).Feeds.SelectMany(feed => feed.Value.Select(item => $"{item.Kind}:{item.Id}")).Order(StringComparer.Ordinal).ToList();
}
