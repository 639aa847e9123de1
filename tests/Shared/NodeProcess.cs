using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Energy.Tests;

/// <summary>
/// The node as a real child process on free ports, with a data folder of its own (so, unless told otherwise,
/// an authority key of its own), killed the hard way when a test says so.
/// </summary>
public sealed class NodeProcess : IDisposable
{
    private readonly string _dataDirectory;
    private readonly string[] _extraArguments;
    private Process? _process;

    public NodeProcess(string? dataDirectory = null, params string[] extraArguments)
    {
        _dataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "energy-node-tests", Guid.NewGuid().ToString("N"));
        _extraArguments = extraArguments;
        Port = FreePort();
        Url = new Uri($"http://127.0.0.1:{Port}");
        TlsPort = FreePort();
    }

    public string Network { get; init; } = "energy-test";
    public int LedgerShards { get; init; } = 4;

    /// <summary>Ready means healthy and its authority key written (a node without a configured authority makes one).</summary>
    public bool WaitForAuthorityKey { get; init; }

    /// <summary>Started means ready (/health/ready); a test of an unready node waits only until it is live (/health/live).</summary>
    public bool WaitUntilReady { get; init; } = true;

    public int Port { get; }

    /// <summary>The node's log level: Warning, or what ENERGY_TEST_NODE_LOG_LEVEL says (Information shows the cluster's membership changes).</summary>
    public static string LogLevel => Environment.GetEnvironmentVariable("ENERGY_TEST_NODE_LOG_LEVEL") is { Length: > 0 } level ? level : "Warning";
    public Uri Url { get; }

    /// <summary>The node's HTTPS port (OCPP security profile 2), with the self-signed certificate it made in its data folder.</summary>
    public int TlsPort { get; }
    public string DataDirectory => _dataDirectory;
    public string LogPath => Path.Combine(_dataDirectory, "node.log");
    public string AuthorityKeyFile => Path.Combine(_dataDirectory, "authority.key");

    public async Task StartAsync()
    {
        Directory.CreateDirectory(_dataDirectory);
        var dll = Path.Combine(AppContext.BaseDirectory, "energy-node.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { dll, "--urls", Url.ToString(), $"--Energy:DataDirectory={_dataDirectory}", $"--Energy:Network={Network}",
                     $"--Energy:LedgerShards={LedgerShards}", $"--Energy:Tls:Port={TlsPort}", "--Energy:MinChallengeWindowMs=1000",
                     $"--Logging:LogLevel:Default={LogLevel}", "--Logging:Console:FormatterOptions:TimestampFormat=HH:mm:ss.fff " }.Concat(_extraArguments))
            start.ArgumentList.Add(argument);
        var log = new StreamWriter(LogPath, append: true) { AutoFlush = true };
        _process = Process.Start(start) ?? throw new InvalidOperationException("the node did not start");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitHealthyAsync(TimeSpan.FromSeconds(60));
    }

    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var process = _process;
            if (process is not null && HasExited(process))
                throw new InvalidOperationException($"the node exited; the end of {LogPath}:{Environment.NewLine}{LogTail(40)}");
            try
            {
                using var response = await http.GetAsync(new Uri(Url, WaitUntilReady ? "/health/ready" : "/health/live"));
                if (response.StatusCode == HttpStatusCode.OK && (!WaitForAuthorityKey || File.Exists(AuthorityKeyFile))) return;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet: poll again until the deadline.
            }
            await Task.Delay(50); // poll interval of a bounded wait for an external process
        }
        throw new TimeoutException($"the node did not answer {(WaitUntilReady ? "/health/ready" : "/health/live")} within {timeout}; the end of {LogPath}:{Environment.NewLine}{LogTail(40)}");
    }

    /// <summary>Like kill -9: no shutdown hooks, nothing flushed that was not already durable.</summary>
    public void Kill()
    {
        // Forget the process first: callers waiting for the node must not take a deliberate kill for a crash.
        var process = Interlocked.Exchange(ref _process, null);
        if (process is null) return;
        process.Kill(entireProcessTree: true);
        process.WaitForExit(30_000);
        process.Dispose();
    }

    /// <summary>
    /// Stops the node as an orchestrator does (SIGTERM) and returns how long it took to exit; past
    /// <paramref name="within"/> it is killed and the wait is a <see cref="TimeoutException"/>.
    /// </summary>
    public async Task<TimeSpan> StopAsync(TimeSpan within)
    {
        var process = Interlocked.Exchange(ref _process, null) ?? throw new InvalidOperationException("the node is not running");
        var clock = Stopwatch.StartNew();
        using (var signal = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await signal.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            return clock.Elapsed;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the node did not exit within {within} of SIGTERM; see {LogPath}");
        }
        finally
        {
            process.Dispose();
        }
    }

    private static bool HasExited(Process process)
    {
        try { return process.HasExited; }
        catch (InvalidOperationException) { return false; } // disposed by a concurrent Kill: not a crash
    }

    public void Dispose() => Kill();

    /// <summary>
    /// The last <paramref name="lines"/> lines of the node's log, so that a node that died while the test waited says
    /// why where the test's failure is read, not only in a folder of the machine that ran it.
    /// </summary>
    public string LogTail(int lines)
    {
        try
        {
            using var reader = new StreamReader(new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            var tail = new Queue<string>(lines);
            while (reader.ReadLine() is { } line)
            {
                if (tail.Count == lines) tail.Dequeue();
                tail.Enqueue(line);
            }
            return string.Join(Environment.NewLine, tail);
        }
        catch (IOException exception)
        {
            return $"(the log could not be read: {exception.Message})";
        }
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A TCP port on the loopback interface that nothing listens on now, and that no outgoing connection will take
    /// before the node binds it: it is drawn from below the system's ephemeral range, where the kernel never picks
    /// a local port for a connection (the many connections other tests open at once would otherwise take a port
    /// between its choice here and the node's start, a second or more later). Never the same port twice in a run.
    /// </summary>
    public static int FreePort()
    {
        var (low, _) = EphemeralRange();
        const int first = 10_000;
        if (low - first >= 1_000)
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var port = Random.Shared.Next(first, low);
                lock (HandedOut)
                    if (HandedOut.Contains(port)) continue;
                if (!CanListen(port)) continue;
                lock (HandedOut)
                    if (HandedOut.Add(port)) return port;
            }
        }
        // No room below the ephemeral range (or all of it tried is busy): a port the system picks.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool CanListen(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The local ports the kernel picks for outgoing connections (Linux); elsewhere the IANA range.</summary>
    private static (int Low, int High) EphemeralRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && int.TryParse(parts[0], out var low) && int.TryParse(parts[1], out var high)) return (low, high);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return (49_152, 65_535);
    }
}
