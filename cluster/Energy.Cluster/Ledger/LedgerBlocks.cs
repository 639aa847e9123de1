using System.Diagnostics;
using Akka.Actor;
using Energy.Channels;
using Energy.Cluster.Kernel;
using Energy.Lifecycles;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Ledger;

/// <summary>
/// A ledger shard's settlement blocks as they are built and written (group commit). The entries its book takes wait
/// for the next block (<see cref="PendingEntries"/>); one block is written at a time, and what is taken meanwhile joins
/// the next, so the busier the shard, the bigger its blocks. Every answer waits for the block that holds its effect
/// (<see cref="DurableReplies"/>: a write's number is the height of its block). A block's span is a trace of its own (it
/// serves many payments), linked to the first few settlements it commits.
/// </summary>
public sealed class LedgerBlocks
{
    private const int MaxLinksPerBlock = 32;
    private readonly string _shard;
    private readonly EnergySettings _settings;
    private readonly IActorRef _ledger;
    private readonly PendingEntries _pending;
    private readonly DurableReplies _replies;
    private readonly List<ActivityLink> _links = [];
    private System.Diagnostics.Activity? _span;

    /// <param name="ledger">The ledger's region: where a credit's acknowledgement goes.</param>
    public LedgerBlocks(string shard, EnergySettings settings, IActorRef ledger)
    {
        (_shard, _settings, _ledger) = (shard, settings, ledger);
        _pending = new PendingEntries(settings.MaxEntriesPerBlock, settings.MaxPendingLedgerEntries);
        _replies = new DurableReplies(shard, settings.MaxWaitingLedgerReplies);
    }

    /// <summary>The height of the newest block known durable; every block up to it is durable.</summary>
    public ulong Durable => _replies.Durable;

    /// <summary>The height at which everything the book shows now will be durable.</summary>
    public ulong Tip => _pending.Tip(_replies.Started);

    /// <summary>No entry waits for a block.</summary>
    public bool NoneWaiting => _pending.Count == 0;

    /// <summary>After recovery: every block up to <paramref name="height"/> is durable and none is in flight.</summary>
    public void Recovered(ulong height) => _replies.Recovered(height);

    /// <summary>
    /// Refuses a command the shard cannot take now, before it is decided, so that a command is never refused after its
    /// effect was taken: too many entries wait (<see cref="LedgerOverloaded"/>), or too many answers. A credit is not told
    /// that answers wait: its source sends it again. False when the command is to be decided.
    /// </summary>
    public bool Refused(ILedgerCommand command, IActorRef sender)
    {
        if (_pending.Overloaded(_shard) is { } overloaded) { sender.Tell(Refusal.From(overloaded)); return true; }
        if (_replies.Full is not { } full) return false;
        if (command is not Credit) sender.Tell(Refusal.From(full));
        return true;
    }

    /// <summary>A settlement the next block serves is linked from that block's span.</summary>
    public void Link(ILedgerCommand command)
    {
        if (command is ITraced traced && _links.Count < MaxLinksPerBlock && EnergyTracing.TryLink(traced.TraceParent, out var link)) _links.Add(link);
    }

    /// <summary>The book takes <paramref name="entry"/> at once, as of the block that will hold it.</summary>
    public void Take(LedgerBook book, LedgerEntry entry) => _pending.Take(book, entry, _replies.Started);

    /// <summary>
    /// Sends <paramref name="answer"/> once everything the book shows now is durable. Beyond the bound of waiting answers the
    /// asker hears the refusal instead, but the ledger does not (a credit's acknowledgement: its source sends the credit again).
    /// </summary>
    public void ReplyWhenDurable(IActorRef to, object answer)
    {
        if (_replies.ReplyAfter(Tip, to, answer) || to.Equals(_ledger)) return;
        to.Tell(Refusal.From(_replies.Full!));
    }

    /// <summary>
    /// The next block to write, when entries wait and no block is in flight: chained to the book's head, signed, and made
    /// the book's head. Null when there is nothing to write now; <see cref="Written"/> is told once it is durable.
    /// </summary>
    public SettlementBlock? Next(LedgerBook book)
    {
        if (_replies.InFlight || _pending.Count == 0) return null;
        var entries = _pending.NextBlock();
        var height = _replies.Start();
        var block = SettlementBlock.Commit(_settings.Network, _shard, height, book.LastHash, _settings.Clock.Now,
            _settings.Currency, entries, _settings.NodeKey);
        book.SetHead(height, block.BlockHash());
        _span = EnergyTracing.StartRoot("ledger.block", _links.Count == 0 ? null : _links.ToArray());
        _links.Clear();
        _span?.SetTag("energy.ledger.shard", _shard).SetTag("energy.block.height", (long)block.Height).SetTag("energy.block.entries", block.Entries.Count);
        return block;
    }

    /// <summary>The block is durable: its span ends and the answers it made true go out.</summary>
    public void Written(SettlementBlock block)
    {
        EnergyTracing.End(_span);
        _span = null;
        _replies.Written(block.Height);
    }

    /// <summary>The shard stops: the span of a block in flight ends unfinished.</summary>
    public void Stopped() => EnergyTracing.End(_span, "stopped before the block was durable");
}
