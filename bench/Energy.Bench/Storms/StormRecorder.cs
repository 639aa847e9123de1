using System.Collections.Concurrent;

namespace Energy.Bench.Storms;

/// <summary>
/// What one storm of clients saw: every answer time by series (a call answered, a device authenticated, ...),
/// every error by kind, every "busy, retry" the server asked for by kind, and when each client was first served,
/// counted from the storm's first arrival. Safe to record into from any thread.
/// </summary>
public sealed class StormRecorder(int clients)
{
    /// <summary>The series every answered call goes into.</summary>
    public const string Answers = "answer";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<double>> _series = [];
    private readonly ConcurrentDictionary<string, int> _errors = new();
    private readonly ConcurrentDictionary<string, int> _retries = new();
    private readonly double[] _servedAtMs = Enumerable.Repeat(double.NaN, clients).ToArray();
    private double _arrivalLagMaxMs;

    public int Clients => clients;

    public void Record(string series, double milliseconds)
    {
        lock (_gate)
        {
            if (!_series.TryGetValue(series, out var values)) _series[series] = values = [];
            values.Add(milliseconds);
        }
    }

    public void Error(string kind) => _errors.AddOrUpdate(kind, 1, (_, n) => n + 1);

    public void AskedToRetry(string kind) => _retries.AddOrUpdate(kind, 1, (_, n) => n + 1);

    /// <summary>Client <paramref name="index"/> was served (booted and accepted, or authenticated and answered) at this time of the storm.</summary>
    public void Served(int index, double atMs) => _servedAtMs[index] = atMs;

    /// <summary>How late the schedule started an arrival: a client that cannot keep its schedule says so here.</summary>
    public void ArrivalLag(double milliseconds)
    {
        lock (_gate) _arrivalLagMaxMs = Math.Max(_arrivalLagMaxMs, milliseconds);
    }

    /// <summary>
    /// The storm summed up. Each of <paramref name="perClient"/> holds one time per client: a client that never got
    /// there counts as never (an infinite time), so a percentile over them covers every client, not only the lucky.
    /// </summary>
    public StormFigures Summarize(params string[] perClient)
    {
        Dictionary<string, double[]> series;
        lock (_gate) series = _series.ToDictionary(s => s.Key, s => s.Value.Order().ToArray());
        foreach (var name in perClient)
        {
            var reached = series.GetValueOrDefault(name, []);
            series[name] = [.. reached, .. Enumerable.Repeat(double.PositiveInfinity, Math.Max(0, clients - reached.Length))];
        }
        var served = _servedAtMs.Where(t => !double.IsNaN(t)).ToArray();
        return new StormFigures(
            clients,
            served.Length,
            served.Length == clients ? served.Max() / 1000 : double.PositiveInfinity,
            _errors.Values.Sum(),
            _errors.ToDictionary(e => e.Key, e => e.Value),
            _retries.Values.Sum(),
            _retries.ToDictionary(e => e.Key, e => e.Value),
            series,
            _arrivalLagMaxMs);
    }
}

/// <summary>
/// A storm summed up. <see cref="AllServedSeconds"/> is infinite when some client was never served.
/// </summary>
public sealed record StormFigures(
    int Clients,
    int Served,
    double AllServedSeconds,
    int Errors,
    IReadOnlyDictionary<string, int> ErrorKinds,
    int Retries,
    IReadOnlyDictionary<string, int> RetryKinds,
    IReadOnlyDictionary<string, double[]> Series,
    double ArrivalLagMaxMs)
{
    public double Percentile(string series, double percentile) =>
        Series.TryGetValue(series, out var sorted) ? Measure.Percentile(sorted, percentile) : double.NaN;

    public int Count(string series) => Series.TryGetValue(series, out var sorted) ? sorted.Length : 0;

    public string DescribeErrors() => Describe(ErrorKinds);

    public string DescribeRetries() => Describe(RetryKinds);

    private static string Describe(IReadOnlyDictionary<string, int> kinds) =>
        kinds.Count == 0 ? "none" : string.Join(", ", kinds.OrderByDescending(k => k.Value).Take(6).Select(k => $"{k.Key} x{k.Value}"));
}

/// <summary>How the storms write their figures.</summary>
public static class StormFormat
{
    public static string Seconds(double seconds) => double.IsInfinity(seconds) ? "never (some not served)" : $"{seconds:0.0} s";

    /// <summary>A figure for the JSON line: a time never reached is "never", one not measured (no answers) is "none".</summary>
    public static object Finite(double value, int digits) => double.IsInfinity(value) ? "never" : double.IsNaN(value) ? "none" : Math.Round(value, digits);
}
