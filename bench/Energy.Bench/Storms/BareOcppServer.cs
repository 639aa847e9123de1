using System.Diagnostics;

namespace Energy.Bench.Storms;

/// <summary>
/// The baseline of the OCPP storms: bench/ocpp-baseline/server.mjs (ocpp-rpc, strict mode, no persistence) as a
/// child process on a free loopback port. Its packages are installed from its package-lock.json (npm ci) when
/// they are missing.
/// </summary>
public sealed class BareOcppServer : IAsyncDisposable
{
    private readonly Process _process;

    private BareOcppServer(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }

    public static async Task<BareOcppServer> StartAsync(Progress progress)
    {
        var folder = Folder();
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "ocpp-rpc")))
        {
            progress.Report($"installing the baseline server's packages (npm ci in {folder})");
            await RunAsync("npm", folder, "ci", "--no-audit", "--no-fund", "--loglevel=error");
        }
        var port = Energy.Tests.NodeProcess.FreePort();
        var start = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        start.ArgumentList.Add("server.mjs");
        start.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(start) ?? throw new InvalidOperationException("the baseline server did not start");
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => { if (e.Data?.StartsWith("listening", StringComparison.Ordinal) == true) listening.TrySetResult(); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"  baseline: {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        progress.Report($"bare OCPP server (ocpp-rpc, node {process.Id}) listening on port {port}");
        return new BareOcppServer(process, new Uri($"http://127.0.0.1:{port}"));
    }

    /// <summary>bench/ocpp-baseline, found from the benchmark's build folder upwards.</summary>
    private static string Folder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "bench", "ocpp-baseline");
            if (File.Exists(Path.Combine(candidate, "server.mjs"))) return candidate;
        }
        throw new InvalidOperationException("bench/ocpp-baseline/server.mjs not found above " + AppContext.BaseDirectory);
    }

    private static async Task RunAsync(string program, string folder, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, WorkingDirectory = folder };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode} in {folder}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
