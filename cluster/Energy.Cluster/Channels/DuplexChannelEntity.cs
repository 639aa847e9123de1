using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Duplex;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Channels;

/// <summary>
/// A duplex channel on the network, a thin shell around <see cref="DuplexChannelLifecycle"/>. It opens once the
/// ledger has locked both deposits (A's, then B's; if B's cannot be locked, A's is paid back), takes
/// co-signed states of ever higher version, closes cooperatively on a final state or alone after the
/// challenge window (the entity is the watchtower: a higher version wins), then releases each escrow.
/// Every event is persisted before it is acknowledged, and the state changes only with a durable event.
/// A refused opening keeps its channel id: its escrow was released, and the same opening can never lock it again.
/// </summary>
public sealed class DuplexChannelEntity : ReceivePersistentActor, IEscrowedChannel
{
    private readonly ChannelId _id;
    private readonly EnergySettings _settings;
    private readonly Func<PartyId, bool> _revoked, _quarantined;
    private readonly ChannelOpenings<DuplexChannelState, DuplexOpening, DuplexOpeningStarted> _openings;
    private readonly PartyStanding<SubmitDuplexState> _parties;
    private readonly ChannelShell _shell;
    private readonly Activity.ActivityFeed _feed;
    private DuplexChannelState _state = DuplexChannelState.Empty;

    public DuplexChannelEntity(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators)
    {
        _id = new ChannelId(id);
        _settings = settings;
        var rules = new ChannelRules(settings.Network, settings.Currency, settings.MinChallengeWindow, settings.LedgerShardCount);
        var revocations = RevocationList.Get(Context.System);
        (_revoked, _quarantined) = (revocations.IsRevoked, revocations.IsQuarantined);
        _parties = new PartyStanding<SubmitDuplexState>(Context, devices, revocations, _id, settings.AskTimeout, 1_000, "checking its parties' standing",
            () => DuplexChannelLifecycle.Signers(_state), Submit);
        _shell = new ChannelShell(Context, this, _id, duplex: true, ledger, settings, Persist, Persist);
        _openings = new(new OpeningLookups(Context, devices, operators, _id, settings.AskTimeout), _shell, () => _state,
            new DuplexOpeningRules(_id, rules, _revoked));
        _feed = Activity.ActivityFeed.Get(Context.System);

        Recover<IEnergyMessage>(Evolve);
        Recover<RecoveryCompleted>(_ => { EnergyMetrics.EntityActivated("duplex-channel"); Resume(); });
        Command<OpenDuplexChannel>(open => _openings.Open(open.Opening, open.ChannelId, Sender));
        Command<OpeningKeysFound<DuplexOpening>>(_openings.KeysFound);
        Command<SubmitDuplexState>(submit => _parties.Arrived(submit, Sender, channelOpen: _state.Channel is not null));
        Command<PartiesStanding>(_parties.Answered);
        Command<PartiesStandingUnknown>(_ => _parties.Unanswered());
        Command<CloseDuplexChannel>(Close);
        Command<GetDuplexChannel>(_ => Sender.Tell(DuplexChannelLifecycle.View(_state, _id)));
        Command<WakeDuplexChannel>(_ => _shell.Wake());
        Command<EscrowLocked>(locked => { if (DuplexChannelLifecycle.AwaitsLock(_state, locked)) _shell.Locked(DuplexChannelLifecycle.ConfirmLock(_state, _id, locked)); });
        Command<EscrowReleased>(released => { if (DuplexChannelLifecycle.AwaitsRelease(_state, released)) _shell.Released(DuplexChannelLifecycle.ConfirmRelease(_state, _id, released)); });
        Command<Refusal>(refusal => _shell.Refused(DuplexChannelLifecycle.Refuse(_state, _id, refusal), refusal));
        Command<EscrowRetryDue>(_ => _shell.RetryDue());
        Command<ChallengeDeadlineReached>(_ => FinalizeIfDue());
    }

    public override string PersistenceId => "duplex-" + _id.Value;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new DuplexChannelEntity(id, settings, ledger, devices, operators));

    /// <summary>The one way the state changes: a durable event, live or in recovery.</summary>
    private void Evolve(object e) => _state = DuplexChannelLifecycle.Evolve(_state, e);

    // States

    private void Submit(SubmitDuplexState command, IActorRef sender)
    {
        var payment = PaymentArrivals.Arrive(PaymentKind.Duplex, "duplex.state", command.TraceParent);
        var now = _settings.Clock.Now;
        var recorded = DuplexChannelLifecycle.TakeState(_state, _id, command.State, _revoked, _quarantined, now);
        if (!recorded.IsOk) { payment.Refuse(sender, recorded.Error); return; }
        var before = _state.Channel!;
        Persist(recorded.Value, e =>
        {
            Evolve(e);
            var after = _state.Channel!;
            _feed.CountPayment();
            _feed.Publish(new Activity.DuplexTradeAgreed(_id, after.Version, after.Terms.PartyA.Id, after.Terms.PartyB.Id, DuplexChannelLifecycle.Moved(before, after), now));
            payment.Durable();
            if (DuplexChannelLifecycle.Acknowledge(_state, _id) is { } acknowledged) sender.Tell(acknowledged);
            else _shell.Settle(sender, command.TraceParent);
        });
    }

    // Closing and settlement

    private void Close(CloseDuplexChannel command)
    {
        var decided = DuplexChannelLifecycle.DecideClose(_state, _id, command.CloseRequest, _settings.Clock.Now);
        if (!_shell.AnswerKnownClose(decided.Answer, Sender)) _shell.Close(decided.Event!, decided.Window, Sender, command.TraceParent, dispute: null);
    }

    private void FinalizeIfDue()
    {
        if (_state.Phase != ChannelPhase.Closing) return;
        var ended = DuplexChannelLifecycle.EndChallenge(_state, _id, _settings.Clock.Now);
        if (!ended.IsOk) _shell.WatchChallenge(_state.Channel!.ChallengeDeadline!.Value);
        else _shell.EndChallenge(ended.Value);
    }

    private void Resume()
    {
        _parties.Recovered(DuplexChannelLifecycle.TakesPayments(_state));
        _shell.Resumed(_state.Channel?.ChallengeDeadline);
    }

    protected override void PostStop()
    {
        _shell.Stopped();
        base.PostStop();
    }

    // What the shell reads of the durable state, and how an event of it becomes the state.

    ChannelPhase IEscrowedChannel.Phase => _state.Phase;
    EscrowId? IEscrowedChannel.Escrow => _state.Escrow;
    ChannelSettled? IEscrowedChannel.Settlement => _state.Settlement;
    IReadOnlyList<ILedgerCommand> IEscrowedChannel.OwedByLedger() => DuplexChannelLifecycle.OwedByLedger(_state, _settings.LedgerShardCount);
    object? IEscrowedChannel.Opened() => _state.Channel is null ? null : DuplexChannelLifecycle.Opened(_state, _id);
    void IEscrowedChannel.Durable(object e) => Evolve(e);
}
