namespace Energy.Cli;

/// <summary>The exit codes of every command.</summary>
public static class ExitCodes
{
    public const int Done = 0;

    /// <summary>The node refused the request; its error code is printed.</summary>
    public const int Refused = 1;

    /// <summary>The tool could not make the request: bad options, an unreadable key file, an unreachable node.</summary>
    public const int Failed = 2;
}

/// <summary>A command that cannot go on for a local reason, with a code that names it (printed as the node's codes are).</summary>
public sealed class ToolFailureException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
