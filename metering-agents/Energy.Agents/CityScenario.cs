using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Tolls;
using Energy.Wire;

namespace Energy.Agents;

/// <summary>
/// A city against a running network. A charge point operator with its chargers, a toll operator with
/// the gantries of a ring road, a fleet owner with its vehicles, a grid operator with the homes' meters:
/// each device holds its own key and reaches the network through the gateway (a roadside box carries
/// ten gantries or chargers, or fifty vehicles, on one connection). Every vehicle drives the ring road,
/// paying each gantry's toll, then charges at the next free charger, paying per signed reading. Homes
/// trade in pairs: one sells its solar surplus to its neighbour over a duplex channel. With a market interval set,
/// more homes trade in their zones' markets meanwhile (<see cref="ZoneMarketTrading"/>), settled by the grid operator
/// and checked for conserved value. At the end the operators close the channels and are settled on the ledger.
/// </summary>
public sealed class CityScenario(NodeClient node, NetworkAuthorityAgent authority, Uri nodeUri, NetworkId network, Currency currency, Action<string> report)
{
    /// <summary>Metres between gantries on the ring road at the default pace of one gantry a second: about 72 km/h.</summary>
    public const long GantrySpacingMetres = 20;

    /// <summary>Gantries stand closer when vehicles pass them faster, so that the vehicles still drive at about 72 km/h.</summary>
    private static long Spacing(Options o) =>
        o.GantryInterval > TimeSpan.Zero ? Math.Max(1, (long)(GantrySpacingMetres * o.GantryInterval.TotalMilliseconds / 1000)) : GantrySpacingMetres;

    public sealed record Options(int Vehicles = 20, int Chargers = 5, int Gantries = 0, int Homes = 0, int SessionsPerVehicle = 1, int Readings = 30,
        long WhPerReading = 500, long PricePerKwh = 35, long Credit = 60, TimeSpan ReadingInterval = default, TimeSpan GantryInterval = default,
        string Prefix = "")
    {
        /// <summary>The node's market interval in ms (its Energy:Market:IntervalMs); 0: the homes do not trade in zone markets.</summary>
        public long MarketIntervalMs { get; init; }

        /// <summary>The node's gate closure in ms (its Energy:Market:GateClosureMs).</summary>
        public long MarketGateClosureMs { get; init; } = 1_000;

        public int MarketZones { get; init; } = 2;

        /// <summary>Homes in each zone's market: half of them with solar, offering; the others bidding.</summary>
        public int MarketHomesPerZone { get; init; } = 4;

        public int MarketIntervals { get; init; } = 3;
    }

    public sealed record Summary(int Sessions, long EnergyWh, int Payments, long CostMinorUnits, long PaidMinorUnits, long SettledMinorUnits,
        int Suspensions, int Trades, long TradedWh, long TradedMinorUnits, int TollPasses, int TollsPaid, int TollViolations, long TollsPaidMinorUnits, long TollsSettledMinorUnits,
        int Errors, TimeSpan Elapsed)
    {
        /// <summary>The homes' trading in the zone markets, when they traded there.</summary>
        public ZoneMarketTrading.Outcome? Market { get; init; }

        public string Describe(Currency currency) => (Market is { } market ? market.Describe(currency) + "; " : "") + string.Create(CultureInfo.InvariantCulture,
            $"{Sessions} sessions, {EnergyWh / 1000.0:0.0} kWh, {Payments} payments, cost {CostMinorUnits / 100.0:0.00} {currency}, paid {PaidMinorUnits / 100.0:0.00}, " +
            $"settled to the charge point operator {SettledMinorUnits / 100.0:0.00} {currency}, {Suspensions} suspensions; " +
            $"{TollPasses} gantry passes, {TollsPaid} tolls paid ({TollsPaidMinorUnits / 100.0:0.00} {currency}), {TollViolations} violations, {TollsSettledMinorUnits / 100.0:0.00} {currency} settled to the toll operator; " +
            $"{Trades} neighbour trades, {TradedWh / 1000.0:0.0} kWh for {TradedMinorUnits / 100.0:0.00} {currency}; {Errors} errors, in {Elapsed.TotalSeconds:0.0} s");
    }

    private sealed class Tally
    {
        public int Sessions;
        public long Energy, Cost, Paid;
        public int Trades;
        public long TradedWh, TradedValue;
        public int Passes, TollsPaid, Violations;
        public long TollValue;
        public int Errors;
    }

    /// <summary>What the city's settlement bank may issue in all, in minor units.</summary>
    public const long IssuanceLimit = 1_000_000_000_000;

    /// <summary>Runs the city; <paramref name="gridOperator"/>, when given, is an already registered grid operator the homes belong to.</summary>
    public async Task<Summary> RunAsync(Options options, CancellationToken token, OperatorAgent? gridOperator = null, OperatorAgent? chargePointOperator = null)
    {
        var clock = Stopwatch.StartNew();
        var run = options.Prefix + Guid.NewGuid().ToString("N")[..8];
        using var ownCpo = chargePointOperator is null ? new OperatorAgent(node, network, OperatorId.Of($"cpo-{run}")) : null;
        var cpo = chargePointOperator ?? ownCpo!;
        using var tolls = new OperatorAgent(node, network, OperatorId.Of($"tolls-{run}"));
        using var fleet = new OperatorAgent(node, network, OperatorId.Of($"fleet-{run}"));
        using var ownGrid = gridOperator is null ? new OperatorAgent(node, network, OperatorId.Of($"grid-{run}")) : null;
        var grid = gridOperator ?? ownGrid!;
        using var bank = new OperatorAgent(node, network, OperatorId.Of($"bank-{run}"));
        // The consortium's governance admits every operator; only the settlement bank issues money, within its limit.
        if (ownCpo is not null) await ownCpo.AdmitAsync(authority, OperatorRoles.ChargePointOperator);
        await tolls.AdmitAsync(authority, OperatorRoles.TollOperator);
        await fleet.AdmitAsync(authority, OperatorRoles.FleetOwner);
        if (ownGrid is not null) await ownGrid.AdmitAsync(authority, OperatorRoles.GridOperator);
        await bank.AdmitAsync(authority, OperatorRoles.SettlementBank, new Money(IssuanceLimit, currency));
        report($"operators {cpo.Id}, {tolls.Id}, {fleet.Id}, {grid.Id} and settlement bank {bank.Id} admitted");

        // Chargers stand in the same zones as the ring road's gantries (three to a zone).
        var chargers = Enumerable.Range(1, options.Chargers)
            .Select(i => new ChargerAgent(network, DeviceId.Of($"charger-{run}-{i}"), currency, 1_000_000) { Zone = $"zone-{(i - 1) % 3 + 1}" }).ToList();
        var gantries = Enumerable.Range(1, options.Gantries).Select(i => new GantryAgent(network, DeviceId.Of($"gantry-{run}-{i}"), currency)).ToList();
        var vehicles = Enumerable.Range(1, options.Vehicles).Select(i => new VehicleAgent(network, DeviceId.Of($"vehicle-{run}-{i}"))).ToList();
        var homes = Enumerable.Range(1, options.Homes).Select(i => new HomeAgent(network, DeviceId.Of($"home-{run}-{i}"))).ToList();
        var connections = new List<GatewayClient>();
        var tally = new Tally();
        try
        {
            var chargingDeposit = new Money(checked(options.SessionsPerVehicle * ChargingCost(options) * 2 + 1_000), currency);
            var tollDeposit = new Money(checked(Math.Max(1, options.Gantries) * 400L + 1_000), currency);
            var homeDeposit = new Money(10_000, currency);
            await Parallel.ForEachAsync(chargers, token, async (c, _) => await cpo.EndorseAsync(c.Id, DeviceRole.Charger, c.PublicKey));
            await Parallel.ForEachAsync(gantries.Select((g, i) => (g, i)), token, async (entry, _) =>
            {
                await tolls.EndorseAsync(entry.g.Id, DeviceRole.Gantry, entry.g.PublicKey);
                await tolls.SetTariffAsync(RingRoadTariff(tolls.Id, entry.g.Id, entry.i, options.Vehicles, Spacing(options)));
            });
            await Parallel.ForEachAsync(vehicles, token, async (v, _) =>
            {
                await fleet.EndorseAsync(v.Id, DeviceRole.Vehicle, v.PublicKey);
                await bank.FundAsync(v.Party, chargingDeposit.Add(tollDeposit).Unwrap(), $"fund-{v.Id}");
                await v.OpenChannelAsync(node, ChannelId.Of($"ch-{v.Id}"), cpo.Party, chargingDeposit, DurationMs.FromSeconds(60));
                if (gantries.Count > 0) await v.OpenChannelAsync(node, ChannelId.Of($"toll-{v.Id}"), tolls.Party, tollDeposit, DurationMs.FromSeconds(60));
            });
            await Parallel.ForEachAsync(homes, token, async (h, _) =>
            {
                await grid.EndorseAsync(h.Id, DeviceRole.Meter, h.PublicKey);
                await bank.FundAsync(h.Party, homeDeposit, $"fund-{h.Id}");
            });
            report($"{chargers.Count} chargers, {gantries.Count} gantries, {vehicles.Count} vehicles and {homes.Count} homes registered, funded, channels open");

            foreach (var group in chargers.Chunk(10).Cast<IEnumerable<object>>().Concat(gantries.Chunk(10)).Concat(vehicles.Chunk(50)))
            {
                var gateway = await GatewayClient.ConnectAsync(nodeUri, token);
                connections.Add(gateway);
                foreach (var device in group)
                {
                    var connecting = device switch
                    {
                        ChargerAgent c => c.ConnectAsync(gateway),
                        GantryAgent g => g.ConnectAsync(gateway),
                        _ => ((VehicleAgent)device).ConnectAsync(gateway),
                    };
                    await connecting;
                }
            }
            report($"{connections.Count} gateway connections, every device authenticated by its own key");

            var total = options.Vehicles * options.SessionsPerVehicle;
            using var progress = new Timer(_ => report(string.Create(CultureInfo.InvariantCulture,
                $"  {Volatile.Read(ref tally.Passes),5} passes {Volatile.Read(ref tally.TollsPaid),5} tolls paid  {Volatile.Read(ref tally.Sessions),4}/{total} sessions  " +
                $"{Interlocked.Read(ref tally.Energy) / 1000.0,7:0.0} kWh  {vehicles.Sum(v => v.Payments),6} payments  {Interlocked.Read(ref tally.Paid) / 100.0,8:0.00} {currency} paid")),
                null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

            var trading = TradeAsync(homes, options, homeDeposit, tally, token);
            var marketTrading = options.MarketIntervalMs > 0
                ? new ZoneMarketTrading(node, network, currency, report).RunAsync(run, new ZoneMarketTrading.Options(options.MarketZones, options.MarketHomesPerZone,
                    options.MarketIntervals, new DurationMs(options.MarketIntervalMs), new DurationMs(options.MarketGateClosureMs), options.Prefix), grid, bank, token)
                : Task.FromResult<ZoneMarketTrading.Outcome?>(null)!;
            // Vehicles drive the ring road, then queue for a charger.
            var arrivals = Channel.CreateBounded<VehicleAgent>(Math.Max(1, total));
            var driving = Task.WhenAll(vehicles.Select((v, i) => DriveAsync(v, i, gantries, options, arrivals.Writer, tally, token)))
                .ContinueWith(_ => arrivals.Writer.TryComplete(), TaskScheduler.Default);
            await Task.WhenAll(chargers.Select(c => ChargeAsync(c, arrivals.Reader, options, tally, token)));
            await driving;
            await trading;
            var market = await marketTrading;

            var settled = await CloseAsync(cpo, vehicles, tally);
            var tollsSettled = gantries.Count > 0 ? await CloseAsync(tolls, vehicles, tally) : 0;
            // A market whose value is not conserved is an error of the round, as much as a refusal.
            var errors = tally.Errors + vehicles.Sum(v => v.Refusals.Count) + chargers.Sum(c => c.Refusals.Count)
                + (market is null ? 0 : market.Errors + (market.Conserved ? 0 : 1));
            return new Summary(tally.Sessions, tally.Energy, vehicles.Sum(v => v.Payments), tally.Cost, tally.Paid, settled, chargers.Sum(c => c.Suspensions),
                tally.Trades, tally.TradedWh, tally.TradedValue, tally.Passes, tally.TollsPaid, tally.Violations, tally.TollValue, tollsSettled, errors, clock.Elapsed)
            {
                Market = market,
            };
        }
        finally
        {
            foreach (var connection in connections) await connection.DisposeAsync();
            foreach (var d in chargers.Cast<IDisposable>().Concat(gantries).Concat(vehicles).Concat(homes)) d.Dispose();
        }
    }

    /// <summary>Ring road gantries, <see cref="GantrySpacingMetres"/> apart, three to a zone; day and night bands; congestion above half the fleet.</summary>
    private GantryTariff RingRoadTariff(OperatorId tolls, DeviceId gantry, int index, int vehicles, long spacing) =>
        new(network, tolls, gantry, SegmentId.Of($"ring-{index + 1}"), SegmentId.Of($"zone-{index / 3 + 1}"), index * spacing, 0, 1, currency,
            [new TollBand(0, 60), new TollBand(7 * 60, 150), new TollBand(19 * 60, 90)], Math.Max(5, vehicles / 2), 10, 200);

    private async Task DriveAsync(VehicleAgent vehicle, int index, List<GantryAgent> gantries, Options options, ChannelWriter<VehicleAgent> arrivals,
        Tally tally, CancellationToken token)
    {
        var interval = options.GantryInterval > TimeSpan.Zero ? options.GantryInterval : TimeSpan.FromSeconds(1);
        if (gantries.Count > 0)
        {
            // Vehicles enter the ring a tenth of a second apart; each then passes one gantry per interval (driving, not waiting on the network).
            await Task.Delay(TimeSpan.FromMilliseconds(100 * (index % 20)), token);
            foreach (var gantry in gantries)
            {
                try
                {
                    var outcome = await gantry.PassAsync(vehicle.Id);
                    Interlocked.Increment(ref tally.Passes);
                    if (outcome.Paid)
                    {
                        Interlocked.Increment(ref tally.TollsPaid);
                        Interlocked.Add(ref tally.TollValue, outcome.PaidMinorUnits);
                    }
                    else Interlocked.Increment(ref tally.Violations);
                }
                catch (Exception e) when (e is GatewayRefusedException or TimeoutException)
                {
                    Interlocked.Increment(ref tally.Errors);
                    report($"  pass of {vehicle.Id} at {gantry.Id}: {e.Message}");
                }
                await Task.Delay(interval, token);
            }
        }
        for (var s = 0; s < options.SessionsPerVehicle; s++) await arrivals.WriteAsync(vehicle, token);
    }

    private async Task ChargeAsync(ChargerAgent charger, ChannelReader<VehicleAgent> arrivals, Options options, Tally tally, CancellationToken token)
    {
        var n = 0;
        await foreach (var vehicle in arrivals.ReadAllAsync(token))
        {
            var session = SessionId.Of($"{charger.Id}.{++n}");
            vehicle.PlugInto(charger.Id);
            try
            {
                var record = await charger.ChargeAsync(session, vehicle.Id, options.Readings, options.WhPerReading, options.PricePerKwh, options.Credit,
                    options.ReadingInterval, token);
                var completed = WireJson.Read<SessionCompletedEvent>(record);
                Interlocked.Add(ref tally.Energy, completed.EnergyWh);
                Interlocked.Add(ref tally.Cost, completed.Cost.MinorUnits);
                Interlocked.Add(ref tally.Paid, completed.Paid.MinorUnits);
                Interlocked.Increment(ref tally.Sessions);
            }
            catch (Exception e) when (e is GatewayRefusedException or TimeoutException)
            {
                Interlocked.Increment(ref tally.Errors);
                report($"  session {session}: {e.Message}");
            }
            finally
            {
                vehicle.Unplug();
            }
        }
    }

    private async Task TradeAsync(List<HomeAgent> homes, Options options, Money deposit, Tally tally, CancellationToken token)
    {
        await Task.WhenAll(homes.Chunk(2).Where(pair => pair.Length == 2).Select(async pair =>
        {
            try
            {
                var (wh, value) = await pair[0].SellAsync(node, pair[1], ChannelId.Of($"trade-{pair[0].Id}"), options.Readings, options.WhPerReading,
                    new Money(Math.Max(0, options.PricePerKwh - 10), currency), deposit, token);
                Interlocked.Increment(ref tally.Trades);
                Interlocked.Add(ref tally.TradedWh, wh);
                Interlocked.Add(ref tally.TradedValue, value);
            }
            catch (NodeClient.NodeRefusedException refused)
            {
                Interlocked.Increment(ref tally.Errors);
                report($"  trade {pair[0].Id}: {refused.Message}");
            }
        }));
    }

    /// <summary>The operator closes every vehicle's channel to it; returns what the ledger paid the operator.</summary>
    private async Task<long> CloseAsync(OperatorAgent payee, List<VehicleAgent> vehicles, Tally tally)
    {
        long settled = 0;
        await Parallel.ForEachAsync(vehicles.Where(v => v.ChannelTo(payee.Party) is not null), async (v, _) =>
        {
            try
            {
                var result = await payee.CloseChannelAsync(v.ChannelTo(payee.Party)!.Id);
                foreach (var payout in result.GetProperty("payouts").EnumerateArray())
                {
                    if (payout.GetProperty("account").GetString() == payee.Party.Value) Interlocked.Add(ref settled, Minor(payout.GetProperty("amount")));
                }
            }
            catch (NodeClient.NodeRefusedException refused)
            {
                Interlocked.Increment(ref tally.Errors);
                report($"  closing {v.Id}'s channel to {payee.Id}: {refused.Message}");
            }
        });
        return settled;
    }

    private static long Minor(JsonElement money) => money.GetProperty("minorUnits").GetInt64();

    private static long ChargingCost(Options o) =>
        new EnergyWh(o.Readings * o.WhPerReading).PriceAt(new Tariff(new Money(o.PricePerKwh, Currency.Eur))).Unwrap().MinorUnits;
}
