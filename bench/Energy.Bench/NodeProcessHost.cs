using System.Diagnostics;

namespace Energy.Bench;

/// <summary>
/// A full node (HTTP API, device gateway, OCPP endpoint) as a child process on a fresh SQLite folder:
/// benchmarks that speak the network's wire protocols drive it from this process, so that client and
/// server sockets each stay within the per-process file limit. It can be stopped and started again over the
/// same folder and port (<see cref="RestartAsync"/>), as an operator restarts a node.
/// </summary>
public sealed class NodeProcessHost : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly string _directory;
    private readonly string[] _settings;
    private readonly Progress _progress;
    private Process _process;

    private NodeProcessHost(Process process, string directory, Uri url, string[] settings, Progress progress)
    {
        _process = process;
        _directory = directory;
        _settings = settings;
        _progress = progress;
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
        // Below the ephemeral range: restarted over the same port while tens of thousands of connections come and go,
        // the node would otherwise find its port taken as some connection's local port.
        var port = Energy.Tests.NodeProcess.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        var process = await LaunchAsync(url, directory, settings, progress);
        return new NodeProcessHost(process, directory, url, settings, progress);
    }

    /// <summary>
    /// Stops the node as an operator does (SIGTERM: the host shuts down in order), killing it only when it has not
    /// exited within <paramref name="stopGrace"/>, then starts it again over the same folder, port and settings and
    /// waits until it is ready. Returns how long the stop took and whether it had to be killed.
    /// </summary>
    public async Task<(TimeSpan Stopped, bool Killed)> RestartAsync(TimeSpan stopGrace)
    {
        var clock = Stopwatch.StartNew();
        var killed = await StopAsync(stopGrace);
        var stopped = clock.Elapsed;
        var stoppedProcess = _process;
        _process = await LaunchAsync(Url, _directory, _settings, _progress);
        stoppedProcess.Dispose();
        return (stopped, killed);
    }

    private async Task<bool> StopAsync(TimeSpan grace)
    {
        if (_process.HasExited) return false;
        using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
            if (signal.ExitCode != 0 && !_process.HasExited) throw new InvalidOperationException($"kill -TERM {_process.Id} failed ({signal.ExitCode})");
        }
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            return true;
        }
    }

    private static async Task<Process> LaunchAsync(Uri url, string directory, string[] settings, Progress progress)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        // ENERGY_BENCH_NODE_LOG names a file that keeps the node's log (at ENERGY_BENCH_NODE_LOG_LEVEL, Information by
        // default) with its timestamps, to see afterwards what the node did during a storm; without it the log is dropped.
        var logPath = Environment.GetEnvironmentVariable("ENERGY_BENCH_NODE_LOG");
        var level = logPath is { Length: > 0 } ? Environment.GetEnvironmentVariable("ENERGY_BENCH_NODE_LOG_LEVEL") ?? "Information" : "Warning";
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "energy-node.dll"), "--urls", url.ToString(),
                     $"--Energy:DataDirectory={directory}", $"--Energy:Network={BenchNode.Network}", "--Energy:Tls:Port=0", $"--Logging:LogLevel:Default={level}" }.Concat(settings))
            start.ArgumentList.Add(argument);
        // ENERGY_BENCH_NODE_ENV sets environment variables of the node process only, e.g. "DOTNET_gcServer=0 DOTNET_GCgen0size=0x1000000".
        foreach (var pair in (Environment.GetEnvironmentVariable("ENERGY_BENCH_NODE_ENV") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0) start.Environment[pair[..equals]] = pair[(equals + 1)..];
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("the node did not start");
        // Written line by line (flushed each time) for as long as the bench runs, across the node's restarts.
        var log = logPath is { Length: > 0 } ? TextWriter.Synchronized(new StreamWriter(logPath, append: true) { AutoFlush = true }) : null;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log?.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"  node: {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + ReadyTimeout;
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
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the node was not ready (/health/ready) within {ReadyTimeout.TotalSeconds:0} s");
            await Task.Delay(200);
        }
        progress.Report($"node process {process.Id} serving at {url}");
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
