namespace Energy.Cli.Tests;

/// <summary>The node the tool talks to: a process with a data folder, and so an authority key, of its own.</summary>
public sealed class CliNode : IAsyncLifetime
{
    public const string Network = "energy-cli-test";

    /// <summary>The node's zone markets clear every few seconds, as ./run.sh's do, so that a city's homes trade in them.</summary>
    public const int MarketIntervalMs = 3_000;

    private readonly NodeProcess _node = new(null, $"--Energy:Market:IntervalMs={MarketIntervalMs}", "--Energy:Market:GateClosureMs=1000")
    {
        Network = Network, LedgerShards = 2, WaitForAuthorityKey = true,
    };

    public Uri Url => _node.Url;
    public string DataDirectory => _node.DataDirectory;
    public string AuthorityKeyFile => _node.AuthorityKeyFile;
    public string LogPath => _node.LogPath;

    public Task InitializeAsync() => _node.StartAsync();

    public Task DisposeAsync()
    {
        _node.Dispose();
        return Task.CompletedTask;
    }
}
