using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Market;

public enum TransferState { Locking, Releasing, Done, Refused }

/// <summary>
/// The ledger transfers of one settled interval in flight: each is a lock of the payer's money into its escrow,
/// then the escrow's release to the payee. The collections come first; the payouts start once every collection
/// is done or refused. Every request is idempotent on the ledger, so sending one again is always safe.
/// </summary>
public sealed class MarketPayments(long interval, IReadOnlyList<MarketTransfer> collect, IReadOnlyList<MarketTransfer> pay)
{
    private readonly Dictionary<EscrowId, (MarketTransfer Transfer, TransferState State, string? Refusal)> _transfers =
        collect.Concat(pay).ToDictionary(t => t.Escrow, t => (t, TransferState.Locking, (string?)null));
    private readonly HashSet<EscrowId> _collections = collect.Select(t => t.Escrow).ToHashSet();

    public long Interval { get; } = interval;
    public int Attempts { get; set; }

    /// <summary>Whether collections are still under way (payouts wait for them).</summary>
    public bool Collecting => _collections.Any(e => _transfers[e].State is TransferState.Locking or TransferState.Releasing);

    public bool Finished => _transfers.Values.All(t => t.State is TransferState.Done or TransferState.Refused);

    /// <summary>What is still to send now: the collections while they go on, then the payouts.</summary>
    public IEnumerable<(MarketTransfer Transfer, TransferState State)> Owed()
    {
        var collecting = Collecting;
        foreach (var (escrow, t) in _transfers.ToList())
        {
            if (t.State is TransferState.Done or TransferState.Refused) continue;
            if (collecting && !_collections.Contains(escrow)) continue;
            yield return (t.Transfer, t.State);
        }
    }

    /// <summary>Takes the ledger's answer; returns the transfer to release now when its lock just took effect.</summary>
    public MarketTransfer? Answer(EscrowId escrow, object? answer)
    {
        if (!_transfers.TryGetValue(escrow, out var t) || t.State is TransferState.Done or TransferState.Refused) return null;
        switch (answer)
        {
            case EscrowLocked locked when locked.Escrow == escrow && t.State == TransferState.Locking:
                _transfers[escrow] = (t.Transfer, TransferState.Releasing, null);
                return t.Transfer;
            case EscrowReleased released when released.Escrow == escrow:
                _transfers[escrow] = (t.Transfer, TransferState.Done, null);
                return null;
            // A lock sent again after its release took effect: the transfer was made.
            case Refusal { Error: EscrowAlreadyReleased }:
                _transfers[escrow] = (t.Transfer, TransferState.Done, null);
                return null;
            case Refusal { Error: LedgerOverloaded or Kernel.TooManyWaiting }:
                return null;
            case Refusal refusal:
                _transfers[escrow] = (t.Transfer, TransferState.Refused, $"{t.Transfer.Participant}: {refusal.Code}: {refusal.Message}");
                return null;
            default:
                return null;
        }
    }

    public IReadOnlyList<string> Refusals() => _transfers.Values.Where(t => t.State == TransferState.Refused).Select(t => t.Refusal!).ToList();
}
