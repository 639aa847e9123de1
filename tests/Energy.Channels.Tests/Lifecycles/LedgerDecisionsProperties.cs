using Energy.Channels.Primitives;
using Energy.Lifecycles;
using Energy.Lifecycles.Ledger;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>
/// A ledger shard's decisions and its pending entries called directly, as the shard calls them: random scripts of
/// mints, withdrawals, locks and releases (new, retried, refused), and of credits from two other shards (in order,
/// repeated, ahead of a gap, malformed), with blocks of a random size cut in between. A new entry is answered with the
/// block that holds it, a retry as the first time was, a refusal with nothing else; a credit is taken once and in
/// order and acknowledged to its source; and every entry lands in the block whose height it was told.
/// </summary>
public class LedgerDecisionsProperties
{
    private const string Shard = "ledger-0";
    private static readonly OperatorId Bank = OperatorId.Of("bank-d");
    private static readonly PartyId[] Accounts = new[] { "device:a", "device:b", "device:c" }.Select(PartyId.Of).ToArray();
    private static readonly string[] Sources = ["ledger-1", "ledger-2"];

    private static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    private static EscrowId Escrow(int index) =>
        new(ChannelKind.Streaming, ChannelId.Of($"channel-{index}"), OpeningHash.Of(System.Text.Encoding.ASCII.GetBytes($"opening {index}")));

    /// <summary>A shard's book and the entries waiting for its blocks, played as the shard plays them.</summary>
    private sealed class Shell(int maxEntriesPerBlock)
    {
        public LedgerBook Book { get; } = new(Shard, 1, Currency.Eur);
        public PendingEntries Pending { get; } = new(maxEntriesPerBlock, 1_000);
        public ulong Started { get; private set; }
        /// <summary>Each entry taken, with the height of the block it was told will hold it.</summary>
        public List<(LedgerEntry Entry, ulong Told)> Taken { get; } = [];
        /// <summary>Each entry written, with the height of the block that holds it.</summary>
        public List<(LedgerEntry Entry, ulong Block)> Written { get; } = [];

        /// <summary>Carries out a decision; the answer, made as the shard makes it, or null when there is none.</summary>
        public IEnergyMessage? Carry(LedgerDecision decided)
        {
            if (decided.Refused is not null)
            {
                Assert.Null(decided.Entry);
                Assert.Null(decided.Answer);
                return null;
            }
            if (decided.Entry is { } entry) Taken.Add((entry, Pending.Take(Book, entry, Started)));
            return decided.Answer?.Invoke(Pending.Tip(Started));
        }

        public void Cut()
        {
            var entries = Pending.NextBlock();
            if (entries.Count == 0) return;
            Started++;
            Book.SetHead(Started, $"{Started:x64}");
            Written.AddRange(entries.Select(entry => (entry, Started)));
        }
    }

    public enum StepKind { Mint, MintAgain, Withdraw, WithdrawAgain, Lock, LockAgain, Release, ReleaseAgain, ReleaseShort, Cut }

    public sealed record Step(StepKind Kind, int Account, int Escrow, int Amount, int Split);

    private static readonly Gen<Step> Steps =
        from kind in Gen.Elements(Enum.GetValues<StepKind>())
        from account in Gen.Choose(0, Accounts.Length - 1)
        from escrow in Gen.Choose(0, 4)
        from amount in Gen.Frequency((6, Gen.Choose(1, 500)), (1, Gen.Choose(-3, 0)))
        from split in Gen.Choose(0, 100)
        select new Step(kind, account, escrow, amount, split);

    private static readonly Arbitrary<(int BlockSize, IReadOnlyList<Step> Steps)> Scripts =
        (from blockSize in Gen.Choose(1, 4)
         from steps in Gen.ListOf(Steps)
         select (blockSize, (IReadOnlyList<Step>)steps.ToList())).ToArbitrary();

    /// <summary>The commands a script sends: a retry sends again the command the script sent last of its kind.</summary>
    private sealed class Commands
    {
        private readonly List<ILedgerCommand> _mints = [], _withdrawals = [], _releases = [];
        private readonly Dictionary<int, LockEscrow> _locks = [];
        private int _requests;

        public ILedgerCommand? For(Step step)
        {
            var account = Accounts[step.Account];
            switch (step.Kind)
            {
                case StepKind.Mint: return Sent(_mints, new Mint(Shard, $"mint-{++_requests}", account, Eur(step.Amount), Bank));
                case StepKind.Withdraw: return Sent(_withdrawals, new Withdraw(Shard, $"withdraw-{++_requests}", account, Eur(step.Amount)));
                case StepKind.MintAgain: return Again(_mints, step);
                case StepKind.WithdrawAgain: return Again(_withdrawals, step);
                case StepKind.ReleaseAgain: return Again(_releases, step);
                case StepKind.Lock:
                    var lockEscrow = new LockEscrow(Shard, Escrow(step.Escrow), account, Eur(step.Amount));
                    _locks[step.Escrow] = lockEscrow;
                    return lockEscrow;
                case StepKind.LockAgain: return _locks.GetValueOrDefault(step.Escrow);
                case StepKind.Release or StepKind.ReleaseShort when _locks.TryGetValue(step.Escrow, out var locked):
                    var total = step.Kind == StepKind.ReleaseShort ? locked.Amount.MinorUnits - 1 : locked.Amount.MinorUnits;
                    var first = total * step.Split / 100;
                    return Sent(_releases, new ReleaseEscrow(Shard, locked.Escrow, locked.Account,
                        [new Payout(account, Eur(first)), new Payout(locked.Account, Eur(total - first))]));
                default: return null;
            }
        }

        private static ILedgerCommand Sent(List<ILedgerCommand> sent, ILedgerCommand command)
        {
            sent.Add(command);
            return command;
        }

        private static ILedgerCommand? Again(List<ILedgerCommand> sent, Step step) => sent.Count == 0 ? null : sent[step.Split % sent.Count];
    }

    /// <summary>What makes two commands the same request: the answer to the first is the answer to every retry.</summary>
    private static string? RequestKey(ILedgerCommand command) => command switch
    {
        Mint mint => "request " + mint.RequestId,
        Withdraw withdraw => "request " + withdraw.RequestId,
        ReleaseEscrow release => $"release {release.Escrow} {release.Holder}",
        _ => null,
    };

    private static ulong HeightOf(IEnergyMessage answer) => answer switch
    {
        LedgerCommitted committed => committed.BlockHeight,
        EscrowLocked locked => locked.BlockHeight,
        EscrowReleased released => released.BlockHeight,
        _ => throw new InvalidOperationException($"no block height in {answer}"),
    };

    [Property(MaxTest = 300)]
    public Property A_new_entry_is_answered_with_the_block_that_holds_it_and_a_retry_as_the_first_time_was() => Prop.ForAll(Scripts, script =>
    {
        var shell = new Shell(script.BlockSize);
        var commands = new Commands();
        var first = new Dictionary<string, IEnergyMessage>(StringComparer.Ordinal);
        foreach (var step in script.Steps)
        {
            if (step.Kind == StepKind.Cut) { shell.Cut(); continue; }
            if (commands.For(step) is not { } command) continue;
            var decided = LedgerDecisions.Decide(shell.Book, command, Currency.Eur);
            var taken = shell.Taken.Count;
            var answer = shell.Carry(decided);
            if (decided.Refused is not null) continue;
            Assert.NotNull(answer);
            if (decided.Entry is not null)
            {
                // A new entry: answered with the block that will hold it, which is the tip of what the book shows.
                Assert.Equal(shell.Taken[taken].Told, HeightOf(answer));
                Assert.Equal(shell.Pending.Tip(shell.Started), HeightOf(answer));
                if (RequestKey(command) is { } key) Assert.True(first.TryAdd(key, answer), $"{key} was taken twice");
            }
            else if (RequestKey(command) is { } key)
            {
                // A retry takes nothing and is answered as the first time was, with the block that took the first.
                Assert.Equivalent(first[key], answer, strict: true);
            }
            else
            {
                // A lock already held is answered with what it locked, once everything the book shows is durable.
                var locked = Assert.IsType<EscrowLocked>(answer);
                var lockEscrow = Assert.IsType<LockEscrow>(command);
                Assert.Equal((lockEscrow.Escrow, lockEscrow.Account, lockEscrow.Amount, Shard), (locked.Escrow, locked.Account, locked.Amount, locked.Shard));
                Assert.Equal(shell.Pending.Tip(shell.Started), locked.BlockHeight);
            }
            // Taken once: money is made by mints and leaves by withdrawals only.
            Assert.Equal((Int128)shell.Book.Minted - shell.Book.Withdrawn, shell.Book.BalancesTotal + shell.Book.EscrowsTotal);
        }
    });

    [Property(MaxTest = 300)]
    public Property A_refusal_takes_nothing_and_is_the_books_own() => Prop.ForAll(Scripts, script =>
    {
        var shell = new Shell(script.BlockSize);
        var commands = new Commands();
        foreach (var step in script.Steps)
        {
            if (step.Kind == StepKind.Cut) { shell.Cut(); continue; }
            if (commands.For(step) is not { } command) continue;
            var decided = LedgerDecisions.Decide(shell.Book, command, Currency.Eur);
            ProtocolError? booksOwn = command switch
            {
                Mint mint => shell.Book.DecideMint(mint).Error,
                Withdraw withdraw => shell.Book.DecideWithdraw(withdraw).Error,
                LockEscrow lockEscrow => shell.Book.DecideLock(lockEscrow).Error,
                ReleaseEscrow release when shell.Book.ReleasedBefore(release.Escrow, release.Holder) is null => shell.Book.DecideRelease(release).Error,
                _ => null,
            };
            Assert.Equal(booksOwn, decided.Refused);
            var before = shell.Book.Totals();
            shell.Carry(decided);
            if (decided.Refused is not null) Assert.Equivalent(before, shell.Book.Totals());
        }
    });

    public enum CreditKind { Sound, OtherCurrency, Negative }

    public sealed record CreditStep(int Source, int Sequence, int Amount, CreditKind Kind, bool Cut);

    private static readonly Arbitrary<IReadOnlyList<CreditStep>> CreditScripts =
        Gen.ListOf(
                from source in Gen.Choose(0, Sources.Length - 1)
                from sequence in Gen.Choose(1, 8)
                from amount in Gen.Choose(0, 1_000)
                from kind in Gen.Frequency((8, Gen.Constant(CreditKind.Sound)), (1, Gen.Constant(CreditKind.OtherCurrency)), (1, Gen.Constant(CreditKind.Negative)))
                from cut in Gen.Elements(true, false)
                select new CreditStep(source, sequence, amount, kind, cut))
            .Select(steps => (IReadOnlyList<CreditStep>)steps.ToList()).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property A_credit_is_taken_once_and_in_order_and_acknowledged_to_its_source() => Prop.ForAll(CreditScripts, steps =>
    {
        var shell = new Shell(maxEntriesPerBlock: 2);
        var account = Accounts[0];
        foreach (var step in steps)
        {
            var source = Sources[step.Source];
            var amount = step.Kind switch
            {
                CreditKind.OtherCurrency => new Money(step.Amount, Currency.Usd),
                CreditKind.Negative => Eur(-1 - step.Amount),
                _ => Eur(step.Amount),
            };
            var applied = shell.Book.AppliedFrom(source);
            var credit = new Credit(Shard, source, (ulong)step.Sequence, account, amount, ChannelId.Of("channel-c"));
            var decided = LedgerDecisions.Decide(shell.Book, credit, Currency.Eur);
            var answer = shell.Carry(decided);
            if ((ulong)step.Sequence > applied + 1)
            {
                // Ahead of a gap: neither taken nor answered; its source sends the missing one and this one again.
                Assert.Equal(LedgerDecision.Nothing, decided);
                continue;
            }
            if ((ulong)step.Sequence == applied + 1 && step.Kind != CreditKind.Sound)
            {
                Assert.NotNull(decided.Refused);
                Assert.Equal(applied, shell.Book.AppliedFrom(source));
                continue;
            }
            // The next one is taken, one already taken only acknowledged again; either way its source hears it once durable.
            Assert.Equal((ulong)step.Sequence == applied + 1, decided.Entry is CreditEntry);
            Assert.Equal(new CreditAcknowledged(source, Shard, (ulong)step.Sequence), answer);
            if (step.Cut) shell.Cut();
        }
        foreach (var source in Sources)
        {
            var taken = shell.Taken.Select(t => t.Entry).OfType<CreditEntry>().Where(c => c.SourceShard == source).Select(c => c.Sequence);
            Assert.Equal(Enumerable.Range(1, (int)shell.Book.AppliedFrom(source)).Select(i => (ulong)i), taken);
        }
        Assert.Equal(shell.Taken.Select(t => t.Entry).OfType<CreditEntry>().Sum(c => c.Amount), shell.Book.BalanceOf(account));
    });

    public sealed record BlockStep(int Entries, bool Cut);

    private static readonly Arbitrary<(int BlockSize, IReadOnlyList<BlockStep> Steps)> BlockScripts =
        (from blockSize in Gen.Choose(1, 5)
         from steps in Gen.ListOf(from entries in Gen.Choose(0, 7) from cut in Gen.Elements(true, false) select new BlockStep(entries, cut))
         select (blockSize, (IReadOnlyList<BlockStep>)steps.ToList())).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Every_entry_lands_in_the_block_whose_height_it_was_told_in_the_order_taken() => Prop.ForAll(BlockScripts, script =>
    {
        var shell = new Shell(script.BlockSize);
        var minted = 0;
        foreach (var step in script.Steps)
        {
            for (var i = 0; i < step.Entries; i++)
                shell.Carry(LedgerDecisions.Decide(shell.Book, new Mint(Shard, $"mint-{++minted}", Accounts[0], Eur(1), Bank), Currency.Eur));
            if (step.Cut) shell.Cut();
        }
        while (shell.Pending.Count > 0) shell.Cut();
        Assert.Equal(shell.Taken, shell.Written.Select(w => (w.Entry, w.Block)));
        Assert.All(shell.Written.GroupBy(w => w.Block), block => Assert.InRange(block.Count(), 1, script.BlockSize));
        // The book recorded each request with the block that holds it: a retry is answered with that block.
        Assert.All(shell.Written, w => Assert.Equal(w.Block, shell.Book.RequestBefore(((MintEntry)w.Entry).RequestId)!.BlockHeight));
    });

    [Property(MaxTest = 200)]
    public Property Entries_beyond_the_bound_are_refused_as_overloaded_before_they_are_decided() => Prop.ForAll(
        Gen.Choose(1, 20).ToArbitrary(), Gen.Choose(0, 40).ToArbitrary(), (maxPending, taken) =>
    {
        var pending = new PendingEntries(maxEntriesPerBlock: 3, maxPending);
        var book = new LedgerBook(Shard, 1, Currency.Eur);
        for (var i = 0; i < taken; i++)
        {
            if (pending.Overloaded(Shard) is { } overloaded)
            {
                Assert.Equal(new LedgerOverloaded(Shard, maxPending, maxPending), overloaded);
                break;
            }
            pending.Take(book, new MintEntry($"mint-{i}", Accounts[0], 1, Bank), started: 0);
        }
        Assert.Equal(Math.Min(taken, maxPending), pending.Count);
        Assert.Equal(pending.Count >= maxPending, pending.Overloaded(Shard) is not null);
    });
}
