using System.Collections.Immutable;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Market;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;

namespace Energy.Lifecycles.Market;

/// <summary>A cleared interval the market keeps: its orders, its outcome, and its settlement once there is one.</summary>
public sealed record ClearedInterval(MarketInterval Interval, ImmutableList<AcceptedOrder> Orders, ClearingResult Result, Timestamp ClearedAt)
{
    public MarketIntervalSettled? Settlement { get; init; }
    public bool Paid { get; init; }

    /// <summary>The payments that fell short when the interval's payments closed, each naming its participant and the reason.</summary>
    public IReadOnlyList<string> PaymentRefusals { get; init; } = [];

    /// <summary>Once paid: each participant's payment over its channel.</summary>
    public IReadOnlyList<MarketPaymentLine> Payments { get; init; } = [];
}

/// <summary>
/// One zone's market as the node keeps it: the pure <see cref="MarketBook"/> (open intervals) and the most recent
/// cleared intervals, which settlement and reads need. Immutable; <see cref="ZoneMarkets"/> decides and applies.
/// </summary>
public sealed record ZoneMarket(MarketBook Book)
{
    /// <summary>Cleared intervals kept for settlement and reads: a day of five-minute intervals, and a margin.</summary>
    public const int MaxClearedKept = 320;

    public ImmutableSortedDictionary<long, ClearedInterval> Cleared { get; init; } = ImmutableSortedDictionary<long, ClearedInterval>.Empty;
}

/// <summary>A settlement decided against the evidence: the settlement to answer, and whether it is new (to be written) or the one made before.</summary>
public sealed record SettlementDecision(MarketIntervalSettled Settlement, bool IsNew);

/// <summary>
/// The rules of a zone's market on the node, as pure functions over <see cref="ZoneMarket"/>: an order decided from its
/// signer's registry answer, the intervals whose gate closed cleared in order, a cleared interval settled once against
/// its meters' readings, and one <see cref="Evolve"/> by each event, the same live and in recovery. What follows once an
/// event is durable is in <c>ZoneMarketEffects.cs</c>.
/// </summary>
public static partial class ZoneMarkets
{
    /// <summary>The proofs a settlement takes at most: one per participant and side.</summary>
    public static int MaxEvidence(ZoneMarket market) => 2 * market.Book.Rules.MaxOrdersPerInterval;

    /// <summary>
    /// A signed order in its wire form, refused before its signer's key is looked up when it cannot count in this market,
    /// whoever signed it (another zone's order).
    /// </summary>
    public static Result<Signed<MarketOrder>> ReadOrder(ZoneMarket market, byte[] wire)
    {
        var decoded = Signed<MarketOrder>.Decode(wire);
        if (!decoded.IsOk) return decoded.Error;
        var order = decoded.Value.Payload;
        if (order.Zone != market.Book.Zone) return new OrderOutOfZone(order.Device, market.Book.Zone, order.Zone);
        return decoded.Value;
    }

    /// <summary>The registered key of a meter that may trade, from its twin's answer: endorsed, unrevoked, a meter.</summary>
    public static Result<DevicePublicKey> KeyOf(DeviceId device, object? answer) => answer switch
    {
        DeviceView { Revoked: true } view => new DeviceIsRevoked(device, view.RevokedAt ?? view.EndorsedAt),
        DeviceView { Role: not DeviceRole.Meter } view => new NotAMeter(device, view.Role),
        DeviceView view => DevicePublicKey.FromHex(view.PublicKeyHex),
        Refusal refusal => refusal.Error,
        _ => new NotAnsweredInTime($"the registry, for {device}"),
    };

    public static Result<OrderAccepted> DecideOrder(ZoneMarket market, Signed<MarketOrder> order, DevicePublicKey key, Timestamp now) =>
        MarketBooks.DecideOrder(market.Book, order, key, now);

    /// <summary>An order whose signer's twin answered (<paramref name="signer"/>; null when it did not in time): the event to write, or why not.</summary>
    public static Result<MarketOrderRecorded> DecideOrder(ZoneMarket market, Signed<MarketOrder> order, object? signer, Timestamp now)
    {
        var key = KeyOf(order.Payload.Device, signer);
        if (!key.IsOk) return key.Error;
        var accepted = DecideOrder(market, order, key.Value, now);
        if (!accepted.IsOk) return accepted.Error;
        return new MarketOrderRecorded(order.ToArray(), accepted.Value.Sequence, accepted.Value.AcceptedAt);
    }

    /// <summary>What the device that placed a recorded order is told once it is durable.</summary>
    public static MarketOrderAccepted Acknowledge(ZoneId zone, MarketOrder order, MarketOrderRecorded recorded) =>
        new(zone, order.Interval.Number, order.Device, order.OrderNumber, recorded.Sequence, recorded.AcceptedAt);

    /// <summary>Every interval whose gate has closed, in order, each decided against the book the ones before it leave.</summary>
    public static List<IntervalCleared> DecideDueClearings(ZoneMarket market, Timestamp now, int max)
    {
        var decided = new List<IntervalCleared>();
        var book = market.Book;
        while (decided.Count < max && MarketBooks.NextToClear(book, now) is { } next)
        {
            var cleared = MarketBooks.DecideClearing(book, next, now);
            if (!cleared.IsOk) break;
            decided.Add(cleared.Value);
            book = MarketBooks.Apply(book, cleared.Value);
        }
        return decided;
    }

    public static Result<ClearedInterval> Find(ZoneMarket market, long interval)
    {
        if (market.Cleared.TryGetValue(interval, out var cleared)) return cleared;
        if (interval <= market.Book.LastCleared && (market.Cleared.IsEmpty || interval < market.Cleared.First().Key))
            return new MarketIntervalForgotten(market.Book.Zone, interval, ZoneMarket.MaxClearedKept);
        return new MarketIntervalNotCleared(market.Book.Zone, interval, market.Book.LastCleared);
    }

    /// <summary>
    /// What a settlement hears without its meters' keys being looked up: the refusal of an interval not cleared (or
    /// forgotten), the settlement already made (or the refusal of another operator's), the refusal of more proofs than
    /// participants. Null when it is to be decided once the keys of <see cref="Participants"/> are looked up.
    /// </summary>
    public static Result<MarketIntervalSettled>? KnownSettlement(ZoneMarket market, SettleMarketInterval command, Timestamp now)
    {
        var found = Find(market, command.Interval);
        if (!found.IsOk) return found.Error;
        if (found.Value.Settlement is not null) return DecideSettlement(market, command.Interval, command.MarketOperator, [], now);
        if (command.Evidence.Count > MaxEvidence(market))
            return new MalformedValue("evidence", command.Evidence.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "one proof per participant");
        return null;
    }

    /// <summary>The devices with a fill in a cleared interval, each once: whose meter keys a settlement needs.</summary>
    public static List<DeviceId> Participants(ZoneMarket market, long interval) =>
        market.Cleared.TryGetValue(interval, out var cleared) ? cleared.Result.Fills.Select(f => f.Device).Distinct().ToList() : [];

    /// <summary>
    /// Settles a cleared interval against its participants' proofs, with their twins' answers (<paramref name="participants"/>,
    /// null where a twin did not answer in time): a participant whose registered meter key is not found has none, and its
    /// readings count as missing. A settlement made meanwhile is answered as it stands and is not new: an interval is
    /// never settled twice.
    /// </summary>
    public static Result<SettlementDecision> DecideSettlement(ZoneMarket market, SettleMarketInterval command, IReadOnlyDictionary<DeviceId, object?> participants,
        Timestamp now)
    {
        var keys = new Dictionary<DeviceId, DevicePublicKey>();
        foreach (var (participant, answer) in participants)
            if (KeyOf(participant, answer) is { IsOk: true } key) keys[participant] = key.Value;
        var settledBefore = market.Cleared.GetValueOrDefault(command.Interval)?.Settlement is not null;
        var decision = DecideSettlement(market, command.Interval, command.MarketOperator, Evidence(command.Evidence, keys), now, Channels(command.Evidence));
        if (!decision.IsOk) return decision.Error;
        return new SettlementDecision(decision.Value, IsNew: !settledBefore);
    }

    /// <summary>
    /// The evidence as the pure settlement takes it: a participant's own meter proves its delivery (it signs its
    /// orders too). Readings that do not decode, or of a participant without a registered key, count as missing.
    /// </summary>
    private static List<DeliveryEvidence> Evidence(IReadOnlyList<DeliveryProof> proofs, Dictionary<DeviceId, DevicePublicKey> keys)
    {
        var evidence = new List<DeliveryEvidence>(proofs.Count);
        foreach (var proof in proofs)
        {
            if (!keys.TryGetValue(proof.Participant, out var key)) continue;
            evidence.Add(new DeliveryEvidence(proof.Participant, proof.Side, proof.Participant, key, Reading(proof.Start), Reading(proof.End)));
        }
        return evidence;
    }

    /// <summary>The channel each participant's proof names for its payment on that side (the first, when it is named twice).</summary>
    private static Dictionary<(DeviceId Participant, MarketSide Side), ChannelId> Channels(IReadOnlyList<DeliveryProof> proofs)
    {
        var channels = new Dictionary<(DeviceId Participant, MarketSide Side), ChannelId>();
        foreach (var proof in proofs)
            if (proof.Channel is { } channel) channels.TryAdd((proof.Participant, proof.Side), channel);
        return channels;
    }

    private static Signed<MeterReading>? Reading(byte[]? wire) =>
        wire is not null && Signed<MeterReading>.Decode(wire) is { IsOk: true } decoded ? decoded.Value : null;

    /// <summary>The settled intervals whose payments have not closed: a market reads them again after a restart.</summary>
    public static IEnumerable<(ClearedInterval Interval, MarketIntervalSettled Settlement)> AwaitingPayment(ZoneMarket market)
    {
        foreach (var (_, cleared) in market.Cleared)
            if (cleared.Settlement is { } settled && !cleared.Paid) yield return (cleared, settled);
    }

    /// <summary>
    /// Settles a cleared interval against the evidence (its meters' keys already looked up), once: a retry by the
    /// same operator is answered with the first settlement, another operator's is refused. Each line names the
    /// participant's channel with the operator for that side from <paramref name="channels"/>, over which its payment is counted.
    /// </summary>
    public static Result<MarketIntervalSettled> DecideSettlement(ZoneMarket market, long interval, OperatorId marketOperator,
        IReadOnlyList<DeliveryEvidence> evidence, Timestamp now, IReadOnlyDictionary<(DeviceId Participant, MarketSide Side), ChannelId>? channels = null)
    {
        var found = Find(market, interval);
        if (!found.IsOk) return found.Error!;
        var cleared = found.Value;
        if (cleared.Settlement is { } earlier)
            return earlier.MarketOperator == marketOperator ? earlier : new MarketSettledByAnother(market.Book.Zone, interval, earlier.MarketOperator);
        var settled = DeliverySettlements.Settle(market.Book.Network, cleared.Interval, cleared.Result, evidence, market.Book.Rules);
        if (!settled.IsOk) return settled.Error!;
        var s = settled.Value;
        var lines = s.Lines.Select(l => new SettledLine(l.Participant, l.Side, l.Contracted, l.Metered, l.Settled, l.Shortfall, l.EnergyAmount,
            l.ImbalanceCharge, l.Refusal?.Code, l.Refusal?.Describe())
        {
            Channel = channels is not null && channels.TryGetValue((l.Participant, l.Side), out var channel) ? channel : null,
        }).ToList();
        return new MarketIntervalSettled(interval, marketOperator, s.Price, lines, s.BuyersPay, s.SellersReceive, s.ImbalanceCharges,
            s.SellersShortfall, s.BuyersShortfall, now);
    }

    // The only way the state changes, live and in recovery alike.

    /// <summary>
    /// The market after a durable event, live or replayed: a clearing's outcome is computed from its orders, unless the
    /// caller has just decided it (<paramref name="decided"/>). Anything else leaves the market as it was: a market
    /// journals only its own four events.
    /// </summary>
    public static ZoneMarket Evolve(ZoneMarket market, object e, ClearingResult? decided = null) => e switch
    {
        MarketOrderRecorded recorded => Apply(market, recorded),
        MarketIntervalCleared cleared => Apply(market, cleared, decided),
        MarketIntervalSettled settled => Apply(market, settled),
        MarketIntervalPaid paid => Apply(market, paid),
        _ => market,
    };

    public static ZoneMarket Apply(ZoneMarket market, MarketOrderRecorded recorded)
    {
        var order = Signed<MarketOrder>.Decode(recorded.Order).Unwrap();
        return market with { Book = MarketBooks.Apply(market.Book, new OrderAccepted(order, recorded.Sequence, recorded.AcceptedAt)) };
    }

    /// <summary>
    /// Clears the interval: the outcome is computed from its orders (the same every time), unless the caller has
    /// just decided it from the same book.
    /// </summary>
    public static ZoneMarket Apply(ZoneMarket market, MarketIntervalCleared recorded, ClearingResult? decided = null)
    {
        var interval = market.Book.Interval(recorded.Interval);
        var orders = market.Book.OrdersFor(interval).Orders;
        var result = decided ?? MarketClearing.Clear(orders, market.Book.Currency);
        var book = MarketBooks.Apply(market.Book, new IntervalCleared(interval, result, recorded.ClearedAt));
        var cleared = market.Cleared.SetItem(recorded.Interval, new ClearedInterval(interval, orders, result, recorded.ClearedAt));
        while (cleared.Count > ZoneMarket.MaxClearedKept) cleared = cleared.Remove(cleared.First().Key);
        return market with { Book = book, Cleared = cleared };
    }

    public static ZoneMarket Apply(ZoneMarket market, MarketIntervalSettled settled)
    {
        var cleared = market.Cleared.TryGetValue(settled.Interval, out var found)
            ? found
            : throw new InvalidOperationException($"interval {settled.Interval} of {market.Book.Zone} settled but is not kept as cleared");
        if (cleared.Settlement is not null) throw new InvalidOperationException($"interval {settled.Interval} of {market.Book.Zone} settled twice");
        return market with { Cleared = market.Cleared.SetItem(settled.Interval, cleared with { Settlement = settled }) };
    }

    public static ZoneMarket Apply(ZoneMarket market, MarketIntervalPaid paid) =>
        market.Cleared.TryGetValue(paid.Interval, out var cleared)
            ? market with { Cleared = market.Cleared.SetItem(paid.Interval, cleared with { Paid = true, PaymentRefusals = paid.Refused, Payments = paid.Payments }) }
            : market;

    // Snapshots

    public static MarketSnapshot ToSnapshot(ZoneMarket market)
    {
        var intervals = new List<SnapshotInterval>();
        foreach (var (number, cleared) in market.Cleared)
            intervals.Add(new SnapshotInterval(number, Rows(cleared.Orders), cleared.ClearedAt, cleared.Settlement, cleared.Paid)
            {
                PaymentRefusals = cleared.PaymentRefusals,
                Payments = cleared.Payments,
            });
        foreach (var (number, open) in market.Book.Open)
            intervals.Add(new SnapshotInterval(number, Rows(open.Orders), null, null, false));
        return new MarketSnapshot(market.Book.LastCleared, market.Book.NextSequence, intervals);
    }

    /// <summary>Rebuilds the state a snapshot holds, through the same Apply calls as the journal's events.</summary>
    public static ZoneMarket FromSnapshot(MarketBook empty, MarketSnapshot snapshot)
    {
        var market = new ZoneMarket(empty);
        var clearedUpTo = -1L;
        foreach (var interval in snapshot.Intervals.OrderBy(i => i.Interval))
        {
            var marketInterval = empty.Interval(interval.Interval);
            foreach (var row in interval.Orders)
            {
                var order = new MarketOrder(empty.Network, marketInterval, row.Device, row.Side, row.OrderNumber, row.Quantity,
                    new EnergyPrice(row.LimitMinorUnitsPerKwh, empty.Currency));
                market = market with { Book = ApplyUnsigned(market.Book, order, row.Sequence) };
            }
            if (interval.ClearedAt is { } at)
            {
                market = Apply(market, new MarketIntervalCleared(interval.Interval, at));
                clearedUpTo = interval.Interval;
                if (interval.Settlement is { } settled) market = Apply(market, settled);
                if (interval.Paid) market = Apply(market, new MarketIntervalPaid(interval.Interval, interval.PaymentRefusals ?? []) { Payments = interval.Payments ?? [] });
            }
        }
        return market with { Book = market.Book with { LastCleared = Math.Max(snapshot.LastCleared, clearedUpTo), NextSequence = snapshot.NextSequence } };
    }

    // A snapshot keeps orders without their signatures; the book places them as the journal's events did.
    private static MarketBook ApplyUnsigned(MarketBook book, MarketOrder order, ulong sequence)
    {
        var orders = book.OrdersFor(order.Interval);
        var placed = new AcceptedOrder(order, sequence);
        var next = orders with
        {
            Orders = orders.Orders.Add(placed),
            ByNumber = orders.ByNumber.Add((order.Device, order.OrderNumber), placed),
            CountByDevice = orders.CountByDevice.SetItem(order.Device, orders.OrdersOf(order.Device) + 1),
        };
        return book with { Open = book.Open.SetItem(order.Interval.Number, next), NextSequence = sequence + 1 };
    }

    private static List<SnapshotOrder> Rows(IEnumerable<AcceptedOrder> orders) =>
        orders.Select(o => new SnapshotOrder(o.Order.Device, o.Order.Side, o.Order.OrderNumber, o.Order.Quantity, o.Order.LimitPrice.MinorUnitsPerKwh, o.Sequence)).ToList();

    // Views

    public static MarketIntervalView View(ZoneMarket market, long number)
    {
        var zone = market.Book.Zone;
        var interval = market.Book.Interval(number);
        if (market.Cleared.TryGetValue(number, out var cleared))
        {
            var r = cleared.Result;
            var status = cleared.Paid ? "paid" : cleared.Settlement is not null ? "settled" : "cleared";
            return new MarketIntervalView(zone, number, interval.Start, interval.End, status, Depth(cleared.Orders, MarketSide.Bid), Depth(cleared.Orders, MarketSide.Offer),
                r.Price, r.Volume, r.Fills.Length, r.BuyersPay, r.SellersReceive, r.RoundingResidual, cleared.Settlement, cleared.Paid)
            {
                PaymentRefusals = cleared.PaymentRefusals,
                Payments = cleared.Payments,
            };
        }
        var open = market.Book.OrdersFor(interval).Orders;
        var state = number <= market.Book.LastCleared ? "forgotten" : "open";
        return new MarketIntervalView(zone, number, interval.Start, interval.End, state, Depth(open, MarketSide.Bid), Depth(open, MarketSide.Offer),
            null, EnergyWh.Zero, 0, null, null, null, null, false);
    }

    public static MarketFillsView FillsOf(ZoneMarket market, long number, DeviceId device)
    {
        var zone = market.Book.Zone;
        if (market.Cleared.TryGetValue(number, out var cleared))
        {
            var status = cleared.Paid ? "paid" : cleared.Settlement is not null ? "settled" : "cleared";
            return new MarketFillsView(zone, number, device, status, cleared.Result.Price, Own(cleared.Orders, device),
                cleared.Result.Fills.Where(f => f.Device == device).ToList(), cleared.Settlement?.Lines.FirstOrDefault(l => l.Participant == device))
            {
                Payment = cleared.Payments.FirstOrDefault(p => p.Participant == device),
            };
        }
        var open = market.Book.OrdersFor(market.Book.Interval(number)).Orders;
        return new MarketFillsView(zone, number, device, number <= market.Book.LastCleared ? "forgotten" : "open", null, Own(open, device), [], null);
    }

    private static List<OwnOrder> Own(IEnumerable<AcceptedOrder> orders, DeviceId device) =>
        orders.Where(o => o.Order.Device == device)
            .Select(o => new OwnOrder(o.Order.Side, o.Order.OrderNumber, o.Order.Quantity, o.Order.LimitPrice, o.Sequence)).ToList();

    private static BookSide Depth(IEnumerable<AcceptedOrder> orders, MarketSide side)
    {
        int count = 0;
        long energy = 0;
        foreach (var o in orders)
        {
            if (o.Order.Side != side) continue;
            count++;
            energy += o.Order.Quantity.WattHours;
        }
        return new BookSide(count, new EnergyWh(energy));
    }
}
