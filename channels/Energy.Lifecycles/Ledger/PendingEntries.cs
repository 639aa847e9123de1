namespace Energy.Lifecycles.Ledger;

/// <summary>
/// The entries a shard's book took that no block holds yet, in the order taken, cut into blocks of at most
/// <c>maxEntriesPerBlock</c>. An entry is told the height of its block when it is taken, long before that block is cut:
/// the blocks already started, then one more for each full block ahead of it. Bounded: at <c>maxPending</c> entries the
/// shard takes no more (<see cref="LedgerOverloaded"/>).
/// </summary>
public sealed class PendingEntries
{
    private readonly List<LedgerEntry> _entries = [];
    private readonly int _maxEntriesPerBlock;
    private readonly int _maxPending;

    public PendingEntries(int maxEntriesPerBlock, int maxPending)
    {
        if (maxEntriesPerBlock <= 0) throw new ArgumentOutOfRangeException(nameof(maxEntriesPerBlock), maxEntriesPerBlock, "a block holds at least one entry");
        if (maxPending <= 0) throw new ArgumentOutOfRangeException(nameof(maxPending), maxPending, "at least one entry must be able to wait");
        (_maxEntriesPerBlock, _maxPending) = (maxEntriesPerBlock, maxPending);
    }

    public int Count => _entries.Count;

    /// <summary>The refusal of one entry more than the bound, or null while there is room; asked before a command is decided.</summary>
    public LedgerOverloaded? Overloaded(string shard) => Count >= _maxPending ? new LedgerOverloaded(shard, Count, _maxPending) : null;

    /// <summary>
    /// The height of the block that will hold the newest entry taken, when <paramref name="started"/> blocks are started:
    /// by then everything the book shows is durable.
    /// </summary>
    public ulong Tip(ulong started) => started + (ulong)((Count + _maxEntriesPerBlock - 1) / _maxEntriesPerBlock);

    /// <summary>
    /// Takes <paramref name="entry"/> into the next blocks, and <paramref name="book"/> takes it at once as of the block that
    /// will hold it (a retry is answered with that block). Returns that block's height.
    /// </summary>
    public ulong Take(LedgerBook book, LedgerEntry entry, ulong started)
    {
        _entries.Add(entry);
        book.ApplyingHeight = Tip(started);
        book.Apply(entry);
        return book.ApplyingHeight;
    }

    /// <summary>The entries of the next block, the oldest first, at most a block's worth; none when nothing waits.</summary>
    public IReadOnlyList<LedgerEntry> NextBlock()
    {
        var take = Math.Min(Count, _maxEntriesPerBlock);
        var block = _entries.GetRange(0, take);
        _entries.RemoveRange(0, take);
        return block;
    }
}
