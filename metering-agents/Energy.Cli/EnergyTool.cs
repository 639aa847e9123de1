using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Energy.Cli.Commands;

namespace Energy.Cli;

/// <summary>
/// The <c>energy</c> tool: what the network authority and the operators do by hand. Every order is signed
/// here, with key files that never leave this machine, and posted to a node.
/// </summary>
public static class EnergyTool
{
    public static RootCommand Build(ToolEnvironment environment) =>
        new("energy: the network authority's and operators' tool. Signs orders with local key files and posts them to a node; "
            + "exits 0 when done, 1 when the node refused (its error code is printed), 2 when the tool could not make the request.")
        {
            KeysCommand.Create(environment),
            AuthorityCommand.Create(environment),
            DeviceCommand.Create(environment),
            ChargePointCommand.Create(environment),
            MoneyCommand.Create(environment),
            DashboardKeyCommand.Create(environment),
            GetCommand.Create(environment),
        };

    public static async Task<int> InvokeAsync(string[] args, ToolEnvironment environment, CancellationToken token = default)
    {
        var parse = Build(environment).Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors) await environment.Error.WriteLineAsync($"error: {error.Message}");
            await environment.Error.WriteLineAsync($"See: {CommandPath(parse.CommandResult)} --help");
            return ExitCodes.Failed;
        }
        return await parse.InvokeAsync(new InvocationConfiguration { Output = environment.Output, Error = environment.Error }, token);
    }

    private static string CommandPath(CommandResult command) =>
        command.Parent is CommandResult parent ? $"{CommandPath(parent)} {command.Command.Name}" : "energy";
}
