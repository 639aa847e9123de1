using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Channels;

/// <summary>
/// A streaming channel on the network. A thin shell around <see cref="StreamingChannelLifecycle"/> and
/// <see cref="StreamingChannels"/>: it opens only once the ledger has locked the escrow, verifies every
/// voucher where it enters, persists only the newest voucher per batch and acknowledges once it is durable,
/// watches the challenge window (it is the watchtower: a newer voucher during the window wins), then
/// settles through the ledger until the ledger confirms. Its state changes only when an event is durable.
/// </summary>
public sealed class ChannelEntity : UntypedPersistentActor, IWithTimers
{
    private readonly ChannelId _id;
    private readonly EnergySettings _settings;
    private readonly ChannelOpenings<StreamingChannelState, StreamingOpening, ChannelOpeningStarted> _openings;
    private readonly PartyStanding<SubmitVoucher> _payer;
    // What is durable. The channel ahead of it (with every voucher accepted, and the close or the end of the window
    // decided, while their events are written) is the intake's: new vouchers and closes are judged against it.
    private readonly EscrowedChannel<StreamingChannelLifecycle, StreamingChannelState> _channel;
    private readonly VoucherIntake _vouchers;
    private readonly SnapshotCadence _snapshots;

    public ChannelEntity(string id, EnergySettings settings, EscrowPeers peers, IActorRef devices, IActorRef operators)
    {
        _id = new ChannelId(id);
        _settings = settings;
        var rules = new ChannelRules(settings.Network, settings.Currency, settings.MinChallengeWindow, settings.LedgerShardCount);
        var revocations = RevocationList.Get(Context.System);
        // A close and a window's end are journaled after every voucher taken before them.
        _channel = new(Context, this, _id, duplex: false, peers, settings, Persist, PersistAsync, MaybeSnapshot);
        _vouchers = new VoucherIntake(Context, _id, settings, revocations, () => State.Channel, PersistAsync, _channel.Evolve, MaybeSnapshot);
        _payer = new PartyStanding<SubmitVoucher>(Context, devices, revocations, _id, settings.AskTimeout, 10_000, "checking its payer's standing",
            () => StreamingChannelLifecycle.Signers(State), _vouchers.Submit);
        _snapshots = new SnapshotCadence(settings.ChannelSnapshotEveryEvents);
        _openings = new(new OpeningLookups(Context, devices, operators, _id, settings.AskTimeout), _channel.Shell, () => State,
            new StreamingOpeningRules(_id, rules, revocations.IsRevoked));
    }

    // The handlers are switches rather than Receive tables: a fleet reconnecting after a restart wakes tens of thousands
    // of channels, and a table is built for each instance.
    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer offer:
                _channel.Restore(StreamingChannelLifecycle.FromSnapshot((ChannelSnapshot)offer.Snapshot));
                break;
            case IEnergyMessage e:
                _channel.Evolve(e);
                break;
            case RecoveryCompleted:
                EnergyMetrics.EntityActivated("channel");
                Resume();
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case OpenChannel open:
                _openings.Open(open.Opening, open.ChannelId, Sender);
                break;
            case OpeningKeysFound<StreamingOpening> found:
                _openings.KeysFound(found);
                break;
            case SubmitVoucher submit:
                _payer.Arrived(submit, Sender, channelOpen: _vouchers.Ahead is not null);
                break;
            case PartiesStanding standing:
                _payer.Answered(standing);
                break;
            case PartiesStandingUnknown:
                _payer.Unanswered();
                break;
            case CloseChannel close:
                Close(close, Sender);
                break;
            case GetChannel:
                Sender.Tell(StreamingChannelLifecycle.View(State, _vouchers.Ahead, _id));
                break;
            case GetBestVoucher:
                Sender.Tell(new BestVoucher(_id, State.BestVoucher));
                break;
            case GetPurposePaid query:
                Sender.Tell(Answers.Of(StreamingChannelLifecycle.PaidFor(State, _id, query.Purpose)));
                break;
            case WakeChannel:
                _channel.Shell.Wake();
                break;
            case ChallengeDeadlineReached:
                FinalizeIfDue();
                break;
            case SaveSnapshotSuccess or SaveSnapshotFailure:
                break;
            case StopEntity:
                StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self));
                break;
            default:
                _channel.Answer(message);
                break;
        }
    }

    public override string PersistenceId => "channel-" + _id.Value;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, EscrowPeers peers, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new ChannelEntity(id, settings, peers, devices, operators));

    private StreamingChannelState State => _channel.State;

    // Closing and settlement

    private void Close(CloseChannel command, IActorRef sender)
    {
        var now = _settings.Clock.Now;
        var decided = StreamingChannelLifecycle.DecideClose(State, _vouchers.Ahead, _id, command.CloseRequest, now);
        // A close is written only while the watch list holds the channel (decided again once it does).
        if (_channel.Shell.AnswerKnownClose(decided.Answer, sender) || !_channel.Shell.Listed(() => Close(command, sender))) return;
        var next = decided.Next!;
        _vouchers.MoveAhead(next);
        // A payer's close opens a challenge window: a dispute the operators may want to watch.
        var dispute = decided.Window is null ? null : new Activity.ChannelDisputeOpened(_id, next.Terms.Payer.Id, next.Terms.Payee.Id, now);
        _channel.Shell.Close(decided.Event!, decided.Window, sender, command.TraceParent, dispute);
    }

    private void FinalizeIfDue()
    {
        if (_vouchers.Ahead is not { Status: ChannelStatus.Closing } closing) return;
        var ended = StreamingChannelLifecycle.EndChallenge(closing, _settings.Clock.Now);
        if (!ended.IsOk) { _channel.Shell.WatchChallenge(closing.ChallengeDeadline!.Value); return; }
        _vouchers.MoveAhead(ended.Value.Next);
        _channel.Shell.EndChallenge(ended.Value.Event);
    }

    private void Resume()
    {
        _payer.Recovered(StreamingChannelLifecycle.TakesPayments(State));
        _channel.Shell.Resumed(State.Channel?.ChallengeDeadline);
    }

    protected override void PostStop()
    {
        _channel.Shell.Stopped();
        base.PostStop();
    }

    // Only durable state goes into a snapshot: not while a voucher waits or is in flight.
    private void MaybeSnapshot()
    {
        if (!IsRecovering && _snapshots.Due(allDurable: _vouchers.Idle)) SaveSnapshot(StreamingChannelLifecycle.ToSnapshot(State));
    }
}
