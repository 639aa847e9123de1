using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;

namespace Energy.Lifecycles.Channels;

/// <summary>
/// A channel's checks of the ledger's answers against its own escrow, as pure functions: a lock or a release
/// of another escrow, account or amount is a mismatch to raise, never an answer to act on.
/// </summary>
public static class EscrowChecks
{
    /// <summary>
    /// Null when <paramref name="locked"/> is the lock of this channel's own escrow of exactly what one of its
    /// depositors owes; otherwise the mismatch to raise.
    /// </summary>
    public static EscrowLockMismatch? CheckLock(ChannelId channel, EscrowId own, EscrowLocked locked, IReadOnlyList<(PartyId Account, Money Amount)> deposits)
    {
        foreach (var (account, amount) in deposits)
        {
            if (locked.Escrow == own && locked.Account == account && locked.Amount == amount) return null;
        }
        return new EscrowLockMismatch(channel, own, string.Join(", ", deposits.Select(d => $"{d.Amount} from {d.Account}")),
            $"{locked.Amount} from {locked.Account} into {locked.Escrow}");
    }

    /// <summary>
    /// Null when <paramref name="released"/> is the release of this channel's own escrow paying out exactly
    /// <paramref name="expected"/>; otherwise the mismatch to raise (also when nothing was expected from that holder).
    /// </summary>
    public static SettlementMismatch? CheckRelease(ChannelId channel, EscrowId own, EscrowReleased released, PartyId expectedHolder, IReadOnlyList<Payout>? expected)
    {
        if (released.Escrow == own && expected is not null && released.Holder == expectedHolder && released.Payouts.SequenceEqual(expected)) return null;
        return new SettlementMismatch(channel, own, expected is null ? $"no release from {released.Holder}" : Describe(expectedHolder, expected),
            $"{released.Escrow}: {Describe(released.Holder, released.Payouts)}");
    }

    private static string Describe(PartyId holder, IEnumerable<Payout> payouts) =>
        $"from {holder}: " + string.Join(", ", payouts.Select(p => $"{p.Amount} to {p.Account}"));
}

/// <summary>The ledger requests for an escrow, addressed to the shard of the account they name.</summary>
public static class LedgerRequests
{
    public static LockEscrow Lock(int ledgerShardCount, EscrowId escrow, PartyId account, Money amount) =>
        new(LedgerShards.For(account, ledgerShardCount), escrow, account, amount);

    public static ReleaseEscrow Release(int ledgerShardCount, EscrowId escrow, PartyId holder, IReadOnlyList<Payout> payouts) =>
        new(LedgerShards.For(holder, ledgerShardCount), escrow, holder, payouts);
}
