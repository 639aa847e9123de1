using System.Diagnostics;
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
    private readonly ChannelRules _rules;
    private readonly Func<PartyId, bool> _revoked, _quarantined;
    private readonly OpeningLookups _lookups;
    private readonly PartyStanding<SubmitDuplexState> _parties;
    private readonly ChannelShell _shell;
    private DuplexChannelState _state = DuplexChannelState.Empty;

    public DuplexChannelEntity(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators)
    {
        _id = new ChannelId(id);
        _settings = settings;
        _rules = new ChannelRules(settings.Network, settings.Currency, settings.MinChallengeWindow, settings.LedgerShardCount);
        var revocations = RevocationList.Get(Context.System);
        (_revoked, _quarantined) = (revocations.IsRevoked, revocations.IsQuarantined);
        _lookups = new OpeningLookups(Context, devices, operators, _id, settings.AskTimeout);
        _parties = new PartyStanding<SubmitDuplexState>(Context, devices, revocations, _id, settings.AskTimeout, 1_000, "checking its parties' standing");
        _shell = new ChannelShell(Context, this, _id, duplex: true, ledger, settings, Persist, Persist);

        Recover<IEnergyMessage>(Evolve);
        Recover<RecoveryCompleted>(_ => { EnergyMetrics.EntityActivated("duplex-channel"); Resume(); });
        Command<OpenDuplexChannel>(Open);
        Command<OpeningKeysFound<DuplexOpening>>(OnOpeningKeysFound);
        Command<SubmitDuplexState>(submit =>
        {
            if (!_parties.Known && _state.Channel is not null) _parties.Hold(submit, Sender, DuplexChannelLifecycle.Signers(_state));
            else Submit(submit, Sender);
        });
        Command<PartiesStanding>(standing => _parties.Answered(standing, Submit));
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

    // Opening

    private void Open(OpenDuplexChannel command)
    {
        if (AnswerKnownOpening(command.Opening, Sender)) return;
        var read = DuplexChannelLifecycle.ReadOpening(command.Opening, _id, _rules);
        if (!read.IsOk) { Sender.Tell(Refusal.From(read.Error)); return; }
        _lookups.Start(command.Opening, read.Value, Sender, read.Value.Payload.PartyA, read.Value.Payload.PartyB);
    }

    private bool AnswerKnownOpening(byte[] opening, IActorRef sender) => _shell.AnswerKnownOpening(DuplexChannelLifecycle.KnownOpening(_state, _id, opening), sender);

    private void OnOpeningKeysFound(OpeningKeysFound<DuplexOpening> found)
    {
        _lookups.Done();
        // Another opening may have been taken while the keys were looked up.
        if (AnswerKnownOpening(found.Opening, found.Sender)) return;
        _shell.Open(DuplexChannelLifecycle.Open(_state, _id, found.Opening, found.Signed, found.First, found.Second, _revoked), found.Sender);
    }

    // States

    private void Submit(SubmitDuplexState command, IActorRef sender)
    {
        var arrivedAt = Stopwatch.GetTimestamp();
        var span = EnergyTracing.StartHandling("duplex.state", command.TraceParent);
        var now = _settings.Clock.Now;
        var recorded = DuplexChannelLifecycle.TakeState(_state, _id, command.State, _revoked, _quarantined, now);
        if (!recorded.IsOk)
        {
            EnergyTracing.End(span, recorded.Error.Code);
            sender.Tell(Refusal.From(recorded.Error));
            return;
        }
        var balanceBefore = _state.Channel!.BalanceB;
        Persist(recorded.Value, e =>
        {
            Evolve(e);
            var after = _state.Channel!;
            PublishTrade(after, Math.Abs(after.BalanceB.MinorUnits - balanceBefore.MinorUnits), now);
            EnergyMetrics.PaymentDurable(PaymentKind.Duplex, arrivedAt);
            EnergyTracing.End(span);
            if (DuplexChannelLifecycle.Acknowledge(_state, _id) is { } acknowledged) sender.Tell(acknowledged);
            else _shell.Settle(sender, command.TraceParent);
        });
    }

    private void PublishTrade(DuplexChannel channel, long moved, Timestamp now)
    {
        var feed = Activity.ActivityFeed.Get(Context.System);
        feed.CountPayment();
        feed.Publish(new Activity.DuplexTradeAgreed(_id, channel.Version, channel.Terms.PartyA.Id, channel.Terms.PartyB.Id, new Money(moved, channel.BalanceB.Currency), now));
    }

    // Closing and settlement

    private void Close(CloseDuplexChannel command)
    {
        if (_shell.AnswerKnownClose(DuplexChannelLifecycle.KnownClose(_state, _id), Sender)) return;
        var decision = DuplexChannelLifecycle.Close(_state, _id, command.CloseRequest, _settings.Clock.Now);
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        if (decision.Value.Event is not { } closed) { Sender.Tell(DuplexChannelLifecycle.Closing(_state, _id)); return; }
        _shell.Close(closed, DuplexChannelLifecycle.Window(_id, decision.Value.Next), Sender, command.TraceParent, dispute: null);
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
        _parties.Recovered(DuplexChannelLifecycle.TakesPayments(_state), DuplexChannelLifecycle.Signers(_state));
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
