using System.Globalization;
using System.Text.Json;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Agents;

/// <summary>
/// Homes trading in their grid zones' markets. In every zone half the homes have solar and offer their surplus, the
/// others bid for energy; each meter signs its orders for the coming intervals. Once an interval clears, each meter
/// reads its own fills, feeds in (or takes) what it was filled at, and signs its register at the interval's start and
/// end; one seller per zone falls short every other interval. Money moves over payment channels: each home keeps one
/// streaming channel with the grid operator (the market's central counterparty), a buyer paying the operator and the operator
/// paying a seller, and every voucher names the zone and interval it pays. A buyer pays its fills once the interval clears;
/// the grid operator settles each interval against the readings, then pays each seller what delivery earned it (and a buyer
/// pays what it still owes). At the end every channel closes to the ledger and the trading checks that value is conserved:
/// every settlement's sums add up, each interval was paid in full over the channels, each home's account moved by exactly
/// what its settlement lines say and the operator's by what it kept, so that together they add up to nothing.
/// </summary>
public sealed class ZoneMarketTrading(NodeClient node, NetworkId network, Currency currency, Action<string> report)
{
    /// <summary>What each home is funded with, in minor units: far above what it can owe in a few intervals.</summary>
    public const long HomeFunds = 100_000;

    /// <summary>What a buyer locks in its channel to the grid operator, and the operator in its channel to each seller, in minor units.</summary>
    public const long ChannelDeposit = 50_000;

    /// <summary>How long the trading waits for a market to clear, or for the ledger to pay a settled interval, past when it should.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public sealed record Options(int Zones, int HomesPerZone, int Intervals, DurationMs IntervalLength, DurationMs GateClosure, string Prefix = "");

    public sealed record Outcome(int Intervals, int Fills, long TradedWh, long BuyersPaidMinorUnits, long SellersReceivedMinorUnits, long ImbalanceChargesMinorUnits,
        long ImbalanceWh, int Errors, bool Conserved)
    {
        public string Describe(Currency currency) => string.Create(CultureInfo.InvariantCulture,
            $"{Intervals} market intervals settled, {Fills} fills, {TradedWh / 1000.0:0.0} kWh traded, buyers paid {BuyersPaidMinorUnits / 100.0:0.00} {currency}, " +
            $"sellers received {SellersReceivedMinorUnits / 100.0:0.00}, imbalance {ImbalanceWh} Wh charged {ImbalanceChargesMinorUnits / 100.0:0.00}; " +
            $"market value {(Conserved ? "conserved" : "NOT conserved")}");
    }

    private sealed record Participant(HomeAgent Home, MarketSide Side, ZoneId Zone, int Index)
    {
        /// <summary>The home's channel with the grid operator: the home pays on it as a buyer, the operator pays it as a seller.</summary>
        public MarketChannel Channel { get; init; } = null!;
    }

    private sealed class Totals
    {
        public int Intervals, Fills, Errors;
        public long TradedWh, BuyersPaid, SellersReceived, Charges, ImbalanceWh;
        public bool Conserved = true;
        public readonly Dictionary<DeviceId, long> Expected = [];
        public readonly List<(ZoneId Zone, long Start)> Settled = [];
    }

    public async Task<Outcome> RunAsync(string run, Options options, OperatorAgent grid, OperatorAgent bank, CancellationToken token)
    {
        if (options.Zones < 1 || options.HomesPerZone < 2 || options.Intervals < 1) return new Outcome(0, 0, 0, 0, 0, 0, 0, 0, true);
        var zones = Enumerable.Range(1, options.Zones).Select(z => ZoneId.Of($"zone-{options.Prefix}{z}")).ToList();
        var participants = zones.SelectMany(zone => Enumerable.Range(1, options.HomesPerZone).Select(i =>
            Join(new HomeAgent(network, DeviceId.Of($"home-{run}-{zone.Value}-{i}")), i % 2 == 1 ? MarketSide.Offer : MarketSide.Bid, zone, i, grid))).ToList();
        var totals = new Totals();
        try
        {
            await Parallel.ForEachAsync(participants, token, async (p, _) =>
            {
                await grid.EndorseAsync(p.Home.Id, DeviceRole.Meter, p.Home.PublicKey);
                await bank.FundAsync(p.Home.Party, new Money(HomeFunds, currency), $"fund-{p.Home.Id}");
            });
            var sellers = participants.Count(p => p.Side == MarketSide.Offer);
            await bank.FundAsync(grid.Party, new Money(ChannelDeposit * sellers, currency), $"fund-market-{run}-{grid.Id}");
            var before = await BalancesAsync(grid, participants);
            await Parallel.ForEachAsync(participants, token, async (p, _) => await p.Channel.OpenAsync(node));
            var length = options.IntervalLength.Milliseconds;
            var first = (Now() + options.GateClosure.Milliseconds + 2_000 + length - 1) / length;
            var intervals = Enumerable.Range(0, options.Intervals).Select(k => first + k).ToList();
            await PlaceOrdersAsync(participants, intervals, options, totals, token);
            report($"{participants.Count} homes in {zones.Count} zones placed their orders for {intervals.Count} market intervals of {length / 1000.0:0.#} s");

            var boundary = new Dictionary<DeviceId, (long At, byte[] Reading)>();
            foreach (var number in intervals)
                await TradeIntervalAsync(grid, participants, zones, number, options, boundary, totals, token);
            await CheckAsync(grid, participants, before, totals, token);
        }
        catch (Exception e) when (e is NodeClient.NodeRefusedException or TimeoutException or HttpRequestException)
        {
            totals.Errors++;
            report($"  market: {e.Message}");
        }
        finally
        {
            foreach (var p in participants)
            {
                p.Home.Dispose();
                p.Channel.Dispose();
            }
        }
        return new Outcome(totals.Intervals, totals.Fills, totals.TradedWh, totals.BuyersPaid, totals.SellersReceived, totals.Charges, totals.ImbalanceWh,
            totals.Errors, totals.Conserved);
    }

    /// <summary>A home in a zone, with its channel with the grid operator (not open yet): the buyer's key or the operator's signs its vouchers.</summary>
    private Participant Join(HomeAgent home, MarketSide side, ZoneId zone, int index, OperatorAgent grid)
    {
        // Named after the home, one character shorter than its id ("home-" becomes "mkt-"): it fits wherever the id does.
        var channel = ChannelId.Of("mkt-" + home.Id.Value["home-".Length..]);
        var deposit = new Money(ChannelDeposit, currency);
        return new Participant(home, side, zone, index)
        {
            Channel = side == MarketSide.Bid
                ? new MarketChannel(network, channel, home.Party, grid.Party, deposit, home.Sign)
                : new MarketChannel(network, channel, grid.Party, home.Party, deposit, grid.Sign),
        };
    }

    private static PaymentPurpose PurposeOf(ZoneId zone, long start) => PaymentPurpose.ForMarketInterval(zone.Value, start).Unwrap();

    /// <summary>Each home signs one order per interval: sellers ask 80 to 100 per kWh for 1 to 1.75 kWh, buyers bid 110 to 140 for 0.8 to 1.7 kWh.</summary>
    private async Task PlaceOrdersAsync(List<Participant> participants, List<long> intervals, Options options, Totals totals, CancellationToken token)
    {
        var orders = participants.SelectMany(p => intervals.Select((number, k) => (p, number, k))).ToList();
        await Parallel.ForEachAsync(orders, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = token }, async (o, _) =>
        {
            var interval = MarketInterval.Numbered(o.p.Zone, o.number, options.IntervalLength);
            var step = o.p.Index + o.k;
            var order = o.p.Side == MarketSide.Offer
                ? o.p.Home.Order(interval, MarketSide.Offer, 1, 1_000 + 250 * (step % 4), 80 + 10 * (step % 3), currency)
                : o.p.Home.Order(interval, MarketSide.Bid, 1, 800 + 300 * (step % 4), 110 + 15 * (step % 3), currency);
            try { await node.SubmitMarketOrderAsync(o.p.Zone.Value, order.ToArray()); }
            catch (NodeClient.NodeRefusedException refused)
            {
                Interlocked.Increment(ref totals.Errors);
                report($"  order of {o.p.Home.Id} for interval {o.number}: {refused.Message}");
            }
        });
    }

    /// <summary>
    /// One interval in every zone: fills read once it clears (each buyer pays its fills then, over its channel), energy metered
    /// and signed at its start and end, then settled; once settled the operator pays the sellers and buyers pay what they still owe.
    /// </summary>
    private async Task TradeIntervalAsync(OperatorAgent grid, List<Participant> participants, List<ZoneId> zones, long number, Options options,
        Dictionary<DeviceId, (long At, byte[] Reading)> boundary, Totals totals, CancellationToken token)
    {
        var length = options.IntervalLength.Milliseconds;
        var start = number * length;
        var end = start + length;
        foreach (var zone in zones) await ClearedAsync(grid, zone, start, token);
        var filled = new Dictionary<DeviceId, long>();
        foreach (var p in participants)
        {
            var own = await p.Home.Reading(node).MarketIntervalAsync(p.Zone.Value, start);
            var fills = own.GetProperty("fills").EnumerateArray().ToList();
            filled[p.Home.Id] = fills.Sum(f => f.GetProperty("quantity").GetInt64());
            // A buyer pays its cleared energy at once, with a voucher naming the zone and the interval.
            if (p.Side == MarketSide.Bid)
                await p.Channel.PayAsync(node, PurposeOf(p.Zone, start), new Money(fills.Sum(f => Minor(f.GetProperty("amount"))), currency));
        }
        await UntilAsync(start, token);
        var starts = participants.ToDictionary(p => p.Home.Id, p => boundary.TryGetValue(p.Home.Id, out var last) && last.At == start
            ? last.Reading
            : p.Home.RegisterAt(p.Side, new Timestamp(start)).ToArray());
        foreach (var p in participants)
        {
            // The first seller of each zone falls a quarter short every other interval: the zone's imbalance.
            var shortfall = p.Side == MarketSide.Offer && p.Index == 1 && number % 2 == 1 ? filled[p.Home.Id] / 4 : 0;
            p.Home.Meter(p.Side, filled[p.Home.Id] - shortfall);
        }
        await UntilAsync(end, token);
        foreach (var p in participants) boundary[p.Home.Id] = (end, p.Home.RegisterAt(p.Side, new Timestamp(end)).ToArray());
        foreach (var zone in zones)
        {
            var evidence = participants.Where(p => p.Zone == zone && filled[p.Home.Id] > 0).Select(p => new
            {
                participant = p.Home.Id.Value,
                side = p.Side == MarketSide.Offer ? "offer" : "bid",
                start = Convert.ToBase64String(starts[p.Home.Id]),
                end = Convert.ToBase64String(boundary[p.Home.Id].Reading),
                channel = p.Channel.Id.Value,
            }).ToList();
            if (evidence.Count == 0) continue;
            var settled = await grid.Node.SettleMarketIntervalAsync(zone.Value, start, new { evidence });
            Count(settled, totals);
            totals.Settled.Add((zone, start));
            await PayAfterSettlementAsync(participants.Where(p => p.Zone == zone).ToDictionary(p => p.Home.Id), settled, PurposeOf(zone, start), totals);
        }
    }

    /// <summary>
    /// Delivery proved, the grid operator pays each seller its energy less its charge over its channel, and each buyer pays what
    /// it owes beyond what it paid already (an imbalance charge). A seller whose charge exceeds its energy would owe the
    /// operator, over a channel of its own this scenario does not open: that is reported, and the interval is named short.
    /// </summary>
    private async Task PayAfterSettlementAsync(Dictionary<DeviceId, Participant> zone, JsonElement settled, PaymentPurpose purpose, Totals totals)
    {
        foreach (var line in settled.GetProperty("lines").EnumerateArray())
        {
            var p = zone[DeviceId.Of(line.GetProperty("participant").GetString()!)];
            var energy = Minor(line.GetProperty("energyAmount"));
            var charge = Minor(line.GetProperty("imbalanceCharge"));
            var due = p.Side == MarketSide.Bid ? energy + charge : energy - charge;
            var remaining = due - p.Channel.PaidFor(purpose).MinorUnits;
            if (p.Side == MarketSide.Offer && due < 0)
            {
                totals.Errors++;
                report($"  market: {p.Home.Id} owes the operator {-due} for {purpose} and has no channel to pay it on");
                continue;
            }
            if (remaining > 0) await p.Channel.PayAsync(node, purpose, new Money(remaining, currency));
        }
    }

    /// <summary>Adds a settlement to the totals and to each participant's expected account movement; checks that its sums add up.</summary>
    private void Count(JsonElement settled, Totals totals)
    {
        long buyers = 0, sellers = 0, charges = 0;
        foreach (var line in settled.GetProperty("lines").EnumerateArray())
        {
            var participant = DeviceId.Of(line.GetProperty("participant").GetString()!);
            var energy = Minor(line.GetProperty("energyAmount"));
            var charge = Minor(line.GetProperty("imbalanceCharge"));
            var offer = line.GetProperty("side").GetString() == "offer";
            if (offer) sellers += energy;
            else buyers += energy;
            charges += charge;
            totals.Expected[participant] = totals.Expected.GetValueOrDefault(participant) + (offer ? energy - charge : -energy - charge);
            totals.TradedWh += offer ? line.GetProperty("contracted").GetInt64() : 0;
            totals.Fills++;
        }
        var kept = Minor(settled.GetProperty("operatorBalance"));
        if (buyers != Minor(settled.GetProperty("buyersPay")) || sellers != Minor(settled.GetProperty("sellersReceive"))
            || charges != Minor(settled.GetProperty("imbalanceCharges")) || buyers + charges - sellers != kept)
        {
            totals.Conserved = false;
            report($"  market: the settlement of interval {settled.GetProperty("interval").GetInt64()} does not add up: {settled}");
        }
        totals.Intervals++;
        totals.BuyersPaid += buyers;
        totals.SellersReceived += sellers;
        totals.Charges += charges;
        totals.ImbalanceWh += Math.Abs(settled.GetProperty("zoneImbalance").GetInt64());
        totals.Expected[Operator] = totals.Expected.GetValueOrDefault(Operator) + kept;
    }

    /// <summary>Stands for the grid operator among the expected movements: what it kept of every settlement.</summary>
    private static readonly DeviceId Operator = DeviceId.Of("the-grid-operator");

    /// <summary>
    /// Once every settled interval is paid in full over the channels and every channel has closed to the ledger: each home's
    /// account moved by exactly its settlement lines, the operator's by what it kept, and together by nothing.
    /// </summary>
    private async Task CheckAsync(OperatorAgent grid, List<Participant> participants, Dictionary<DeviceId, long> before, Totals totals, CancellationToken token)
    {
        foreach (var (zone, start) in totals.Settled)
        {
            var deadline = DateTime.UtcNow + Patience;
            JsonElement view;
            while (!(view = await grid.Node.MarketIntervalAsync(zone.Value, start)).GetProperty("paid").GetBoolean())
            {
                if (DateTime.UtcNow > deadline) { totals.Conserved = false; report($"  market: interval {start} of {zone} was not paid within {Patience}"); return; }
                await Task.Delay(200, token);
            }
            if (view.TryGetProperty("paymentRefusals", out var refusals) && refusals.GetArrayLength() > 0)
            {
                totals.Conserved = false;
                report($"  market: interval {start} of {zone} was not paid in full: {refusals}");
            }
        }
        // The payee closes each channel (it settles at once): the grid operator a buyer's, a seller its own.
        await Parallel.ForEachAsync(participants, token, async (p, _) =>
        {
            if (p.Side == MarketSide.Bid) await grid.CloseChannelAsync(p.Channel.Id);
            else await p.Home.CloseChannelAsync(node, p.Channel.Id);
        });
        var after = await BalancesAsync(grid, participants);
        long moved = 0;
        foreach (var p in participants)
        {
            var delta = after[p.Home.Id] - before[p.Home.Id];
            moved += delta;
            if (delta == totals.Expected.GetValueOrDefault(p.Home.Id)) continue;
            totals.Conserved = false;
            report($"  market: {p.Home.Id}'s account moved by {delta}, its settlement lines say {totals.Expected.GetValueOrDefault(p.Home.Id)}");
        }
        if (moved + totals.Expected.GetValueOrDefault(Operator) != 0)
        {
            totals.Conserved = false;
            report($"  market: the homes' accounts moved by {moved} and the operator kept {totals.Expected.GetValueOrDefault(Operator)}: value not conserved");
        }
        var operatorMoved = after[Operator] - before[Operator];
        if (operatorMoved != totals.Expected.GetValueOrDefault(Operator))
        {
            totals.Conserved = false;
            report($"  market: the grid operator's account moved by {operatorMoved}, it kept {totals.Expected.GetValueOrDefault(Operator)} of the settlements");
        }
    }

    private static async Task<Dictionary<DeviceId, long>> BalancesAsync(OperatorAgent grid, List<Participant> participants)
    {
        var balances = new Dictionary<DeviceId, long>();
        foreach (var p in participants) balances[p.Home.Id] = Minor((await grid.Node.AccountAsync(p.Home.Party.Value)).GetProperty("balance"));
        balances[Operator] = Minor((await grid.Node.AccountAsync(grid.Party.Value)).GetProperty("balance"));
        return balances;
    }

    /// <summary>Waits until the zone's market has cleared the interval (its own timer clears it at gate closure).</summary>
    private static async Task ClearedAsync(OperatorAgent grid, ZoneId zone, long start, CancellationToken token)
    {
        var deadline = DateTime.UtcNow + Patience + TimeSpan.FromMilliseconds(Math.Max(0, start - Now()));
        while ((await grid.Node.MarketIntervalAsync(zone.Value, start)).GetProperty("status").GetString() == "open")
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the market of {zone} did not clear interval {start} in time");
            await Task.Delay(200, token);
        }
    }

    /// <summary>A meter signs its register at an instant once that instant has passed, never ahead of it.</summary>
    private static async Task UntilAsync(long unixMs, CancellationToken token)
    {
        var wait = unixMs - Now() + 5;
        if (wait > 0) await Task.Delay(TimeSpan.FromMilliseconds(wait), token);
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static long Minor(JsonElement money) => money.GetProperty("minorUnits").GetInt64();
}
