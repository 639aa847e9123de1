namespace Energy.Cluster.Hosting;

/// <summary>
/// What the node's program does instead of running a node, for containers whose image has nothing but the
/// node: <c>--check-health URL</c> (a container's health check: exit 0 when the URL answers 200 within
/// <see cref="HealthTimeout"/>, 1 otherwise) and <c>--provision FOLDER</c> (<see cref="ClusterProvisioning"/>).
/// Any other arguments are the node's settings.
/// </summary>
public static class NodeCommands
{
    public const string CheckHealth = "--check-health";
    public const string Provision = "--provision";

    /// <summary>Longer than every readiness check's own bound, so that a slow answer is still read.</summary>
    public static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The exit code of the command the arguments name, or null when they are a node's settings.</summary>
    public static async Task<int?> TryRunAsync(IReadOnlyList<string> args, TextWriter output)
    {
        if (args.Count == 0 || (args[0] != CheckHealth && args[0] != Provision)) return null;
        if (args.Count != 2)
        {
            await output.WriteLineAsync($"usage: {CheckHealth} URL | {Provision} FOLDER");
            return 2;
        }
        if (args[0] == Provision)
        {
            foreach (var line in ClusterProvisioning.Provision(args[1], DateTimeOffset.UtcNow)) await output.WriteLineAsync(line);
            return 0;
        }
        if (!Uri.TryCreate(args[1], UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            await output.WriteLineAsync($"{CheckHealth}: '{args[1]}' is not an http:// or https:// URL");
            return 2;
        }
        return await CheckHealthAsync(url, output);
    }

    private static async Task<int> CheckHealthAsync(Uri url, TextWriter output)
    {
        using var http = new HttpClient { Timeout = HealthTimeout };
        try
        {
            using var response = await http.GetAsync(url);
            var body = await response.Content.ReadAsStringAsync();
            await output.WriteLineAsync($"{(int)response.StatusCode} {body}");
            return response.StatusCode == System.Net.HttpStatusCode.OK ? 0 : 1;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            await output.WriteLineAsync($"{url} did not answer: {exception.Message}");
            return 1;
        }
    }
}
