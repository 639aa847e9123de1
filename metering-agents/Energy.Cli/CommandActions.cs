using System.CommandLine;
using System.Text.Json;
using Energy.Agents;

namespace Energy.Cli;

/// <summary>
/// How every command ends: what it prints and its exit code. The answer of the node goes to standard
/// output as JSON; a refusal goes to standard error as <c>refused: Code: message</c> (exit 1), a local
/// failure as <c>error: Code: message</c> (exit 2).
/// </summary>
public static class CommandActions
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Runs(this Command command, ToolEnvironment environment, Func<ParseResult, CancellationToken, Task> action) =>
        command.SetAction(async (parse, token) =>
        {
            try
            {
                await action(parse, token);
                return ExitCodes.Done;
            }
            catch (NodeClient.NodeRefusedException refused)
            {
                await environment.Error.WriteLineAsync($"refused: {refused.Message}{HintFor(refused)}");
                return ExitCodes.Refused;
            }
            catch (ToolFailureException failure)
            {
                await environment.Error.WriteLineAsync($"error: {failure.Code}: {failure.Message}");
                return ExitCodes.Failed;
            }
            catch (HttpRequestException unreachable)
            {
                await environment.Error.WriteLineAsync($"error: NodeUnreachable: {unreachable.Message}");
                return ExitCodes.Failed;
            }
            catch (TaskCanceledException) when (!token.IsCancellationRequested)
            {
                await environment.Error.WriteLineAsync($"error: NodeTimeout: the node did not answer within {ToolEnvironment.NodeCallTimeout.TotalSeconds:0} s");
                return ExitCodes.Failed;
            }
        });

    /// <summary>Prints what the node answered, indented, if it answered anything.</summary>
    public static void PrintJson(this ToolEnvironment environment, JsonElement answer)
    {
        if (answer.ValueKind != JsonValueKind.Undefined) environment.Output.WriteLine(JsonSerializer.Serialize(answer, Indented));
    }

    /// <summary>A note on standard error, so that standard output stays the node's answer alone.</summary>
    public static void Note(this ToolEnvironment environment, string line) => environment.Error.WriteLine(line);

    private static string HintFor(NodeClient.NodeRefusedException refused) => refused.Code switch
    {
        "Http404" => " (the node has no such route: it may be older than this tool, or the path is wrong)",
        "Unauthenticated" => " (is the party registered, its key the one given, and this machine's clock right?)",
        _ => "",
    };
}
