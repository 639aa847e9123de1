using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Cluster.Activity;
using Energy.Cluster.Hosting;
using Energy.Cluster.Market;
using Energy.Lifecycles.Market;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Akka.Cluster.Tools.PublishSubscribe;
using Xunit.Abstractions;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Channels;
using Energy.Channels.Streaming;

namespace Energy.Cluster.Tests;

/// <summary>Two sellers and two buyers, meters endorsed by the zone's grid operator, and what they sign.</summary>
public sealed class MarketParticipants : IDisposable
{
    public static readonly ZoneId Zone = ZoneId.Of("zone-north");
    public static readonly OperatorId Grid = OperatorId.Of("grid-north");
    public static readonly DeviceId Seller1 = DeviceId.Of("meter-seller-1");
    public static readonly DeviceId Seller2 = DeviceId.Of("meter-seller-2");
    public static readonly DeviceId Buyer1 = DeviceId.Of("meter-buyer-1");
    public static readonly DeviceId Buyer2 = DeviceId.Of("meter-buyer-2");
    public static readonly DeviceId[] All = [Seller1, Seller2, Buyer1, Buyer2];

    public DeviceKeyPair GridKey { get; } = DeviceKeyPair.Generate();
    public Dictionary<DeviceId, DeviceKeyPair> Keys { get; } = All.ToDictionary(d => d, _ => DeviceKeyPair.Generate());

    /// <summary>The grid operator admitted, the four meters endorsed, each account and the operator's funded.</summary>
    public IEnumerable<object> Onboarding(int shardCount, long fundsEach, long operatorFloat)
    {
        yield return TestAuthority.Admit(Grid, GridKey, OperatorRoles.GridOperator);
        foreach (var device in All)
            yield return new EndorseDevice(device, DeviceIdentity.Endorse(ClusterTestKit.Network, Grid, GridKey, device, DeviceRole.Meter, Keys[device].PublicKey).Endorsement.ToArray());
        foreach (var device in All)
        {
            var party = PartyId.From(device);
            yield return new Mint(LedgerShards.For(party, shardCount), "fund-" + device, party, new Money(fundsEach, Currency.Eur), TestAuthority.Bank);
        }
        var grid = PartyId.From(Grid);
        yield return new Mint(LedgerShards.For(grid, shardCount), "fund-grid", grid, new Money(operatorFloat, Currency.Eur), TestAuthority.Bank);
    }

    /// <summary>The settings of a node that a test starts and stops itself, on <paramref name="clock"/>.</summary>
    public static EnergySettings NodeSettings(ManualClock clock, DeviceKeyPair nodeKey) =>
        new(ClusterTestKit.Network, Currency.Eur, 4, nodeKey, clock) { Authority = TestAuthority.Authority };

    public static async Task<object> AskAsync(IActorRef region, object message) => await region.Ask<object>(message, TimeSpan.FromSeconds(15));

    /// <summary><see cref="Onboarding"/> on a node the test started.</summary>
    public async Task OnboardAsync(TestNode node)
    {
        foreach (var step in Onboarding(4, 10_000, 1_000))
        {
            var region = step switch { AdmitOperator => node.Regions.Operators, EndorseDevice => node.Regions.Devices, _ => node.Regions.Ledger };
            Assert.IsNotType<Refusal>(await AskAsync(region, step));
        }
    }

    public static MarketOrder Order(MarketInterval interval, DeviceId device, MarketSide side, long wh, long price, ulong number = 1) =>
        new(ClusterTestKit.Network, interval, device, side, number, new EnergyWh(wh), new EnergyPrice(price, Currency.Eur));

    public Signed<MarketOrder> Sign(MarketOrder order, DeviceKeyPair? signer = null) => Signed<MarketOrder>.Sign(order, signer ?? Keys[order.Device]);

    public Signed<MeterReading> Reading(DeviceId meter, ulong sequence, Timestamp at, long registerWh) =>
        Signed<MeterReading>.Sign(new MeterReading(ClusterTestKit.Network, meter, sequence, at, new EnergyWh(registerWh)), Keys[meter]);

    /// <summary>The orders of the book the tests clear: the buyers want 4,500 Wh, the sellers offer 5,000 Wh.</summary>
    public static MarketOrder[] Book(MarketInterval interval) =>
    [
        Order(interval, Seller1, MarketSide.Offer, 3_000, 100),
        Order(interval, Seller2, MarketSide.Offer, 2_000, 120),
        Order(interval, Buyer1, MarketSide.Bid, 2_500, 150),
        Order(interval, Buyer2, MarketSide.Bid, 2_000, 130),
    ];

    public void Dispose()
    {
        GridKey.Dispose();
        foreach (var key in Keys.Values) key.Dispose();
    }
}

public sealed class MarketEntityOnSqlite(ITestOutputHelper output) : MarketEntityTests(TestStores.Sqlite(), output);

public sealed class MarketEntityOnPostgreSql(ITestOutputHelper output) : MarketEntityTests(TestStores.PostgreSql(), output);

/// <summary>
/// The market entity on a node; its own clearing timer and the node's market watch are out of the way, so every
/// clearing is the test's tick.
/// </summary>
public abstract class MarketEntityTests(NodeOptions node, ITestOutputHelper output)
    : ClusterTestKit(node, output, configure: s => s with { MarketClearCheckInterval = TimeSpan.FromHours(1), MarketWatchInterval = TimeSpan.FromHours(1) })
{
    private const long FundsEach = 10_000;
    private const long OperatorFloat = 1_000;
    private readonly MarketParticipants _m = new();

    private ZoneId Zone => MarketParticipants.Zone;

    /// <summary>The interval after the current one: its gate closes four minutes from the test's start.</summary>
    private MarketInterval Next => MarketInterval.Containing(Zone, Clock.Now, Settings.MarketRules.IntervalLength) is var now
        ? MarketInterval.Numbered(Zone, now.Number + 1, now.Length)
        : default;

    private object Ask(object message, IActorRef region)
    {
        region.Tell(message, TestActor);
        return ExpectMsg<object>(TimeSpan.FromSeconds(15));
    }

    private T Refused<T>(object message) where T : ProtocolError => Assert.IsType<T>(Assert.IsType<Refusal>(Ask(message, Regions.Markets)).Error);

    private void Onboard(long fundsEach = FundsEach)
    {
        foreach (var step in _m.Onboarding(Settings.LedgerShardCount, fundsEach, OperatorFloat))
        {
            var region = step switch { AdmitOperator => Regions.Operators, EndorseDevice => Regions.Devices, _ => Regions.Ledger };
            Assert.IsNotType<Refusal>(Ask(step, region));
        }
    }

    private MarketOrderAccepted Submit(Signed<MarketOrder> order) =>
        Assert.IsType<MarketOrderAccepted>(Ask(new SubmitMarketOrder(Zone, order.ToArray()), Regions.Markets));

    private MarketIntervalView View(long interval) => Assert.IsType<MarketIntervalView>(Ask(new GetMarketInterval(Zone, interval), Regions.Markets));

    private void PassGateOf(MarketInterval interval) =>
        Clock.Advance(new DurationMs(interval.Start.UnixMilliseconds - Settings.MarketRules.GateClosure.Milliseconds - Clock.Now.UnixMilliseconds));

    private long Balance(PartyId party) =>
        Assert.IsType<AccountView>(Ask(new GetAccount(LedgerShards.For(party, Settings.LedgerShardCount), party), Regions.Ledger)).Balance.MinorUnits;

    /// <summary>Each participant's channel with the grid operator: a buyer's pays the operator, a seller's is paid by it.</summary>
    private static ChannelId ChannelOf(DeviceId participant) => ChannelId.Of("market-" + participant.Value);

    private static readonly PartyId GridParty = PartyId.From(MarketParticipants.Grid);

    /// <summary>Buyers open their channels to the operator with <paramref name="buyerDeposit"/>; the operator opens one to each seller.</summary>
    private void OpenMarketChannels(long buyerDeposit, long sellerDeposit)
    {
        foreach (var device in MarketParticipants.All)
        {
            var opening = SideOf(device) == MarketSide.Bid
                ? Signing.Opening(ChannelOf(device), PartyId.From(device), GridParty, buyerDeposit, _m.Keys[device])
                : Signing.Opening(ChannelOf(device), GridParty, PartyId.From(device), sellerDeposit, _m.GridKey);
            Assert.IsType<ChannelOpened>(Ask(new OpenChannel(ChannelOf(device), opening), Regions.Channels));
        }
    }

    private readonly Dictionary<ChannelId, (ulong Sequence, long Cumulative)> _vouchers = [];

    /// <summary>The payer of <paramref name="channel"/> adds <paramref name="amount"/> for <paramref name="purpose"/>; the answer once durable.</summary>
    private object Pay(ChannelId channel, DeviceKeyPair payer, long amount, PaymentPurpose purpose)
    {
        var (sequence, cumulative) = _vouchers.GetValueOrDefault(channel);
        var voucher = Signing.Voucher(channel, sequence + 1, cumulative + amount, amount, payer, purpose);
        var answer = Ask(new SubmitVoucher(channel, voucher), Regions.Channels);
        if (answer is VoucherAcknowledged) _vouchers[channel] = (sequence + 1, cumulative + amount);
        return answer;
    }

    private ChannelSettled CloseByPayee(DeviceId participant)
    {
        var (payee, key) = SideOf(participant) == MarketSide.Bid ? (GridParty, _m.GridKey) : (PartyId.From(participant), _m.Keys[participant]);
        return Assert.IsType<ChannelSettled>(Ask(new CloseChannel(ChannelOf(participant), Signing.Close(ChannelOf(participant), payee, key, Clock.Now)), Regions.Channels));
    }

    private static PaymentPurpose PurposeOf(MarketInterval interval) => PaymentPurpose.ForMarketInterval(interval.Zone.Value, interval.Start.UnixMilliseconds).Unwrap();

    [Fact]
    public void A_zone_clears_buyers_pay_by_vouchers_naming_the_interval_sellers_are_paid_after_delivery_and_value_is_conserved_across_market_channels_and_ledger()
    {
        Onboard();
        OpenMarketChannels(buyerDeposit: 1_000, sellerDeposit: 400);
        var interval = Next;
        var purpose = PurposeOf(interval);
        var accepted = MarketParticipants.Book(interval).Select(o => new AcceptedOrder(o, Submit(_m.Sign(o)).Sequence)).ToList();
        PassGateOf(interval);
        var cleared = Assert.IsType<MarketCleared>(Ask(new ClearDue(Zone), Regions.Markets));
        Assert.Equal([interval.Number], cleared.Intervals);
        // The tick again (a timer that fired twice, the market watch waking it once more) clears nothing a second time.
        var tickedAgain = Assert.IsType<MarketCleared>(Ask(new ClearDue(Zone), Regions.Markets));
        Assert.Empty(tickedAgain.Intervals);
        Assert.Equal(cleared.LastCleared, tickedAgain.LastCleared);
        var expected = MarketClearing.Clear(accepted, Currency.Eur);
        var owes = expected.Fills.Where(f => f.Side == MarketSide.Bid).GroupBy(f => f.Device).ToDictionary(g => g.Key, g => g.Sum(f => f.Amount.MinorUnits));
        var (buyer1, buyer2) = (MarketParticipants.Buyer1, MarketParticipants.Buyer2);

        // The buyers pay their cleared energy with vouchers naming the interval; buyer 2 pays 10 short. What names another
        // interval or zone is taken by the channel but counts nothing for this interval, and a replayed voucher is refused.
        var otherInterval = PaymentPurpose.ForMarketInterval(Zone.Value, interval.End.UnixMilliseconds).Unwrap();
        var otherZone = PaymentPurpose.ForMarketInterval("zone-south", interval.Start.UnixMilliseconds).Unwrap();
        Assert.IsType<VoucherAcknowledged>(Pay(ChannelOf(buyer2), _m.Keys[buyer2], 50, otherInterval));
        Assert.IsType<VoucherAcknowledged>(Pay(ChannelOf(buyer1), _m.Keys[buyer1], 7, otherZone));
        var buyer1Pays = Signing.Voucher(ChannelOf(buyer1), 2, 7 + owes[buyer1], owes[buyer1], _m.Keys[buyer1], purpose);
        Assert.IsType<VoucherAcknowledged>(Ask(new SubmitVoucher(ChannelOf(buyer1), buyer1Pays), Regions.Channels));
        _vouchers[ChannelOf(buyer1)] = (2, 7 + owes[buyer1]);
        Assert.IsType<VoucherNotNewer>(Assert.IsType<Refusal>(Ask(new SubmitVoucher(ChannelOf(buyer1), buyer1Pays), Regions.Channels)).Error);
        Assert.IsType<VoucherAcknowledged>(Pay(ChannelOf(buyer2), _m.Keys[buyer2], owes[buyer2] - 10, purpose));

        // Seller 2 sold 1,500 Wh and delivers 1,000 Wh; everyone else delivers or takes exactly its contract.
        var contracted = expected.Fills.GroupBy(f => f.Device).ToDictionary(g => g.Key, g => g.Sum(f => f.Quantity.WattHours));
        var delivered = contracted.ToDictionary(c => c.Key, c => c.Key == MarketParticipants.Seller2 ? c.Value - 500 : c.Value);
        var proofs = new List<DeliveryProof>();
        var evidence = new List<DeliveryEvidence>();
        foreach (var device in MarketParticipants.All)
        {
            var start = _m.Reading(device, 10, new Timestamp(interval.Start.UnixMilliseconds + 1_000), 50_000);
            var end = _m.Reading(device, 11, new Timestamp(interval.End.UnixMilliseconds - 1_000), 50_000 + delivered[device]);
            proofs.Add(new DeliveryProof(device, SideOf(device), start.ToArray(), end.ToArray(), ChannelOf(device)));
            evidence.Add(new DeliveryEvidence(device, SideOf(device), device, _m.Keys[device].PublicKey, start, end));
        }
        Clock.Advance(new DurationMs(interval.End.UnixMilliseconds + 60_000 - Clock.Now.UnixMilliseconds));

        var settled = Assert.IsType<MarketIntervalSettled>(Ask(new SettleMarketInterval(Zone, interval.Number, MarketParticipants.Grid, proofs), Regions.Markets));

        var reference = DeliverySettlements.Settle(Network, interval, expected, evidence, Settings.MarketRules).Unwrap();
        Assert.Equal((reference.BuyersPay, reference.SellersReceive, reference.ImbalanceCharges, new EnergyWh(500)),
            (settled.BuyersPay, settled.SellersReceive, settled.ImbalanceCharges, settled.SellersShortfall));
        Assert.All(settled.Lines, l => Assert.Equal(ChannelOf(l.Participant), l.Channel));
        var due = MarketPaymentRules.Due(settled).ToDictionary(d => d.Participant);
        Assert.Equal((true, owes[buyer1], true, owes[buyer2]), (due[buyer1].ToOperator, due[buyer1].Due.MinorUnits, due[buyer2].ToOperator, due[buyer2].Due.MinorUnits));
        Assert.False(View(interval.Number).Paid);

        // Delivery proved, the grid operator pays each seller its energy less its charge over its own channel.
        foreach (var seller in new[] { MarketParticipants.Seller1, MarketParticipants.Seller2 })
        {
            Assert.False(due[seller].ToOperator);
            Assert.IsType<VoucherAcknowledged>(Pay(ChannelOf(seller), _m.GridKey, due[seller].Due.MinorUnits, purpose));
        }
        // Buyer 2 stays short: the payments close once the window (an interval's length after the settlement) has passed.
        Clock.Advance(Settings.MarketRules.IntervalLength);
        Clock.Advance(DurationMs.FromSeconds(1));
        Ask(new ClearDue(Zone), Regions.Markets);
        AwaitAssert(() => Assert.True(View(interval.Number).Paid), TimeSpan.FromSeconds(20));

        var view = View(interval.Number);
        var lines = view.Payments.ToDictionary(p => p.Participant);
        Assert.Equal((owes[buyer1], (string?)null), (lines[buyer1].Paid.MinorUnits, lines[buyer1].RefusalCode));
        Assert.Equal((owes[buyer2] - 10, 10L, nameof(MarketPaymentShort)), (lines[buyer2].Paid.MinorUnits, lines[buyer2].Short.MinorUnits, lines[buyer2].RefusalCode));
        Assert.All(new[] { MarketParticipants.Seller1, MarketParticipants.Seller2 }, s => Assert.Equal((due[s].Due, (string?)null), (lines[s].Paid, lines[s].RefusalCode)));
        Assert.StartsWith($"{buyer2}: {nameof(MarketPaymentShort)}: ", Assert.Single(view.PaymentRefusals), StringComparison.Ordinal);
        var own = Assert.IsType<MarketFillsView>(Ask(new GetMarketFills(Zone, interval.Number, buyer2), Regions.Markets));
        Assert.Equal(lines[buyer2], own.Payment);

        // The channels close to the ledger: every account moves by exactly what its channel carried.
        foreach (var device in MarketParticipants.All) CloseByPayee(device);
        var intoMarket = view.Payments.Where(p => p.ToOperator).Sum(p => p.Paid.MinorUnits);
        var outOfMarket = view.Payments.Where(p => !p.ToOperator).Sum(p => p.Paid.MinorUnits);
        const long outsideTheMarket = 50 + 7;
        Assert.Equal(settled.OperatorBalance.MinorUnits - 10, intoMarket - outOfMarket);
        AwaitAssert(() =>
        {
            Assert.Equal(FundsEach - owes[buyer1] - 7, Balance(PartyId.From(buyer1)));
            Assert.Equal(FundsEach - (owes[buyer2] - 10) - 50, Balance(PartyId.From(buyer2)));
            foreach (var seller in new[] { MarketParticipants.Seller1, MarketParticipants.Seller2 })
                Assert.Equal(FundsEach + due[seller].Due.MinorUnits, Balance(PartyId.From(seller)));
            Assert.Equal(OperatorFloat + intoMarket - outOfMarket + outsideTheMarket, Balance(GridParty));
        }, TimeSpan.FromSeconds(15));
        var network = new EnergyNetwork(Sys, Regions, Settings);
        AwaitAssert(() =>
        {
            var totals = network.TotalsAsync(CancellationToken.None).GetAwaiter().GetResult();
            Assert.True(totals.Conserved && totals.InTransitMinorUnits == 0 && totals.EscrowsMinorUnits == 0, $"not conserved: {totals}");
        }, TimeSpan.FromSeconds(15));

        // The same settlement asked again has the same answer; another operator's is refused.
        var again = Assert.IsType<MarketIntervalSettled>(Ask(new SettleMarketInterval(Zone, interval.Number, MarketParticipants.Grid, []), Regions.Markets));
        Assert.Equal(settled.SettledAt, again.SettledAt);
        Refused<MarketSettledByAnother>(new SettleMarketInterval(Zone, interval.Number, OperatorId.Of("grid-south"), []));
    }

    [Fact]
    public void Hostile_orders_are_refused_by_name_and_change_nothing()
    {
        Onboard();
        var interval = Next;
        var book = MarketParticipants.Book(interval);
        foreach (var order in book) Submit(_m.Sign(order));
        var before = View(interval.Number);
        var seller = MarketParticipants.Seller1;

        var duplicate = Refused<DuplicateOrder>(new SubmitMarketOrder(Zone, _m.Sign(book[0]).ToArray()));
        Assert.True(duplicate.SameOrder);
        Refused<OrderOutOfZone>(new SubmitMarketOrder(Zone, _m.Sign(MarketParticipants.Order(MarketInterval.Numbered(ZoneId.Of("zone-south"), interval.Number, interval.Length), seller, MarketSide.Offer, 10, 1, 2)).ToArray()));
        using (var thief = DeviceKeyPair.Generate())
            Refused<InvalidSignature>(new SubmitMarketOrder(Zone, _m.Sign(MarketParticipants.Order(interval, seller, MarketSide.Offer, 10, 1, 2), thief).ToArray()));
        using (var stranger = DeviceKeyPair.Generate())
            Refused<DeviceNotFound>(new SubmitMarketOrder(Zone, Signed<MarketOrder>.Sign(MarketParticipants.Order(interval, DeviceId.Of("meter-stranger"), MarketSide.Bid, 10, 500), stranger).ToArray()));
        Refused<Truncated>(new SubmitMarketOrder(Zone, [1, 2, 3]));
        for (ulong number = 2; number <= (ulong)Settings.MarketRules.MaxOrdersPerDevice; number++)
            Submit(_m.Sign(MarketParticipants.Order(interval, MarketParticipants.Buyer2, MarketSide.Bid, 1, 1, number)));
        Refused<TooManyOrders>(new SubmitMarketOrder(Zone, _m.Sign(MarketParticipants.Order(interval, MarketParticipants.Buyer2, MarketSide.Bid, 1, 1, 99)).ToArray()));
        PassGateOf(interval);
        Refused<OrderAfterGateClosure>(new SubmitMarketOrder(Zone, _m.Sign(MarketParticipants.Order(interval, seller, MarketSide.Offer, 10, 1, 3)).ToArray()));

        var after = View(interval.Number);
        Assert.Equal(before.Offers, after.Offers);
        Assert.Equal(before.Bids.Orders + Settings.MarketRules.MaxOrdersPerDevice - 1, after.Bids.Orders);
        var own = Assert.IsType<MarketFillsView>(Ask(new GetMarketFills(Zone, interval.Number, seller), Regions.Markets));
        Assert.Equal([1UL], own.Orders.Select(o => o.OrderNumber));
        Assert.IsType<MarketCleared>(Ask(new ClearDue(Zone), Regions.Markets));
        Refused<IntervalAlreadyCleared>(new SubmitMarketOrder(Zone, _m.Sign(MarketParticipants.Order(interval, seller, MarketSide.Offer, 10, 1, 4)).ToArray()));
        Refused<MarketIntervalNotCleared>(new SettleMarketInterval(Zone, interval.Number + 1, MarketParticipants.Grid, []));
    }

    [Fact]
    public void A_device_reads_only_its_own_orders_and_fills()
    {
        Onboard();
        var interval = Next;
        foreach (var order in MarketParticipants.Book(interval)) Submit(_m.Sign(order));
        PassGateOf(interval);
        Assert.IsType<MarketCleared>(Ask(new ClearDue(Zone), Regions.Markets));

        var own = Assert.IsType<MarketFillsView>(Ask(new GetMarketFills(Zone, interval.Number, MarketParticipants.Buyer2), Regions.Markets));

        Assert.Equal("cleared", own.Status);
        Assert.All(own.Fills, f => Assert.Equal(MarketParticipants.Buyer2, f.Device));
        Assert.Equal(2_000, own.Fills.Sum(f => f.Quantity.WattHours));
        Assert.Single(own.Orders);
    }

    /// <summary>Clears the test book and returns its interval, with the clock past the interval's end.</summary>
    private MarketInterval ClearTheBook()
    {
        var interval = Next;
        foreach (var order in MarketParticipants.Book(interval)) Submit(_m.Sign(order));
        PassGateOf(interval);
        Assert.IsType<MarketCleared>(Ask(new ClearDue(Zone), Regions.Markets));
        Clock.Advance(new DurationMs(interval.End.UnixMilliseconds + 60_000 - Clock.Now.UnixMilliseconds));
        return interval;
    }

    private static MarketSide SideOf(DeviceId device) =>
        device == MarketParticipants.Seller1 || device == MarketParticipants.Seller2 ? MarketSide.Offer : MarketSide.Bid;

    /// <summary>Every participant delivers or takes its whole contract (the test book's fills, at most 3,000 Wh each).</summary>
    private List<DeliveryProof> FullDelivery(MarketInterval interval) =>
        MarketParticipants.All.Select(d => new DeliveryProof(d, SideOf(d),
            _m.Reading(d, 1, interval.Start, 0).ToArray(), _m.Reading(d, 2, interval.End, 3_000).ToArray())).ToList();

    [Fact]
    public void An_interval_whose_payments_are_all_covered_is_paid_without_waiting_for_its_window()
    {
        Onboard();
        OpenMarketChannels(buyerDeposit: 1_000, sellerDeposit: 400);
        var interval = ClearTheBook();
        var purpose = PurposeOf(interval);
        var proofs = FullDelivery(interval).Select(p => p with { Channel = ChannelOf(p.Participant) }).ToList();
        var settled = Assert.IsType<MarketIntervalSettled>(Ask(new SettleMarketInterval(Zone, interval.Number, MarketParticipants.Grid, proofs), Regions.Markets));

        foreach (var due in MarketPaymentRules.Due(settled))
            Assert.IsType<VoucherAcknowledged>(Pay(ChannelOf(due.Participant), due.ToOperator ? _m.Keys[due.Participant] : _m.GridKey, due.Due.MinorUnits, purpose));
        Ask(new ClearDue(Zone), Regions.Markets);

        AwaitAssert(() => Assert.True(View(interval.Number).Paid), TimeSpan.FromSeconds(20));
        var view = View(interval.Number);
        Assert.Empty(view.PaymentRefusals);
        Assert.Equal(settled.BuyersPay.MinorUnits, view.Payments.Where(p => p.ToOperator).Sum(p => p.Paid.MinorUnits));
        Assert.Equal(settled.SellersReceive.MinorUnits, view.Payments.Where(p => !p.ToOperator).Sum(p => p.Paid.MinorUnits));
    }

    [Fact]
    public void A_payment_over_no_channel_or_over_a_channel_between_others_counts_nothing_and_is_named()
    {
        Onboard();
        OpenMarketChannels(buyerDeposit: 1_000, sellerDeposit: 400);
        var interval = ClearTheBook();
        var purpose = PurposeOf(interval);
        // Buyer 1 names buyer 2's channel (buyer 2 pays there, not buyer 1); seller 1 names none.
        var proofs = FullDelivery(interval).Select(p => p with
        {
            Channel = p.Participant == MarketParticipants.Buyer1 ? ChannelOf(MarketParticipants.Buyer2)
                : p.Participant == MarketParticipants.Seller1 ? null
                : ChannelOf(p.Participant),
        }).ToList();
        var settled = Assert.IsType<MarketIntervalSettled>(Ask(new SettleMarketInterval(Zone, interval.Number, MarketParticipants.Grid, proofs), Regions.Markets));
        foreach (var due in MarketPaymentRules.Due(settled).Where(d => d.Participant != MarketParticipants.Buyer1))
            Assert.IsType<VoucherAcknowledged>(Pay(ChannelOf(due.Participant), due.ToOperator ? _m.Keys[due.Participant] : _m.GridKey, due.Due.MinorUnits, purpose));

        Clock.Advance(Settings.MarketRules.IntervalLength);
        Clock.Advance(DurationMs.FromSeconds(1));
        Ask(new ClearDue(Zone), Regions.Markets);

        AwaitAssert(() => Assert.True(View(interval.Number).Paid), TimeSpan.FromSeconds(20));
        var lines = View(interval.Number).Payments.ToDictionary(p => p.Participant);
        Assert.Equal((nameof(MarketPaymentChannelOfOthers), 0L), (lines[MarketParticipants.Buyer1].RefusalCode, lines[MarketParticipants.Buyer1].Paid.MinorUnits));
        Assert.Equal((nameof(MarketPaymentChannelMissing), 0L), (lines[MarketParticipants.Seller1].RefusalCode, lines[MarketParticipants.Seller1].Paid.MinorUnits));
        Assert.Null(lines[MarketParticipants.Buyer2].RefusalCode);
        Assert.Null(lines[MarketParticipants.Seller2].RefusalCode);
    }

    [Fact]
    public void Readings_signed_by_another_key_or_taken_by_another_meter_count_as_nothing_delivered_and_are_named_on_the_line()
    {
        Onboard();
        var interval = ClearTheBook();
        var proofs = FullDelivery(interval);
        using var thief = DeviceKeyPair.Generate();
        var forged = (Signed<MeterReading>.Sign(new MeterReading(Network, MarketParticipants.Seller1, 1, interval.Start, new EnergyWh(0)), thief),
            Signed<MeterReading>.Sign(new MeterReading(Network, MarketParticipants.Seller1, 2, interval.End, new EnergyWh(3_000)), thief));
        proofs[0] = new DeliveryProof(MarketParticipants.Seller1, MarketSide.Offer, forged.Item1.ToArray(), forged.Item2.ToArray());
        // Seller 2 brings the buyer's meter's readings as its own.
        proofs[1] = proofs[1] with { Start = proofs[2].Start, End = proofs[2].End };

        var settled = Assert.IsType<MarketIntervalSettled>(Ask(new SettleMarketInterval(Zone, interval.Number, MarketParticipants.Grid, proofs), Regions.Markets));

        var seller1 = settled.Lines.Single(l => l.Participant == MarketParticipants.Seller1);
        var seller2 = settled.Lines.Single(l => l.Participant == MarketParticipants.Seller2);
        Assert.Equal(("InvalidSignature", 0L, seller1.Contracted), (seller1.RefusalCode, seller1.Metered.WattHours, seller1.Shortfall));
        Assert.Equal(("ReadingFromWrongMeter", 0L, seller2.Contracted), (seller2.RefusalCode, seller2.Metered.WattHours, seller2.Shortfall));
        Assert.All(settled.Lines.Where(l => l.Side == MarketSide.Bid), l => Assert.Null(l.RefusalCode));
        Assert.Equal(new EnergyWh(4_500), settled.SellersShortfall);
    }

    protected override void Dispose(bool disposing)
    {
        _m.Dispose();
        base.Dispose(disposing);
    }
}

public sealed class MarketTimerTests(ITestOutputHelper output)
    : ClusterTestKit(TestStores.Sqlite(), output, configure: s => s with { MarketClearCheckInterval = TimeSpan.FromMilliseconds(200) })
{
    [Fact]
    public void An_interval_clears_on_the_market_s_own_timer_once_its_gate_has_closed()
    {
        using var m = new MarketParticipants();
        foreach (var step in m.Onboarding(Settings.LedgerShardCount, 10_000, 1_000))
        {
            var region = step switch { AdmitOperator => Regions.Operators, EndorseDevice => Regions.Devices, _ => Regions.Ledger };
            region.Tell(step, TestActor);
            Assert.IsNotType<Refusal>(ExpectMsg<object>(TimeSpan.FromSeconds(15)));
        }
        var zone = MarketParticipants.Zone;
        var interval = MarketInterval.Numbered(zone, MarketInterval.Containing(zone, Clock.Now, Settings.MarketRules.IntervalLength).Number + 1, Settings.MarketRules.IntervalLength);
        foreach (var order in MarketParticipants.Book(interval))
        {
            Regions.Markets.Tell(new SubmitMarketOrder(zone, m.Sign(order).ToArray()), TestActor);
            ExpectMsg<MarketOrderAccepted>(TimeSpan.FromSeconds(15));
        }
        MarketIntervalView View()
        {
            Regions.Markets.Tell(new GetMarketInterval(zone, interval.Number), TestActor);
            return ExpectMsg<MarketIntervalView>(TimeSpan.FromSeconds(15));
        }

        Assert.Equal("open", View().Status);
        Clock.Advance(new DurationMs(interval.Start.UnixMilliseconds - Settings.MarketRules.GateClosure.Milliseconds - Clock.Now.UnixMilliseconds));

        AwaitAssert(() => Assert.Equal("cleared", View().Status), TimeSpan.FromSeconds(10));
        Assert.Equal(new EnergyWh(4_500), View().Volume);
    }
}

public sealed class MarketRecoveryTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static Task<object> AskAsync(IActorRef region, object message) => MarketParticipants.AskAsync(region, message);

    [Fact]
    public async Task A_market_restarted_while_an_interval_waits_for_its_payments_reads_them_again_and_keeps_them_through_its_snapshot()
    {
        using var participants = new MarketParticipants();
        using var nodeKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        // A snapshot after every event: the last start recovers the paid interval from its snapshot alone.
        var settings = MarketParticipants.NodeSettings(clock, nodeKey) with
        {
            MarketSnapshotEveryEvents = 1,
            MarketClearCheckInterval = TimeSpan.FromHours(1),
            MarketWatchInterval = TimeSpan.FromHours(1),
        };
        var store = TestStores.Sqlite();
        var zone = MarketParticipants.Zone;
        var grid = PartyId.From(MarketParticipants.Grid);
        var interval = MarketInterval.Numbered(zone, MarketInterval.Containing(zone, clock.Now, settings.MarketRules.IntervalLength).Number + 1, settings.MarketRules.IntervalLength);
        var purpose = PaymentPurpose.ForMarketInterval(zone.Value, interval.Start.UnixMilliseconds).Unwrap();
        static bool Buys(DeviceId d) => d == MarketParticipants.Buyer1 || d == MarketParticipants.Buyer2;
        static ChannelId ChannelOf(DeviceId d) => ChannelId.Of("market-" + d.Value);
        MarketIntervalSettled settled;

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            await participants.OnboardAsync(node);
            foreach (var d in MarketParticipants.All)
                Assert.IsType<ChannelOpened>(await AskAsync(node.Regions.Channels, new OpenChannel(ChannelOf(d), Buys(d)
                    ? Signing.Opening(ChannelOf(d), PartyId.From(d), grid, 1_000, participants.Keys[d])
                    : Signing.Opening(ChannelOf(d), grid, PartyId.From(d), 400, participants.GridKey))));
            foreach (var order in MarketParticipants.Book(interval))
                Assert.IsType<MarketOrderAccepted>(await AskAsync(node.Regions.Markets, new SubmitMarketOrder(zone, participants.Sign(order).ToArray())));
            clock.Advance(new DurationMs(interval.Start.UnixMilliseconds - clock.Now.UnixMilliseconds));
            Assert.IsType<MarketCleared>(await AskAsync(node.Regions.Markets, new ClearDue(zone)));
            clock.Advance(new DurationMs(interval.End.UnixMilliseconds + 60_000 - clock.Now.UnixMilliseconds));
            var proofs = MarketParticipants.All.Select(d => new DeliveryProof(d, Buys(d) ? MarketSide.Bid : MarketSide.Offer,
                participants.Reading(d, 1, interval.Start, 0).ToArray(), participants.Reading(d, 2, interval.End, 3_000).ToArray(), ChannelOf(d))).ToList();
            settled = Assert.IsType<MarketIntervalSettled>(await AskAsync(node.Regions.Markets, new SettleMarketInterval(zone, interval.Number, MarketParticipants.Grid, proofs)));
            // The buyers pay; the node stops before the operator has paid the sellers.
            foreach (var due in MarketPaymentRules.Due(settled).Where(d => d.ToOperator))
                Assert.IsType<VoucherAcknowledged>(await AskAsync(node.Regions.Channels, new SubmitVoucher(ChannelOf(due.Participant),
                    Signing.Voucher(ChannelOf(due.Participant), 1, due.Due.MinorUnits, due.Due.MinorUnits, participants.Keys[due.Participant], purpose))));
            Assert.False(Assert.IsType<MarketIntervalView>(await AskAsync(node.Regions.Markets, new GetMarketInterval(zone, interval.Number))).Paid);
        }

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            foreach (var due in MarketPaymentRules.Due(settled).Where(d => !d.ToOperator))
                Assert.IsType<VoucherAcknowledged>(await AskAsync(node.Regions.Channels, new SubmitVoucher(ChannelOf(due.Participant),
                    Signing.Voucher(ChannelOf(due.Participant), 1, due.Due.MinorUnits, due.Due.MinorUnits, participants.GridKey, purpose))));
            await AskAsync(node.Regions.Markets, new ClearDue(zone));
            await AwaitAssertAsync(async () =>
                Assert.True(Assert.IsType<MarketIntervalView>(await AskAsync(node.Regions.Markets, new GetMarketInterval(zone, interval.Number))).Paid),
                TimeSpan.FromSeconds(20));
        }

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var view = Assert.IsType<MarketIntervalView>(await AskAsync(node.Regions.Markets, new GetMarketInterval(zone, interval.Number)));
            Assert.True(view.Paid);
            Assert.Empty(view.PaymentRefusals);
            Assert.Equal(MarketPaymentRules.Due(settled).Select(d => (d.Participant, d.Due)), view.Payments.Select(p => (p.Participant, p.Paid)));
        }
    }

    [Fact]
    public async Task A_restarted_market_recovers_its_book_from_a_snapshot_and_events_and_clears_the_same()
    {
        using var participants = new MarketParticipants();
        using var nodeKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        // A snapshot every three events: recovery takes a snapshot and the events after it.
        var settings = MarketParticipants.NodeSettings(clock, nodeKey) with
        {
            MarketSnapshotEveryEvents = 3,
            MarketClearCheckInterval = TimeSpan.FromHours(1),
            MarketWatchInterval = TimeSpan.FromHours(1),
        };
        var store = TestStores.Sqlite();
        var zone = MarketParticipants.Zone;
        var interval = MarketInterval.Numbered(zone, MarketInterval.Containing(zone, clock.Now, settings.MarketRules.IntervalLength).Number + 1, settings.MarketRules.IntervalLength);
        var accepted = new List<AcceptedOrder>();

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            await participants.OnboardAsync(node);
            foreach (var order in MarketParticipants.Book(interval))
            {
                var answer = Assert.IsType<MarketOrderAccepted>(await AskAsync(node.Regions.Markets, new SubmitMarketOrder(zone, participants.Sign(order).ToArray())));
                accepted.Add(new AcceptedOrder(order, answer.Sequence));
            }
        }

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var open = Assert.IsType<MarketIntervalView>(await AskAsync(node.Regions.Markets, new GetMarketInterval(zone, interval.Number)));
            Assert.Equal((2, 2), (open.Bids.Orders, open.Offers.Orders));
            var duplicate = Assert.IsType<Refusal>(await AskAsync(node.Regions.Markets, new SubmitMarketOrder(zone, participants.Sign(MarketParticipants.Book(interval)[1]).ToArray())));
            Assert.IsType<DuplicateOrder>(duplicate.Error);
            clock.Advance(new DurationMs(interval.Start.UnixMilliseconds - clock.Now.UnixMilliseconds));
            Assert.IsType<MarketCleared>(await AskAsync(node.Regions.Markets, new ClearDue(zone)));
            var cleared = Assert.IsType<MarketIntervalView>(await AskAsync(node.Regions.Markets, new GetMarketInterval(zone, interval.Number)));
            var expected = MarketClearing.Clear(accepted, Currency.Eur);
            Assert.Equal((expected.Price, expected.Volume, expected.Fills.Length), (cleared.Price, cleared.Volume, cleared.Fills));
        }

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var again = Assert.IsType<MarketIntervalView>(await AskAsync(node.Regions.Markets, new GetMarketInterval(zone, interval.Number)));
            var expected = MarketClearing.Clear(accepted, Currency.Eur);
            Assert.Equal(("cleared", expected.Price, expected.Volume), (again.Status, again.Price, again.Volume));
        }
    }
}
