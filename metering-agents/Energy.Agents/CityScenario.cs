using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Agents;

/// <summary>
/// A city against a running network: a charge point operator with its chargers, a fleet owner with its
/// vehicles, each device holding its own key and reaching the network through the gateway (chargers
/// share one gateway connection per ten, vehicles one per fifty, as a roadside box would carry
/// constrained devices). Every vehicle charges at the next free charger, paying per signed reading;
/// at the end the operator closes the channels and is settled on the ledger. Homes, endorsed by the
/// grid operator, trade in pairs: one sells its solar surplus to its neighbour over a duplex channel.
/// </summary>
public sealed class CityScenario(NodeClient node, Uri nodeUri, NetworkId network, Currency currency, Action<string> report)
{
    public sealed record Options(int Vehicles = 20, int Chargers = 5, int Gantries = 0, int Homes = 0, int SessionsPerVehicle = 1, int Readings = 30,
        long WhPerReading = 500, long PricePerKwh = 35, long Credit = 60, TimeSpan ReadingInterval = default);

    public sealed record Summary(int Sessions, long EnergyWh, int Payments, long CostMinorUnits, long PaidMinorUnits, long SettledMinorUnits,
        int Suspensions, int Trades, long TradedWh, long TradedMinorUnits, int Errors, TimeSpan Elapsed)
    {
        public string Describe(Currency currency) => string.Create(CultureInfo.InvariantCulture,
            $"{Sessions} sessions, {EnergyWh / 1000.0:0.0} kWh, {Payments} payments, cost {CostMinorUnits / 100.0:0.00} {currency}, paid {PaidMinorUnits / 100.0:0.00}, " +
            $"settled to the operator {SettledMinorUnits / 100.0:0.00} {currency}, {Suspensions} suspensions; {Trades} neighbour trades, {TradedWh / 1000.0:0.0} kWh for " +
            $"{TradedMinorUnits / 100.0:0.00} {currency}; {Errors} errors, in {Elapsed.TotalSeconds:0.0} s");
    }

    public async Task<Summary> RunAsync(Options options, CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        var run = Guid.NewGuid().ToString("N")[..8];
        using var cpo = new OperatorAgent(node, network, OperatorId.Of($"cpo-{run}"));
        using var fleet = new OperatorAgent(node, network, OperatorId.Of($"fleet-{run}"));
        await cpo.RegisterAsync("City Charging", "chargePointOperator");
        await fleet.RegisterAsync("City Fleet", "fleetOwner");
        report($"operators {cpo.Id} and {fleet.Id} registered");

        using var grid = new OperatorAgent(node, network, OperatorId.Of($"grid-{run}"));
        await grid.RegisterAsync("City Grid", "gridOperator");
        var homes = Enumerable.Range(1, options.Homes).Select(i => new HomeAgent(network, DeviceId.Of($"home-{run}-{i}"))).ToList();
        var chargers = Enumerable.Range(1, options.Chargers).Select(i => new ChargerAgent(network, DeviceId.Of($"charger-{run}-{i}"), currency, 1_000_000)).ToList();
        var vehicles = Enumerable.Range(1, options.Vehicles).Select(i => new VehicleAgent(network, DeviceId.Of($"vehicle-{run}-{i}"))).ToList();
        var connections = new List<GatewayClient>();
        try
        {
            var deposit = new Money(checked(options.SessionsPerVehicle * Cost(options) * 2 + 1_000), currency);
            await Parallel.ForEachAsync(chargers, token, async (c, _) => await cpo.EndorseAsync(c.Id, DeviceRole.Charger, c.PublicKey));
            await Parallel.ForEachAsync(vehicles, token, async (v, _) =>
            {
                await fleet.EndorseAsync(v.Id, DeviceRole.Vehicle, v.PublicKey);
                await fleet.FundAsync(v.Party, deposit, $"fund-{v.Id}");
                await v.OpenChannelAsync(node, ChannelId.Of($"ch-{v.Id}"), cpo.Party, deposit, DurationMs.FromSeconds(30));
            });
            var homeDeposit = new Money(10_000, currency);
            await Parallel.ForEachAsync(homes, token, async (h, _) =>
            {
                await grid.EndorseAsync(h.Id, DeviceRole.Meter, h.PublicKey);
                await grid.FundAsync(h.Party, homeDeposit, $"fund-{h.Id}");
            });
            report($"{chargers.Count} chargers, {vehicles.Count} vehicles and {homes.Count} homes registered, funded, channels open");

            foreach (var group in chargers.Chunk(10).Cast<IEnumerable<object>>().Concat(vehicles.Chunk(50)))
            {
                var gateway = await GatewayClient.ConnectAsync(nodeUri, token);
                connections.Add(gateway);
                foreach (var device in group)
                {
                    if (device is ChargerAgent c) await c.ConnectAsync(gateway);
                    else await ((VehicleAgent)device).ConnectAsync(gateway);
                }
            }
            report($"{connections.Count} gateway connections, every device authenticated by its own key");

            var queue = new ConcurrentQueue<VehicleAgent>(Enumerable.Range(0, options.SessionsPerVehicle).SelectMany(_ => vehicles));
            var total = queue.Count;
            var sessions = 0;
            long energy = 0, cost = 0, paid = 0;
            var errors = 0;
            using var progress = new Timer(_ => report(string.Create(CultureInfo.InvariantCulture,
                $"  {Volatile.Read(ref sessions),5}/{total} sessions  {Interlocked.Read(ref energy) / 1000.0,8:0.0} kWh  {vehicles.Sum(v => v.Payments),7} payments  {Interlocked.Read(ref paid) / 100.0,9:0.00} {currency} paid")),
                null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

            // Homes with solar (the first of each pair) sell to their neighbour while the vehicles charge.
            var trades = 0;
            long tradedWh = 0, tradedValue = 0;
            var trading = Task.WhenAll(homes.Chunk(2).Where(pair => pair.Length == 2).Select(async pair =>
            {
                try
                {
                    var (wh, value) = await pair[0].SellAsync(node, pair[1], ChannelId.Of($"trade-{pair[0].Id}"), options.Readings, options.WhPerReading,
                        new Money(options.PricePerKwh - 10, currency), homeDeposit, token);
                    Interlocked.Increment(ref trades);
                    Interlocked.Add(ref tradedWh, wh);
                    Interlocked.Add(ref tradedValue, value);
                }
                catch (NodeClient.NodeRefusedException refused)
                {
                    Interlocked.Increment(ref errors);
                    report($"  trade {pair[0].Id}: {refused.Message}");
                }
            }));

            await Task.WhenAll(chargers.Select(async charger =>
            {
                var n = 0;
                while (queue.TryDequeue(out var vehicle))
                {
                    var session = $"{charger.Id}.{++n}";
                    try
                    {
                        var record = await charger.ChargeAsync(session, vehicle.Id, options.Readings, options.WhPerReading, options.PricePerKwh, options.Credit,
                            options.ReadingInterval, token);
                        Interlocked.Add(ref energy, record.GetProperty("energyWh").GetInt64());
                        Interlocked.Add(ref cost, record.GetProperty("cost").GetProperty("minorUnits").GetInt64());
                        Interlocked.Add(ref paid, record.GetProperty("paid").GetProperty("minorUnits").GetInt64());
                        Interlocked.Increment(ref sessions);
                    }
                    catch (Exception e) when (e is GatewayRefusedException or TimeoutException)
                    {
                        Interlocked.Increment(ref errors);
                        report($"  session {session}: {e.Message}");
                    }
                }
            }));

            await trading;
            long settled = 0;
            await Parallel.ForEachAsync(vehicles, token, async (v, _) =>
            {
                try
                {
                    var result = await cpo.CloseChannelAsync(v.ChannelTo(cpo.Party)!.Id);
                    foreach (var payout in result.GetProperty("payouts").EnumerateArray())
                    {
                        if (payout.GetProperty("account").GetString() == cpo.Id.Value)
                            Interlocked.Add(ref settled, payout.GetProperty("amount").GetProperty("minorUnits").GetInt64());
                    }
                }
                catch (NodeClient.NodeRefusedException refused)
                {
                    Interlocked.Increment(ref errors);
                    report($"  closing {v.Id}: {refused.Message}");
                }
            });
            errors += vehicles.Sum(v => v.Refusals.Count) + chargers.Sum(c => c.Refusals.Count);
            return new Summary(sessions, energy, vehicles.Sum(v => v.Payments), cost, paid, settled, chargers.Sum(c => c.Suspensions),
                trades, tradedWh, tradedValue, errors, clock.Elapsed);
        }
        finally
        {
            foreach (var connection in connections) await connection.DisposeAsync();
            foreach (var c in chargers) c.Dispose();
            foreach (var v in vehicles) v.Dispose();
            foreach (var h in homes) h.Dispose();
        }
    }

    private static long Cost(Options o) => new EnergyWh(o.Readings * o.WhPerReading).PriceAt(new Tariff(new Money(o.PricePerKwh, Currency.Eur))).Unwrap().MinorUnits;
}
