namespace Energy.Cli.Tests;

/// <summary>The node the tool talks to: a process with a data folder, and so an authority key, of its own.</summary>
public sealed class CliNode : IAsyncLifetime
{
    public const string Network = "energy-cli-test";

    private readonly NodeProcess _node = new() { Network = Network, LedgerShards = 2, WaitForAuthorityKey = true };

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
