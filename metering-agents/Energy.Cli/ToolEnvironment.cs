namespace Energy.Cli;

/// <summary>
/// What a command reads and writes besides its options: the standard streams and the way to a node. The
/// program passes the console's; a test passes its own, so every command runs in-process.
/// </summary>
public sealed record ToolEnvironment(TextReader Input, TextWriter Output, TextWriter Error, Func<Uri, HttpClient> HttpFor)
{
    /// <summary>How long one call to a node may take before the command gives up.</summary>
    public static readonly TimeSpan NodeCallTimeout = TimeSpan.FromSeconds(30);

    public static ToolEnvironment FromConsole() => new(Console.In, Console.Out, Console.Error, HttpToNode);

    public static HttpClient HttpToNode(Uri node) => new() { BaseAddress = node, Timeout = NodeCallTimeout };
}
