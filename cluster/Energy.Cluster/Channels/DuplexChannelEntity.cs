using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Duplex;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Channels;

/// <summary>
/// A duplex channel on the network, a thin shell around <see cref="DuplexChannelLifecycle"/>. It opens once the
/// ledger has locked both deposits (A's, then B's; if B's cannot be locked, A's is paid back), takes
/// co-signed states of ever higher version, closes cooperatively on a final state or alone after the
/// challenge window (the entity is the watchtower: a higher version wins), then releases each escrow.
/// Every event is persisted before it is acknowledged, and the state changes only with a durable event.
/// A refused opening keeps its channel id: its escrow was released, and the same opening can never lock it again.
/// </summary>
public sealed class DuplexChannelEntity : ReceivePersistentActor, IWithTimers
{
    private readonly ChannelId _id;
    private readonly EnergySettings _settings;
    private readonly Func<PartyId, bool> _revoked, _quarantined;
    private readonly ChannelOpenings<DuplexChannelState, DuplexOpening, DuplexOpeningStarted> _openings;
    private readonly PartyStanding<SubmitDuplexState> _parties;
    private readonly EscrowedChannel<DuplexChannelLifecycle, DuplexChannelState> _channel;
    private readonly Activity.ActivityFeed _feed;

    public DuplexChannelEntity(string id, EnergySettings settings, EscrowPeers peers, IActorRef devices, IActorRef operators)
    {
        _id = new ChannelId(id);
        _settings = settings;
        var rules = new ChannelRules(settings.Network, settings.Currency, settings.MinChallengeWindow, settings.LedgerShardCount);
        var revocations = RevocationList.Get(Context.System);
        (_revoked, _quarantined) = (revocations.IsRevoked, revocations.IsQuarantined);
        _parties = new PartyStanding<SubmitDuplexState>(Context, devices, revocations, _id, settings.AskTimeout, 1_000, "checking its parties' standing",
            () => DuplexChannelLifecycle.Signers(State), (submit, sender) => Submit(submit, sender));
        _channel = new(Context, this, _id, duplex: true, peers, settings, Persist, Persist);
        _openings = new(new OpeningLookups(Context, devices, operators, _id, settings.AskTimeout), _channel.Shell, () => State,
            new DuplexOpeningRules(_id, rules, _revoked));
        _feed = Activity.ActivityFeed.Get(Context.System);

        Recover<IEnergyMessage>(_channel.Evolve);
        Recover<RecoveryCompleted>(_ => { EnergyMetrics.EntityActivated("duplex-channel"); Resume(); });
        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<OpenDuplexChannel>(open => _openings.Open(open.Opening, open.ChannelId, Sender));
        Command<OpeningKeysFound<DuplexOpening>>(_openings.KeysFound);
        Command<SubmitDuplexState>(submit => _parties.Arrived(submit, Sender, channelOpen: State.Channel is not null));
        Command<PartiesStanding>(_parties.Answered);
        Command<PartiesStandingUnknown>(_ => _parties.Unanswered());
        Command<CloseDuplexChannel>(close => Close(close, Sender));
        Command<GetDuplexChannel>(_ => Sender.Tell(DuplexChannelLifecycle.View(State, _id)));
        Command<WakeDuplexChannel>(_ => _channel.Shell.Wake());
        Command<ChallengeDeadlineReached>(_ => FinalizeIfDue());
        Command<object>(_channel.Answer);
    }

    public override string PersistenceId => "duplex-" + _id.Value;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, EscrowPeers peers, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new DuplexChannelEntity(id, settings, peers, devices, operators));

    private DuplexChannelState State => _channel.State;

    // States

    private void Submit(SubmitDuplexState command, IActorRef sender, PendingPayment? arrived = null)
    {
        var payment = arrived ?? PaymentArrivals.Arrive(PaymentKind.Duplex, "duplex.state", command.TraceParent);
        var now = _settings.Clock.Now;
        var recorded = DuplexChannelLifecycle.TakeState(State, _id, command.State, _revoked, _quarantined, now);
        if (!recorded.IsOk) { payment.Refuse(sender, recorded.Error); return; }
        // A final state closes the channel: written only while the watch list holds it (taken again once it does).
        if (DuplexChannelLifecycle.Closes(recorded.Value) && !_channel.Shell.Listed(() => Submit(command, sender, payment))) return;
        var before = State.Channel!;
        Persist(recorded.Value, e =>
        {
            _channel.Evolve(e);
            var after = State.Channel!;
            _feed.CountPayment();
            _feed.Publish(new Activity.DuplexTradeAgreed(_id, after.Version, after.Terms.PartyA.Id, after.Terms.PartyB.Id, DuplexChannelLifecycle.Moved(before, after), now));
            payment.Durable();
            if (DuplexChannelLifecycle.Acknowledge(State, _id) is { } acknowledged) sender.Tell(acknowledged);
            else _channel.Shell.Settle(sender, command.TraceParent);
        });
    }

    // Closing and settlement

    private void Close(CloseDuplexChannel command, IActorRef sender)
    {
        var decided = DuplexChannelLifecycle.DecideClose(State, _id, command.CloseRequest, _settings.Clock.Now);
        // A close is written only while the watch list holds the channel (decided again once it does).
        if (_channel.Shell.AnswerKnownClose(decided.Answer, sender) || !_channel.Shell.Listed(() => Close(command, sender))) return;
        _channel.Shell.Close(decided.Event!, decided.Window, sender, command.TraceParent, dispute: null);
    }

    private void FinalizeIfDue()
    {
        if (State.Phase != ChannelPhase.Closing) return;
        var ended = DuplexChannelLifecycle.EndChallenge(State, _id, _settings.Clock.Now);
        if (!ended.IsOk) _channel.Shell.WatchChallenge(State.Channel!.ChallengeDeadline!.Value);
        else _channel.Shell.EndChallenge(ended.Value);
    }

    private void Resume()
    {
        _parties.Recovered(DuplexChannelLifecycle.TakesPayments(State));
        _channel.Shell.Resumed(State.Channel?.ChallengeDeadline);
    }

    protected override void PostStop()
    {
        _channel.Shell.Stopped();
        base.PostStop();
    }
}
