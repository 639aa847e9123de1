using Energy.Channels.Market;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Market;

/// <summary>A command or query for the market of one grid zone.</summary>
public interface IMarketCommand : IEnergyMessage, IWithEntityId
{
    ZoneId Zone { get; }
    string IWithEntityId.EntityId => Zone.Value;
}

/// <summary>A meter's signed order (wire form of <c>Signed&lt;MarketOrder&gt;</c>). Answered once durable.</summary>
[Manifest("market.submit-order.v1")]
public sealed record SubmitMarketOrder(ZoneId Zone, byte[] Order) : IMarketCommand;

/// <summary>Clears every interval whose gate has closed, in order; answered with what was cleared once durable.</summary>
[Manifest("market.clear-due.v1")]
public sealed record ClearDue(ZoneId Zone) : IMarketCommand;

/// <summary>The interval's cleared price and volume, and the depth of its book.</summary>
[Manifest("market.get-interval.v1")]
public sealed record GetMarketInterval(ZoneId Zone, long Interval) : IMarketCommand;

/// <summary>One device's own orders and fills in an interval, nothing of anyone else's.</summary>
[Manifest("market.get-fills.v1")]
public sealed record GetMarketFills(ZoneId Zone, long Interval, DeviceId Device) : IMarketCommand;

/// <summary>
/// One participant's signed meter readings (wire form of <c>Signed&lt;MeterReading&gt;</c>) at the interval's start and end, and
/// the streaming channel it keeps with the market's operator: a buyer pays over it (buyer to operator), a seller is paid over
/// it (operator to seller). The vouchers that count name the zone and the interval.
/// </summary>
public sealed record DeliveryProof(DeviceId Participant, MarketSide Side, byte[]? Start, byte[]? End, ChannelId? Channel = null);

/// <summary>
/// The grid operator that runs the zone settles a cleared interval against the participants' meter readings;
/// its account is the market's central counterparty. Idempotent: a settled interval answers as it settled.
/// </summary>
[Manifest("market.settle-interval.v1")]
public sealed record SettleMarketInterval(ZoneId Zone, long Interval, OperatorId MarketOperator, IReadOnlyList<DeliveryProof> Evidence) : IMarketCommand;

// Replies

[Manifest("market.order-accepted.v1")]
public sealed record MarketOrderAccepted(ZoneId Zone, long Interval, DeviceId Device, ulong OrderNumber, ulong Sequence, Timestamp AcceptedAt) : IEnergyMessage;

[Manifest("market.cleared.v1")]
public sealed record MarketCleared(ZoneId Zone, IReadOnlyList<long> Intervals, long LastCleared) : IEnergyMessage;

/// <summary>Orders and energy on one side of an interval's book.</summary>
public sealed record BookSide(int Orders, EnergyWh Energy);

/// <summary>
/// What the grid operator sees of an interval: its book's depth, and once cleared its price, volume, fills and
/// residual; once settled what was delivered, the imbalance and each participant's line; whether the money moved.
/// </summary>
[Manifest("market.interval.v1")]
public sealed record MarketIntervalView(
    ZoneId Zone,
    long Interval,
    Timestamp Start,
    Timestamp End,
    string Status,
    BookSide Bids,
    BookSide Offers,
    EnergyPrice? Price,
    EnergyWh Volume,
    int Fills,
    Money? BuyersPay,
    Money? SellersReceive,
    Money? RoundingResidual,
    MarketIntervalSettled? Settlement,
    bool Paid) : IEnergyMessage
{
    /// <summary>The payments that fell short once the interval's payments closed (a buyer that paid less than it owed), by participant and refusal.</summary>
    public IReadOnlyList<string> PaymentRefusals { get; init; } = [];

    /// <summary>Once paid: what each participant owed or was owed over its channel, and what was paid.</summary>
    public IReadOnlyList<MarketPaymentLine> Payments { get; init; } = [];
}

public sealed record OwnOrder(MarketSide Side, ulong OrderNumber, EnergyWh Quantity, EnergyPrice LimitPrice, ulong Sequence);

/// <summary>What one participant sees of an interval: its own orders, its own fills, its own settlement line.</summary>
[Manifest("market.fills.v1")]
public sealed record MarketFillsView(ZoneId Zone, long Interval, DeviceId Device, string Status, EnergyPrice? Price,
    IReadOnlyList<OwnOrder> Orders, IReadOnlyList<Fill> Fills, SettledLine? Settlement) : IEnergyMessage
{
    /// <summary>Once paid: what the device owed or was owed over its channel, and what was paid.</summary>
    public MarketPaymentLine? Payment { get; init; }
}

// Events

/// <summary>The market took this signed order as its <paramref name="Sequence"/>-th.</summary>
[Manifest("market.event.order-recorded.v1")]
public sealed record MarketOrderRecorded(byte[] Order, ulong Sequence, Timestamp AcceptedAt) : IEnergyMessage;

/// <summary>
/// The market cleared this interval at this time. The outcome is not written: the clearing is a pure function of
/// the interval's orders, which the journal holds, so recovery computes the same outcome again.
/// </summary>
[Manifest("market.event.interval-cleared.v1")]
public sealed record MarketIntervalCleared(long Interval, Timestamp ClearedAt) : IEnergyMessage;

/// <summary>One participant's settled line (<see cref="DeliveryLine"/>), with the refusal of its readings by code and sentence.</summary>
public sealed record SettledLine(
    DeviceId Participant,
    MarketSide Side,
    EnergyWh Contracted,
    EnergyWh Metered,
    EnergyWh Settled,
    EnergyWh Shortfall,
    Money EnergyAmount,
    Money ImbalanceCharge,
    string? RefusalCode,
    string? RefusalMessage)
{
    /// <summary>The participant's channel with the market's operator, as the settlement named it; none when it named none.</summary>
    public ChannelId? Channel { get; init; }
}

/// <summary>
/// One participant's payment of a settled interval over its channel: <see cref="Due"/> from the participant to the operator
/// (<see cref="ToOperator"/>: a buyer's energy and charge, or a seller's charge above its energy) or from the operator to it (a
/// seller's energy less its charge); <see cref="Paid"/> is what the vouchers naming the interval added on that channel. A
/// payment short of its due names why.
/// </summary>
public sealed record MarketPaymentLine(DeviceId Participant, MarketSide Side, ChannelId? Channel, bool ToOperator, Money Due, Money Paid,
    string? RefusalCode, string? RefusalMessage)
{
    public Money Short => new(Math.Max(0, Due.MinorUnits - Paid.MinorUnits), Due.Currency);
}

/// <summary>An interval settled against its meter readings, with the grid operator whose account is the counterparty.</summary>
[Manifest("market.event.interval-settled.v1")]
public sealed record MarketIntervalSettled(
    long Interval,
    OperatorId MarketOperator,
    EnergyPrice? Price,
    IReadOnlyList<SettledLine> Lines,
    Money BuyersPay,
    Money SellersReceive,
    Money ImbalanceCharges,
    EnergyWh SellersShortfall,
    EnergyWh BuyersShortfall,
    Timestamp SettledAt) : IEnergyMessage
{
    /// <summary>Energy sellers delivered into the zone less what buyers took, within the contracts.</summary>
    public EnergyWh ZoneImbalance => new(BuyersShortfall.WattHours - SellersShortfall.WattHours);

    /// <summary>What stays with the grid operator's account: buyers' payments and imbalance charges less sellers' receipts.</summary>
    public Money OperatorBalance => new(BuyersPay.MinorUnits + ImbalanceCharges.MinorUnits - SellersReceive.MinorUnits, BuyersPay.Currency);
}

/// <summary>
/// The payments of a settled interval closed: every participant paid what it owed and was paid what it was owed over its
/// channel, or the payment window ended; what fell short is named per participant in <see cref="Refused"/>.
/// </summary>
[Manifest("market.event.interval-paid.v1")]
public sealed record MarketIntervalPaid(long Interval, IReadOnlyList<string> Refused) : IEnergyMessage
{
    public IReadOnlyList<MarketPaymentLine> Payments { get; init; } = [];
}

/// <summary>An order the snapshot keeps, without its signature (it was verified when taken).</summary>
public sealed record SnapshotOrder(DeviceId Device, MarketSide Side, ulong OrderNumber, EnergyWh Quantity, long LimitMinorUnitsPerKwh, ulong Sequence);

public sealed record SnapshotInterval(long Interval, IReadOnlyList<SnapshotOrder> Orders, Timestamp? ClearedAt, MarketIntervalSettled? Settlement, bool Paid)
{
    public IReadOnlyList<string>? PaymentRefusals { get; init; }
    public IReadOnlyList<MarketPaymentLine>? Payments { get; init; }
}

/// <summary>A market's state for recovery: its open intervals and the recent cleared ones, each with its orders.</summary>
[Manifest("market.snapshot.v1")]
public sealed record MarketSnapshot(long LastCleared, ulong NextSequence, IReadOnlyList<SnapshotInterval> Intervals) : IEnergyMessage;

// The index of active markets

/// <summary>A command or query for the network's one index of active markets.</summary>
public interface IMarketIndexCommand : IEnergyMessage, IWithEntityId
{
    string IWithEntityId.EntityId => MarketIndexRules.EntityName;
}

/// <summary>A market has open intervals or payments under way: it is woken after a restart. Answered once durable.</summary>
[Manifest("market.index.mark-active.v1")]
public sealed record MarkMarketActive(ZoneId Zone) : IMarketIndexCommand;

/// <summary>A market has nothing left that runs on its timer. Not answered.</summary>
[Manifest("market.index.mark-idle.v1")]
public sealed record MarkMarketIdle(ZoneId Zone) : IMarketIndexCommand;

[Manifest("market.index.get-active.v1")]
public sealed record GetActiveMarkets : IMarketIndexCommand
{
    public static readonly GetActiveMarkets Instance = new();
}

[Manifest("market.index.indexed.v1")]
public sealed record MarketIndexed(ZoneId Zone) : IEnergyMessage;

[Manifest("market.index.active.v1")]
public sealed record ActiveMarkets(IReadOnlyList<ZoneId> Zones) : IEnergyMessage;

[Manifest("market.index.event.activity-recorded.v1")]
public sealed record MarketActivityRecorded(ZoneId Zone, bool Active) : IEnergyMessage;

[Manifest("market.index.snapshot.v1")]
public sealed record MarketIndexSnapshot(IReadOnlyList<ZoneId> Zones) : IEnergyMessage;
