using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cli;

/// <summary>
/// The options the commands share, each parsed into its domain type when the command line is read: a
/// malformed id, key or amount is refused before anything is signed or sent.
/// </summary>
public static class ToolOptions
{
    public const string DefaultNode = "http://127.0.0.1:5080";
    public const string DefaultNetwork = "energy-local";
    public const string DefaultCurrency = "EUR";
    public const string OperatorRoleNames = "gridOperator, chargePointOperator, tollOperator, fleetOwner, settlementBank";

    public static Option<Uri> Node() => new("--node")
    {
        Description = "The node's HTTP address",
        HelpName = "URL",
        DefaultValueFactory = _ => new Uri(DefaultNode),
        CustomParser = Parsed("--node", ParseNodeUri),
    };

    public static Option<NetworkId> Network() => new("--network")
    {
        Description = "The network the signed objects are for",
        HelpName = "ID",
        DefaultValueFactory = _ => NetworkId.Of(DefaultNetwork),
        CustomParser = Parsed("--network", NetworkId.Parse),
    };

    public static Option<Currency> Currency() => new("--currency")
    {
        Description = "The network's currency; amounts are in its minor units",
        HelpName = "CODE",
        DefaultValueFactory = _ => Channels.Primitives.Currency.Of(DefaultCurrency),
        CustomParser = Parsed("--currency", Channels.Primitives.Currency.Parse),
    };

    public static Option<OperatorId> Operator(string name, string description) => new(name)
    {
        Description = description, HelpName = "ID", Required = true, CustomParser = Parsed(name, OperatorId.Parse),
    };

    public static Option<DeviceId> Device(string name, string description) => new(name)
    {
        Description = description, HelpName = "ID", Required = true, CustomParser = Parsed(name, DeviceId.Parse),
    };

    public static Option<PartyId> Party(string name, string description) => new(name)
    {
        Description = description, HelpName = "operator:ID|device:ID", Required = true, CustomParser = Parsed(name, PartyId.Parse),
    };

    public static Option<DevicePublicKey> PublicKey(string name, string description) => new(name)
    {
        Description = description, HelpName = "HEX", CustomParser = Parsed(name, hex => DevicePublicKey.FromHex(hex.ToLowerInvariant())),
    };

    public static Option<string> KeyFile(string name, string description, bool required = true) => new(name)
    {
        Description = description, HelpName = "FILE", Required = required,
    };

    /// <summary>A positive amount of money in minor units (cents).</summary>
    public static Option<long> Amount() => new("--amount")
    {
        Description = "The amount, in minor units of the currency (cents: 1250 is 12.50 EUR)",
        HelpName = "N",
        Required = true,
        CustomParser = Parsed("--amount", text => ParseMinorUnits(text, minimum: 1)),
    };

    public static Option<string> RequestId() => new("--request-id")
    {
        Description = "The order's id: the same order sent again with the same id takes effect once",
        HelpName = "ID",
        Required = true,
        CustomParser = Parsed("--request-id", ParseRequestId),
    };

    public static Option<ulong?> OrderVersion(string description) => new("--version")
    {
        Description = description,
        HelpName = "V",
        CustomParser = Parsed("--version", ParseVersion),
    };

    public static Result<string> ParseRequestId(string text) =>
        IdentifierRules.IsValid(text) ? text : new MalformedValue("request id", text, $"1 to {IdentifierRules.MaxLength} characters of [a-z0-9._:-]");

    public static Result<ulong?> ParseVersion(string text) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0
            ? version
            : new MalformedValue("version", text, "a whole number from 1");

    public static Result<long> ParseMinorUnits(string text, long minimum) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var units) && units >= minimum
            ? units
            : new MalformedValue("amount", text, $"a whole number of minor units, at least {minimum}");

    public static Result<OperatorRoles> ParseRoles(string text)
    {
        var roles = OperatorRoles.None;
        foreach (var name in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var plain = name.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
            if (plain.Length == 0 || !char.IsAsciiLetter(plain[0]) || !Enum.TryParse<OperatorRoles>(plain, ignoreCase: true, out var role)
                || role == OperatorRoles.None || !Enum.IsDefined(role))
                return new MalformedValue("role", name, $"one of {OperatorRoleNames}");
            roles |= role;
        }
        return roles == OperatorRoles.None ? new MalformedValue("roles", text, $"a comma-separated list of {OperatorRoleNames}") : roles;
    }

    /// <summary>Whether the option was written on the command line (not only defaulted).</summary>
    public static bool IsGiven(this CommandResult command, Option option) => command.GetResult(option) is { Implicit: false };

    private static Result<Uri> ParseNodeUri(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : new MalformedValue("node address", text, "an http:// or https:// URL");

    /// <summary>A parser that turns the option's one token into its domain value, or names what is wrong with it.</summary>
    private static Func<ArgumentResult, T?> Parsed<T>(string option, Func<string, Result<T>> parse) => result =>
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        var parsed = parse(text);
        if (parsed.IsOk) return parsed.Value;
        result.AddError($"{option}: {parsed.Error!.Describe()}");
        return default;
    };
}
