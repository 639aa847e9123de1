using Akka.Actor;
using System.Diagnostics;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using Energy.Lifecycles.Channels;

namespace Energy.Bench.Benchmarks;

/// <summary>A node whose journal holds a million payments: how soon after start is it serving again?</summary>
public sealed class RecoveryBenchmark : IBenchmark
{
    /// <summary>Every voucher pays a charging session, as a vehicle's do: the channel counts it for that purpose.</summary>
    private static readonly PaymentPurpose Session = PaymentPurpose.ForSession("bench-session").Unwrap();

    private const double TargetSeconds = 10;

    public string Name => "recovery";
    public string Description => "time until a node with 1M payments in its journal serves again";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        const int Channels = 1_000;
        var perChannel = options.Quick ? 100 : 1_000;
        var firstAnswer = new List<double>();
        var allChannels = new List<double>();
        using var nodeKey = DeviceKeyPair.Generate();
        var store = BenchNode.FreshSqlite();
        ChannelId[] channels;
        await using (var node = await BenchNode.StartAsync(store, nodeKey))
        {
            var (keys, opened) = await node.OpenChannelsAsync(Channels, 10_000_000, progress);
            channels = opened;
            var clock = Stopwatch.StartNew();
            const int Batch = 50;
            for (var s = 1; s <= perChannel; s += Batch)
            {
                var messages = new List<object>(Channels * Batch);
                for (var sequence = s; sequence < s + Batch && sequence <= perChannel; sequence++)
                {
                    for (var c = 0; c < Channels; c++)
                    {
                        var voucher = new Voucher(BenchNode.Network, channels[c], (ulong)sequence, new Money(sequence * 10L, Currency.Eur), new Money(10, Currency.Eur), Session);
                        messages.Add(new SubmitVoucher(channels[c], Signed<Voucher>.Sign(voucher, keys[c]).ToArray()));
                    }
                }
                await node.Expect<VoucherAcknowledged>(node.Regions.Channels, messages, window: 4_000);
                var written = (long)Math.Min(perChannel, s + Batch - 1) * Channels;
                progress.Report($"{written:N0} payments journaled ({written / clock.Elapsed.TotalSeconds:N0}/s)");
            }
            foreach (var key in keys) key.Dispose();
        }

        for (var run = 1; run <= options.Runs; run++)
        {
            progress.Report($"run {run}/{options.Runs}: restarting over the journal");
            var clock = Stopwatch.StartNew();
            await using var node = await BenchNode.StartAsync(store, nodeKey);
            var answer = await node.Regions.Channels.Ask<object>(new GetChannel(channels[0]), TimeSpan.FromSeconds(60));
            if (answer is not ChannelView { LastSequence: var last } || last != (ulong)perChannel) throw new InvalidOperationException($"unexpected answer {answer}");
            firstAnswer.Add(clock.Elapsed.TotalMilliseconds);
            var views = await node.PipelineAsync(node.Regions.Channels, channels.Select(c => (object)new GetChannel(c)).ToList(), window: 200);
            if (views.Any(v => v is not ChannelView { LastSequence: var l } || l != (ulong)perChannel)) throw new InvalidOperationException("a channel recovered the wrong state");
            allChannels.Add(clock.Elapsed.TotalMilliseconds);
            progress.Report($"run {run}: first answer {firstAnswer[^1]:N0} ms, all {Channels} channels {allChannels[^1]:N0} ms");
        }
        var all = Measure.Median(allChannels);
        return new BenchResult(
            [
                new("first answer after start", Measure.Median(firstAnswer), "ms", firstAnswer),
                new($"all {Channels} channels answered", all, "ms", allChannels),
                new("ratio to the 10 s target", all / 1000 / TargetSeconds, "x", allChannels.Select(a => a / 1000 / TargetSeconds).ToList()),
            ],
            new Dictionary<string, object>
            {
                ["payments_in_journal"] = (long)Channels * perChannel,
                ["first_answer_ms"] = Math.Round(Measure.Median(firstAnswer)),
                ["all_channels_ms"] = Math.Round(all),
                ["target_ms"] = TargetSeconds * 1000,
                ["runs"] = options.Runs,
            },
            $"{(all <= TargetSeconds * 1000 ? "PASS" : "FAIL")}: serving all {Channels} channels {all / 1000:0.0} s after start with {(long)Channels * perChannel:N0} payments journaled (target < {TargetSeconds} s)");
    }
}
