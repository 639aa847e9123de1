using System.Diagnostics;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using NSec.Cryptography;
using Energy.Lifecycles.Channels;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// Channel updates accepted and acknowledged once durable, per second, on one node over SQLite, against
/// the raw Ed25519 verify rate of all the machine's cores measured in the same run.
/// </summary>
public sealed class ChannelUpdatesBenchmark : IBenchmark
{
    /// <summary>Every voucher pays a charging session, as a vehicle's do: the channel counts it for that purpose.</summary>
    private static readonly PaymentPurpose Session = PaymentPurpose.ForSession("bench-session").Unwrap();

    private const double TargetRatio = 0.5;

    public string Name => "channel-updates";
    public string Description => "durable channel updates/s on one SQLite node vs all-core raw verify/s";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        const int Channels = 200;
        var perChannel = options.Quick ? 60 : 200;
        var updates = new List<double>();
        var verify = new List<double>();
        for (var run = 1; run <= options.Runs; run++)
        {
            // The baseline is measured first, on an idle machine, then the node runs.
            verify.Add(AllCoreVerifyRate(options.RunDuration));
            using var nodeKey = DeviceKeyPair.Generate();
            await using var node = await BenchNode.StartAsync(BenchNode.FreshSqlite(), nodeKey);
            var (keys, channels) = await node.OpenChannelsAsync(Channels, 1_000_000, progress);
            var messages = new List<object>(Channels * perChannel);
            for (var s = 1; s <= perChannel; s++)
            {
                for (var c = 0; c < Channels; c++)
                {
                    var voucher = new Voucher(BenchNode.Network, channels[c], (ulong)s, new Money(s * 10L, Currency.Eur), new Money(10, Currency.Eur), Session);
                    messages.Add(new SubmitVoucher(channels[c], Signed<Voucher>.Sign(voucher, keys[c]).ToArray()));
                }
            }
            progress.Report($"run {run}/{options.Runs}: sending {messages.Count:N0} signed vouchers over {Channels} channels");
            var clock = Stopwatch.StartNew();
            var answers = await node.PipelineAsync(node.Regions.Channels, messages, window: 4_000);
            var rate = answers.Count / clock.Elapsed.TotalSeconds;
            var refused = answers.Count(a => a is not VoucherAcknowledged);
            if (refused > 0) throw new InvalidOperationException($"{refused} vouchers were refused: {answers.First(a => a is not VoucherAcknowledged)}");
            updates.Add(rate);
            foreach (var key in keys) key.Dispose();
            progress.Report($"run {run}: {rate:N0} durable updates/s, all-core verify {verify[^1]:N0}/s");
        }
        var ratios = updates.Zip(verify, (u, v) => u / v).ToArray();
        var ratio = Measure.Median(ratios);
        return new BenchResult(
            [
                new("durable channel updates", Measure.Median(updates), "updates/s", updates),
                new($"raw verify, {Environment.ProcessorCount} cores", Measure.Median(verify), "ops/s", verify),
                new("ratio updates / verify", ratio, "x", ratios),
            ],
            new Dictionary<string, object>
            {
                ["updates_per_s"] = Math.Round(Measure.Median(updates)),
                ["verify_all_cores_per_s"] = Math.Round(Measure.Median(verify)),
                ["ratio"] = Math.Round(ratio, 3),
                ["target_ratio"] = TargetRatio,
                ["cores"] = Environment.ProcessorCount,
                ["runs"] = options.Runs,
            },
            $"{(ratio >= TargetRatio ? "PASS" : "FAIL")}: durable updates run at {ratio:0.00} of the all-core raw verify rate (target >= {TargetRatio})");
    }

    public static double AllCoreVerifyRate(TimeSpan duration)
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519);
        var message = new byte[64];
        var signature = SignatureAlgorithm.Ed25519.Sign(key, message);
        var publicKey = key.PublicKey;
        var total = 0L;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, Environment.ProcessorCount, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, _ =>
        {
            var count = 0L;
            while (clock.Elapsed < duration)
            {
                for (var i = 0; i < 64; i++)
                {
                    if (!SignatureAlgorithm.Ed25519.Verify(publicKey, message, signature)) throw new InvalidOperationException("verify failed");
                }
                count += 64;
            }
            Interlocked.Add(ref total, count);
        });
        return total / clock.Elapsed.TotalSeconds;
    }
}
