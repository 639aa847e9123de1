using System.Globalization;
using Energy.Agents;
using Energy.Channels.Primitives;

var command = args.FirstOrDefault() ?? "demo";
var tariff = new Tariff(new Money(35, Currency.Eur)); // 0.35 EUR per kWh
string Option(string name, string fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
}

switch (command)
{
    case "demo":
    {
        Console.WriteLine("A vehicle charges: the meter signs a reading every second, the vehicle pays each increment with a voucher.");
        var outcome = ChargingSessionDemo.Run(readings: 30, whPerReading: 1_500, tariff, new Money(5_000, Currency.Eur), step =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  reading {step.Sequence,3}  register {step.RegisterWh,7} Wh  paid {step.PaidMinorUnits / 100.0,7:0.00} EUR")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Settled: {outcome.EnergyWh} Wh for {outcome.PaidMinorUnits / 100.0:0.00} EUR to the operator, {outcome.RefundMinorUnits / 100.0:0.00} EUR back to the vehicle."));
        return 0;
    }
    case "charging":
    {
        var nodeUrl = Option("--node", "http://127.0.0.1:5080");
        var vehicles = int.Parse(Option("--vehicles", "20"), CultureInfo.InvariantCulture);
        var readings = int.Parse(Option("--readings", "30"), CultureInfo.InvariantCulture);
        var network = NetworkId.Of(Option("--network", "energy-local"));
        using var http = new HttpClient { BaseAddress = new Uri(nodeUrl), Timeout = TimeSpan.FromSeconds(30) };
        var node = new NodeClient(http);
        Console.WriteLine($"Charging {vehicles} vehicles against {nodeUrl}, {readings} signed meter readings each");
        var summary = await new NetworkDemo(node, network, Console.WriteLine).RunAsync(vehicles, readings, tariff, CancellationToken.None);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Sessions {summary.Sessions}, {summary.EnergyWh / 1000.0:0.0} kWh, {summary.Payments} payments, {summary.SettledMinorUnits / 100.0:0.00} EUR settled to the operator, {summary.Errors} errors, in {summary.Elapsed.TotalSeconds:0.0} s"));
        var totals = await node.TotalsAsync();
        Console.WriteLine($"Ledger: {totals}");
        foreach (var shard in (await node.ShardsAsync()).EnumerateArray())
        {
            var audit = await node.AuditAsync(shard.GetString()!);
            Console.WriteLine($"  audit {shard.GetString()}: intact={audit.GetProperty("intact")} blocks={audit.GetProperty("blocksChecked")}");
        }
        return summary.Errors == 0 && totals.GetProperty("conserved").GetBoolean() ? 0 : 1;
    }
    default:
        Console.Error.WriteLine("usage: energy-agents demo | charging [--node URL] [--vehicles N] [--readings N] [--network ID]");
        return 2;
}
