using System.CommandLine;
using System.CommandLine.Parsing;
using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Agents.Cli;

/// <summary>
/// <c>energy-agents city</c>: the city scenario against a running node, round after round. The exit code is
/// non-zero when any round had errors, left the ledger not conserved, or found a block chain not intact.
/// </summary>
public static class CityCommand
{
    public static Command Create()
    {
        var node = new Option<Uri>("--node")
        {
            Description = "The node's HTTP address",
            HelpName = "URL",
            DefaultValueFactory = _ => new Uri("http://127.0.0.1:5080"),
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)) return uri;
                result.AddError($"--node: '{text}' is not an http:// or https:// URL");
                return null;
            },
        };
        var vehicles = Count("--vehicles", 20, "Vehicles of the fleet owner");
        var chargers = Count("--chargers", 5, "Chargers of the charge point operator");
        var gantries = Count("--gantries", 6, "Gantries of the toll operator on the ring road");
        var homes = Count("--homes", 10, "Homes with meters; they trade solar surplus in pairs");
        var sessions = Count("--sessions", 1, "Charging sessions per vehicle");
        var readings = Count("--readings", 30, "Signed meter readings per session");
        var intervalMs = Count("--interval-ms", 50, "Milliseconds between a charger's readings");
        var rounds = Count("--rounds", 1, "How many cities to run one after the other (0: until stopped)");
        var marketIntervalMs = Count("--market-interval-ms", 0,
            "The node's market interval in ms (its Energy:Market:IntervalMs); homes then trade in the zones' markets (0: they do not)");
        var marketGateClosureMs = Count("--market-gate-closure-ms", 1_000, "The node's market gate closure in ms (its Energy:Market:GateClosureMs)");
        var marketIntervals = Count("--market-intervals", 3, "Market intervals the homes trade in, each round");
        var marketHomes = Count("--market-homes", 4, "Homes in each zone's market (half with solar, offering; half bidding)");
        var gridKeyFile = new Option<string>("--grid-key-file")
        {
            Description = "The grid operator's key file (operator id, then key): made on first use, then kept; the dashboard signs in with it",
            HelpName = "FILE",
            DefaultValueFactory = _ => ".data/grid-operator.key",
        };
        var dashboardKeyFile = new Option<string>("--dashboard-key-file")
        {
            Description = "Where the grid operator's dashboard key is written (operator id, then viewer key): the page signs in with it, never with the operator's own key",
            HelpName = "FILE",
            DefaultValueFactory = _ => ".data/grid-dashboard.key",
        };
        var authorityKey = new Option<string>("--authority-key")
        {
            Description = "The network authority's key file, which admits the city's operators (a node alone makes its own in its data folder)",
            HelpName = "FILE",
            DefaultValueFactory = _ => ".data/node-1/authority.key",
        };
        var statusFile = new Option<string?>("--status-file")
        {
            Description = "A file rewritten after each round: 'clean round N' or 'failed round N' (a container's health check reads it)",
            HelpName = "FILE",
        };
        var network = new Option<string>("--network") { Description = "The network's id", HelpName = "ID", DefaultValueFactory = _ => "energy-local" };
        var currency = new Option<string>("--currency") { Description = "The network's currency", HelpName = "CODE", DefaultValueFactory = _ => "EUR" };
        network.Validators.Add(result => Check(result, NetworkId.Parse(result.GetValueOrDefault<string>())));
        currency.Validators.Add(result => Check(result, Currency.Parse(result.GetValueOrDefault<string>())));
        var command = new Command("city", "Runs a city against a node: chargers, gantries, vehicles and homes through the device gateway, "
            + "then prints the summary, the ledger totals and the audit of every block chain, after each round")
        {
            node, vehicles, chargers, gantries, homes, sessions, readings, intervalMs, rounds, marketIntervalMs, marketGateClosureMs, marketIntervals, marketHomes, gridKeyFile, dashboardKeyFile, authorityKey, statusFile, network, currency,
        };
        command.SetAction((parse, token) =>
        {
            var options = new CityScenario.Options(
                Vehicles: parse.GetValue(vehicles), Chargers: parse.GetValue(chargers), Gantries: parse.GetValue(gantries), Homes: parse.GetValue(homes),
                SessionsPerVehicle: parse.GetValue(sessions), Readings: parse.GetValue(readings),
                ReadingInterval: TimeSpan.FromMilliseconds(parse.GetValue(intervalMs)))
            {
                MarketIntervalMs = parse.GetValue(marketIntervalMs),
                MarketGateClosureMs = parse.GetValue(marketGateClosureMs),
                MarketIntervals = parse.GetValue(marketIntervals),
                MarketHomesPerZone = parse.GetValue(marketHomes),
            };
            var city = new CityRun(parse.GetRequiredValue(node), NetworkId.Of(parse.GetRequiredValue(network)), Currency.Of(parse.GetRequiredValue(currency)),
                parse.GetRequiredValue(authorityKey), parse.GetRequiredValue(gridKeyFile), parse.GetRequiredValue(dashboardKeyFile), parse.InvocationConfiguration.Output)
            {
                StatusFile = parse.GetValue(statusFile),
            };
            return city.RunAsync(options, parse.GetValue(rounds), token);
        });
        return command;
    }

    private static Option<int> Count(string name, int fallback, string description)
    {
        var option = new Option<int>(name) { Description = description, HelpName = "N", DefaultValueFactory = _ => fallback };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0) result.AddError($"{name} cannot be negative");
        });
        return option;
    }

    private static void Check<T>(OptionResult result, Energy.Channels.Result<T> parsed)
    {
        if (!parsed.IsOk) result.AddError(parsed.Error!.Describe());
    }
}
