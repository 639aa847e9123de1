using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

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
    private readonly ChannelRules _rules;
    private readonly RevocationList _revocations;
    private readonly Func<PartyId, bool> _revoked, _quarantined;
    private readonly OpeningLookups _lookups;
    private readonly PartyStanding<SubmitDuplexState> _parties;
    private readonly EscrowClient _escrow;
    private DuplexChannelState _state = DuplexChannelState.Empty;

    public DuplexChannelEntity(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators)
    {
        _id = new ChannelId(id);
        _settings = settings;
        _rules = new ChannelRules(settings.Network, settings.Currency, settings.MinChallengeWindow, settings.LedgerShardCount);
        _revocations = RevocationList.Get(Context.System);
        (_revoked, _quarantined) = (_revocations.IsRevoked, _revocations.IsQuarantined);
        _lookups = new OpeningLookups(Context, devices, operators, _id, settings.AskTimeout);
        _parties = new PartyStanding<SubmitDuplexState>(Context, devices, _revocations, _id, settings.AskTimeout, 1_000, "checking its parties' standing");
        _escrow = new EscrowClient(Context, this, _id, duplex: true, ledger, settings,
            () => DuplexChannelLifecycle.OwedByLedger(_state, settings.LedgerShardCount), () => _state.Escrow);

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
        Command<WakeDuplexChannel>(_ => _escrow.Wake());
        Command<EscrowLocked>(OnLocked);
        Command<EscrowReleased>(OnReleased);
        Command<Refusal>(OnLedgerRefusal);
        Command<EscrowRetryDue>(_ => _escrow.RetryDue());
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

    /// <summary>Answers an opening this channel already holds; false when it holds none.</summary>
    private bool AnswerKnownOpening(byte[] opening, IActorRef sender) => _escrow.Opening.AnswerOrAdd(DuplexChannelLifecycle.KnownOpening(_state, _id, opening), sender);

    private void OnOpeningKeysFound(OpeningKeysFound<DuplexOpening> found)
    {
        _lookups.Done();
        // Another opening may have been taken while the keys were looked up.
        if (AnswerKnownOpening(found.Opening, found.Sender)) return;
        var started = DuplexChannelLifecycle.Open(_state, _id, found.Opening, found.Signed, found.First, found.Second, _revoked);
        if (!started.IsOk) { found.Sender.Tell(Refusal.From(started.Error)); return; }
        Persist(started.Value, e => { Evolve(e); _escrow.Opening.Add(found.Sender); _escrow.Send(); });
    }

    private void OnLocked(EscrowLocked locked)
    {
        if (!DuplexChannelLifecycle.AwaitsLock(_state, locked) || _escrow.Confirmed(DuplexChannelLifecycle.ConfirmLock(_state, _id, locked)) is not { } confirmed) return;
        Persist(confirmed, e =>
        {
            Evolve(e);
            // Not open yet (the other deposit, or a refund after a refusal): the client sends what is still owed.
            if (_state.Channel is null) _escrow.Send();
            else _escrow.Opened(_state.Phase, DuplexChannelLifecycle.Opened(_state, _id));
        });
    }

    private void OnLedgerRefusal(Refusal refusal)
    {
        var refused = DuplexChannelLifecycle.Refuse(_state, _id, refusal);
        if (!refused.IsOk) { _escrow.RefusedUnexpectedly(refusal); return; }
        Persist(refused.Value, e => { Evolve(e); _escrow.Opening.AnswerAll(refusal); _escrow.Send(); });
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
            if (DuplexChannelLifecycle.Acknowledge(_state, _id) is { } acknowledged) { sender.Tell(acknowledged); return; }
            _escrow.Settling.Add(sender);
            _escrow.Settle(command.TraceParent);
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
        if (_escrow.Settling.AnswerOrAdd(DuplexChannelLifecycle.KnownClose(_state, _id), Sender)) return;
        var decision = DuplexChannelLifecycle.Close(_state, _id, command.CloseRequest, _settings.Clock.Now);
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        if (decision.Value.Event is not { } closed) { Sender.Tell(DuplexChannelLifecycle.Closing(_state, _id)); return; }
        var sender = Sender;
        Persist(closed, e => { Evolve(e); sender.Tell(DuplexChannelLifecycle.Closing(_state, _id)); _escrow.WatchChallenge(Deadline); });
    }

    private void FinalizeIfDue()
    {
        if (_state.Phase != ChannelPhase.Closing) return;
        var ended = DuplexChannelLifecycle.EndChallenge(_state, _id, _settings.Clock.Now);
        if (!ended.IsOk) { _escrow.WatchChallenge(Deadline); return; }
        Persist(ended.Value, e => { Evolve(e); _escrow.Settle(traceParent: null); });
    }

    private void OnReleased(EscrowReleased released)
    {
        if (!DuplexChannelLifecycle.AwaitsRelease(_state, released) || _escrow.Confirmed(DuplexChannelLifecycle.ConfirmRelease(_state, _id, released)) is not { } confirmed) return;
        Persist(confirmed, e =>
        {
            Evolve(e);
            // Sends what is still owed (the other escrow's release or refund), or stops retrying when nothing is.
            _escrow.Send();
            // A refused opening answers no one on its refunds: its waiters were told of the refusal.
            if (_state.Settlement is { } settlement) _escrow.Released(_state.Phase, settlement);
        });
    }

    private void Resume()
    {
        _parties.Recovered(DuplexChannelLifecycle.TakesPayments(_state), DuplexChannelLifecycle.Signers(_state));
        _escrow.Resumed(_state.Phase);
        if (_state.Phase == ChannelPhase.Closing) _escrow.WatchChallenge(Deadline);
    }

    protected override void PostStop()
    {
        _escrow.Stopped();
        base.PostStop();
    }

    private Timestamp Deadline => _state.Channel!.ChallengeDeadline!.Value;
}
