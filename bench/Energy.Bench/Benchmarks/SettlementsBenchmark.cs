using Akka.Actor;
using System.Diagnostics;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;

namespace Energy.Bench.Benchmarks;

/// <summary>Settlements committed into signed, hash-chained blocks per second on SQLite.</summary>
public sealed class SettlementsBenchmark : IBenchmark
{
    private const double Target = 20_000;

    public string Name => "settlements";
    public string Description => "escrow releases committed into settlement blocks per second (SQLite)";

    public async Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        var count = options.Quick ? 20_000 : 60_000;
        const int Accounts = 2_000;
        var rates = new List<double>();
        var entriesPerBlock = new List<double>();
        for (var run = 1; run <= options.Runs; run++)
        {
            using var nodeKey = DeviceKeyPair.Generate();
            await using var node = await BenchNode.StartAsync(BenchNode.FreshSqlite(), nodeKey);
            var shards = node.Settings.LedgerShardCount;
            var accounts = Enumerable.Range(0, Accounts).Select(i => PartyId.Of($"device:account-{i}")).ToArray();
            Money Eur(long units) => new(units, Currency.Eur);
            await node.Expect<LedgerCommitted>(node.Regions.Ledger,
                accounts.Select(a => (object)new Mint(LedgerShards.For(a, shards), "fund-" + a, a, Eur(1_000_000_000), BenchNode.Bank)).ToList());
            var locks = new List<object>(count);
            var releases = new List<object>(count);
            for (var i = 0; i < count; i++)
            {
                var holder = accounts[i % Accounts];
                var payee = accounts[(i * 7 + 1) % Accounts];
                var channel = ChannelId.Of($"channel-{i}");
                // Each channel's escrow, as a streaming channel's opening would name it (the hash of a made-up opening).
                var escrow = new EscrowId(ChannelKind.Streaming, channel, OpeningHash.Of(System.Text.Encoding.ASCII.GetBytes(channel.Value)));
                locks.Add(new LockEscrow(LedgerShards.For(holder, shards), escrow, holder, Eur(1_000)));
                releases.Add(new ReleaseEscrow(LedgerShards.For(holder, shards), escrow, holder, [new Payout(holder, Eur(1_000 - i % 1_000)), new Payout(payee, Eur(i % 1_000))]));
            }
            progress.Report($"run {run}/{options.Runs}: locking {count:N0} escrows");
            await node.Expect<EscrowLocked>(node.Regions.Ledger, locks, window: 8_000);
            var heightBefore = await TotalHeightAsync(node, shards);
            progress.Report($"run {run}/{options.Runs}: releasing {count:N0} escrows");
            var clock = Stopwatch.StartNew();
            await node.Expect<EscrowReleased>(node.Regions.Ledger, releases, window: 8_000);
            var rate = count / clock.Elapsed.TotalSeconds;
            var blocks = await TotalHeightAsync(node, shards) - heightBefore;
            rates.Add(rate);
            entriesPerBlock.Add(count / (double)Math.Max(1, blocks));
            progress.Report($"run {run}: {rate:N0} settlements/s in {blocks} blocks");
        }
        var median = Measure.Median(rates);
        return new BenchResult(
            [
                new("settlements committed", median, "per s", rates),
                new("settlements per block", Measure.Median(entriesPerBlock), "entries", entriesPerBlock),
                new("ratio to the 20,000/s target", median / Target, "x", rates.Select(r => r / Target).ToList()),
            ],
            new Dictionary<string, object>
            {
                ["settlements_per_s"] = Math.Round(median),
                ["entries_per_block"] = Math.Round(Measure.Median(entriesPerBlock), 1),
                ["target_per_s"] = Target,
                ["ratio"] = Math.Round(median / Target, 3),
                ["runs"] = options.Runs,
            },
            $"{(median >= Target ? "PASS" : "FAIL")}: {median:N0} settlements/s committed into blocks (target >= {Target:N0})");
    }

    private static async Task<ulong> TotalHeightAsync(BenchNode node, int shards)
    {
        ulong total = 0;
        foreach (var shard in LedgerShards.All(shards))
        {
            total += ((ShardTotals)await node.Regions.Ledger.Ask<object>(new GetShardTotals(shard), TimeSpan.FromSeconds(30))).Height;
        }
        return total;
    }
}
