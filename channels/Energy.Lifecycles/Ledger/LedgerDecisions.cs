using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Ledger;

/// <summary>
/// What a ledger shard does with one command: refuse it by name, or answer it once the block that holds its effect is
/// durable, after the book took <see cref="Entry"/> when the command makes a new one. A retry takes nothing and is
/// answered as the first time was; a credit ahead of a missing one is neither taken nor answered (its source sends both
/// again, in order). The answer is made from the height of the block by which everything the book then shows is durable:
/// for a new entry, the block that will hold it.
/// </summary>
public readonly record struct LedgerDecision(ProtocolError? Refused, LedgerEntry? Entry, Func<ulong, IEnergyMessage>? Answer)
{
    public static LedgerDecision Nothing => default;

    public static LedgerDecision Refuse(ProtocolError error) => new(error, null, null);

    public static LedgerDecision Take(LedgerEntry entry, Func<ulong, IEnergyMessage> answer) => new(null, entry, answer);

    public static LedgerDecision AnswerOnly(Func<ulong, IEnergyMessage> answer) => new(null, null, answer);
}

/// <summary>
/// The ledger shard's commands decided against its book, and nothing else: each returns a <see cref="LedgerDecision"/>
/// and changes nothing a reader sees of the book (a release only numbers its payouts to other shards, see
/// <see cref="LedgerBook.DecideRelease"/>). The shard takes the entry, holds the answer for its block and writes blocks.
/// </summary>
public static class LedgerDecisions
{
    /// <summary>The commands that change the book, decided here; a shard answers its other commands (its readings) itself.</summary>
    public static bool Decides(ILedgerCommand command) => command is Mint or Withdraw or LockEscrow or ReleaseEscrow or Credit;

    /// <summary>Decides <paramref name="command"/>; amounts in answers are in <paramref name="currency"/>, the shard's own.</summary>
    public static LedgerDecision Decide(LedgerBook book, ILedgerCommand command, Currency currency) => command switch
    {
        Mint mint => Request(book, mint.RequestId, book.DecideMint(mint)),
        Withdraw withdraw => Request(book, withdraw.RequestId, book.DecideWithdraw(withdraw)),
        LockEscrow lockEscrow => Lock(book, lockEscrow, currency),
        ReleaseEscrow release => Release(book, release, currency),
        Credit credit => Credited(book, credit, currency),
        _ => throw new ArgumentException($"a ledger shard decides no {command.GetType().Name}", nameof(command)),
    };

    /// <summary>A mint or a withdrawal: a retry of the same request is answered with the block that first took it.</summary>
    private static LedgerDecision Request(LedgerBook book, string requestId, Result<LedgerEntry> decision)
    {
        if (!decision.IsOk) return LedgerDecision.Refuse(decision.Error);
        if (book.RequestBefore(requestId) is { } earlier) return LedgerDecision.AnswerOnly(_ => new LedgerCommitted(book.Shard, requestId, earlier.BlockHeight));
        return LedgerDecision.Take(decision.Value, height => new LedgerCommitted(book.Shard, requestId, height));
    }

    /// <summary>A lock: a retry of a lock that holds takes nothing, and is answered once what the book shows is durable.</summary>
    private static LedgerDecision Lock(LedgerBook book, LockEscrow command, Currency currency)
    {
        var decision = book.DecideLock(command);
        if (!decision.IsOk) return LedgerDecision.Refuse(decision.Error);
        var entry = (EscrowLockEntry)decision.Value;
        IEnergyMessage Locked(ulong height) => new EscrowLocked(entry.Escrow, entry.Account, new(entry.Amount, currency), book.Shard, height);
        return book.IsDuplicateLock(entry) ? LedgerDecision.AnswerOnly(Locked) : LedgerDecision.Take(entry, Locked);
    }

    /// <summary>A release: one made before is answered with its own payouts and block, before anything else is checked.</summary>
    private static LedgerDecision Release(LedgerBook book, ReleaseEscrow command, Currency currency)
    {
        if (book.ReleasedBefore(command.Escrow, command.Holder) is { } earlier)
            return LedgerDecision.AnswerOnly(_ => Released(book.Shard, (EscrowReleaseEntry)earlier.Entry, currency, earlier.BlockHeight));
        var decision = book.DecideRelease(command);
        if (!decision.IsOk) return LedgerDecision.Refuse(decision.Error);
        var entry = (EscrowReleaseEntry)decision.Value;
        return LedgerDecision.Take(entry, height => Released(book.Shard, entry, currency, height));
    }

    private static EscrowReleased Released(string shard, EscrowReleaseEntry entry, Currency currency, ulong height) =>
        new(entry.Escrow, entry.Holder, entry.Payouts.Select(p => new Payout(p.Account, new(p.Amount, currency))).ToList(), shard, height);

    /// <summary>
    /// A credit from another shard, acknowledged to its source once durable: the next in order is taken, a duplicate only
    /// acknowledged, and one ahead of a gap ignored. A next credit in another currency, or negative, is refused.
    /// </summary>
    private static LedgerDecision Credited(LedgerBook book, Credit credit, Currency currency)
    {
        IEnergyMessage Acknowledged(ulong _) => new CreditAcknowledged(credit.SourceShard, book.Shard, credit.Sequence);
        switch (book.DecideCredit(credit))
        {
            case LedgerBook.CreditDecision.Apply:
                if (credit.Amount.Currency != currency) return LedgerDecision.Refuse(new CurrencyMismatch(currency, credit.Amount.Currency));
                if (credit.Amount.IsNegative) return LedgerDecision.Refuse(new NegativeAmount(credit.ChannelId, "credit", credit.Amount.MinorUnits));
                return LedgerDecision.Take(new CreditEntry(credit.SourceShard, credit.Sequence, credit.Account, credit.Amount.MinorUnits, credit.ChannelId), Acknowledged);
            case LedgerBook.CreditDecision.Duplicate:
                return LedgerDecision.AnswerOnly(Acknowledged);
            default:
                return LedgerDecision.Nothing;
        }
    }
}
