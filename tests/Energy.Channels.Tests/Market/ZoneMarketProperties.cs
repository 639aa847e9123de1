using System.Globalization;
using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Lifecycles;
using Energy.Lifecycles.Market;
using Energy.Lifecycles.Registry;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Market;

/// <summary>
/// A zone's market as pure functions, played the way its entity plays it: signed orders decided from their signers'
/// registry answers (meters, a revoked meter, a vehicle, a registry that does not answer), retried, signed by another
/// key or for another zone; time passing; the closed gates cleared; cleared intervals settled by the zone's operator
/// or another. Every clearing conserves energy and money and fills an order at most once; a second clear of the same
/// gate clears nothing; every refusal is named and changes nothing; an interval settles once; a market rebuilt from its
/// journal or its snapshot holds and decides the same.
/// </summary>
public partial class ZoneMarketProperties
{
    private const int Runs = 40;
    private static readonly ZoneId Zone = MarketTestKit.Zone;
    private static readonly DurationMs Length = MarketTestKit.Length;
    private static readonly OperatorId Grid = OperatorId.Of("grid-north");
    private static readonly OperatorId OtherGrid = OperatorId.Of("grid-south");
    private static readonly Timestamp Start = TestParties.Now;

    // Four meters that trade, a revoked meter, and a vehicle (not a meter).
    private static readonly DeviceKeyPair[] DeviceKeys = [.. Enumerable.Range(0, 6).Select(_ => DeviceKeyPair.Generate())];
    private static readonly DeviceId[] Devices = [.. Enumerable.Range(0, 6).Select(i => DeviceId.Of($"home-{i}"))];
    private const int Revoked = 4;
    private const int Vehicle = 5;

    private enum Action { Order, Retry, WrongKey, OtherZone, Silent, Advance, Clear, Settle }

    private sealed record Step(Action Action, int Device, MarketSide Side, long Quantity, long Price, ulong Number, int Ahead, long AdvanceMs, bool ByOther)
    {
        public override string ToString() => Action switch
        {
            Action.Advance => $"advance {AdvanceMs} ms",
            Action.Clear => "clear",
            Action.Settle => ByOther ? "settle by another operator" : "settle",
            Action.Retry => "retry the last accepted order",
            _ => $"{Action} {Devices[Device]} {Side} n{Number} {Quantity} Wh @ {Price} (+{Ahead})",
        };
    }

    private static readonly Gen<Step> Steps =
        from action in Gen.Frequency(
            (14, Gen.Constant(Action.Order)),
            (2, Gen.Constant(Action.Retry)),
            (1, Gen.Constant(Action.WrongKey)),
            (1, Gen.Constant(Action.OtherZone)),
            (1, Gen.Constant(Action.Silent)),
            (4, Gen.Constant(Action.Advance)),
            (4, Gen.Constant(Action.Clear)),
            (2, Gen.Constant(Action.Settle)))
        from device in Gen.Frequency((10, Gen.Choose(0, 3)), (1, Gen.Constant(Revoked)), (1, Gen.Constant(Vehicle)))
        from side in Gen.Elements(MarketSide.Bid, MarketSide.Offer)
        from quantity in Gen.Choose(1, 500)
        from price in Gen.Choose(0, 40)
        from number in Gen.Choose(1, 3)
        from ahead in Gen.Frequency((1, Gen.Constant(0)), (4, Gen.Choose(1, 2)))
        from advance in Gen.Choose(0, 200_000)
        from byOther in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
        select new Step(action, device, side, quantity, price, (ulong)number, ahead, advance, byOther);

    private static readonly Arbitrary<Step[]> Scripts =
        (from length in Gen.Choose(0, 40) from steps in Gen.ArrayOf(Steps, length) select steps).ToArbitrary();

    /// <summary>The named errors an order may be refused with.</summary>
    private static readonly HashSet<Type> OrderRefusals =
    [
        typeof(OrderOutOfZone), typeof(DeviceIsRevoked), typeof(NotAMeter), typeof(NotAnsweredInTime), typeof(InvalidSignature),
        typeof(OrderAfterGateClosure), typeof(IntervalAlreadyCleared), typeof(DuplicateOrder), typeof(TooManyOrders),
        typeof(IntervalOrderBookFull), typeof(OrderWrongInterval),
    ];

    private sealed record Played(ZoneMarket Market, List<object> Journal, List<(Step Step, ProtocolError Error)> Refusals, Timestamp Now);

    [Property(MaxTest = Runs)]
    public Property Every_clearing_conserves_energy_and_money_and_fills_each_order_at_most_once() =>
        Prop.ForAll(Scripts, steps =>
        {
            var market = Play(steps).Market;
            var filledSequences = new HashSet<ulong>();
            foreach (var (number, cleared) in market.Cleared)
            {
                var result = cleared.Result;
                long bought = 0, sold = 0, buyersPay = 0, sellersReceive = 0;
                foreach (var fill in result.Fills)
                {
                    var order = cleared.Orders.SingleOrDefault(o => o.Sequence == fill.Sequence);
                    Assert.True(order is not null, $"interval {number}: a fill of no order of the interval: {fill}");
                    Assert.Equal((order.Order.Device, order.Order.Side, order.Order.OrderNumber), (fill.Device, fill.Side, fill.OrderNumber));
                    Assert.True(filledSequences.Add(fill.Sequence), $"interval {number}: order #{fill.Sequence} filled twice");
                    Assert.InRange(fill.Quantity.WattHours, 1, order.Order.Quantity.WattHours);
                    if (fill.Side == MarketSide.Bid)
                    {
                        Assert.True(result.Price!.Value.MinorUnitsPerKwh <= order.Order.LimitPrice.MinorUnitsPerKwh, $"a buyer pays above its bid: {fill}");
                        (bought, buyersPay) = (bought + fill.Quantity.WattHours, buyersPay + fill.Amount.MinorUnits);
                    }
                    else
                    {
                        Assert.True(result.Price!.Value.MinorUnitsPerKwh >= order.Order.LimitPrice.MinorUnitsPerKwh, $"a seller is paid below its offer: {fill}");
                        (sold, sellersReceive) = (sold + fill.Quantity.WattHours, sellersReceive + fill.Amount.MinorUnits);
                    }
                }
                Assert.Equal((result.Volume.WattHours, result.Volume.WattHours), (bought, sold));
                Assert.Equal((buyersPay, sellersReceive), (result.BuyersPay.MinorUnits, result.SellersReceive.MinorUnits));
                Assert.Equal(result.BuyersPay.MinorUnits, result.SellersReceive.MinorUnits + result.RoundingResidual.MinorUnits);
            }
        });

    [Property(MaxTest = Runs)]
    public Property A_second_clear_of_the_same_gates_clears_nothing() =>
        Prop.ForAll(Scripts, steps =>
        {
            // Every clear in the play is followed by a second one at the same time, which must decide nothing.
            var played = Play(steps);
            var market = played.Market;
            var later = new Timestamp(played.Now.UnixMilliseconds + Length.Milliseconds);
            foreach (var decided in ZoneMarkets.DecideDueClearings(market, later, 64))
                market = ZoneMarkets.Apply(market, new MarketIntervalCleared(decided.Interval.Number, decided.ClearedAt), decided.Result);
            Assert.Empty(ZoneMarkets.DecideDueClearings(market, later, 64));
            foreach (var number in market.Cleared.Keys)
                Assert.IsType<IntervalAlreadyCleared>(MarketBooks.DecideClearing(market.Book, market.Book.Interval(number), later).Error);
        });

    [Property(MaxTest = Runs)]
    public Property Every_refusal_is_named_and_changes_nothing() =>
        Prop.ForAll(Scripts, steps =>
        {
            // Play asserts that a refused decision leaves the market as it was; here every refusal has its own type.
            foreach (var (step, error) in Play(steps).Refusals)
            {
                Assert.True(OrderRefusals.Contains(error.GetType()), $"{step} was refused with {error}");
                switch (step.Action)
                {
                    case Action.OtherZone: Assert.IsType<OrderOutOfZone>(error); break;
                    case Action.Silent: Assert.IsType<NotAnsweredInTime>(error); break;
                    case Action.Retry: Assert.True(error is DuplicateOrder { SameOrder: true } or IntervalAlreadyCleared or OrderAfterGateClosure, error.ToString()); break;
                    case Action.Order when step.Device == Revoked: Assert.IsType<DeviceIsRevoked>(error); break;
                    case Action.Order when step.Device == Vehicle: Assert.IsType<NotAMeter>(error); break;
                }
            }
        });

    [Property(MaxTest = Runs)]
    public Property An_interval_settles_once_and_its_lines_sum_to_what_it_settled() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            var settled = played.Journal.OfType<MarketIntervalSettled>().ToList();
            Assert.Equal(settled.Count, settled.Select(s => s.Interval).Distinct().Count());
            foreach (var s in settled)
            {
                Assert.Equal(s.BuyersPay.MinorUnits, s.Lines.Where(l => l.Side == MarketSide.Bid).Sum(l => l.EnergyAmount.MinorUnits));
                Assert.Equal(s.SellersReceive.MinorUnits, s.Lines.Where(l => l.Side == MarketSide.Offer).Sum(l => l.EnergyAmount.MinorUnits));
                Assert.Equal(s.ImbalanceCharges.MinorUnits, s.Lines.Sum(l => l.ImbalanceCharge.MinorUnits));
                Assert.All(s.Lines, l => Assert.True(l.Settled.WattHours <= l.Contracted.WattHours, l.ToString()));
                // Asked again, by the same operator or another, nothing new is decided.
                var again = new SettleMarketInterval(Zone, s.Interval, s.MarketOperator, []);
                Assert.Equal(s, ZoneMarkets.KnownSettlement(played.Market, again, played.Now)!.Value.Value);
                Assert.False(ZoneMarkets.DecideSettlement(played.Market, again, new Dictionary<DeviceId, object?>(), played.Now).Value.IsNew);
                Assert.IsType<MarketSettledByAnother>(ZoneMarkets.KnownSettlement(played.Market, again with { MarketOperator = s.MarketOperator == Grid ? OtherGrid : Grid }, played.Now)!.Value.Error);
            }
        });

    [Property(MaxTest = Runs)]
    public Property A_market_rebuilt_from_its_journal_or_its_snapshot_holds_and_decides_the_same() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            var empty = new ZoneMarket(MarketTestKit.EmptyBook());
            var replayed = played.Journal.Aggregate(empty, Evolve);
            var restored = ZoneMarkets.FromSnapshot(empty.Book, ZoneMarkets.ToSnapshot(played.Market));
            Assert.Equal(Describe(played.Market), Describe(replayed));
            Assert.Equal(Describe(played.Market), Describe(restored));

            // The next decisions: an order, and the clearings due an interval later.
            var later = new Timestamp(played.Now.UnixMilliseconds + Length.Milliseconds);
            var probe = Signed(Devices[0], DeviceKeys[0], MarketSide.Bid, 100, 20, 9, played.Now, ahead: 2, Zone);
            foreach (var rebuilt in new[] { replayed, restored })
            {
                Assert.Equal(Decision(played.Market, probe, played.Now), Decision(rebuilt, probe, played.Now));
                Assert.Equal(Clearings(played.Market, later), Clearings(rebuilt, later));
            }
        });

    /// <summary>Plays a script as the entity does; every event goes to the journal and is applied, and nothing else changes the market.</summary>
    private static Played Play(Step[] steps)
    {
        var market = new ZoneMarket(MarketTestKit.EmptyBook());
        var journal = new List<object>();
        var refusals = new List<(Step, ProtocolError)>();
        var accepted = new List<Signed<MarketOrder>>();
        var now = Start;
        void Persist(object e, ClearingResult? decided = null)
        {
            journal.Add(e);
            market = e is MarketIntervalCleared cleared ? ZoneMarkets.Apply(market, cleared, decided) : Evolve(market, e);
        }
        void Refused(Step step, ProtocolError error, string before)
        {
            refusals.Add((step, error));
            Assert.Equal(before, Describe(market));
        }

        foreach (var step in steps)
        {
            var before = Describe(market);
            switch (step.Action)
            {
                case Action.Order or Action.WrongKey or Action.OtherZone or Action.Silent or Action.Retry:
                    if (step.Action == Action.Retry && accepted.Count == 0) break;
                    var signed = step.Action == Action.Retry ? accepted[^1]
                        : Signed(Devices[step.Device], step.Action == Action.WrongKey ? DeviceKeys[(step.Device + 1) % 4] : DeviceKeys[step.Device],
                            step.Side, step.Quantity, step.Price, step.Number, now, step.Ahead, step.Action == Action.OtherZone ? MarketTestKit.OtherZone : Zone);
                    var read = ZoneMarkets.ReadOrder(market, signed.ToArray());
                    if (!read.IsOk) { Refused(step, read.Error, before); break; }
                    var device = Array.IndexOf(Devices, read.Value.Payload.Device);
                    var decision = ZoneMarkets.DecideOrder(market, read.Value, step.Action == Action.Silent ? null : ViewOf(device), now);
                    if (!decision.IsOk) { Refused(step, decision.Error, before); break; }
                    Assert.NotEqual(Action.WrongKey, step.Action);
                    Persist(decision.Value);
                    accepted.Add(read.Value);
                    break;
                case Action.Advance:
                    now = new Timestamp(now.UnixMilliseconds + step.AdvanceMs);
                    break;
                case Action.Clear:
                    foreach (var decided in ZoneMarkets.DecideDueClearings(market, now, 64))
                        Persist(new MarketIntervalCleared(decided.Interval.Number, decided.ClearedAt), decided.Result);
                    Assert.Empty(ZoneMarkets.DecideDueClearings(market, now, 64));
                    break;
                case Action.Settle:
                    if (market.Cleared.IsEmpty) break;
                    var command = new SettleMarketInterval(Zone, market.Cleared.Keys.Last(), step.ByOther ? OtherGrid : Grid, []);
                    if (ZoneMarkets.KnownSettlement(market, command, now) is { } known)
                    {
                        if (!known.IsOk) Assert.IsType<MarketSettledByAnother>(known.Error);
                        Assert.Equal(before, Describe(market));
                        break;
                    }
                    var settled = ZoneMarkets.DecideSettlement(market, command, new Dictionary<DeviceId, object?>(), now);
                    Assert.True(settled.Value.IsNew);
                    Persist(settled.Value.Settlement);
                    break;
            }
        }
        return new Played(market, journal, refusals, now);
    }

    private static ZoneMarket Evolve(ZoneMarket market, object e) => e switch
    {
        MarketOrderRecorded o => ZoneMarkets.Apply(market, o),
        MarketIntervalCleared c => ZoneMarkets.Apply(market, c),
        MarketIntervalSettled s => ZoneMarkets.Apply(market, s),
        MarketIntervalPaid p => ZoneMarkets.Apply(market, p),
        _ => throw new InvalidOperationException($"not a market event: {e}"),
    };

    private static Signed<MarketOrder> Signed(DeviceId device, DeviceKeyPair key, MarketSide side, long quantity, long price, ulong number, Timestamp now,
        int ahead, ZoneId zone)
    {
        var interval = MarketInterval.Numbered(zone, MarketInterval.Containing(zone, now, Length).Number + ahead, Length);
        return Signed<MarketOrder>.Sign(new MarketOrder(TestParties.Network, interval, device, side, number, new EnergyWh(quantity), MarketTestKit.Price(price)), key);
    }

    private static DeviceView ViewOf(int device) => new(Devices[device], Grid, device == Vehicle ? DeviceRole.Vehicle : DeviceRole.Meter,
        DeviceKeys[device].PublicKey.Hex, device == Revoked, Start, device == Revoked ? Start : null);

    private static string Decision(ZoneMarket market, Signed<MarketOrder> order, Timestamp now) =>
        ZoneMarkets.DecideOrder(market, order, ViewOf(0), now) is { IsOk: true } ok ? $"{ok.Value.Sequence} {ok.Value.AcceptedAt}" : "refused";

    private static string Clearings(ZoneMarket market, Timestamp at) =>
        string.Join(" | ", ZoneMarkets.DecideDueClearings(market, at, 64).Select(d => $"{d.Interval.Number}: {Describe(d.Result)}"));

    private static string Describe(ClearingResult r) =>
        $"{r.Price} {r.Volume} {r.BuyersPay} {r.SellersReceive} {r.RoundingResidual} [{string.Join(", ", r.Fills)}]";

    private static string Describe(ZoneMarket market) =>
        JsonSerializer.Serialize(ZoneMarkets.ToSnapshot(market)) + " " + string.Join(" | ",
            market.Cleared.Select(c => $"{c.Key.ToString(CultureInfo.InvariantCulture)}: {Describe(c.Value.Result)} at {c.Value.ClearedAt}"));
}
