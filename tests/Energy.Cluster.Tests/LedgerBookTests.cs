using System.Text;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Tests;

/// <summary>
/// The ledger's rules without a cluster: every unit of money is counted once. An escrow is one channel
/// kind's, one id's and one opening's; a lock checks the balance unless it is a retry of the very same
/// lock; and a released escrow is never locked again.
/// </summary>
public sealed class LedgerBookTests
{
    private const string Shard = "ledger-0";
    private static readonly PartyId Alice = PartyId.Of("device:alice");
    private static readonly PartyId Bob = PartyId.Of("device:bob");
    private static readonly ChannelId X1 = ChannelId.Of("x1");

    private static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    private static EscrowId Escrow(ChannelKind kind, ChannelId channel, string opening) =>
        new(kind, channel, OpeningHash.Of(Encoding.ASCII.GetBytes(opening)));

    private static readonly EscrowId DuplexX1 = Escrow(ChannelKind.Duplex, X1, "duplex opening of x1");
    private static readonly EscrowId StreamingX1 = Escrow(ChannelKind.Streaming, X1, "streaming opening of x1");

    /// <summary>One shard for every account, so that every payout is local.</summary>
    private static LedgerBook Book(params (PartyId Account, long Amount)[] funds)
    {
        var book = new LedgerBook(Shard, 1, Currency.Eur);
        foreach (var (account, amount) in funds) Commit(book, book.DecideMint(new Mint(Shard, "fund-" + account, account, Eur(amount), TestAuthority.Bank)));
        return book;
    }

    private static LedgerEntry Commit(LedgerBook book, Result<LedgerEntry> decision)
    {
        Assert.True(decision.IsOk, decision.IsOk ? "" : decision.Error.ToString());
        book.ApplyingHeight = book.Height + 1;
        book.Apply(decision.Value);
        book.SetHead(book.Height + 1, $"{book.Height + 1:x64}");
        return decision.Value;
    }

    private static (long Balance, long Escrowed, ulong Height, string Snapshot) State(LedgerBook book, PartyId account) =>
        (book.BalanceOf(account), book.EscrowedBy(account), book.Height,
            System.Text.Json.JsonSerializer.Serialize(book.ToSnapshot(), Serialization.EnergyJson.Options));

    [Fact]
    public void A_refunded_duplex_escrow_does_not_let_a_streaming_channel_of_the_same_id_lock_without_funds()
    {
        var book = Book((Alice, 1_000));
        Commit(book, book.DecideLock(new LockEscrow(Shard, DuplexX1, Alice, Eur(500))));
        Commit(book, book.DecideRelease(new ReleaseEscrow(Shard, DuplexX1, Alice, [new Payout(Alice, Eur(500))])));
        var before = State(book, Alice);

        var phantom = book.DecideLock(new LockEscrow(Shard, StreamingX1, Alice, Eur(1_000_000)));

        var refused = Assert.IsType<InsufficientFunds>(phantom.Error);
        Assert.Equal((Alice, 1_000L, 1_000_000L), (refused.Account, refused.BalanceMinorUnits, refused.RequestedMinorUnits));
        Assert.Equal(before, State(book, Alice));
        Assert.Equal((1_000L, 0L), (before.Balance, before.Escrowed));
    }

    [Fact]
    public void A_released_escrow_is_never_locked_again()
    {
        var book = Book((Alice, 1_000));
        Commit(book, book.DecideLock(new LockEscrow(Shard, DuplexX1, Alice, Eur(500))));
        Commit(book, book.DecideRelease(new ReleaseEscrow(Shard, DuplexX1, Alice, [new Payout(Alice, Eur(500))])));
        var before = State(book, Alice);

        var again = Assert.IsType<EscrowAlreadyReleased>(book.DecideLock(new LockEscrow(Shard, DuplexX1, Alice, Eur(500))).Error);

        Assert.Equal((DuplexX1, Alice, 3UL), (again.Escrow, again.Account, again.ReleasedInBlock));
        Assert.Equal(before, State(book, Alice));
    }

    [Fact]
    public void A_streaming_channel_does_not_share_the_escrow_a_duplex_channel_of_the_same_id_holds()
    {
        var book = Book((Alice, 300));
        Commit(book, book.DecideLock(new LockEscrow(Shard, DuplexX1, Alice, Eur(300))));
        var before = State(book, Alice);

        // Same channel id, same account, same amount: yet another kind's escrow, to be paid from a balance of 0.
        var shared = book.DecideLock(new LockEscrow(Shard, StreamingX1, Alice, Eur(300)));

        var refused = Assert.IsType<InsufficientFunds>(shared.Error);
        Assert.Equal((0L, 300L), (refused.BalanceMinorUnits, refused.RequestedMinorUnits));
        Assert.Equal(before, State(book, Alice));
        Assert.Equal((0L, 300L), (before.Balance, before.Escrowed));
    }

    [Fact]
    public void A_retry_of_the_same_lock_is_answered_with_its_entry_and_applies_nothing_new()
    {
        var book = Book((Alice, 600));
        var first = (EscrowLockEntry)Commit(book, book.DecideLock(new LockEscrow(Shard, StreamingX1, Alice, Eur(600))));
        var before = State(book, Alice);

        var retry = book.DecideLock(new LockEscrow(Shard, StreamingX1, Alice, Eur(600)));

        Assert.Equal(first, retry.Value);
        Assert.True(book.IsDuplicateLock((EscrowLockEntry)retry.Value));
        Assert.Equal(before, State(book, Alice));
        var other = Assert.IsType<EscrowAlreadyLocked>(book.DecideLock(new LockEscrow(Shard, StreamingX1, Alice, Eur(599))).Error);
        Assert.Equal((StreamingX1, 600L, 599L), (other.Escrow, other.LockedMinorUnits, other.RequestedMinorUnits));
    }

    [Fact]
    public void A_release_answers_with_this_escrows_payouts_never_those_of_another_escrow_of_the_channel()
    {
        var book = Book((Alice, 1_000));
        Commit(book, book.DecideLock(new LockEscrow(Shard, DuplexX1, Alice, Eur(300))));
        Commit(book, book.DecideLock(new LockEscrow(Shard, StreamingX1, Alice, Eur(400))));
        var duplexRelease = (EscrowReleaseEntry)Commit(book, book.DecideRelease(new ReleaseEscrow(Shard, DuplexX1, Alice, [new Payout(Alice, Eur(300))])));

        Assert.Null(book.ReleasedBefore(StreamingX1, Alice));
        var mismatch = Assert.IsType<PayoutsDoNotMatchEscrow>(
            book.DecideRelease(new ReleaseEscrow(Shard, StreamingX1, Alice, [new Payout(Alice, Eur(300))])).Error);
        Assert.Equal((StreamingX1, 400L, 300L), (mismatch.Escrow, mismatch.EscrowMinorUnits, mismatch.PayoutsMinorUnits));

        var streamingRelease = (EscrowReleaseEntry)Commit(book,
            book.DecideRelease(new ReleaseEscrow(Shard, StreamingX1, Alice, [new Payout(Alice, Eur(100)), new Payout(Bob, Eur(300))])));

        Assert.Equal(StreamingX1, streamingRelease.Escrow);
        Assert.Equal(duplexRelease, book.ReleasedBefore(DuplexX1, Alice)!.Entry);
        Assert.Equal(streamingRelease, book.ReleasedBefore(StreamingX1, Alice)!.Entry);
        Assert.Equal((700L, 300L, 0L), (book.BalanceOf(Alice), book.BalanceOf(Bob), book.EscrowedBy(Alice)));
    }

    [Fact]
    public void A_snapshot_keeps_escrows_and_releases_by_their_whole_identity()
    {
        var book = Book((Alice, 1_000));
        Commit(book, book.DecideLock(new LockEscrow(Shard, DuplexX1, Alice, Eur(300))));
        Commit(book, book.DecideRelease(new ReleaseEscrow(Shard, DuplexX1, Alice, [new Payout(Alice, Eur(300))])));
        Commit(book, book.DecideLock(new LockEscrow(Shard, StreamingX1, Alice, Eur(200))));

        var restored = LedgerBook.FromSnapshot(book.ToSnapshot(), 1);

        Assert.Equal(State(book, Alice), State(restored, Alice));
        Assert.IsType<EscrowAlreadyReleased>(restored.DecideLock(new LockEscrow(Shard, DuplexX1, Alice, Eur(300))).Error);
        Assert.True(restored.IsDuplicateLock(new EscrowLockEntry(StreamingX1, Alice, 200)));
    }
}
