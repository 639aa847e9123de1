using System.CommandLine;
using System.Globalization;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cli.Commands;

/// <summary>
/// <c>energy dashboard-key</c>: an operator makes a key for its dashboard, so that its own key never enters a
/// browser. The viewer key sees what the operator sees, until it expires.
/// </summary>
public static class DashboardKeyCommand
{
    public const int DefaultDays = 30;
    public const int MaxDays = 365;

    public static Command Create(ToolEnvironment environment)
    {
        var signer = new OperatorSignerOptions("operator", "operator");
        var output = ToolOptions.KeyFile("--out", "Where to write the viewer key for the browser: the operator id, then the key (created readable by you only, never overwritten)");
        var days = new Option<int>("--days")
        {
            Description = $"How many days the key is valid, at most {MaxDays}",
            HelpName = "N",
            DefaultValueFactory = _ => DefaultDays,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= MaxDays) return value;
                result.AddError($"--days: '{text}' is not a number of days from 1 to {MaxDays}");
                return DefaultDays;
            },
        };
        var node = new NodeOptions();
        var command = new Command("dashboard-key",
            "Makes a new key for the operator's dashboard, endorses it until it expires, gives it to the node and writes it for the browser")
        {
            output, days,
        };
        signer.AddTo(command);
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            var path = parse.GetRequiredValue(output);
            var expiresAt = DateTimeOffset.UtcNow.AddDays(parse.GetValue(days));
            using var connection = node.Connect(parse, environment);
            using var agent = signer.Agent(parse, environment, connection);
            using var viewer = DeviceKeyPair.Generate();
            // Written first: a key the node accepted but nobody kept would be of no use. If the node refuses, it goes again.
            KeyFile.WriteNew(path, [agent.Id.Value, KeyFile.SeedHex(viewer)]);
            try
            {
                environment.PrintJson(await agent.AddViewerKeyAsync(viewer.PublicKey, Timestamp.FromDateTimeOffset(expiresAt)));
            }
            catch
            {
                File.Delete(path);
                throw;
            }
            environment.Note($"dashboard key {viewer.PublicKey.Hex} of operator:{agent.Id}, valid until {expiresAt:yyyy-MM-dd HH:mm} UTC, "
                + $"in {path}: sign in on the dashboard with its two lines");
        });
        return command;
    }
}
