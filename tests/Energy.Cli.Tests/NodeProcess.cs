using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Energy.Cli.Tests;

/// <summary>A node as a child process on a free port, with a data folder of its own (and so an authority key of its own).</summary>
public sealed class NodeProcess : IAsyncLifetime
{
    public const string Network = "energy-cli-test";
    private Process? _process;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "energy-cli-tests", Guid.NewGuid().ToString("N"));
    public Uri Url { get; } = new($"http://127.0.0.1:{FreePort()}");
    public string AuthorityKeyFile => Path.Combine(DataDirectory, "authority.key");
    public string LogPath => Path.Combine(DataDirectory, "node.log");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDirectory);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "energy-node.dll"), "--urls", Url.ToString(),
                     $"--Energy:DataDirectory={DataDirectory}", $"--Energy:Network={Network}", "--Energy:LedgerShards=2", "--Logging:LogLevel:Default=Warning" })
            start.ArgumentList.Add(argument);
        var log = new StreamWriter(LogPath, append: true) { AutoFlush = true };
        _process = Process.Start(start) ?? throw new InvalidOperationException("the node did not start");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitHealthyAsync(TimeSpan.FromSeconds(60));
    }

    public Task DisposeAsync()
    {
        if (_process is { } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(30_000);
            process.Dispose();
        }
        return Task.CompletedTask;
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited) throw new InvalidOperationException($"the node exited; see {LogPath}");
            try
            {
                using var response = await http.GetAsync(new Uri(Url, "/health"));
                if (response.StatusCode == HttpStatusCode.OK && File.Exists(AuthorityKeyFile)) return;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet: poll again until the deadline.
            }
            await Task.Delay(100); // poll interval of a bounded wait for an external process
        }
        throw new TimeoutException($"the node did not answer /health within {timeout}; see {LogPath}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
