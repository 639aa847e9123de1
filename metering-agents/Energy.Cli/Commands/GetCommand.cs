using System.CommandLine;

namespace Energy.Cli.Commands;

/// <summary><c>energy get PATH</c>: a read of the HTTP API, signed as a party; the node answers what that party may see.</summary>
public static class GetCommand
{
    public static Command Create(ToolEnvironment environment)
    {
        var path = new Argument<string>("path")
        {
            Description = "The API path, e.g. /api/accounts/operator:cpo-2 (a path without a leading / is taken under /api/: accounts/operator:cpo-2)",
        };
        var caller = ToolOptions.Party("--as", "Who reads: an admitted operator or an endorsed device");
        var key = ToolOptions.KeyFile("--key", "The caller's key file (signs the request)");
        var node = new NodeOptions();
        var command = new Command("get", "Reads the HTTP API with a signed request and prints the JSON answer") { path, caller, key };
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            var target = ApiPath(parse.GetRequiredValue(path));
            using var callerKey = KeyFile.Load(parse.GetRequiredValue(key), environment.Error);
            using var connection = node.Connect(parse, environment);
            var client = connection.Client.SignedBy(parse.GetRequiredValue(caller), callerKey, connection.Network);
            environment.PrintJson(await client.GetAsync(target));
        });
        return command;
    }

    public static string ApiPath(string path)
    {
        if (path.Length == 0 || path.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || path.Contains("://", StringComparison.Ordinal))
            throw new ToolFailureException("MalformedPath", $"'{path}' is not an API path such as /api/accounts/operator:cpo-2");
        return path.StartsWith('/') ? path : "/api/" + path;
    }
}
