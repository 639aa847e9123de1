using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Ledger;

/// <summary>
/// One shard of the ledger. Commands are decided against the book at once and gathered into the next
/// settlement block; one block is persisted at a time, and every answer waits until the block that
/// holds its effect is durable (group commit: the busier the shard, the bigger the blocks).
/// </summary>
public sealed class LedgerShard : ReceivePersistentActor, IWithTimers
{
    private readonly EnergySettings _settings;
    private readonly IActorRef _ledgerRegion;
    private readonly string _shard;
    private LedgerBook _book;
    private readonly List<LedgerEntry> _pending = [];
    // Writes are blocks: a write's number is the height of its block.
    private readonly DurableReplies _replies;
    private bool _snapshotDue;
    private readonly LedgerFigures _figures;

    // The settlements the next block serves, linked from its span (bounded: a block links to the first few), and the span of the block in flight.
    private const int MaxLinksPerBlock = 32;
    private readonly List<ActivityLink> _links = [];
    private System.Diagnostics.Activity? _blockSpan;

    public LedgerShard(string shard, EnergySettings settings, IActorRef ledgerRegion)
    {
        _shard = shard;
        _settings = settings;
        _ledgerRegion = ledgerRegion;
        _book = new LedgerBook(shard, settings.LedgerShardCount, settings.Currency);
        _replies = new DurableReplies(shard, settings.MaxWaitingLedgerReplies);
        _figures = LedgerFigures.Get(Context.System);

        Recover<SnapshotOffer>(offer => _book = LedgerBook.FromSnapshot((LedgerSnapshot)offer.Snapshot, settings.LedgerShardCount));
        Recover<SettlementBlock>(block => _book.ApplyBlock(block));
        Recover<RecoveryCompleted>(_ =>
        {
            EnergyMetrics.EntityActivated("ledger");
            _figures.Put(_shard, ShardFigures.Of(_book));
            _replies.Recovered(_book.Height);
            Timers.StartPeriodicTimer("redeliver", RedeliverCredits.Instance, settings.CreditRedeliveryInterval);
        });

        Command<Mint>(c => WhenAccepting(c, () => Decide(c.RequestId, _book.DecideMint(c), _book.RequestBefore(c.RequestId))));
        Command<Withdraw>(c => WhenAccepting(c, () => Decide(c.RequestId, _book.DecideWithdraw(c), _book.RequestBefore(c.RequestId))));
        Command<LockEscrow>(c => WhenAccepting(c, () => Lock(c)));
        Command<ReleaseEscrow>(c => WhenAccepting(c, () => Release(c)));
        Command<Credit>(c => WhenAccepting(c, () => ReceiveCredit(c)));
        Command<CreditAcknowledged>(c => _book.Acknowledge(c.DestinationShard, c.Sequence));
        Command<RedeliverCredits>(_ => Redeliver());
        Command<GetAccount>(c => ReplyWhenDurable(Sender, new AccountView(c.Account,
            new(_book.BalanceOf(c.Account), _settings.Currency), new(_book.EscrowedBy(c.Account), _settings.Currency), _shard)));
        Command<GetShardTotals>(_ => ReplyWhenDurable(Sender, _book.Totals()));
        Command<GetEscrowedChannels>(c => Sender.Tell(new EscrowedChannels(_shard, _book.Escrows(Math.Clamp(c.Max, 0, 1_000_000)))));
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(failure => Context.GetLogger().Warning(failure.Cause, "{0}: snapshot failed", _shard));
    }

    public override string PersistenceId => _shard;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string shard, EnergySettings settings, IActorRef ledgerRegion) =>
        Akka.Actor.Props.Create(() => new LedgerShard(shard, settings, ledgerRegion));

    /// <summary>The height at which everything the book shows now will be durable.</summary>
    private ulong TipHeight =>
        _replies.Started + (ulong)((_pending.Count + _settings.MaxEntriesPerBlock - 1) / _settings.MaxEntriesPerBlock);

    private void WhenAccepting(ILedgerCommand command, Action handle)
    {
        // While a snapshot is due, new commands wait so that the snapshot holds only durable state.
        if (_snapshotDue) { Stash.Stash(); return; }
        if (_pending.Count >= _settings.MaxPendingLedgerEntries)
        {
            Sender.Tell(Refusal.From(new LedgerOverloaded(_shard, _pending.Count, _settings.MaxPendingLedgerEntries)));
            return;
        }
        // Refused before it is decided, so that a command is never refused after its effect was taken. A credit
        // is not answered: its source sends it again.
        if (_replies.Full is { } full)
        {
            if (command is not Credit) Sender.Tell(Refusal.From(full));
            return;
        }
        handle();
        Flush();
    }

    private void Decide(string key, Result<LedgerEntry> decision, RecordedEntry? earlier)
    {
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        if (earlier is not null) { ReplyWhenDurable(Sender, new LedgerCommitted(_shard, key, earlier.BlockHeight)); return; }
        var height = Append(decision.Value);
        ReplyWhenDurable(Sender, new LedgerCommitted(_shard, key, height));
    }

    private void Lock(LockEscrow command)
    {
        var decision = _book.DecideLock(command);
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        var entry = (EscrowLockEntry)decision.Value;
        var height = _book.IsDuplicateLock(entry) ? TipHeight : Append(entry);
        ReplyWhenDurable(Sender, new EscrowLocked(entry.Escrow, entry.Account, new(entry.Amount, _settings.Currency), _shard, height));
    }

    private void Release(ReleaseEscrow command)
    {
        if (_links.Count < MaxLinksPerBlock && EnergyTracing.TryLink(command.TraceParent, out var link)) _links.Add(link);
        var earlier = _book.ReleasedBefore(command.Escrow, command.Holder);
        if (earlier is not null)
        {
            ReplyWhenDurable(Sender, Released((EscrowReleaseEntry)earlier.Entry, earlier.BlockHeight));
            return;
        }
        var decision = _book.DecideRelease(command);
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        var entry = (EscrowReleaseEntry)decision.Value;
        var height = Append(entry);
        ReplyWhenDurable(Sender, Released(entry, height));
    }

    private EscrowReleased Released(EscrowReleaseEntry entry, ulong height) =>
        new(entry.Escrow, entry.Holder, entry.Payouts.Select(p => new Payout(p.Account, new(p.Amount, _settings.Currency))).ToList(), _shard, height);

    private void ReceiveCredit(Credit credit)
    {
        var ack = new CreditAcknowledged(credit.SourceShard, _shard, credit.Sequence);
        switch (_book.DecideCredit(credit))
        {
            case LedgerBook.CreditDecision.Apply:
                if (credit.Amount.Currency != _settings.Currency || credit.Amount.IsNegative)
                {
                    Context.GetLogger().Error("{0}: refusing malformed credit {1}", _shard, credit);
                    return;
                }
                Append(new CreditEntry(credit.SourceShard, credit.Sequence, credit.Account, credit.Amount.MinorUnits, credit.ChannelId));
                ReplyWhenDurable(_ledgerRegion, ack);
                break;
            case LedgerBook.CreditDecision.Duplicate:
                ReplyWhenDurable(_ledgerRegion, ack);
                break;
            case LedgerBook.CreditDecision.OutOfOrder:
                // An earlier credit from that shard is missing; it will be sent again, in order.
                break;
        }
    }

    private ulong Append(LedgerEntry entry)
    {
        _pending.Add(entry);
        var height = TipHeight;
        _book.ApplyingHeight = height;
        _book.Apply(entry);
        return height;
    }

    private void ReplyWhenDurable(IActorRef to, object message)
    {
        if (_replies.ReplyAfter(TipHeight, to, message)) return;
        // An acknowledgement of a credit is not answered with a refusal: its source sends the credit again.
        if (to.Equals(_ledgerRegion)) return;
        to.Tell(Refusal.From(_replies.Full!));
    }

    private void Flush()
    {
        if (_replies.InFlight || _pending.Count == 0) return;
        var take = Math.Min(_pending.Count, _settings.MaxEntriesPerBlock);
        var entries = _pending.GetRange(0, take);
        _pending.RemoveRange(0, take);
        var height = _replies.Start();
        var block = SettlementBlock.Commit(_settings.Network, _shard, height, _book.LastHash, _settings.Clock.Now,
            _settings.Currency, entries, _settings.NodeKey);
        _book.SetHead(height, block.BlockHash());
        _blockSpan = StartBlockSpan(block);
        PersistAsync(block, OnDurable);
    }

    /// <summary>A block's span: a trace of its own (it serves many payments), linked to the settlements it commits.</summary>
    private System.Diagnostics.Activity? StartBlockSpan(SettlementBlock block)
    {
        var span = EnergyTracing.StartRoot("ledger.block", _links.Count == 0 ? null : _links.ToArray());
        _links.Clear();
        span?.SetTag("energy.ledger.shard", _shard).SetTag("energy.block.height", (long)block.Height).SetTag("energy.block.entries", block.Entries.Count);
        return span;
    }

    protected override void PostStop()
    {
        // The shard runs elsewhere now (or the node stops): its figures are that node's to report.
        _figures.Remove(_shard);
        EnergyTracing.End(_blockSpan, "stopped before the block was durable");
        base.PostStop();
    }

    private void OnDurable(SettlementBlock block)
    {
        EnergyTracing.End(_blockSpan);
        _blockSpan = null;
        _figures.Put(_shard, ShardFigures.Of(_book));
        PublishBlock(block);
        _replies.Written(block.Height);
        SendCredits(block);
        if (block.Height % (ulong)_settings.LedgerSnapshotEveryBlocks == 0) _snapshotDue = true;
        if (_snapshotDue && _pending.Count == 0)
        {
            SaveSnapshot(_book.ToSnapshot());
            _snapshotDue = false;
            Stash.UnstashAll();
        }
        Flush();
    }

    /// <summary>Tells whoever watches the network what this block settled, and to whom.</summary>
    private static void PublishBlock(SettlementBlock block)
    {
        // Settled to each operator's account; devices' accounts are counted in the total only.
        var settledTo = new Dictionary<OperatorId, long>();
        long settled = 0;
        foreach (var entry in block.Entries)
        {
            if (entry is not EscrowReleaseEntry release) continue;
            foreach (var line in release.Payouts)
            {
                settled += line.Amount;
                if (line.Account.IsOperator) settledTo[line.Account.AsOperator()] = settledTo.GetValueOrDefault(line.Account.AsOperator()) + line.Amount;
            }
        }
        Activity.ActivityFeed.Get(Context.System).Publish(new Activity.SettlementBlockCommitted(block.Shard, block.Height, block.Entries.Count,
            new Money(settled, block.Currency), settledTo.Select(s => new Activity.OperatorSettlement(s.Key, new Money(s.Value, block.Currency))).ToList(), block.CommittedAt));
    }

    private void SendCredits(SettlementBlock block)
    {
        foreach (var entry in block.Entries)
        {
            if (entry is not EscrowReleaseEntry release) continue;
            foreach (var line in release.Payouts)
            {
                if (line.DestinationShard is null) continue;
                _ledgerRegion.Tell(new Credit(line.DestinationShard, _shard, line.Sequence, line.Account,
                    new(line.Amount, _settings.Currency), release.Escrow.Channel));
            }
        }
    }

    private void Redeliver()
    {
        const int MaxPerDestination = 1_000;
        foreach (var destination in _book.Outbox.GroupBy(o => o.DestinationShard))
        {
            foreach (var credit in destination.Where(o => o.BlockHeight <= _replies.Durable).Take(MaxPerDestination))
            {
                _ledgerRegion.Tell(new Credit(credit.DestinationShard, _shard, credit.Sequence, credit.Account,
                    new(credit.AmountMinorUnits, _settings.Currency), credit.ChannelId));
            }
        }
    }
}
