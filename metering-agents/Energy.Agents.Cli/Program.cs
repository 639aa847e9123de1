using System.Globalization;
using Energy.Agents;
using Energy.Channels.Identity;
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
    case "city":
    {
        var nodeUrl = new Uri(Option("--node", "http://127.0.0.1:5080"));
        int Count(string name, int fallback) => int.Parse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var options = new CityScenario.Options(
            Vehicles: Count("--vehicles", 20), Chargers: Count("--chargers", 5), Gantries: Count("--gantries", 6), Homes: Count("--homes", 10),
            SessionsPerVehicle: Count("--sessions", 1), Readings: Count("--readings", 30),
            ReadingInterval: TimeSpan.FromMilliseconds(Count("--interval-ms", 50)));
        var network = NetworkId.Of(Option("--network", "energy-local"));
        var currency = Currency.Of(Option("--currency", "EUR"));
        using var http = new HttpClient { BaseAddress = nodeUrl, Timeout = TimeSpan.FromSeconds(30) };
        var node = new NodeClient(http);
        Console.WriteLine($"City against {nodeUrl}: {options.Vehicles} vehicles, {options.Chargers} chargers, {options.Gantries} gantries, {options.Homes} homes");
        // The scenario acts as the network's governance through the authority key the node made for itself.
        using var authority = NetworkAuthorityAgent.FromKeyFile(node, network, currency, Option("--authority-key", ".data/node-1/authority.key"));
        // The grid operator's key is kept in a file, made on first use; its dashboard signs in with a viewer key it endorses.
        using var grid = await GridOperatorAsync(node, authority, network, Option("--grid-key-file", ".data/grid-operator.key"));
        node = grid.Node;
        await DashboardKeyFile.WriteAsync(grid, Option("--dashboard-key-file", ".data/grid-dashboard.key"));
        Console.WriteLine($"Dashboard: {new Uri(nodeUrl, "/dashboard")} (sign in with the viewer key in {Option("--dashboard-key-file", ".data/grid-dashboard.key")})");
        var rounds = int.Parse(Option("--rounds", "1"), CultureInfo.InvariantCulture);
        var summary = await new CityScenario(node, authority, nodeUrl, network, currency, Console.WriteLine).RunAsync(options, CancellationToken.None, grid);
        for (var round = 2; round <= rounds || rounds == 0; round++)
        {
            Console.WriteLine(summary.Describe(currency));
            Console.WriteLine($"== city, round {round}");
            summary = await new CityScenario(node, authority, nodeUrl, network, currency, Console.WriteLine).RunAsync(options, CancellationToken.None, grid);
        }
        Console.WriteLine(summary.Describe(currency));
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
        Console.Error.WriteLine("usage: energy-agents demo | city [--node URL] [--vehicles N] [--chargers M] [--gantries K] [--homes H] [--sessions S] [--readings R] [--interval-ms T] [--rounds R (0: until stopped)] [--grid-key-file F] [--dashboard-key-file F] [--authority-key F] [--network ID] [--currency C]");
        return 2;
}

static async Task<OperatorAgent> GridOperatorAsync(NodeClient node, NetworkAuthorityAgent authority, NetworkId network, string keyFile)
{
    if (File.Exists(keyFile))
    {
        var lines = await File.ReadAllLinesAsync(keyFile);
        var key = DeviceKeyPair.FromSeed(Convert.FromHexString(lines[1].Trim())).Unwrap();
        var known = new OperatorAgent(node, network, OperatorId.Of(lines[0].Trim()), key);
        // Admitted on an earlier run with this key, or admitted now (the same admission again is taken once).
        try { await known.AdmitAsync(authority, OperatorRoles.GridOperator); }
        catch (NodeClient.NodeRefusedException refused) when (refused.Code is "AdmissionVersionReused") { }
        return known;
    }
    var grid = new OperatorAgent(node, network, OperatorId.Of($"grid-{Guid.NewGuid().ToString("N")[..6]}"));
    await grid.AdmitAsync(authority, OperatorRoles.GridOperator);
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(keyFile))!);
    await File.WriteAllLinesAsync(keyFile, [grid.Id.Value, grid.ExportKeyHex()]);
    if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    return grid;
}
