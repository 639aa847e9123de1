using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Ledger;

/// <summary>One ledger shard's totals in minor units, as its book held them after its last durable block.</summary>
public sealed record ShardFigures(long Minted, long Withdrawn, Int128 Balances, Int128 Escrows)
{
    public static ShardFigures Of(LedgerBook book) => new(book.Minted, book.Withdrawn, book.BalancesTotal, book.EscrowsTotal);
}

/// <summary>
/// The totals of the ledger shards this node holds, for the <c>energy.ledger.totals</c> gauge: read at each scrape
/// without asking any entity. Each shard puts its figures here when it recovers and after each durable block, and
/// takes them away when it stops (it then runs on another node). The channel watch asks every shard every 30 s, so
/// every shard runs on some node and the sum over the nodes is the ledger's. One entry per shard, at most.
/// </summary>
public sealed class LedgerFigures : IExtension
{
    private static readonly KeyValuePair<string, object?> Minted = EnergyMetrics.Tag("total", "minted");
    private static readonly KeyValuePair<string, object?> Withdrawn = EnergyMetrics.Tag("total", "withdrawn");
    private static readonly KeyValuePair<string, object?> Balances = EnergyMetrics.Tag("total", "balances");
    private static readonly KeyValuePair<string, object?> Escrows = EnergyMetrics.Tag("total", "escrows");

    private readonly ConcurrentDictionary<string, ShardFigures> _shards = new(StringComparer.Ordinal);

    public static LedgerFigures Get(ActorSystem system) => system.WithExtension<LedgerFigures, LedgerFiguresProvider>();

    public int Shards => _shards.Count;

    public void Put(string shard, ShardFigures figures) => _shards[shard] = figures;

    public void Remove(string shard) => _shards.TryRemove(shard, out _);

    /// <summary>The sums over the shards held here: one measurement per total.</summary>
    public IEnumerable<Measurement<long>> Measure()
    {
        Int128 minted = 0, withdrawn = 0, balances = 0, escrows = 0;
        foreach (var figures in _shards.Values)
        {
            minted += figures.Minted;
            withdrawn += figures.Withdrawn;
            balances += figures.Balances;
            escrows += figures.Escrows;
        }
        return
        [
            new(Saturated(minted), Minted),
            new(Saturated(withdrawn), Withdrawn),
            new(Saturated(balances), Balances),
            new(Saturated(escrows), Escrows),
        ];
    }

    private static long Saturated(Int128 value) => value > long.MaxValue ? long.MaxValue : value < long.MinValue ? long.MinValue : (long)value;
}

public sealed class LedgerFiguresProvider : ExtensionIdProvider<LedgerFigures>
{
    public override LedgerFigures CreateExtension(ExtendedActorSystem system)
    {
        var figures = new LedgerFigures();
        // The node's gauge reads the figures of the newest actor system (a node runs one).
        EnergyMetrics.ObserveLedgerTotals(figures.Measure);
        return figures;
    }
}
