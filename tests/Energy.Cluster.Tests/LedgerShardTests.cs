using Energy.Channels.Identity;
using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Cluster.Hosting;
using Xunit.Abstractions;
using Energy.Cluster.Network;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;

namespace Energy.Cluster.Tests;

public sealed class LedgerShardOnSqlite(ITestOutputHelper output) : LedgerShardTests(TestStores.Sqlite(), output);

public sealed class LedgerShardOnPostgreSql(ITestOutputHelper output) : LedgerShardTests(TestStores.PostgreSql(), output);

public abstract class LedgerShardTests(NodeOptions node, ITestOutputHelper output) : ClusterTestKit(node, output)
{
    private static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    private string ShardOf(PartyId account) => LedgerShards.For(account, Settings.LedgerShardCount);

    private T Send<T>(ILedgerCommand command)
    {
        Regions.Ledger.Tell(command, TestActor);
        return ExpectMsg<T>(TimeSpan.FromSeconds(10));
    }

    private AccountView Account(PartyId account) => Send<AccountView>(new GetAccount(ShardOf(account), account));

    /// <summary>Two accounts that live in different shards.</summary>
    private (PartyId, PartyId) AccountsInTwoShards(string prefix)
    {
        var first = PartyId.Of("device:" + prefix + "-0");
        for (var i = 1; ; i++)
        {
            var other = PartyId.Of($"device:{prefix}-{i}");
            if (ShardOf(other) != ShardOf(first)) return (first, other);
        }
    }

    [Fact]
    public void Minting_withdrawing_and_refusals_change_balances_exactly_once()
    {
        var alice = PartyId.Of("device:alice");
        var shard = ShardOf(alice);
        var minted = Send<LedgerCommitted>(new Mint(shard, "mint-1", alice, Eur(1_000), TestAuthority.Bank));
        Assert.Equal(minted, Send<LedgerCommitted>(new Mint(shard, "mint-1", alice, Eur(1_000), TestAuthority.Bank)));
        Assert.Equal("RequestIdReused", Send<Refusal>(new Mint(shard, "mint-1", alice, Eur(999), TestAuthority.Bank)).Code);
        Assert.Equal(1_000, Account(alice).Balance.MinorUnits);

        Send<LedgerCommitted>(new Withdraw(shard, "withdraw-1", alice, Eur(300)));
        var refusal = Send<Refusal>(new Withdraw(shard, "withdraw-2", alice, Eur(701)));
        Assert.Equal(nameof(InsufficientFunds), refusal.Code);
        Assert.Equal(nameof(NonPositiveAmount), Send<Refusal>(new Mint(shard, "mint-0", alice, Eur(0), TestAuthority.Bank)).Code);
        Assert.Equal(nameof(NonPositiveAmount), Send<Refusal>(new Mint(shard, "mint-neg", alice, Eur(-5), TestAuthority.Bank)).Code);
        Assert.Equal(nameof(CurrencyMismatch), Send<Refusal>(new Mint(shard, "mint-usd", alice, new Money(5, Currency.Usd), TestAuthority.Bank)).Code);
        var wrongShard = LedgerShards.All(Settings.LedgerShardCount).First(s => s != shard);
        Assert.Equal(nameof(WrongLedgerShard), Send<Refusal>(new Mint(wrongShard, "mint-w", alice, Eur(5), TestAuthority.Bank)).Code);
        Assert.Equal(700, Account(alice).Balance.MinorUnits);
    }

    [Fact]
    public void Escrow_is_locked_once_and_released_once_across_shards()
    {
        var (payer, payee) = AccountsInTwoShards("party");
        var channel = TestEscrows.Streaming("escrow-channel");
        Send<LedgerCommitted>(new Mint(ShardOf(payer), "fund", payer, Eur(1_000), TestAuthority.Bank));
        Assert.Equal(nameof(InsufficientFunds), Send<Refusal>(new LockEscrow(ShardOf(payer), channel, payer, Eur(1_001))).Code);
        var locked = Send<EscrowLocked>(new LockEscrow(ShardOf(payer), channel, payer, Eur(600)));
        Assert.Equal((locked.Escrow, locked.Account, locked.Amount), (channel, payer, Eur(600)));
        var retried = Send<EscrowLocked>(new LockEscrow(ShardOf(payer), channel, payer, Eur(600)));
        Assert.Equal((locked.Escrow, locked.Amount), (retried.Escrow, retried.Amount));
        Assert.Equal(nameof(EscrowAlreadyLocked), Send<Refusal>(new LockEscrow(ShardOf(payer), channel, payer, Eur(500))).Code);
        Assert.Equal((400L, 600L), (Account(payer).Balance.MinorUnits, Account(payer).Escrowed.MinorUnits));

        var badSplit = new ReleaseEscrow(ShardOf(payer), channel, payer, [new Payout(payer, Eur(100)), new Payout(payee, Eur(400))]);
        Assert.Equal(nameof(PayoutsDoNotMatchEscrow), Send<Refusal>(badSplit).Code);
        Assert.Equal(nameof(EscrowNotFound), Send<Refusal>(new ReleaseEscrow(ShardOf(payer), TestEscrows.Streaming("nope"), payer, [])).Code);

        var release = new ReleaseEscrow(ShardOf(payer), channel, payer, [new Payout(payer, Eur(150)), new Payout(payee, Eur(450))]);
        var released = Send<EscrowReleased>(release);
        var again = Send<EscrowReleased>(release);
        Assert.Equal(released.BlockHeight, again.BlockHeight);
        Assert.Equal(released.Payouts, again.Payouts);

        AwaitAssert(() => Assert.Equal(450, Account(payee).Balance.MinorUnits), TimeSpan.FromSeconds(10));
        Assert.Equal((550L, 0L), (Account(payer).Balance.MinorUnits, Account(payer).Escrowed.MinorUnits));
        AwaitAssert(() => Assert.True(Totals().Conserved), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_duplicated_or_early_credit_is_applied_once_and_in_order()
    {
        var account = PartyId.Of("device:credited");
        var shard = ShardOf(account);
        var source = LedgerShards.All(Settings.LedgerShardCount).First(s => s != shard);
        var channel = ChannelId.Of("c");
        // Sequence 2 before 1 waits; 1 then applies; a repeated 1 is only acknowledged again.
        Regions.Ledger.Tell(new Credit(shard, source, 2, account, Eur(20), channel), TestActor);
        Regions.Ledger.Tell(new Credit(shard, source, 1, account, Eur(10), channel), TestActor);
        Regions.Ledger.Tell(new Credit(shard, source, 1, account, Eur(10), channel), TestActor);
        AwaitAssert(() => Assert.Equal(10, Account(account).Balance.MinorUnits), TimeSpan.FromSeconds(10));
        Regions.Ledger.Tell(new Credit(shard, source, 2, account, Eur(20), channel), TestActor);
        AwaitAssert(() => Assert.Equal(30, Account(account).Balance.MinorUnits), TimeSpan.FromSeconds(10));
    }

    private LedgerTotals Totals()
    {
        var shards = LedgerShards.All(Settings.LedgerShardCount).Select(s => Send<ShardTotals>(new GetShardTotals(s))).ToList();
        return LedgerTotals.From(shards);
    }
}
