using System.CommandLine;
using Energy.Agents;
using Energy.Channels.Primitives;

namespace Energy.Cli;

/// <summary>The --node and --network options of a command that talks to a node.</summary>
public sealed class NodeOptions
{
    public Option<Uri> Node { get; } = ToolOptions.Node();
    public Option<NetworkId> Network { get; } = ToolOptions.Network();

    public void AddTo(Command command)
    {
        command.Add(Node);
        command.Add(Network);
    }

    public NodeConnection Connect(ParseResult parse, ToolEnvironment environment) =>
        new(environment.HttpFor(parse.GetRequiredValue(Node)), parse.GetRequiredValue(Network));
}

/// <summary>One node, for the length of one command.</summary>
public sealed class NodeConnection(HttpClient http, NetworkId network) : IDisposable
{
    public NodeClient Client { get; } = new(http) { NetworkFor = network };
    public NetworkId Network => network;

    public void Dispose() => http.Dispose();
}

/// <summary>
/// The options naming an operator and its key file (--operator and --operator-key, or --bank and --bank-key),
/// and the agent that signs as that operator.
/// </summary>
public sealed class OperatorSignerOptions(string name, string what)
{
    public Option<OperatorId> Operator { get; } = ToolOptions.Operator($"--{name}", $"The {what}'s id");
    public Option<string> Key { get; } = ToolOptions.KeyFile($"--{name}-key", $"The {what}'s key file (it signs the order; it never leaves this machine)");

    public void AddTo(Command command)
    {
        command.Add(Operator);
        command.Add(Key);
    }

    public OperatorAgent Agent(ParseResult parse, ToolEnvironment environment, NodeConnection node) =>
        new(node.Client, node.Network, parse.GetRequiredValue(Operator), KeyFile.Load(parse.GetRequiredValue(Key), environment.Error));
}
