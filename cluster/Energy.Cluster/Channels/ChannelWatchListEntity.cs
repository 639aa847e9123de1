using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Cluster.Kernel;
using Energy.Lifecycles;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Channels;

/// <summary>
/// One part of the network's durable list of channels the <see cref="ChannelWatch"/> wakes after a restart. A channel
/// asks to be listed before it asks the ledger for anything or answers a close that opens a challenge window, and asks
/// to be unlisted once it waits on nothing. A thin shell over <see cref="ChannelWatchListRules"/>: what is taken while a
/// write is in flight joins the next write, and a channel hears it is listed only once that is durable.
/// </summary>
public sealed class ChannelWatchListEntity : ReceivePersistentActor
{
    public const string EntityName = "channel-watch-list";
    private const int SnapshotEveryEvents = 1_000;

    /// <summary>Answers held for a write, at most; past it a request is not answered, and the channel asks again.</summary>
    public const int MaxAnswersHeld = 100_000;

    private readonly string _list;
    private readonly BatchedWrites _writes;
    private readonly List<IEnergyMessage> _taken = [];
    // What is durable, and ahead of it what is taken and being written (decisions are made against it).
    private ChannelWatchListState _durable = ChannelWatchListState.Empty;
    private ChannelWatchListState _ahead = ChannelWatchListState.Empty;
    private int _eventsSinceSnapshot;

    public ChannelWatchListEntity(string list)
    {
        _list = list;
        _writes = new BatchedWrites(list, MaxAnswersHeld);
        Recover<SnapshotOffer>(offer => _durable = _ahead = ChannelWatchListRules.FromSnapshot((ChannelWatchListSnapshot)offer.Snapshot));
        Recover<IEnergyMessage>(e => _durable = _ahead = ChannelWatchListRules.Apply(_durable, e));
        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<WatchChannel>(Watch);
        Command<UnwatchChannel>(unwatch => Take(ChannelWatchListRules.DecideUnwatch(_ahead, new WatchedChannel(unwatch.Kind, unwatch.ChannelId))));
        Command<MarkWatchListSeeded>(_ => Take(ChannelWatchListRules.DecideSeeded(_ahead)));
        Command<GetWatchedChannels>(get => Sender.Tell(new WatchedChannels(_list, [.. _durable.Watched.Take(Math.Clamp(get.Max, 0, ChannelWatchListState.MaxChannels))],
            _ahead.Seeded)));
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(failure => Context.GetLogger().Warning(failure.Cause, "{0}: snapshot failed", _list));
    }

    public override string PersistenceId => _list;

    public static Props Props(string list) => Akka.Actor.Props.Create(() => new ChannelWatchListEntity(list));

    /// <summary>A rejected write would never finish its batch: the part restarts from what is durable, and its channels ask again.</summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        throw new InvalidOperationException($"{_list}: the journal rejected event {sequenceNr}; restarting from what is durable", cause);
    }

    private void Watch(WatchChannel watch)
    {
        if (_writes.Full is not null) return;
        var decided = ChannelWatchListRules.DecideWatch(_ahead, new WatchedChannel(watch.Kind, watch.ChannelId));
        if (!decided.IsOk)
        {
            // The channel goes on: only its wake after a restart is lost. Loud, for the operators to act on.
            Context.GetLogger().Error("{0}: {1}", _list, decided.Error!.Describe());
            Sender.Tell(new ChannelWatched(watch.Kind, watch.ChannelId, watch.Ask, Held: false));
            return;
        }
        Take(decided.Value);
        _writes.ReplyWhenDurable(Sender, new ChannelWatched(watch.Kind, watch.ChannelId, watch.Ask, Held: true));
    }

    private void Take(IEnergyMessage? e)
    {
        if (e is null) return;
        _ahead = ChannelWatchListRules.Apply(_ahead, e);
        _taken.Add(e);
        _writes.Taken();
        WriteNext();
    }

    private void WriteNext()
    {
        if (!_writes.TryStart(out var write)) return;
        var batch = _taken.ToArray();
        _taken.Clear();
        var left = batch.Length;
        PersistAllAsync(batch, e =>
        {
            _durable = ChannelWatchListRules.Apply(_durable, e);
            _eventsSinceSnapshot++;
            if (--left > 0) return;
            _writes.Written(write);
            // Before the next write starts: the snapshot stands for exactly the events written so far.
            if (_eventsSinceSnapshot >= SnapshotEveryEvents)
            {
                _eventsSinceSnapshot = 0;
                SaveSnapshot(ChannelWatchListRules.ToSnapshot(_durable));
            }
            WriteNext();
        });
    }
}
