using Energy.Channels.Primitives;
using Energy.Cluster.Activity;

namespace Energy.Dashboard;

/// <summary>
/// Something that happened, as the dashboard shows it: a completed charging session, a toll pass or
/// violation, an energy trade, a settlement block, an alert. <see cref="Operators"/> are the operators
/// who may see it (a grid operator sees everything); <see cref="Links"/> name what a click drills into
/// ("device:{id}", "channel:{id}", "block:{shard}:{height}").
/// </summary>
public sealed record DashboardItem(
    string Kind,
    string Id,
    string Title,
    IReadOnlyList<string> Operators,
    long ValueMinorUnits,
    long EnergyWh,
    string? Zone,
    Timestamp At,
    IReadOnlyList<string> Links)
{
    /// <summary>Value settled per operator account ("operator:{id}") in a block (only for blocks).</summary>
    public IReadOnlyDictionary<string, long>? SettledTo { get; init; }
}

/// <summary>What one node saw in the last tenth of a second, as the dashboard shows it.</summary>
public sealed record DashboardBatch(string Node, IReadOnlyList<DashboardItem> Items, long Payments, Timestamp OldestAt)
{
    /// <summary>The zones' markets' events, for the <see cref="MarketBoard"/>.</summary>
    public IReadOnlyList<NetworkActivity> Markets { get; init; } = [];
}

/// <summary>
/// The dashboard's reading of the network's activity: each domain event becomes the item the page shows, with
/// its kind, its title, the operators who may see it besides the grid operators (the charge point operator
/// paid for a session, the toll operator of a pass or violation, the payee of a disputed channel; nobody else
/// for trades, blocks and alerts) and the links a click follows. An event it does not know is not shown.
/// </summary>
public static class DashboardProjection
{
    public static DashboardBatch Of(ActivityBatch batch) =>
        new(batch.Node, batch.Events.Select(ItemOf).OfType<DashboardItem>().ToList(), batch.Payments, batch.OldestAt)
        {
            Markets = batch.Events.Where(e => e is MarketOrderPlaced or MarketIntervalClearedActivity or MarketIntervalSettledActivity).ToList(),
        };

    public static DashboardItem? ItemOf(NetworkActivity happened) => happened switch
    {
        ChargingSessionCompleted s => new DashboardItem("session", s.Session.Value,
            $"{s.Vehicle} charged {s.Energy.WattHours} Wh at {s.Charger}, paid {s.Paid.MinorUnits} of {s.Cost.MinorUnits}",
            [s.Payee.Name], s.Paid.MinorUnits, s.Energy.WattHours, s.Zone?.Value, s.At,
            s.Channel is { } channel ? [Device(s.Charger), Device(s.Vehicle), Channel(channel)] : [Device(s.Charger), Device(s.Vehicle)]),
        TollPassPaid p => new DashboardItem("pass", p.Pass.Value, $"{p.Vehicle} paid {p.Paid.MinorUnits} at {p.Gantry}",
            [p.TollOperator.Value], p.Paid.MinorUnits, 0, p.Zone.Value, p.At,
            [Device(p.Gantry), Device(p.Vehicle), "channel:" + p.Channel?.Value]),
        TollViolationRecorded v => new DashboardItem("violation", v.Violation, $"{v.Vehicle} at {v.Gantry}: {v.Cause} ({v.Detail})",
            [v.TollOperator.Value], v.Price.MinorUnits, 0, v.Zone.Value, v.At, [Device(v.Gantry), Device(v.Vehicle)]),
        DuplexTradeAgreed t => new DashboardItem("trade", $"{t.Channel}.{t.Version}",
            $"{t.PartyA} and {t.PartyB} trade {t.Moved.MinorUnits} on {t.Channel} (state {t.Version})",
            [], t.Moved.MinorUnits, 0, null, t.At, [Channel(t.Channel), t.PartyA.Value, t.PartyB.Value]),
        SettlementBlockCommitted b => new DashboardItem("block", $"{b.Shard}:{b.Height}", $"{b.Shard} block {b.Height}: {b.Entries} entries",
            [], b.Settled.MinorUnits, 0, null, b.At, [$"block:{b.Shard}:{b.Height}"])
        {
            SettledTo = b.ToOperators.ToDictionary(o => PartyId.From(o.Operator).Value, o => o.Settled.MinorUnits, StringComparer.Ordinal),
        },
        ChannelDisputeOpened d => new DashboardItem("alert", $"dispute:{d.Channel}",
            $"dispute: {d.Payer} closed {d.Channel} alone; {d.Payee} may answer with a newer voucher until the window ends",
            [d.Payee.Name], 0, 0, null, d.At, [Channel(d.Channel)]),
        ChannelEscrowAlert e => new DashboardItem("alert", $"{e.Code}:{e.Channel}", e.Message, [], 0, 0, null, e.At, [Channel(e.Channel)]),
        // A zone's clearing is the grid operator's: its book and fills name meters of every operator.
        MarketIntervalClearedActivity m => new DashboardItem("market", $"{m.Zone}:{m.Interval}",
            m.Price is { } price
                ? $"{m.Zone} interval {m.Interval}: {m.Volume.WattHours} Wh at {price.MinorUnitsPerKwh} per kWh, {m.Fills} fills"
                : $"{m.Zone} interval {m.Interval}: no trade ({m.Depth.BidOrders} bids, {m.Depth.OfferOrders} offers)",
            [], m.BuyersPay.MinorUnits, m.Volume.WattHours, m.Zone.Value, m.At, []),
        DeviceAlertRaised a => new DashboardItem("alert", a.Alert, $"{a.Kind}: {a.Device}: {a.Detail}", [], 0, 0, null, a.At, [Device(a.Device)]),
        _ => null,
    };

    private static string Device(DeviceId device) => "device:" + device.Value;

    private static string Channel(ChannelId channel) => "channel:" + channel.Value;
}
