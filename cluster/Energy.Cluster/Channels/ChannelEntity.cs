using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Channels;

/// <summary>
/// A streaming channel on the network. A thin shell around <see cref="StreamingChannelLifecycle"/> and
/// <see cref="StreamingChannels"/>: it opens only once the ledger has locked the escrow, verifies every
/// voucher where it enters, persists only the newest voucher per batch and acknowledges once it is durable,
/// watches the challenge window (it is the watchtower: a newer voucher during the window wins), then
/// settles through the ledger until the ledger confirms. Its state changes only when an event is durable.
/// </summary>
public sealed class ChannelEntity : ReceivePersistentActor, IWithTimers
{
    private readonly ChannelId _id;
    private readonly EnergySettings _settings;
    private readonly ChannelRules _rules;
    private readonly RevocationList _revocations;
    private readonly Func<PartyId, bool> _revoked, _quarantined;
    private readonly OpeningLookups _lookups;
    private readonly PartyStanding<SubmitVoucher> _payer;
    private readonly EscrowClient _escrow;
    private readonly VoucherWrites _vouchers;
    private int _eventsSinceSnapshot;

    // What is durable, and the channel ahead of it: with every voucher accepted and the close or the end
    // of the window decided, while their events are written. New vouchers and closes are judged against it.
    private StreamingChannelState _state = StreamingChannelState.Empty;
    private StreamingChannel? _ahead;

    public ChannelEntity(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators)
    {
        _id = new ChannelId(id);
        _settings = settings;
        _rules = new ChannelRules(settings.Network, settings.Currency, settings.MinChallengeWindow, settings.LedgerShardCount);
        _revocations = RevocationList.Get(Context.System);
        (_revoked, _quarantined) = (_revocations.IsRevoked, _revocations.IsQuarantined);
        _lookups = new OpeningLookups(Context, devices, operators, _id, settings.AskTimeout);
        _payer = new PartyStanding<SubmitVoucher>(Context, devices, _revocations, _id, settings.AskTimeout, 10_000, "checking its payer's standing");
        _vouchers = new VoucherWrites("channel " + id, settings.MaxWaitingVoucherReplies, PersistAsync, Evolve, MaybeSnapshot);
        _escrow = new EscrowClient(Context, this, _id, duplex: false, ledger, settings,
            () => StreamingChannelLifecycle.OwedByLedger(_state, settings.LedgerShardCount), () => _state.Escrow);

        Recover<SnapshotOffer>(offer => _state = StreamingChannelLifecycle.FromSnapshot((ChannelSnapshot)offer.Snapshot));
        Recover<IEnergyMessage>(Evolve);
        Recover<RecoveryCompleted>(_ => { EnergyMetrics.EntityActivated("channel"); Resume(); });
        Command<OpenChannel>(Open);
        Command<OpeningKeysFound<StreamingOpening>>(OnOpeningKeysFound);
        Command<SubmitVoucher>(submit =>
        {
            if (!_payer.Known && _ahead is not null) _payer.Hold(submit, Sender, StreamingChannelLifecycle.Signers(_state));
            else Submit(submit, Sender);
        });
        Command<PartiesStanding>(standing => _payer.Answered(standing, Submit));
        Command<PartiesStandingUnknown>(_ => _payer.Unanswered());
        Command<CloseChannel>(Close);
        Command<GetChannel>(_ => Sender.Tell(StreamingChannelLifecycle.View(_state, _ahead, _id)));
        Command<GetBestVoucher>(_ => Sender.Tell(new BestVoucher(_id, _state.BestVoucher)));
        Command<GetPurposePaid>(query => Sender.Tell(Answers.Of(StreamingChannelLifecycle.PaidFor(_state, _id, query.Purpose))));
        Command<WakeChannel>(_ => _escrow.Wake());
        Command<EscrowLocked>(OnEscrowLocked);
        Command<EscrowReleased>(OnEscrowReleased);
        Command<Refusal>(OnLedgerRefusal);
        Command<EscrowRetryDue>(_ => _escrow.RetryDue());
        Command<ChallengeDeadlineReached>(_ => FinalizeIfDue());
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
    }

    public override string PersistenceId => "channel-" + _id.Value;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new ChannelEntity(id, settings, ledger, devices, operators));

    /// <summary>The one way the state changes: a durable event, live or in recovery.</summary>
    private void Evolve(object e) => _state = StreamingChannelLifecycle.Evolve(_state, e);

    // Opening

    private void Open(OpenChannel command)
    {
        if (AnswerKnownOpening(command.Opening, Sender)) return;
        var read = StreamingChannelLifecycle.ReadOpening(command.Opening, command.ChannelId, _id, _rules, _revoked);
        if (!read.IsOk) { Sender.Tell(Refusal.From(read.Error)); return; }
        _lookups.Start(command.Opening, read.Value, Sender, read.Value.Payload.Payer, read.Value.Payload.Payee);
    }

    /// <summary>Answers an opening this channel already holds; false when it holds none.</summary>
    private bool AnswerKnownOpening(byte[] opening, IActorRef sender) => _escrow.Opening.AnswerOrAdd(StreamingChannelLifecycle.KnownOpening(_state, _id, opening), sender);

    private void OnOpeningKeysFound(OpeningKeysFound<StreamingOpening> found)
    {
        _lookups.Done();
        // Another opening may have been taken while the keys were looked up.
        if (AnswerKnownOpening(found.Opening, found.Sender)) return;
        var started = StreamingChannelLifecycle.Open(_state, _id, found.Opening, found.Signed, found.First, found.Second);
        if (!started.IsOk) { found.Sender.Tell(Refusal.From(started.Error)); return; }
        Persist(started.Value, e => { Evolve(e); MaybeSnapshot(); _escrow.Opening.Add(found.Sender); _escrow.Send(); });
    }

    private void OnEscrowLocked(EscrowLocked locked)
    {
        if (!StreamingChannelLifecycle.AwaitsLock(_state) || _escrow.Confirmed(StreamingChannelLifecycle.ConfirmLock(_state, _id, locked)) is not { } confirmed) return;
        Persist(confirmed, e => { Evolve(e); MaybeSnapshot(); _ahead = _state.Channel; _escrow.Opened(_state.Phase, StreamingChannelLifecycle.Opened(_state, _id)); });
    }

    private void OnLedgerRefusal(Refusal refusal)
    {
        // Only the lock can be refused for good (no funds); a refused release is a bug and is retried loudly.
        var abandoned = StreamingChannelLifecycle.Abandon(_state, _id, refusal);
        if (!abandoned.IsOk) { _escrow.RefusedUnexpectedly(refusal); return; }
        Persist(abandoned.Value, e => { Evolve(e); MaybeSnapshot(); _ahead = null; _escrow.Settled(); _escrow.Opening.AnswerAll(refusal); });
    }

    // Vouchers

    private void Submit(SubmitVoucher command, IActorRef sender)
    {
        var arrivedAt = Stopwatch.GetTimestamp();
        var span = EnergyTracing.StartHandling("channel.voucher", command.TraceParent);
        var decoded = _ahead is null ? new ChannelNotFound(_id) : Signed<Voucher>.Decode(command.Voucher);
        if (decoded.IsOk) span?.SetTag("energy.payment.kind", EnergyMetrics.NameOf(EnergyMetrics.KindOf(decoded.Value.Payload.Purpose)));
        var taken = decoded.IsOk
            ? StreamingChannelLifecycle.TakeVoucher(_ahead!, _id, decoded.Value, _revoked, _quarantined, _vouchers.Full, _settings.Clock.Now)
            : decoded.Error;
        if (!taken.IsOk)
        {
            EnergyTracing.End(span, taken.Error.Code);
            sender.Tell(Refusal.From(taken.Error));
            return;
        }
        var (voucher, accepted) = taken.Value;
        _ahead = accepted.Channel;
        Activity.ActivityFeed.Get(Context.System).CountPayment();
        // Counted, timed and its span ended when its acknowledgement goes out: once it is durable.
        _vouchers.Take(voucher, accepted, sender, StreamingChannelLifecycle.Acknowledge(_id, voucher.Payload, accepted),
            new PendingPayment(EnergyMetrics.KindOf(voucher.Payload.Purpose), arrivedAt, span));
    }

    // Closing and settlement

    private void Close(CloseChannel command)
    {
        if (_escrow.Settling.AnswerOrAdd(StreamingChannelLifecycle.KnownClose(_state, _ahead, _id), Sender)) return;
        var now = _settings.Clock.Now;
        var decision = StreamingChannelLifecycle.Close(_ahead!, command.CloseRequest, now);
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        if (decision.Value.Event is not { } closed) { Sender.Tell(StreamingChannelLifecycle.Closing(_id, _ahead!)); return; }
        // From here on, vouchers are judged against the closing (or closed) channel, and are journaled after it.
        var (sender, next) = (Sender, decision.Value.Next);
        _vouchers.WriteBeforeAClose();
        _ahead = next;
        PersistAsync(closed, e =>
        {
            Evolve(e);
            MaybeSnapshot();
            if (next.Status == ChannelStatus.Closed) { _escrow.Settling.Add(sender); _escrow.Settle(command.TraceParent); return; }
            // A payer's close opens a challenge window: a dispute the operators may want to watch.
            Activity.ActivityFeed.Get(Context.System).Publish(new Activity.ChannelDisputeOpened(_id, next.Terms.Payer.Id, next.Terms.Payee.Id, now));
            sender.Tell(StreamingChannelLifecycle.Closing(_id, next));
            _escrow.WatchChallenge(next.ChallengeDeadline!.Value);
        });
    }

    private void FinalizeIfDue()
    {
        if (_ahead is not { Status: ChannelStatus.Closing }) return;
        var ended = StreamingChannelLifecycle.EndChallenge(_ahead, _settings.Clock.Now);
        if (!ended.IsOk) { _escrow.WatchChallenge(_ahead.ChallengeDeadline!.Value); return; }
        _vouchers.WriteBeforeAClose();
        _ahead = ended.Value.Next;
        PersistAsync(ended.Value.Event, e => { Evolve(e); MaybeSnapshot(); _escrow.Settle(traceParent: null); });
    }

    private void OnEscrowReleased(EscrowReleased released)
    {
        if (!StreamingChannelLifecycle.AwaitsRelease(_state) || _escrow.Confirmed(StreamingChannelLifecycle.ConfirmRelease(_state, _id, released)) is not { } settled) return;
        Persist(settled, e => { Evolve(e); MaybeSnapshot(); _escrow.Released(_state.Phase, e.Result); });
    }

    private void Resume()
    {
        _ahead = _state.Channel;
        _payer.Recovered(StreamingChannelLifecycle.TakesPayments(_state), StreamingChannelLifecycle.Signers(_state));
        _escrow.Resumed(_state.Phase);
        if (_state.Phase == ChannelPhase.Closing) _escrow.WatchChallenge(_ahead!.ChallengeDeadline!.Value);
    }

    protected override void PostStop()
    {
        _escrow.Stopped();
        base.PostStop();
    }

    private void MaybeSnapshot()
    {
        if (IsRecovering || ++_eventsSinceSnapshot < _settings.ChannelSnapshotEveryEvents) return;
        // Only durable state goes into a snapshot: not while a voucher waits or is in flight.
        if (!_vouchers.Idle) return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(StreamingChannelLifecycle.ToSnapshot(_state));
    }
}
