using Energy.Channels.Primitives;
using Energy.Cluster.Hosting;
using Energy.Lifecycles.Ledger;
using Energy.Cluster.Network;

namespace Energy.Cluster.Tests;

/// <summary>The ledger's totals are exact however large the balances, and never throw.</summary>
public sealed class LedgerTotalsTests
{
    private const string Shard = "ledger-0";
    private static readonly PartyId Alice = PartyId.Of("device:alice");
    private static readonly PartyId Bob = PartyId.Of("device:bob");
    private static readonly ChannelId X1 = ChannelId.Of("x1");

    [Fact]
    public void Totals_of_balances_beyond_64_bits_are_exact_and_never_throw()
    {
        // Credits from other shards land on top of what a shard minted: two accounts each near the 64-bit maximum.
        var book = new LedgerBook(Shard, 1, Currency.Eur);
        book.Apply(new CreditEntry("ledger-1", 1, Alice, long.MaxValue - 1, X1));
        book.Apply(new CreditEntry("ledger-2", 1, Bob, long.MaxValue - 2, X1));

        var shard = book.Totals();

        Assert.Equal((Int128)long.MaxValue * 2 - 3, shard.BalancesMinorUnits);

        // Shards that each hold that much: the network's sums are exact too, and conservation is still judged.
        var shards = Enumerable.Range(0, 3).Select(i => shard with { Shard = $"ledger-{i}", AppliedFrom = new Dictionary<string, ulong>() }).ToList();
        var totals = LedgerTotals.From(shards);

        Assert.Equal(((Int128)long.MaxValue * 2 - 3) * 3, totals.BalancesMinorUnits);
        Assert.False(totals.Conserved);
        Assert.Equal(6L, totals.Accounts);
    }

    [Fact]
    public void Totals_of_mints_beyond_64_bits_across_shards_are_exact_and_conserved()
    {
        var shards = Enumerable.Range(0, 4).Select(i =>
        {
            var shard = $"ledger-{i}";
            var book = new LedgerBook(shard, 1, Currency.Eur);
            var account = PartyId.Of($"device:rich-{i}");
            // Each shard mints close to the 64-bit maximum into its own account (shard count 1: every account is local to it).
            book.Apply(new MintEntry("fund", account, long.MaxValue - 10, TestAuthority.Bank));
            return book.Totals();
        }).ToList();

        var totals = LedgerTotals.From(shards);

        Assert.Equal(((Int128)long.MaxValue - 10) * 4, totals.MintedMinorUnits);
        Assert.Equal(totals.MintedMinorUnits, totals.BalancesMinorUnits);
        Assert.Equal(totals.MintedMinorUnits, totals.MintedByBank[TestAuthority.Bank.Value]);
        Assert.True(totals.Conserved);
    }
}
