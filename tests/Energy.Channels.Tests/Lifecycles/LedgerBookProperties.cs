using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>
/// A ledger shard's book called directly, as its entity calls it: random scripts of funding, withdrawals, escrow locks
/// (new, retried, over the balance, of a spent escrow) and releases (split between accounts, short, long, again),
/// each decided and, when accepted, applied as its block would apply it. Money is created only by a mint and leaves
/// only by a withdrawal; a refusal changes nothing; a retry is answered with what was done; and a book rebuilt from
/// its snapshot decides as the running one does.
/// </summary>
public class LedgerBookProperties
{
    private static readonly OperatorId Bank = OperatorId.Of("bank-p");
    private static readonly PartyId[] Accounts = new[] { "device:a", "device:b", "device:c", "device:d" }.Select(PartyId.Of).ToArray();

    public enum StepKind { Mint, MintAgain, Withdraw, Lock, LockAgain, Release, ReleaseShort, ReleaseAgain, WrongCurrency }

    public sealed record Step(StepKind Kind, int Account, int Other, int Escrow, int Amount, int Split);

    private static readonly Gen<Step> Steps =
        from kind in Gen.Frequency(
            (4, Gen.Constant(StepKind.Mint)), (1, Gen.Constant(StepKind.MintAgain)), (2, Gen.Constant(StepKind.Withdraw)),
            (4, Gen.Constant(StepKind.Lock)), (1, Gen.Constant(StepKind.LockAgain)), (3, Gen.Constant(StepKind.Release)),
            (1, Gen.Constant(StepKind.ReleaseShort)), (1, Gen.Constant(StepKind.ReleaseAgain)), (1, Gen.Constant(StepKind.WrongCurrency)))
        from account in Gen.Choose(0, Accounts.Length - 1)
        from other in Gen.Choose(0, Accounts.Length - 1)
        from escrow in Gen.Choose(0, 5)
        from amount in Gen.Frequency((6, Gen.Choose(1, 1_000)), (1, Gen.Choose(-5, 0)), (1, Gen.Choose(1_000, 100_000)))
        from split in Gen.Choose(0, 100)
        select new Step(kind, account, other, escrow, amount, split);

    private static readonly Arbitrary<IReadOnlyList<Step>> Scripts = Gen.ListOf(Steps).Select(steps => (IReadOnlyList<Step>)steps.ToList()).ToArbitrary();

    private static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    private static EscrowId Escrow(int index) =>
        new(index % 2 == 0 ? ChannelKind.Streaming : ChannelKind.Duplex, ChannelId.Of($"channel-{index}"), OpeningHash.Of(System.Text.Encoding.ASCII.GetBytes($"opening {index}")));

    /// <summary>What can be seen of a book: everything a decision or a reader may depend on.</summary>
    private static string Observed(LedgerBook book) =>
        string.Join("; ", Accounts.Select(a => $"{a}={book.BalanceOf(a)}/{book.EscrowedBy(a)}"))
        + $"; minted {book.Minted}; withdrawn {book.Withdrawn}; height {book.Height}; balances {book.BalancesTotal}; escrows {book.EscrowsTotal}; "
        + string.Join(",", book.Escrows(100).Select(e => e.ToString()).Order(StringComparer.Ordinal));

    /// <summary>The command a step names, given what the script did so far (the last lock of each escrow, the last request of each account).</summary>
    private sealed class Script(LedgerBook book)
    {
        private readonly Dictionary<int, (PartyId Holder, long Amount)> _locked = [];
        private readonly List<Mint> _mints = [];
        private int _requests;
        private StepKind? _playedAs;

        public LedgerBook Book { get; private set; } = book;
        /// <summary>Each refusal, with the step as played: a retry or release of an escrow not locked is played as a new lock.</summary>
        public List<(Step Step, ProtocolError Error, string Before, string After)> Refusals { get; } = [];
        public List<(LedgerEntry Again, LedgerEntry First)> Retries { get; } = [];

        public Result<LedgerEntry> Decide(Step step)
        {
            var account = Accounts[step.Account];
            switch (step.Kind)
            {
                case StepKind.Mint:
                    var mint = new Mint(Book.Shard, $"mint-{++_requests}", account, Eur(step.Amount), Bank);
                    _mints.Add(mint);
                    return Book.DecideMint(mint);
                case StepKind.MintAgain when _mints.Count > 0:
                    return Book.DecideMint(_mints[step.Split % _mints.Count]);
                case StepKind.Withdraw:
                    return Book.DecideWithdraw(new Withdraw(Book.Shard, $"withdraw-{++_requests}", account, Eur(step.Amount)));
                case StepKind.Lock:
                    return Book.DecideLock(new LockEscrow(Book.Shard, Escrow(step.Escrow), account, Eur(step.Amount)));
                case StepKind.LockAgain when _locked.TryGetValue(step.Escrow, out var held):
                    return Book.DecideLock(new LockEscrow(Book.Shard, Escrow(step.Escrow), held.Holder, Eur(held.Amount)));
                case StepKind.Release or StepKind.ReleaseShort or StepKind.ReleaseAgain when _locked.TryGetValue(step.Escrow, out var held):
                    var total = step.Kind == StepKind.ReleaseShort ? held.Amount - 1 : held.Amount;
                    var first = total * step.Split / 100;
                    return Book.DecideRelease(new ReleaseEscrow(Book.Shard, Escrow(step.Escrow), held.Holder,
                        [new Payout(Accounts[step.Other], Eur(first)), new Payout(held.Holder, Eur(total - first))]));
                case StepKind.WrongCurrency:
                    return Book.DecideMint(new Mint(Book.Shard, $"mint-{++_requests}", account, new Money(step.Amount, Currency.Usd), Bank));
                default:
                    _playedAs = StepKind.Lock;
                    return Book.DecideLock(new LockEscrow(Book.Shard, Escrow(step.Escrow), account, Eur(step.Amount)));
            }
        }

        /// <summary>Decides and, when accepted and new, applies as the shard would: one entry a block.</summary>
        public void Play(Step step)
        {
            var before = Observed(Book);
            _playedAs = null;
            var decision = Decide(step);
            if (!decision.IsOk)
            {
                Refusals.Add((step with { Kind = _playedAs ?? step.Kind }, decision.Error, before, Observed(Book)));
                return;
            }
            var entry = decision.Value;
            var earlier = entry switch
            {
                EscrowLockEntry lockEntry when Book.IsDuplicateLock(lockEntry) => entry,
                MintEntry or WithdrawalEntry when Book.IsDuplicateRequest(entry) => entry,
                EscrowReleaseEntry release when Book.ReleasedBefore(release.Escrow, release.Holder) is { } recorded => recorded.Entry,
                _ => null,
            };
            if (earlier is not null)
            {
                Retries.Add((entry, earlier));
                return;
            }
            Book.ApplyingHeight = Book.Height + 1;
            Book.Apply(entry);
            Book.SetHead(Book.Height + 1, $"{Book.Height + 1:x64}");
            if (entry is EscrowLockEntry locked) _locked[step.Escrow] = (locked.Account, locked.Amount);
            if (entry is EscrowReleaseEntry) _locked.Remove(step.Escrow);
        }

        public void Restore() => Book = LedgerBook.FromSnapshot(Book.ToSnapshot(), 1);
    }

    [Property(MaxTest = 300)]
    public Property Money_is_made_by_mints_and_leaves_by_withdrawals_only() => Prop.ForAll(Scripts, steps =>
    {
        var script = new Script(new LedgerBook("ledger-0", 1, Currency.Eur));
        foreach (var step in steps)
        {
            script.Play(step);
            var book = script.Book;
            Assert.Equal((Int128)book.Minted - book.Withdrawn, book.BalancesTotal + book.EscrowsTotal);
            Assert.All(Accounts, a => Assert.True(book.BalanceOf(a) >= 0, $"{a} has {book.BalanceOf(a)}"));
            Assert.Equal(LedgerBook.Sum(Accounts.Select(book.BalanceOf)), book.BalancesTotal);
            Assert.Equal(LedgerBook.Sum(Accounts.Select(book.EscrowedBy)), book.EscrowsTotal);
        }
    });

    [Property(MaxTest = 300)]
    public Property A_refusal_is_named_and_changes_nothing() => Prop.ForAll(Scripts, steps =>
    {
        var script = new Script(new LedgerBook("ledger-0", 1, Currency.Eur));
        foreach (var step in steps) script.Play(step);
        Assert.All(script.Refusals, refusal =>
        {
            Assert.Equal(refusal.Before, refusal.After);
            Assert.False(string.IsNullOrEmpty(refusal.Error.Code));
            if (refusal.Step.Kind == StepKind.WrongCurrency) Assert.IsType<CurrencyMismatch>(refusal.Error);
            if (refusal.Step.Amount <= 0 && refusal.Step.Kind is StepKind.Mint or StepKind.Withdraw or StepKind.Lock)
                Assert.IsType<NonPositiveAmount>(refusal.Error);
            if (refusal.Step.Kind == StepKind.ReleaseShort) Assert.IsType<PayoutsDoNotMatchEscrow>(refusal.Error);
        });
    });

    [Property(MaxTest = 300)]
    public Property A_retry_is_answered_with_what_was_done_and_counted_once() => Prop.ForAll(Scripts, steps =>
    {
        var script = new Script(new LedgerBook("ledger-0", 1, Currency.Eur));
        foreach (var step in steps) script.Play(step);
        Assert.All(script.Retries, retry => Assert.Equal(retry.First, retry.Again));
        Assert.Equal((Int128)script.Book.Minted - script.Book.Withdrawn, script.Book.BalancesTotal + script.Book.EscrowsTotal);
    });

    [Property(MaxTest = 200)]
    public Property A_book_rebuilt_from_its_snapshot_decides_as_the_running_one() => Prop.ForAll(Scripts, Scripts, (before, after) =>
    {
        var running = new Script(new LedgerBook("ledger-0", 1, Currency.Eur));
        var restored = new Script(new LedgerBook("ledger-0", 1, Currency.Eur));
        foreach (var step in before)
        {
            running.Play(step);
            restored.Play(step);
        }
        restored.Restore();
        Assert.Equal(Observed(running.Book), Observed(restored.Book));
        foreach (var step in after)
        {
            running.Play(step);
            restored.Play(step);
            Assert.Equal(Observed(running.Book), Observed(restored.Book));
        }
        Assert.Equal(running.Refusals.Select(r => r.Error), restored.Refusals.Select(r => r.Error));
    });

    [Property(MaxTest = 200)]
    public Property A_payout_to_another_shard_leaves_as_numbered_credits_without_gaps() => Prop.ForAll(Gen.ListOf(Gen.Choose(1, 1_000)).ToArbitrary(), amounts =>
    {
        // Two shards: the payouts to accounts of the other shard are numbered 1, 2, 3 ... in the order decided.
        var here = Accounts.Where(a => LedgerShards.For(a, 2) == "ledger-0").ToArray();
        var there = Accounts.Where(a => LedgerShards.For(a, 2) == "ledger-1").ToArray();
        Assert.NotEmpty(here);
        Assert.NotEmpty(there);
        var book = new LedgerBook("ledger-0", 2, Currency.Eur);
        void Commit(Result<LedgerEntry> decision)
        {
            Assert.True(decision.IsOk, decision.IsOk ? "" : decision.Error.ToString());
            book.ApplyingHeight = book.Height + 1;
            book.Apply(decision.Value);
            book.SetHead(book.Height + 1, $"{book.Height + 1:x64}");
        }
        Commit(book.DecideMint(new Mint("ledger-0", "fund", here[0], Eur(amounts.Sum() + 1), Bank)));
        for (var i = 0; i < amounts.Count; i++)
        {
            Commit(book.DecideLock(new LockEscrow("ledger-0", Escrow(i), here[0], Eur(amounts[i]))));
            Commit(book.DecideRelease(new ReleaseEscrow("ledger-0", Escrow(i), here[0], [new Payout(there[i % there.Length], Eur(amounts[i]))])));
        }
        var outbox = book.Outbox.OrderBy(c => c.Sequence).ToList();
        Assert.Equal(Enumerable.Range(1, amounts.Count).Select(i => (ulong)i), outbox.Select(c => c.Sequence));
        Assert.Equal(amounts.Select(a => (long)a), outbox.Select(c => c.AmountMinorUnits));
        Assert.Equal((Int128)book.Minted, book.BalancesTotal + book.EscrowsTotal + LedgerBook.Sum(outbox.Select(c => c.AmountMinorUnits)));
    });
}
