namespace Energy.Cli.Tests;

/// <summary>Runs the energy tool in-process, as a shell would, and keeps what it printed.</summary>
public sealed record ToolRun(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

public static class Tool
{
    public static async Task<ToolRun> RunAsync(string[] args, string input = "", Func<Uri, HttpClient>? httpFor = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var environment = new ToolEnvironment(new StringReader(input), output, error, httpFor ?? ToolEnvironment.HttpToNode);
        var exitCode = await EnergyTool.InvokeAsync(args, environment);
        return new ToolRun(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Runs a command against the node, on its network.</summary>
    public static Task<ToolRun> AgainstAsync(CliNode node, params string[] args) =>
        RunAsync([.. args, "--node", node.Url.ToString(), "--network", CliNode.Network]);

    /// <summary>A file's permissions (on Windows, where there are none, what the tool means by them).</summary>
    public static UnixFileMode ModeOf(string path) =>
        OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(path);

    public static async Task<ToolRun> SucceedsAsync(Task<ToolRun> run)
    {
        var result = await run;
        Assert.True(result.ExitCode == ExitCodes.Done, result.ToString());
        return result;
    }
}
