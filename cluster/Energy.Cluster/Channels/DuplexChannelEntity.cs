using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
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
    private readonly RevocationList _revocations;
    private readonly OpeningLookups _lookups;
    private readonly PartyStanding<SubmitDuplexState> _parties;
    private readonly Waiters _openWaiters;
    private readonly Waiters _settleWaiters;
    private readonly EscrowClient _escrow;
    private DuplexChannelState _state = DuplexChannelState.Empty;
    private readonly OpenChannelCount _openCount = new(duplex: true);
    private System.Diagnostics.Activity? _settleSpan;

    public DuplexChannelEntity(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators)
    {
        _id = new ChannelId(id);
        _settings = settings;
        _revocations = RevocationList.Get(Context.System);
        _lookups = new OpeningLookups(Context, devices, operators, _id, settings.AskTimeout);
        _parties = new PartyStanding<SubmitDuplexState>(Context, devices, _revocations, _id, settings.AskTimeout, 1_000, "checking its parties' standing");
        _openWaiters = new Waiters("duplex channel " + id, settings.MaxChannelWaiters);
        _settleWaiters = new Waiters("duplex channel " + id, settings.MaxChannelWaiters);
        _escrow = new EscrowClient(_id, ledger, this, settings, () => DuplexChannelLifecycle.OwedByLedger(_state, settings.LedgerShardCount));

        Recover<IEnergyMessage>(Evolve);
        Recover<RecoveryCompleted>(_ =>
        {
            EnergyMetrics.EntityActivated("duplex-channel");
            Resume();
        });
        Command<OpenDuplexChannel>(Open);
        Command<OpeningKeysFound<DuplexOpening>>(OnOpeningKeysFound);
        Command<SubmitDuplexState>(submit =>
        {
            if (!_parties.Known && _state.Channel is not null) _parties.Hold(submit, Sender, Parties);
            else Submit(submit, Sender);
        });
        Command<PartiesStanding>(standing => _parties.Answered(standing, Submit));
        Command<PartiesStandingUnknown>(_ => _parties.Unanswered());
        Command<CloseDuplexChannel>(Close);
        Command<GetDuplexChannel>(_ => Sender.Tell(DuplexChannelLifecycle.View(_state, _id)));
        Command<WakeDuplexChannel>(_ => { if (_escrow.GaveUp) _escrow.Send(); });
        Command<EscrowLocked>(OnLocked);
        Command<EscrowReleased>(OnReleased);
        Command<Refusal>(OnLedgerRefusal);
        Command<EscrowRetryDue>(_ => { if (_state.Escrow is { } escrow && _escrow.Retry(escrow) is { } unanswered) Alert(unanswered); });
        Command<DeadlineReached>(_ => FinalizeIfDue());
    }

    public override string PersistenceId => "duplex-" + _id.Value;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new DuplexChannelEntity(id, settings, ledger, devices, operators));

    private PartyId[] Parties => [_state.Terms!.PartyA.Id, _state.Terms.PartyB.Id];

    /// <summary>The one way the state changes: a durable event, live or in recovery.</summary>
    private void Evolve(object e) => _state = DuplexChannelLifecycle.Evolve(_state, e);

    // Opening

    private void Open(OpenDuplexChannel command)
    {
        if (AnswerKnownOpening(command.Opening, Sender)) return;
        var decoded = Signed<DuplexOpening>.Decode(command.Opening);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var opening = decoded.Value.Payload;
        var refusal = DuplexChannelLifecycle.CheckOpening(opening, _id, _settings.Network, _settings.Currency, _settings.MinChallengeWindow) ?? _lookups.Busy;
        if (refusal is not null) { Sender.Tell(Refusal.From(refusal)); return; }
        _lookups.Start(command.Opening, decoded.Value, Sender, opening.PartyA, opening.PartyB);
    }

    /// <summary>Answers an opening this channel already holds; false when it holds none.</summary>
    private bool AnswerKnownOpening(byte[] opening, IActorRef sender)
    {
        if (_state.Opening is null) return false;
        if (!_state.Opening.AsSpan().SequenceEqual(opening)) sender.Tell(Refusal.From(new ChannelAlreadyExists(_id)));
        else if (_state.Refusal is not null) sender.Tell(_state.Refusal);
        else if (_state.Channel is not null) sender.Tell(DuplexChannelLifecycle.Opened(_state, _id));
        else _openWaiters.Add(sender);
        return true;
    }

    private void OnOpeningKeysFound(OpeningKeysFound<DuplexOpening> found)
    {
        _lookups.Done();
        // Another opening may have been taken while the keys were looked up.
        if (AnswerKnownOpening(found.Opening, found.Sender)) return;
        var opening = found.Signed.Payload;
        var keyA = ChannelParties.KnownKey(_id, opening.PartyA, found.First, _revocations.IsRevoked(opening.PartyA));
        var keyB = ChannelParties.KnownKey(_id, opening.PartyB, found.Second, _revocations.IsRevoked(opening.PartyB));
        var started = !keyA.IsOk ? keyA.Error
            : !keyB.IsOk ? keyB.Error
            : DuplexChannelLifecycle.Open(_state, _id, found.Opening, found.Signed, keyA.Value, keyB.Value);
        if (!started.IsOk) { found.Sender.Tell(Refusal.From(started.Error)); return; }
        Persist(started.Value, e => { Evolve(e); _openWaiters.Add(found.Sender); _escrow.Send(); });
    }

    private void OnLocked(EscrowLocked locked)
    {
        if (!DuplexChannelLifecycle.AwaitsLock(_state, locked)) return;
        var confirmed = DuplexChannelLifecycle.ConfirmLock(_state, _id, locked);
        if (!confirmed.IsOk) { Alert(confirmed.Error); return; }
        Persist(confirmed.Value, e =>
        {
            Evolve(e);
            // Not open yet (the other deposit, or a refund after a refusal): the client sends what is still owed.
            if (_state.Channel is null) { _escrow.Send(); return; }
            _escrow.Settled();
            _openCount.Update(_state.Phase);
            _openWaiters.AnswerAll(DuplexChannelLifecycle.Opened(_state, _id));
        });
    }

    private void OnLedgerRefusal(Refusal refusal)
    {
        var refused = DuplexChannelLifecycle.Refuse(_state, _id, refusal);
        if (!refused.IsOk) { Context.GetLogger().Error("duplex channel {0}: the ledger refused {1}: {2}", _id, refusal.Code, refusal.Message); return; }
        Persist(refused.Value, e => { Evolve(e); _openWaiters.AnswerAll(refusal); _escrow.Send(); });
    }

    // States

    private void Submit(SubmitDuplexState command, IActorRef sender)
    {
        var arrivedAt = Stopwatch.GetTimestamp();
        var span = EnergyTracing.StartHandling("duplex.state", command.TraceParent);
        var now = _settings.Clock.Now;
        var recorded = Take(command, now);
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
            if (after.Status != ChannelStatus.Closed) { sender.Tell(new DuplexStateAcknowledged(_id, after.Version)); return; }
            _settleWaiters.Add(sender);
            Settle(command.TraceParent);
        });
    }

    /// <summary>The event for a co-signed state, or the error it is refused with.</summary>
    private Result<DuplexStateRecorded> Take(SubmitDuplexState command, Timestamp now)
    {
        if (_state.Channel is null) return new ChannelNotFound(_id);
        var decoded = Signed<DuplexState>.Decode(command.State);
        if (!decoded.IsOk) return decoded.Error;
        // Both parties sign every state, so a revoked or quarantined key on either side stops the channel's payments, as it stops vouchers.
        if (ChannelParties.CheckStanding(_id, Parties, _revocations.IsRevoked, _revocations.IsQuarantined) is { } refused) return refused;
        return DuplexChannelLifecycle.TakeState(_state, _id, command.State, decoded.Value, now);
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
        if (_state.Channel is not { } channel) { Sender.Tell(Refusal.From(new ChannelNotFound(_id))); return; }
        if (_state.Settlement is not null) { Sender.Tell(_state.Settlement); return; }
        if (channel.Status == ChannelStatus.Closed) { _settleWaiters.Add(Sender); return; }
        var decoded = Signed<CloseRequest>.Decode(command.CloseRequest);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var decision = DuplexChannelLifecycle.Close(_state, _id, command.CloseRequest, decoded.Value, _settings.Clock.Now);
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        if (decision.Value.Event is not { } closed) { Sender.Tell(new ChannelClosing(_id, channel.ChallengeDeadline!.Value)); return; }
        var sender = Sender;
        Persist(closed, e => { Evolve(e); sender.Tell(new ChannelClosing(_id, _state.Channel!.ChallengeDeadline!.Value)); ScheduleDeadline(); });
    }

    private void FinalizeIfDue()
    {
        if (_state.Phase != ChannelPhase.Closing) return;
        var ended = DuplexChannelLifecycle.EndChallenge(_state, _id, _settings.Clock.Now);
        if (!ended.IsOk) { ScheduleDeadline(); return; }
        Persist(ended.Value, e => { Evolve(e); Settle(traceParent: null); });
    }

    private void OnReleased(EscrowReleased released)
    {
        if (!DuplexChannelLifecycle.AwaitsRelease(_state, released)) return;
        var confirmed = DuplexChannelLifecycle.ConfirmRelease(_state, _id, released);
        if (!confirmed.IsOk) { Alert(confirmed.Error); return; }
        Persist(confirmed.Value, e =>
        {
            Evolve(e);
            // Sends what is still owed (the other escrow's release or refund), or stops retrying when nothing is.
            _escrow.Send();
            // A refused opening answers no one on its refunds: its waiters were told of the refusal.
            if (_state.Settlement is not { } settlement) return;
            _openCount.Update(_state.Phase);
            EnergyTracing.End(_settleSpan);
            _settleSpan = null;
            _settleWaiters.AnswerAll(settlement);
        });
    }

    /// <summary>
    /// The final balances are decided: the ledger is asked to release both escrows (again until it confirms). The
    /// settlement's span runs until the last release is durable here; its parent is the state or close that decided it.
    /// </summary>
    private void Settle(string? traceParent)
    {
        _settleSpan ??= EnergyTracing.StartHandling("duplex.settle", traceParent);
        _escrow.TraceParent = EnergyTracing.TraceParentOf(_settleSpan);
        _escrow.Send();
    }

    private void Resume()
    {
        _parties.Recovered(takesPayments: _state.Channel is not null && _state.Settlement is null, _state.Terms is null ? [] : Parties);
        _openCount.Update(_state.Phase);
        if (_state.Phase == ChannelPhase.Closing) ScheduleDeadline();
        else if (_state.Phase == ChannelPhase.Closed) Settle(traceParent: null);
        else _escrow.Send();
    }

    protected override void PostStop()
    {
        _openCount.Stopped();
        EnergyTracing.End(_settleSpan, "stopped before the ledger confirmed");
        base.PostStop();
    }

    private void ScheduleDeadline() =>
        Deadlines.Schedule(Timers, "deadline", DeadlineReached.Instance, _state.Channel!.ChallengeDeadline!.Value, _settings.Clock.Now);

    private void Alert(ProtocolError error) => EscrowClient.Alert(Context, _settings, _id, error);

    private sealed record DeadlineReached
    {
        public static readonly DeadlineReached Instance = new();
    }
}
