using System.Text.Json.Serialization;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Activity;

/// <summary>
/// Something that happened in the network and that its operators watch, published by the entity that made it
/// durable. It holds the domain's facts: who took part (and so who may be shown it), how much money and energy,
/// where and when, and what it refers to. How it is shown, and to whom, is for whoever reads the feed.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ChargingSessionCompleted), "charging-session-completed")]
[JsonDerivedType(typeof(TollPassPaid), "toll-pass-paid")]
[JsonDerivedType(typeof(TollViolationRecorded), "toll-violation-recorded")]
[JsonDerivedType(typeof(DuplexTradeAgreed), "duplex-trade-agreed")]
[JsonDerivedType(typeof(SettlementBlockCommitted), "settlement-block-committed")]
[JsonDerivedType(typeof(ChannelDisputeOpened), "channel-dispute-opened")]
[JsonDerivedType(typeof(ChannelEscrowAlert), "channel-escrow-alert")]
[JsonDerivedType(typeof(DeviceAlertRaised), "device-alert-raised")]
[JsonDerivedType(typeof(MarketIntervalClearedActivity), "market-interval-cleared")]
[JsonDerivedType(typeof(MarketOrderPlaced), "market-order-placed")]
[JsonDerivedType(typeof(MarketIntervalSettledActivity), "market-interval-settled")]
public abstract record NetworkActivity(Timestamp At) : IEnergyMessage;

/// <summary>
/// A charging session ended and its charge record is durable: the energy a charger delivered to a vehicle, what it
/// cost and what the vehicle paid, to the payee (the charge point operator), at a charger sited in <see cref="Zone"/>.
/// </summary>
[Manifest("activity.charging-session-completed.v1")]
public sealed record ChargingSessionCompleted(
    SessionId Session,
    PartyId Payee,
    DeviceId Charger,
    DeviceId Vehicle,
    ChannelId? Channel,
    EnergyWh Energy,
    Money Cost,
    Money Paid,
    SegmentId? Zone,
    Timestamp At) : NetworkActivity(At);

/// <summary>A vehicle paid for its pass at a toll operator's gantry, over <see cref="Channel"/>.</summary>
[Manifest("activity.toll-pass-paid.v1")]
public sealed record TollPassPaid(
    PassId Pass,
    OperatorId TollOperator,
    DeviceId Gantry,
    DeviceId Vehicle,
    ChannelId? Channel,
    Money Paid,
    SegmentId Zone,
    Timestamp At) : NetworkActivity(At);

/// <summary>A pass was not paid: one violation with its cause (the name of the toll office's cause) and the pass's price.</summary>
[Manifest("activity.toll-violation-recorded.v1")]
public sealed record TollViolationRecorded(
    string Violation,
    OperatorId TollOperator,
    DeviceId Gantry,
    DeviceId Vehicle,
    Money Price,
    string Cause,
    string Detail,
    SegmentId Zone,
    Timestamp At) : NetworkActivity(At);

/// <summary>Both parties of a duplex channel signed a new state: <see cref="Moved"/> changed hands between them.</summary>
[Manifest("activity.duplex-trade-agreed.v1")]
public sealed record DuplexTradeAgreed(ChannelId Channel, ulong Version, PartyId PartyA, PartyId PartyB, Money Moved, Timestamp At) : NetworkActivity(At);

/// <summary>What a settlement block released to one operator's account.</summary>
public sealed record OperatorSettlement(OperatorId Operator, Money Settled);

/// <summary>
/// A ledger shard committed a settlement block: how many entries it holds, what its escrow releases paid out in all
/// (<see cref="Settled"/>) and to each operator's account (devices' accounts count in the total only).
/// </summary>
[Manifest("activity.settlement-block-committed.v1")]
public sealed record SettlementBlockCommitted(
    string Shard,
    ulong Height,
    int Entries,
    Money Settled,
    IReadOnlyList<OperatorSettlement> ToOperators,
    Timestamp At) : NetworkActivity(At);

/// <summary>A payer closed a streaming channel alone: the challenge window opened, in which the payee may answer with a newer voucher.</summary>
[Manifest("activity.channel-dispute-opened.v1")]
public sealed record ChannelDisputeOpened(ChannelId Channel, PartyId Payer, PartyId Payee, Timestamp At) : NetworkActivity(At);

/// <summary>
/// The ledger's answer to a channel's escrow request did not fit the channel, or never came: the named error
/// (its code and message, as a refusal carries them). The channel logs it and does not act on the answer.
/// </summary>
[Manifest("activity.channel-escrow-alert.v1")]
public sealed record ChannelEscrowAlert(ChannelId Channel, string Code, string Message, Timestamp At) : NetworkActivity(At);

/// <summary>The alert log recorded an alert about a device: a suspected clone, a quarantine, a release.</summary>
[Manifest("activity.device-alert-raised.v1")]
public sealed record DeviceAlertRaised(string Alert, string Kind, DeviceId Device, string Detail, Timestamp At) : NetworkActivity(At);

/// <summary>A zone's market cleared an interval, durably: its price (none when nothing traded), the energy traded and how many fills.</summary>
[Manifest("activity.market-interval-cleared.v1")]
public sealed record MarketIntervalClearedActivity(
    Energy.Channels.Market.ZoneId Zone,
    long Interval,
    Energy.Channels.Market.EnergyPrice? Price,
    EnergyWh Volume,
    int Fills,
    Money BuyersPay,
    Timestamp At) : NetworkActivity(At)
{
    /// <summary>Fills a cleared interval's event carries, at most; the rest are counted in <see cref="Fills"/> only.</summary>
    public const int MaxTradesCarried = 20;

    /// <summary>When the interval starts.</summary>
    public Timestamp Start { get; init; }

    /// <summary>The depth of the book that cleared: orders and energy on each side.</summary>
    public MarketDepth Depth { get; init; } = MarketDepth.None;

    /// <summary>The first <see cref="MaxTradesCarried"/> fills, in clearing order.</summary>
    public IReadOnlyList<MarketTrade> Trades { get; init; } = [];
}

/// <summary>Orders and energy on each side of a market interval's book.</summary>
public sealed record MarketDepth(int BidOrders, EnergyWh BidEnergy, int OfferOrders, EnergyWh OfferEnergy)
{
    public static readonly MarketDepth None = new(0, EnergyWh.Zero, 0, EnergyWh.Zero);
}

/// <summary>One fill of a cleared interval: the meter, its side, the energy and its value at the clearing price.</summary>
public sealed record MarketTrade(DeviceId Device, Energy.Channels.Market.MarketSide Side, EnergyWh Energy, Money Amount);

/// <summary>A zone's market took an order, durably: its interval, its side and its quantity (the signer and price stay in the market).</summary>
[Manifest("activity.market-order-placed.v1")]
public sealed record MarketOrderPlaced(Energy.Channels.Market.ZoneId Zone, long Interval, Timestamp Start, Energy.Channels.Market.MarketSide Side, EnergyWh Quantity,
    Timestamp At) : NetworkActivity(At);

/// <summary>
/// The grid operator settled a cleared interval against the meters' readings, durably: the energy sellers delivered
/// and buyers took within their contracts, each side's shortfall, the zone's imbalance and the money it moves.
/// </summary>
[Manifest("activity.market-interval-settled.v1")]
public sealed record MarketIntervalSettledActivity(
    Energy.Channels.Market.ZoneId Zone,
    long Interval,
    OperatorId MarketOperator,
    EnergyWh Delivered,
    EnergyWh Taken,
    EnergyWh SellersShortfall,
    EnergyWh BuyersShortfall,
    EnergyWh Imbalance,
    Money BuyersPay,
    Money SellersReceive,
    Money ImbalanceCharges,
    Timestamp At) : NetworkActivity(At);
