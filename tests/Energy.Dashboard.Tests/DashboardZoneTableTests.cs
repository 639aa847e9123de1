using Energy.Channels.Primitives;

namespace Energy.Dashboard.Tests;

/// <summary>
/// The dashboard's zone table and totals, filtered like the API: the grid operator sees every zone's sums,
/// a charge point operator the figures of its chargers' sessions, a toll operator those of its gantries'
/// passes, and nobody another operator's figures.
/// </summary>
public sealed class DashboardZoneTableTests
{
    private static readonly Viewer GridViewer = new("grid-1", SeesEverything: true);
    private static readonly Viewer ChargePoints = new("cpo-1", SeesEverything: false);
    private static readonly Viewer Tolls = new("tolls-1", SeesEverything: false);
    private static readonly Viewer Fleet = new("fleet-1", SeesEverything: false);

    private static DashboardItem Session(string op, string zone, long wh, long paid) =>
        new("session", Guid.NewGuid().ToString("N"), "session", [op], paid, wh, zone, new Timestamp(1), []);

    private static DashboardItem Pass(string op, string zone, long toll) =>
        new("pass", Guid.NewGuid().ToString("N"), "pass", [op], toll, 0, zone, new Timestamp(1), []);

    private static DashboardItem Violation(string op, string zone) =>
        new("violation", Guid.NewGuid().ToString("N"), "violation", [op], 40, 0, zone, new Timestamp(1), []);

    private static DashboardState StateWith(params DashboardItem[] items)
    {
        var state = new DashboardState();
        state.Apply(new DashboardBatch("node", items, 0, new Timestamp(1)), 1_000);
        return state;
    }

    [Fact]
    public void The_zone_table_of_a_charge_point_operator_holds_its_sessions_and_no_toll_operators_figures()
    {
        var state = StateWith(Session("cpo-1", "zone-a", 7_000, 245), Pass("tolls-1", "zone-a", 120), Violation("tolls-1", "zone-a"),
            Pass("tolls-1", "zone-b", 80), Session("cpo-2", "zone-c", 3_000, 105));

        var zones = state.ViewFor(ChargePoints).Zones;
        var only = Assert.Single(zones);
        Assert.Equal(new DashboardState.ZoneTotals("zone-a", 0, 0, 0) { EnergyWh = 7_000, Sessions = 1 }, only);
    }

    [Fact]
    public void The_zone_table_of_a_toll_operator_holds_its_passes_and_no_charging_figures()
    {
        var state = StateWith(Session("cpo-1", "zone-a", 7_000, 245), Pass("tolls-1", "zone-a", 120), Violation("tolls-1", "zone-a"),
            Pass("tolls-2", "zone-b", 80));

        var zones = state.ViewFor(Tolls).Zones;
        var only = Assert.Single(zones);
        Assert.Equal(new DashboardState.ZoneTotals("zone-a", Passes: 2, Violations: 1, TollMinorUnits: 120), only);
    }

    [Fact]
    public void The_grid_operator_sees_every_zone_summed_over_operators_and_others_see_none()
    {
        var state = StateWith(Session("cpo-1", "zone-a", 7_000, 245), Session("cpo-2", "zone-a", 1_000, 35), Pass("tolls-1", "zone-a", 120),
            Pass("tolls-2", "zone-b", 80));

        var zones = state.ViewFor(GridViewer).Zones;
        Assert.Equal(["zone-a", "zone-b"], zones.Select(z => z.Zone));
        Assert.Equal(new DashboardState.ZoneTotals("zone-a", 1, 0, 120) { EnergyWh = 8_000, Sessions = 2 }, zones[0]);
        Assert.Empty(state.ViewFor(Fleet).Zones);
    }

    [Fact]
    public void Value_settled_to_an_operators_account_counts_in_its_totals()
    {
        var block = new DashboardItem("block", "ledger-0:1", "block", [], 300, 0, null, new Timestamp(1), [])
        {
            SettledTo = new Dictionary<string, long> { ["operator:cpo-1"] = 200, ["device:vehicle-1"] = 100 },
        };
        var state = StateWith(block);
        Assert.Equal(200, state.ViewFor(ChargePoints).Totals.SettledMinorUnits);
        Assert.Equal(300, state.ViewFor(GridViewer).Totals.SettledMinorUnits);
        Assert.Equal(0, state.ViewFor(Fleet).Totals.SettledMinorUnits);
    }

    [Fact]
    public void The_zone_table_is_bounded_and_counts_what_it_leaves_out()
    {
        var table = new ZoneTable();
        for (var i = 0; i < ZoneTable.MaxZones; i++) table.Add(Session("cpo-1", $"zone-{i}", 1, 1));
        table.Add(Session("cpo-1", "zone-one-too-many", 1, 1));
        Assert.Equal(ZoneTable.MaxZones, table.ZoneCount);
        Assert.Equal(1, table.Dropped);
        // A zone already tabulated still counts.
        table.Add(Pass("tolls-1", "zone-0", 10));
        Assert.Equal(1, table.For(Tolls).Single().Passes);

        var rows = new ZoneTable();
        for (var i = 0; i < ZoneTable.MaxRows; i++) rows.Add(Pass($"tolls-{i}", $"zone-{i % ZoneTable.MaxZones}", 1));
        Assert.Equal(ZoneTable.MaxRows, rows.RowCount);
        rows.Add(Pass("tolls-new", "zone-0", 1));
        Assert.Equal(ZoneTable.MaxRows, rows.RowCount);
        Assert.Equal(1, rows.Dropped);
    }
}
