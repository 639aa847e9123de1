using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Energy.Bench;

/// <summary>A benchmark of the project: runs its measurements, prints progress to stderr, returns figures.</summary>
public interface IBenchmark
{
    string Name { get; }
    string Description { get; }
    Task<BenchResult> RunAsync(BenchOptions options, Progress progress);
}

public sealed record BenchOptions(bool Quick)
{
    /// <summary>How many times each measurement is repeated; the median is reported.</summary>
    public int Runs => Quick ? 3 : 5;

    /// <summary>How long one timed run lasts.</summary>
    public TimeSpan RunDuration => Quick ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromSeconds(1);
}

public sealed record BenchRow(string Measure, double Median, string Unit, IReadOnlyList<double> Runs);

/// <summary>The verdict is one line that starts with "PASS:" when every check met its target, "FAIL:" otherwise.</summary>
public sealed record BenchResult(IReadOnlyList<BenchRow> Rows, IReadOnlyDictionary<string, object> Figures, string Verdict)
{
    public bool Passed => Verdict.StartsWith("PASS:", StringComparison.Ordinal);
}

public sealed class Progress(string benchmark)
{
    public void Report(string message) =>
        Console.Error.WriteLine($"[{benchmark} {DateTime.Now:HH:mm:ss}] {message}");
}

public static class Measure
{
    /// <summary>
    /// Runs <paramref name="operation"/> in a loop for about <paramref name="duration"/> and returns
    /// operations per second. The operation receives the iteration index.
    /// </summary>
    public static double RatePerSecond(Action<int> operation, TimeSpan duration, int maxIterations = int.MaxValue)
    {
        var stopwatch = Stopwatch.StartNew();
        var iterations = 0;
        while (iterations < maxIterations)
        {
            // Check the clock every 64 operations so the clock read does not dominate cheap operations.
            for (var i = 0; i < 64 && iterations < maxIterations; i++) operation(iterations++);
            if (stopwatch.Elapsed >= duration) break;
        }
        return iterations / stopwatch.Elapsed.TotalSeconds;
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    public static double Percentile(IReadOnlyList<double> sortedValues, double percentile)
    {
        if (sortedValues.Count == 0) return double.NaN;
        var index = (int)Math.Ceiling(percentile / 100.0 * sortedValues.Count) - 1;
        return sortedValues[Math.Clamp(index, 0, sortedValues.Count - 1)];
    }
}

public static class Report
{
    public static void Print(string name, BenchResult result)
    {
        var width = Math.Max(28, result.Rows.Max(r => r.Measure.Length) + 2);
        Console.WriteLine();
        Console.WriteLine($"{"measure".PadRight(width)}{"median",14}  {"unit",-12} runs");
        Console.WriteLine(new string('-', width + 60));
        foreach (var row in result.Rows)
        {
            var runs = string.Join(" ", row.Runs.Select(Format));
            Console.WriteLine($"{row.Measure.PadRight(width)}{Format(row.Median),14}  {row.Unit,-12} {runs}");
        }
        Console.WriteLine();
        Console.WriteLine(result.Verdict);
        var figures = new Dictionary<string, object> { ["bench"] = name };
        foreach (var (key, value) in result.Figures) figures[key] = value;
        Console.WriteLine(JsonSerializer.Serialize(figures));
    }

    private static string Format(double value) =>
        value >= 100 ? value.ToString("N0", CultureInfo.InvariantCulture) : value.ToString("0.###", CultureInfo.InvariantCulture);
}
