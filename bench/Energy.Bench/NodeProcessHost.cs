using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Energy.Bench;

/// <summary>
/// A full node (HTTP API, device gateway, OCPP endpoint) as a child process on a fresh SQLite folder:
/// benchmarks that speak the network's wire protocols drive it from this process, so that client and
/// server sockets each stay within the per-process file limit.
/// </summary>
public sealed class NodeProcessHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private NodeProcessHost(Process process, string directory, Uri url)
    {
        _process = process;
        _directory = directory;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>The node's data folder (its journal, and the authority key a single node makes for itself).</summary>
    public string DataDirectory => _directory;

    /// <summary>The processor time the node has used so far (all its threads).</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static async Task<NodeProcessHost> StartAsync(Progress progress, params string[] settings)
    {
        var directory = Path.Combine(Path.GetTempPath(), "energy-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var url = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "energy-node.dll"), "--urls", url.ToString(),
                     $"--Energy:DataDirectory={directory}", $"--Energy:Network={BenchNode.Network}", "--Energy:Tls:Port=0", "--Logging:LogLevel:Default=Warning" }.Concat(settings))
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("the node did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"  node: {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException("the node exited while starting");
            try
            {
                using var response = await http.GetAsync(new Uri(url, "/health/ready"));
                if (response.IsSuccessStatusCode) break;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the node was not ready (/health/ready) within 60 s");
            await Task.Delay(200);
        }
        progress.Report($"node process {process.Id} serving at {url}");
        return new NodeProcessHost(process, directory, url);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
