using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Cluster.Ledger;
using Energy.Cluster.Registry;

namespace Energy.Cluster.Channels;

/// <summary>
/// A streaming channel on the network. A thin shell around <see cref="StreamingChannelLifecycle"/> and
/// <see cref="StreamingChannels"/>: it opens only once the ledger has locked the escrow, verifies every
/// voucher where it enters, persists only the newest voucher per flush and acknowledges once it is durable,
/// watches the challenge window (it is the watchtower: a newer voucher during the window wins), then
/// settles through the ledger until the ledger confirms. Its state changes only when an event is durable.
/// </summary>
public sealed class ChannelEntity : ReceivePersistentActor, IWithTimers
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _operators;
    private readonly RevocationList _revocations;

    // What is durable, and the channel ahead of it: with every voucher accepted and the close or the end
    // of the window decided, while their events are written. New vouchers and closes are judged against it.
    private StreamingChannelState _state = StreamingChannelState.Empty;
    private StreamingChannel? _ahead;

    private readonly Waiters _openWaiters;
    private readonly Waiters _settleWaiters;
    private readonly EscrowClient _escrow;

    // Voucher batching: one voucher write in flight; the newest waiting voucher goes next, with what
    // every voucher of its batch paid per purpose. Acknowledgements wait for the write of their batch.
    private readonly DurableReplies _voucherReplies;
    private Signed<Voucher>? _voucherWaiting;
    private List<PurposePayment> _purposesWaiting = [];
    private int _openingLookups;
    private int _eventsSinceSnapshot;

    public ChannelEntity(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators)
    {
        _id = id;
        _settings = settings;
        _devices = devices;
        _operators = operators;
        _revocations = RevocationList.Get(Context.System);
        _openWaiters = new Waiters("channel " + id, settings.MaxChannelWaiters);
        _settleWaiters = new Waiters("channel " + id, settings.MaxChannelWaiters);
        _voucherReplies = new DurableReplies("channel " + id, settings.MaxWaitingVoucherReplies);
        _escrow = new EscrowClient(new ChannelId(id), ledger, this, settings,
            () => StreamingChannelLifecycle.OwedByLedger(_state, settings.LedgerShardCount));

        Recover<SnapshotOffer>(offer => _state = StreamingChannelLifecycle.FromSnapshot((ChannelSnapshot)offer.Snapshot));
        Recover<ChannelOpeningStarted>(Evolve);
        Recover<EscrowLockConfirmed>(Evolve);
        Recover<ChannelOpeningAbandoned>(Evolve);
        Recover<VoucherRecorded>(Evolve);
        Recover<CloseRecorded>(Evolve);
        Recover<ChallengeWindowEnded>(Evolve);
        Recover<SettlementRecorded>(Evolve);
        Recover<RecoveryCompleted>(_ => Resume());

        Command<OpenChannel>(Open);
        Command<OpeningKeysFound>(OnOpeningKeysFound);
        Command<SubmitVoucher>(submit =>
        {
            if (_payerStanding is null && _ahead is not null) HoldUntilPayerKnown(submit);
            else Submit(submit, Sender);
        });
        Command<PayerStanding>(OnPayerStanding);
        Command<PayerStandingUnknown>(_ => OnPayerStandingUnknown());
        Command<CloseChannel>(Close);
        Command<GetChannel>(_ => Sender.Tell(View()));
        Command<GetBestVoucher>(_ => Sender.Tell(new BestVoucher(ChannelId, _state.BestVoucher)));
        Command<GetPurposePaid>(OnGetPurposePaid);
        Command<WakeChannel>(_ => { if (_escrow.GaveUp) _escrow.Send(); });
        Command<EscrowLocked>(OnEscrowLocked);
        Command<EscrowReleased>(OnEscrowReleased);
        Command<Refusal>(OnLedgerRefusal);
        Command<EscrowRetryDue>(_ => { if (_state.Escrow is { } escrow && _escrow.Retry(escrow) is { } unanswered) Alert(unanswered); });
        Command<ChallengeDeadlineReached>(_ => FinalizeIfDue());
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
    }

    public override string PersistenceId => "channel-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new ChannelEntity(id, settings, ledger, devices, operators));

    private ChannelId ChannelId => new(_id);

    /// <summary>The one way the state changes: a durable event, live or in recovery.</summary>
    private void Evolve(object e) => _state = StreamingChannelLifecycle.Evolve(_state, e);

    // Opening

    private void Open(OpenChannel command)
    {
        if (AnswerKnownOpening(command.Opening, Sender)) return;
        var decoded = Signed<StreamingOpening>.Decode(command.Opening);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var opening = decoded.Value.Payload;
        var refusal = CheckOpening(opening, command.ChannelId);
        if (refusal is not null) { Sender.Tell(Refusal.From(refusal)); return; }
        if (_openingLookups >= MaxOpeningLookups) { Sender.Tell(Refusal.From(new ChannelBusy(ChannelId, "looking up the parties of other openings"))); return; }
        // The parties' keys come from their twins: the answer is piped back, and the entity goes on meanwhile.
        _openingLookups++;
        var sender = Sender;
        PartyKeys.ResolveBothAsync(_devices, _operators, ChannelId, opening.Payer, opening.Payee, _settings.AskTimeout)
            .PipeTo(Self, success: keys => new OpeningKeysFound(command.Opening, decoded.Value, sender, keys.First, keys.Second),
                failure: _ => new OpeningKeysFound(command.Opening, decoded.Value, sender, new PartyUnknown(ChannelId, opening.Payer), new PartyUnknown(ChannelId, opening.Payee)));
    }

    /// <summary>Answers an opening this channel already holds; false when it holds none.</summary>
    private bool AnswerKnownOpening(byte[] opening, IActorRef sender)
    {
        if (_state.Opening is null) return false;
        if (!_state.Opening.AsSpan().SequenceEqual(opening)) sender.Tell(Refusal.From(new ChannelAlreadyExists(ChannelId)));
        else if (_state.Phase != ChannelPhase.Opening) sender.Tell(Opened());
        else _openWaiters.Add(sender);
        return true;
    }

    private void OnOpeningKeysFound(OpeningKeysFound found)
    {
        _openingLookups--;
        var sender = found.Sender;
        // Another opening may have been taken while the keys were looked up.
        if (AnswerKnownOpening(found.Opening, sender)) return;
        if (!found.PayerKey.IsOk) { sender.Tell(Refusal.From(found.PayerKey.Error)); return; }
        if (!found.PayeeKey.IsOk) { sender.Tell(Refusal.From(found.PayeeKey.Error)); return; }
        var started = StreamingChannelLifecycle.Open(_state, ChannelId, found.Opening, found.Signed, found.PayerKey.Value, found.PayeeKey.Value);
        if (!started.IsOk) { sender.Tell(Refusal.From(started.Error)); return; }
        Persist(started.Value, e =>
        {
            Evolve(e);
            MaybeSnapshot();
            _openWaiters.Add(sender);
            _escrow.Send();
        });
    }

    /// <summary>Openings whose parties are being looked up at once, at most; more are refused as busy.</summary>
    private const int MaxOpeningLookups = 64;

    private sealed record OpeningKeysFound(byte[] Opening, Signed<StreamingOpening> Signed, IActorRef Sender,
        Result<DevicePublicKey> PayerKey, Result<DevicePublicKey> PayeeKey);

    private ProtocolError? CheckOpening(StreamingOpening opening, ChannelId requested)
    {
        if (opening.ChannelId != requested || opening.ChannelId != ChannelId) return new WrongChannel(ChannelId, opening.ChannelId);
        if (opening.Network != _settings.Network) return new WrongNetwork(ChannelId, _settings.Network, opening.Network);
        if (opening.Deposit.Currency != _settings.Currency) return new CurrencyMismatch(_settings.Currency, opening.Deposit.Currency);
        if (_revocations.IsRevoked(opening.Payer)) return new PartyRevoked(ChannelId, opening.Payer);
        if (_revocations.IsRevoked(opening.Payee)) return new PartyRevoked(ChannelId, opening.Payee);
        // The payer alone signs a streaming opening: the network's minimum window is what protects the payee.
        return ChallengeWindows.CheckMinimum(ChannelId, opening.ChallengeWindow, _settings.MinChallengeWindow);
    }

    private void OnEscrowLocked(EscrowLocked locked)
    {
        if (_state.Phase != ChannelPhase.Opening) return;
        var confirmed = StreamingChannelLifecycle.ConfirmLock(_state, ChannelId, locked);
        if (!confirmed.IsOk) { Alert(confirmed.Error); return; }
        Persist(confirmed.Value, e =>
        {
            Evolve(e);
            MaybeSnapshot();
            _ahead = _state.Channel;
            _escrow.Settled();
            _openWaiters.AnswerAll(Opened());
        });
    }

    private void OnLedgerRefusal(Refusal refusal)
    {
        // Only the lock can be refused for good (no funds); a refused release is a bug and is retried loudly.
        var abandoned = StreamingChannelLifecycle.Abandon(_state, ChannelId, refusal);
        if (!abandoned.IsOk)
        {
            Context.GetLogger().Error("channel {0}: the ledger refused {1}: {2}", _id, refusal.Code, refusal.Message);
            return;
        }
        Persist(abandoned.Value, e =>
        {
            Evolve(e);
            MaybeSnapshot();
            _ahead = null;
            _escrow.Settled();
            _openWaiters.AnswerAll(refusal);
        });
    }

    // Vouchers

    private void Submit(SubmitVoucher command, IActorRef sender)
    {
        if (_ahead is null) { sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        var decoded = Signed<Voucher>.Decode(command.Voucher);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var payer = _ahead.Terms.Payer.Id;
        if (_revocations.IsRevoked(payer)) { sender.Tell(Refusal.From(new PartyRevoked(ChannelId, payer))); return; }
        if (_revocations.IsQuarantined(payer)) { sender.Tell(Refusal.From(new PartyQuarantined(ChannelId, payer))); return; }
        // Refused before it is accepted: an accepted voucher is always acknowledged once durable.
        if (_voucherReplies.Full is { } full) { sender.Tell(Refusal.From(full)); return; }
        var accepted = StreamingChannels.AcceptVoucher(_ahead, decoded.Value, _settings.Clock.Now);
        if (!accepted.IsOk) { sender.Tell(Refusal.From(accepted.Error)); return; }
        _ahead = accepted.Value.Channel;
        Activity.ActivityFeed.Get(Context.System).CountPayment();
        var voucher = decoded.Value.Payload;
        _voucherReplies.ReplyAfter(_voucherReplies.Next, sender, new VoucherAcknowledged(ChannelId, voucher.Sequence, voucher.Cumulative)
        {
            Increment = accepted.Value.Increment,
            Purpose = voucher.Purpose,
            PaidForPurpose = accepted.Value.PaidForPurpose,
            Payer = payer,
            Payee = _ahead.Terms.Payee.Id,
        });
        CountForPurpose(voucher.Purpose, accepted.Value.Increment);
        _voucherWaiting = decoded.Value;
        FlushVoucher();
    }

    /// <summary>
    /// Adds a voucher's increment to what its batch paid for its purpose, so that recovery counts the
    /// vouchers of the batch that are not written (a channel persists only the newest voucher of a batch).
    /// </summary>
    private void CountForPurpose(PaymentPurpose purpose, Money increment)
    {
        if (purpose.IsNone || increment.MinorUnits <= 0) return;
        for (var i = 0; i < _purposesWaiting.Count; i++)
        {
            if (_purposesWaiting[i].Purpose != purpose) continue;
            _purposesWaiting[i] = _purposesWaiting[i] with { Amount = _purposesWaiting[i].Amount.Add(increment).Unwrap() };
            return;
        }
        _purposesWaiting.Add(new PurposePayment(purpose, increment));
    }

    /// <summary>Answers from what is durable: a voucher accepted but not yet written is not counted.</summary>
    private void OnGetPurposePaid(GetPurposePaid query)
    {
        if (_ahead is null) { Sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        var terms = _ahead.Terms;
        var paid = _state.PaidByPurpose.TryGetValue(query.Purpose, out var sum) ? sum : Money.Zero(terms.Deposit.Currency);
        var newest = _state.BestVoucher is { } best && Signed<Voucher>.Decode(best) is { IsOk: true } decoded && decoded.Value.Payload.Purpose == query.Purpose ? best : null;
        Sender.Tell(new PurposePaid(ChannelId, query.Purpose, paid, terms.Payer.Id, terms.Payee.Id, newest));
    }

    private void FlushVoucher()
    {
        if (_voucherReplies.InFlight || _voucherWaiting is null) return;
        WriteVoucherBatch(snapshotAfter: true);
    }

    /// <summary>Writes the waiting batch; its acknowledgements are sent once it is durable.</summary>
    private void WriteVoucherBatch(bool snapshotAfter)
    {
        var recorded = new VoucherRecorded(_voucherWaiting!.ToArray(), _purposesWaiting);
        _voucherWaiting = null;
        _purposesWaiting = [];
        var write = _voucherReplies.Start();
        PersistAsync(recorded, e =>
        {
            Evolve(e);
            _voucherReplies.Written(write);
            if (snapshotAfter) MaybeSnapshot();
            FlushVoucher();
        });
    }

    /// <summary>Writes the waiting batch now, even while another is in flight: a close must follow the vouchers it counted.</summary>
    private void ForceFlushVoucher()
    {
        if (_voucherWaiting is null) return;
        WriteVoucherBatch(snapshotAfter: false);
    }

    // Closing and settlement

    private void Close(CloseChannel command)
    {
        if (_ahead is null) { Sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        if (_state.Settlement is not null) { Sender.Tell(_state.Settlement); return; }
        if (_ahead.Status == ChannelStatus.Closed) { _settleWaiters.Add(Sender); return; }
        var decoded = Signed<CloseRequest>.Decode(command.CloseRequest);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var now = _settings.Clock.Now;
        var decision = StreamingChannelLifecycle.Close(_ahead, command.CloseRequest, decoded.Value, now);
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        if (decision.Value.Event is not { } closed) { Sender.Tell(new ChannelClosing(ChannelId, _ahead.ChallengeDeadline!.Value)); return; }
        // The close must follow every voucher it counted: send the waiting voucher ahead of it. From
        // here on, vouchers are judged against the closing (or closed) channel, and are journaled after it.
        var sender = Sender;
        var next = decision.Value.Next;
        ForceFlushVoucher();
        _ahead = next;
        PersistAsync(closed, e =>
        {
            Evolve(e);
            MaybeSnapshot();
            if (next.Status == ChannelStatus.Closed)
            {
                _settleWaiters.Add(sender);
                _escrow.Send();
                return;
            }
            // A payer's close opens a challenge window: a dispute the operators may want to watch.
            Activity.ActivityFeed.Get(Context.System).Publish(new Activity.ChannelDisputeOpened(ChannelId, next.Terms.Payer.Id, next.Terms.Payee.Id, now));
            sender.Tell(new ChannelClosing(ChannelId, next.ChallengeDeadline!.Value));
            ScheduleDeadline();
        });
    }

    private void FinalizeIfDue()
    {
        if (_ahead is not { Status: ChannelStatus.Closing }) return;
        var now = _settings.Clock.Now;
        var ended = StreamingChannelLifecycle.EndChallenge(_ahead, now);
        if (!ended.IsOk) { ScheduleDeadline(); return; }
        ForceFlushVoucher();
        _ahead = ended.Value.Next;
        PersistAsync(ended.Value.Event, e =>
        {
            Evolve(e);
            MaybeSnapshot();
            _escrow.Send();
        });
    }

    private void OnEscrowReleased(EscrowReleased released)
    {
        if (_state.Phase != ChannelPhase.Closed) return;
        var settled = StreamingChannelLifecycle.ConfirmRelease(_state, ChannelId, released);
        if (!settled.IsOk) { Alert(settled.Error); return; }
        Persist(settled.Value, e =>
        {
            Evolve(e);
            MaybeSnapshot();
            _escrow.Settled();
            _settleWaiters.AnswerAll(e.Result);
        });
    }

    private void Alert(ProtocolError error) => EscrowClient.Alert(Context, _settings, ChannelId, error);

    private void ScheduleDeadline() =>
        Deadlines.Schedule(Timers, "deadline", ChallengeDeadlineReached.Instance, _ahead!.ChallengeDeadline!.Value, _settings.Clock.Now);

    private void Resume()
    {
        _ahead = _state.Channel;
        // A payer revoked or quarantined before a restart is known on this node only once its twin runs:
        // the first voucher after a restart asks the twin, and vouchers wait (bounded) for the answer.
        _payerStanding = _ahead is not null && _state.Settlement is null && _ahead.Terms.Payer.Id.IsDevice ? null : new PayerStanding(null);
        switch (_state.Phase)
        {
            case ChannelPhase.Opening or ChannelPhase.Closed: _escrow.Send(); break;
            case ChannelPhase.Closing: ScheduleDeadline(); break;
        }
    }

    private void MaybeSnapshot()
    {
        if (IsRecovering || ++_eventsSinceSnapshot < _settings.ChannelSnapshotEveryEvents) return;
        // Only durable state goes into a snapshot: not while a voucher waits or is in flight.
        if (_voucherReplies.InFlight || _voucherWaiting is not null) return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(StreamingChannelLifecycle.ToSnapshot(_state));
    }

    private ChannelOpened Opened()
    {
        var terms = _state.Terms!;
        return new ChannelOpened(ChannelId, terms.Payer.Id, terms.Payee.Id, terms.Deposit, _state.EscrowBlockHeight ?? 0);
    }

    private ChannelView View()
    {
        if (_ahead is null)
            return new ChannelView(ChannelId, _state.Opening is null ? "none" : "opening", null, null, null, null, 0, null, null);
        var status = _state.Settlement is not null ? "settled" : _ahead.Status.ToString().ToLowerInvariant();
        var terms = _ahead.Terms;
        return new ChannelView(ChannelId, status, terms.Payer.Id, terms.Payee.Id, terms.Deposit, _ahead.Paid,
            _ahead.LastSequence, _ahead.ChallengeDeadline, _state.Settlement);
    }

    private PayerStanding? _payerStanding = new(null);
    private readonly List<(SubmitVoucher Command, IActorRef Sender)> _heldVouchers = [];
    private const int MaxHeldVouchers = 10_000;

    private void HoldUntilPayerKnown(SubmitVoucher submit)
    {
        if (_heldVouchers.Count >= MaxHeldVouchers) { Sender.Tell(Refusal.From(new ChannelBusy(ChannelId, "starting"))); return; }
        _heldVouchers.Add((submit, Sender));
        if (_heldVouchers.Count > 1) return;
        _devices.Ask<object>(new GetDevice(_ahead!.Terms.Payer.Id.AsDevice()), _settings.AskTimeout)
            .PipeTo(Self, success: answer => new PayerStanding(answer as DeviceView), failure: _ => PayerStandingUnknown.Instance);
    }

    /// <summary>The twin did not answer: the held vouchers are refused (the sender tries again), nothing is taken unchecked.</summary>
    private void OnPayerStandingUnknown()
    {
        foreach (var (_, sender) in _heldVouchers) sender.Tell(Refusal.From(new ChannelBusy(ChannelId, "checking its payer's standing")));
        _heldVouchers.Clear();
    }

    private sealed record PayerStandingUnknown
    {
        public static readonly PayerStandingUnknown Instance = new();
    }

    private void OnPayerStanding(PayerStanding standing)
    {
        if (standing.Device is { } device)
        {
            if (device.Revoked) _revocations.MarkRevoked(device.Device.Value);
            if (device.Quarantined) _revocations.SetQuarantined(device.Device.Value, true);
        }
        _payerStanding = standing;
        foreach (var (command, sender) in _heldVouchers) Submit(command, sender);
        _heldVouchers.Clear();
    }

    private sealed record PayerStanding(DeviceView? Device);

    private sealed record ChallengeDeadlineReached
    {
        public static readonly ChallengeDeadlineReached Instance = new();
    }
}
