using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Ledger;

/// <summary>
/// One shard of the ledger: a shell around <see cref="LedgerBook"/> and <see cref="LedgerDecisions"/>. Commands are
/// decided against the book at once and gathered into the next settlement block; one block is persisted at a time, and
/// every answer waits until the block that holds its effect is durable (group commit: the busier the shard, the bigger
/// the blocks, see <see cref="LedgerBlocks"/>). Once a block is durable, the shards it owes payouts to hear of them
/// (<see cref="BlockNotices"/>), and every so many blocks the book is snapshotted.
/// </summary>
public sealed class LedgerShard : ReceivePersistentActor, IWithTimers
{
    private readonly EnergySettings _settings;
    private readonly IActorRef _ledgerRegion;
    private readonly string _shard;
    private readonly LedgerFigures _figures;
    private readonly LedgerBlocks _blocks;
    private readonly BlockNotices _notices;
    private LedgerBook _book;
    // While a snapshot is due, new commands wait so that the snapshot holds only durable state.
    private bool _snapshotDue;

    public LedgerShard(string shard, EnergySettings settings, IActorRef ledgerRegion)
    {
        (_shard, _settings, _ledgerRegion) = (shard, settings, ledgerRegion);
        _book = new LedgerBook(shard, settings.LedgerShardCount, settings.Currency);
        _figures = LedgerFigures.Get(Context.System);
        _blocks = new LedgerBlocks(shard, settings, ledgerRegion);
        _notices = new BlockNotices(shard, settings.Currency, ledgerRegion, Activity.ActivityFeed.Get(Context.System));

        Recover<SnapshotOffer>(offer => _book = LedgerBook.FromSnapshot((LedgerSnapshot)offer.Snapshot, settings.LedgerShardCount));
        Recover<SettlementBlock>(block => _book.ApplyBlock(block));
        Recover<RecoveryCompleted>(_ => Start());

        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<ILedgerCommand>(Accept, LedgerDecisions.Decides);
        Command<CreditAcknowledged>(c => _book.Acknowledge(c.DestinationShard, c.Sequence));
        Command<RedeliverCredits>(_ => _notices.Redeliver(_book.Outbox, _blocks.Durable));
        Command<GetAccount>(c => _blocks.ReplyWhenDurable(Sender, new AccountView(c.Account,
            new(_book.BalanceOf(c.Account), _settings.Currency), new(_book.EscrowedBy(c.Account), _settings.Currency), _shard)));
        Command<GetShardTotals>(_ => _blocks.ReplyWhenDurable(Sender, _book.Totals()));
        Command<GetEscrowedChannels>(c =>
        {
            var max = Math.Clamp(c.Max, 0, 1_000_000);
            Sender.Tell(new EscrowedChannels(_shard, _book.Escrows(max), max));
        });
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(failure => Context.GetLogger().Warning(failure.Cause, "{0}: snapshot failed", _shard));
    }

    public override string PersistenceId => _shard;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string shard, EnergySettings settings, IActorRef ledgerRegion) =>
        Akka.Actor.Props.Create(() => new LedgerShard(shard, settings, ledgerRegion));

    private void Start()
    {
        EnergyMetrics.EntityActivated("ledger");
        _figures.Put(_shard, ShardFigures.Of(_book));
        _blocks.Recovered(_book.Height);
        Timers.StartPeriodicTimer("redeliver", RedeliverCredits.Instance, _settings.CreditRedeliveryInterval);
    }

    /// <summary>Decides a command the shard can take now, takes its entry and holds its answer for the block that holds it.</summary>
    private void Accept(ILedgerCommand command)
    {
        if (_snapshotDue) { Stash.Stash(); return; }
        if (_blocks.Refused(command, Sender)) return;
        _blocks.Link(command);
        var decided = LedgerDecisions.Decide(_book, command, _settings.Currency);
        // A credit is not answered with a refusal: a malformed one is its source shard's fault, and is logged.
        if (decided.Refused is not null && command is Credit) Context.GetLogger().Error("{0}: refusing malformed credit {1}", _shard, command);
        else if (decided.Refused is { } refused) Sender.Tell(Refusal.From(refused));
        if (decided.Entry is { } entry) _blocks.Take(_book, entry);
        if (decided.Answer is { } answer) _blocks.ReplyWhenDurable(command is Credit ? _ledgerRegion : Sender, answer(_blocks.Tip));
        Write();
    }

    private void Write()
    {
        if (_blocks.Next(_book) is { } block) PersistAsync(block, OnDurable);
    }

    private void OnDurable(SettlementBlock block)
    {
        _figures.Put(_shard, ShardFigures.Of(_book));
        _notices.Publish(block);
        _blocks.Written(block);
        _notices.SendCredits(block);
        if (block.Height % (ulong)_settings.LedgerSnapshotEveryBlocks == 0) _snapshotDue = true;
        if (_snapshotDue && _blocks.NoneWaiting)
        {
            SaveSnapshot(_book.ToSnapshot());
            _snapshotDue = false;
            Stash.UnstashAll();
        }
        Write();
    }

    protected override void PostStop()
    {
        // The shard runs elsewhere now (or the node stops): its figures are that node's to report.
        _figures.Remove(_shard);
        _blocks.Stopped();
        base.PostStop();
    }
}
