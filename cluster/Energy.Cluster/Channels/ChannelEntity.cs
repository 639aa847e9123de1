using System.Collections.Immutable;
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
/// A streaming channel on the network. A thin shell around <see cref="StreamingChannels"/>: it opens
/// only once the ledger has locked the escrow, verifies every voucher where it enters, persists only
/// the newest voucher per flush and acknowledges once it is durable, watches the challenge window
/// (it is the watchtower: a newer voucher during the window wins), then settles through the ledger
/// until the ledger confirms.
/// </summary>
public sealed class ChannelEntity : ReceivePersistentActor, IWithTimers
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _operators;
    private readonly RevocationList _revocations;

    private ChannelRecord _record = ChannelRecord.Empty;
    private StreamingChannel? _channel;
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
        _escrow = new EscrowClient(new ChannelId(id), ledger, this, settings, OwedByLedger);

        Recover<SnapshotOffer>(offer => RestoreSnapshot((ChannelSnapshot)offer.Snapshot));
        Recover<ChannelOpeningStarted>(Apply);
        Recover<EscrowLockConfirmed>(Apply);
        Recover<ChannelOpeningAbandoned>(Apply);
        Recover<VoucherRecorded>(Apply);
        Recover<CloseRecorded>(Apply);
        Recover<ChallengeWindowEnded>(Apply);
        Recover<SettlementRecorded>(Apply);
        Recover<RecoveryCompleted>(_ => Resume());

        Command<OpenChannel>(Open);
        Command<OpeningKeysFound>(OnOpeningKeysFound);
        Command<SubmitVoucher>(submit =>
        {
            if (_payerStanding is null && _channel is not null) HoldUntilPayerKnown(submit);
            else Submit(submit, Sender);
        });
        Command<PayerStanding>(OnPayerStanding);
        Command<PayerStandingUnknown>(_ => OnPayerStandingUnknown());
        Command<CloseChannel>(Close);
        Command<GetChannel>(_ => Sender.Tell(View()));
        Command<GetBestVoucher>(_ => Sender.Tell(new BestVoucher(ChannelId, _record.BestVoucher)));
        Command<GetPurposePaid>(OnGetPurposePaid);
        Command<WakeChannel>(_ => { if (_escrow.GaveUp) _escrow.Send(); });
        Command<EscrowLocked>(OnEscrowLocked);
        Command<EscrowReleased>(OnEscrowReleased);
        Command<Refusal>(OnLedgerRefusal);
        Command<EscrowRetryDue>(_ => { if (_record.Escrow is { } escrow && _escrow.Retry(escrow) is { } unanswered) Alert(unanswered); });
        Command<ChallengeDeadlineReached>(_ => FinalizeIfDue());
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
    }

    public override string PersistenceId => "channel-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new ChannelEntity(id, settings, ledger, devices, operators));

    private ChannelId ChannelId => new(_id);

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
        PartyKeysAsync(ChannelId, opening.Payer, opening.Payee)
            .PipeTo(Self, success: keys => new OpeningKeysFound(command.Opening, decoded.Value, sender, keys.First, keys.Second),
                failure: _ => new OpeningKeysFound(command.Opening, decoded.Value, sender, new PartyUnknown(ChannelId, opening.Payer), new PartyUnknown(ChannelId, opening.Payee)));
    }

    /// <summary>Answers an opening this channel already holds; false when it holds none.</summary>
    private bool AnswerKnownOpening(byte[] opening, IActorRef sender)
    {
        if (_record.Opening is null) return false;
        if (!_record.Opening.AsSpan().SequenceEqual(opening)) sender.Tell(Refusal.From(new ChannelAlreadyExists(ChannelId)));
        else if (_channel is not null) sender.Tell(Opened());
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
        var opening = found.Signed.Payload;
        if (!found.Signed.IsSignedBy(found.PayerKey.Value))
        {
            sender.Tell(Refusal.From(new InvalidSignature(ChannelId, ObjectKind.StreamingOpening, opening.Payer.Value)));
            return;
        }
        var terms = Terms(opening, found.PayerKey.Value, found.PayeeKey.Value);
        var check = StreamingChannels.Open(terms);
        if (!check.IsOk) { sender.Tell(Refusal.From(check.Error)); return; }

        Persist(new ChannelOpeningStarted(found.Opening, found.PayerKey.Value.Hex, found.PayeeKey.Value.Hex), e =>
        {
            Apply(e);
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

    /// <summary>Looks up both parties' keys at once; runs outside the entity and touches none of its state.</summary>
    private Task<(Result<DevicePublicKey> First, Result<DevicePublicKey> Second)> PartyKeysAsync(ChannelId channel, PartyId first, PartyId second) =>
        PartyKeys.ResolveBothAsync(_devices, _operators, channel, first, second, _settings.AskTimeout);

    private void OnEscrowLocked(EscrowLocked locked)
    {
        if (_record.Opening is null || _channel is not null) return;
        var terms = _record.OpeningTerms!;
        // Only the lock of this channel's own escrow, of its payer's whole deposit, opens it.
        var mismatch = EscrowChecks.CheckLock(ChannelId, _record.Escrow!.Value, locked, [(terms.Payer.Id, terms.Deposit)]);
        if (mismatch is not null) { Alert(mismatch); return; }
        Persist(new EscrowLockConfirmed(locked.BlockHeight), e =>
        {
            Apply(e);
            _escrow.Settled();
            _openWaiters.AnswerAll(Opened());
        });
    }

    private void OnLedgerRefusal(Refusal refusal)
    {
        // Only the lock can be refused for good (no funds); a refused release is a bug and is retried loudly.
        if (_record.Opening is null || _channel is not null)
        {
            Context.GetLogger().Error("channel {0}: the ledger refused {1}: {2}", _id, refusal.Code, refusal.Message);
            return;
        }
        Persist(new ChannelOpeningAbandoned(refusal.Code, refusal.Message), e =>
        {
            Apply(e);
            _escrow.Settled();
            _openWaiters.AnswerAll(refusal);
        });
    }

    // Vouchers

    private void Submit(SubmitVoucher command, IActorRef sender)
    {
        if (_channel is null) { sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        var decoded = Signed<Voucher>.Decode(command.Voucher);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        if (_revocations.IsRevoked(_channel.Terms.Payer.Id)) { sender.Tell(Refusal.From(new PartyRevoked(ChannelId, _channel.Terms.Payer.Id))); return; }
        if (_revocations.IsQuarantined(_channel.Terms.Payer.Id)) { sender.Tell(Refusal.From(new PartyQuarantined(ChannelId, _channel.Terms.Payer.Id))); return; }
        // Refused before it is accepted: an accepted voucher is always acknowledged once durable.
        if (_voucherReplies.Full is { } full) { sender.Tell(Refusal.From(full)); return; }
        var accepted = StreamingChannels.AcceptVoucher(_channel, decoded.Value, _settings.Clock.Now);
        if (!accepted.IsOk) { sender.Tell(Refusal.From(accepted.Error)); return; }
        _channel = accepted.Value.Channel;
        Dashboard.DashboardFeed.Get(Context.System).CountPayment();
        var voucher = decoded.Value.Payload;
        _voucherReplies.ReplyAfter(_voucherReplies.Next, sender, new VoucherAcknowledged(ChannelId, voucher.Sequence, voucher.Cumulative)
        {
            Increment = accepted.Value.Increment,
            Purpose = voucher.Purpose,
            PaidForPurpose = accepted.Value.PaidForPurpose,
            Payer = _channel.Terms.Payer.Id,
            Payee = _channel.Terms.Payee.Id,
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
        if (_channel is null) { Sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        var terms = _channel.Terms;
        var paid = _record.PaidByPurpose.TryGetValue(query.Purpose, out var sum) ? sum : Money.Zero(terms.Deposit.Currency);
        var newest = _record.BestVoucher is { } best && Signed<Voucher>.Decode(best) is { IsOk: true } decoded && decoded.Value.Payload.Purpose == query.Purpose ? best : null;
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
        // The channel already counts every voucher of the batch: once the batch is durable, so are these sums.
        var durable = _channel!.PaidByPurpose;
        _voucherWaiting = null;
        _purposesWaiting = [];
        var write = _voucherReplies.Start();
        PersistAsync(recorded, e =>
        {
            _record = _record with { BestVoucher = e.Voucher, PaidByPurpose = durable };
            _voucherReplies.Written(write);
            if (snapshotAfter) MaybeSnapshot();
            FlushVoucher();
        });
    }

    // Closing and settlement

    private void Close(CloseChannel command)
    {
        if (_channel is null) { Sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        if (_record.Settlement is not null) { Sender.Tell(_record.Settlement); return; }
        if (_channel.Status == ChannelStatus.Closed) { _settleWaiters.Add(Sender); return; }
        var decoded = Signed<CloseRequest>.Decode(command.CloseRequest);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var now = _settings.Clock.Now;
        var next = StreamingChannels.RequestClose(_channel, decoded.Value, now);
        if (!next.IsOk) { Sender.Tell(Refusal.From(next.Error)); return; }
        if (next.Value.Status == ChannelStatus.Closing && _channel.Status == ChannelStatus.Closing)
        {
            Sender.Tell(new ChannelClosing(ChannelId, _channel.ChallengeDeadline!.Value));
            return;
        }
        // The close must follow every voucher it counted: send the waiting voucher ahead of it. From
        // here on, vouchers are judged against the closing (or closed) channel, and are journaled after it.
        var sender = Sender;
        ForceFlushVoucher();
        _channel = next.Value;
        PersistAsync(new CloseRecorded(command.CloseRequest, now), e =>
        {
            Record(e);
            if (_channel!.Status == ChannelStatus.Closed)
            {
                _settleWaiters.Add(sender);
                _escrow.Send();
            }
            else
            {
                // A payer's close opens a challenge window: a dispute the operators may want to watch.
                Dashboard.DashboardFeed.Get(Context.System).Publish(new Dashboard.DashboardItem("alert", $"dispute:{ChannelId}",
                    $"dispute: {_channel.Terms.Payer.Id} closed {ChannelId} alone; {_channel.Terms.Payee.Id} may answer with a newer voucher until the window ends",
                    [_channel.Terms.Payee.Id.Name], 0, 0, null, now, ["channel:" + ChannelId.Value]));
                sender.Tell(new ChannelClosing(ChannelId, _channel.ChallengeDeadline!.Value));
                ScheduleDeadline();
            }
        });
    }

    /// <summary>Writes the waiting batch now, even while another is in flight: a close must follow the vouchers it counted.</summary>
    private void ForceFlushVoucher()
    {
        if (_voucherWaiting is null) return;
        WriteVoucherBatch(snapshotAfter: false);
    }

    private void FinalizeIfDue()
    {
        if (_channel is not { Status: ChannelStatus.Closing }) return;
        var now = _settings.Clock.Now;
        var finalized = StreamingChannels.FinalizeClose(_channel, now);
        if (!finalized.IsOk) { ScheduleDeadline(); return; }
        ForceFlushVoucher();
        _channel = finalized.Value;
        PersistAsync(new ChallengeWindowEnded(now), e =>
        {
            Record(e);
            _escrow.Send();
        });
    }

    private void OnEscrowReleased(EscrowReleased released)
    {
        if (_record.Settlement is not null || _channel?.Settlement is null) return;
        // The channel is settled only by its own escrow's release paying out what the channel decided;
        // anything else is a fault to raise, never a settlement to record.
        var mismatch = EscrowChecks.CheckRelease(ChannelId, _record.Escrow!.Value, released, _channel.Terms.Payer.Id, Payouts(_channel.Settlement));
        if (mismatch is not null) { Alert(mismatch); return; }
        var result = new ChannelSettled(ChannelId, released.Payouts, _channel.Settlement.FinalVersion, released.Shard, released.BlockHeight);
        Persist(new SettlementRecorded(result), e =>
        {
            Apply(e);
            _escrow.Settled();
            _settleWaiters.AnswerAll(result);
        });
    }

    /// <summary>What the ledger still owes this channel: the lock while opening, the release once closed; both are idempotent.</summary>
    private IReadOnlyList<ILedgerCommand> OwedByLedger()
    {
        if (_record.Opening is not null && _channel is null && _record.OpeningTerms is { } terms)
            return [LedgerRequests.Lock(_settings.LedgerShardCount, _record.Escrow!.Value, terms.Payer.Id, terms.Deposit)];
        if (_channel?.Settlement is { } settlement && _record.Settlement is null)
            return [LedgerRequests.Release(_settings.LedgerShardCount, _record.Escrow!.Value, _channel.Terms.Payer.Id, Payouts(settlement))];
        return [];
    }

    private static List<Payout> Payouts(ChannelSettlement settlement) =>
        [new(settlement.PartyA, settlement.PayoutA), new(settlement.PartyB, settlement.PayoutB)];

    private void Alert(ProtocolError error) => EscrowClient.Alert(Context, _settings, ChannelId, error);

    private void ScheduleDeadline() =>
        Deadlines.Schedule(Timers, "deadline", ChallengeDeadlineReached.Instance, _channel!.ChallengeDeadline!.Value, _settings.Clock.Now);

    private void Resume()
    {
        // A payer revoked or quarantined before a restart is known on this node only once its twin runs:
        // the first voucher after a restart asks the twin, and vouchers wait (bounded) for the answer.
        _payerStanding = _channel is not null && _record.Settlement is null && _channel.Terms.Payer.Id.IsDevice ? null : new PayerStanding(null);
        if (_channel is null && _record.Opening is not null) _escrow.Send();
        else if (_channel is { Status: ChannelStatus.Closing }) ScheduleDeadline();
        else if (_channel is { Status: ChannelStatus.Closed } && _record.Settlement is null) _escrow.Send();
    }

    /// <summary>Live close and finalize events: the channel already moved when the decision was made; only the record follows.</summary>
    private void Record(object e)
    {
        _record = e switch
        {
            CloseRecorded c => _record with { CloseRequest = c.CloseRequest, ClosedAt = c.At },
            ChallengeWindowEnded w => _record with { ChallengeEndedAt = w.At },
            _ => throw new InvalidOperationException($"not a close event: {e.GetType().Name}"),
        };
        MaybeSnapshot();
    }

    // Evolving state: the same code in recovery and live.

    private void Apply(object e)
    {
        switch (e)
        {
            case ChannelOpeningStarted s:
                var signed = Signed<StreamingOpening>.Decode(s.Opening).Unwrap();
                var opening = signed.Payload;
                var terms = Terms(opening, DevicePublicKey.FromHex(s.PayerKeyHex).Unwrap(), DevicePublicKey.FromHex(s.PayeeKeyHex).Unwrap());
                var escrow = new EscrowId(ChannelKind.Streaming, opening.ChannelId, OpeningHash.Of(signed.Body));
                _record = ChannelRecord.Empty with { Opening = s.Opening, PayerKeyHex = s.PayerKeyHex, PayeeKeyHex = s.PayeeKeyHex, OpeningTerms = terms, Escrow = escrow };
                break;
            case EscrowLockConfirmed l:
                _record = _record with { EscrowBlockHeight = l.BlockHeight };
                _channel = StreamingChannels.Open(_record.OpeningTerms!).Unwrap();
                break;
            case ChannelOpeningAbandoned:
                _record = ChannelRecord.Empty;
                _channel = null;
                break;
            case VoucherRecorded v:
                // Verified before it was persisted; recovery restores it without verifying again.
                _channel = StreamingChannels.Restore(_channel!, Signed<Voucher>.Decode(v.Voucher).Unwrap(),
                    v.Purposes.Select(p => KeyValuePair.Create(p.Purpose, p.Amount)));
                _record = _record with { BestVoucher = v.Voucher, PaidByPurpose = _channel.PaidByPurpose };
                break;
            case CloseRecorded c:
                _record = _record with { CloseRequest = c.CloseRequest, ClosedAt = c.At };
                _channel = StreamingChannels.RequestClose(_channel!, Signed<CloseRequest>.Decode(c.CloseRequest).Unwrap(), c.At).Unwrap();
                break;
            case ChallengeWindowEnded w:
                _record = _record with { ChallengeEndedAt = w.At };
                _channel = StreamingChannels.FinalizeClose(_channel!, w.At).Unwrap();
                break;
            case SettlementRecorded r:
                _record = _record with { Settlement = r.Result };
                break;
        }
        if (e is not VoucherRecorded) MaybeSnapshot();
    }

    private void MaybeSnapshot()
    {
        if (IsRecovering || ++_eventsSinceSnapshot < _settings.ChannelSnapshotEveryEvents) return;
        // Only durable state goes into a snapshot: not while a voucher waits or is in flight.
        if (_voucherReplies.InFlight || _voucherWaiting is not null) return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(new ChannelSnapshot(_record.Opening, _record.PayerKeyHex, _record.PayeeKeyHex, _record.EscrowBlockHeight,
            _record.BestVoucher, _record.PaidByPurpose.Select(p => new PurposePayment(p.Key, p.Value)).ToList(), _record.CloseRequest, _record.ClosedAt, _record.ChallengeEndedAt, _record.Settlement));
    }

    private void RestoreSnapshot(ChannelSnapshot s)
    {
        if (s.Opening is null) return;
        Apply(new ChannelOpeningStarted(s.Opening, s.PayerKeyHex!, s.PayeeKeyHex!));
        if (s.EscrowBlockHeight is { } height) Apply(new EscrowLockConfirmed(height));
        if (s.BestVoucher is not null) Apply(new VoucherRecorded(s.BestVoucher, s.PaidByPurpose ?? []));
        if (s.CloseRequest is not null) Apply(new CloseRecorded(s.CloseRequest, s.ClosedAt!.Value));
        if (s.ChallengeEndedAt is { } ended) Apply(new ChallengeWindowEnded(ended));
        if (s.Settlement is not null) Apply(new SettlementRecorded(s.Settlement));
    }

    private static StreamingChannelTerms Terms(StreamingOpening opening, DevicePublicKey payerKey, DevicePublicKey payeeKey) =>
        new(opening.Network, opening.ChannelId, new ChannelParty(opening.Payer, payerKey), new ChannelParty(opening.Payee, payeeKey),
            opening.Deposit, opening.ChallengeWindow);

    private ChannelOpened Opened()
    {
        var terms = _channel!.Terms;
        return new ChannelOpened(ChannelId, terms.Payer.Id, terms.Payee.Id, terms.Deposit, _record.EscrowBlockHeight ?? 0);
    }

    private ChannelView View()
    {
        if (_channel is null)
            return new ChannelView(ChannelId, _record.Opening is null ? "none" : "opening", null, null, null, null, 0, null, null);
        var status = _record.Settlement is not null ? "settled" : _channel.Status.ToString().ToLowerInvariant();
        var terms = _channel.Terms;
        return new ChannelView(ChannelId, status, terms.Payer.Id, terms.Payee.Id, terms.Deposit, _channel.Paid,
            _channel.LastSequence, _channel.ChallengeDeadline, _record.Settlement);
    }

    private PayerStanding? _payerStanding = new(null);
    private readonly List<(SubmitVoucher Command, IActorRef Sender)> _heldVouchers = [];
    private const int MaxHeldVouchers = 10_000;

    private void HoldUntilPayerKnown(SubmitVoucher submit)
    {
        if (_heldVouchers.Count >= MaxHeldVouchers) { Sender.Tell(Refusal.From(new ChannelBusy(ChannelId, "starting"))); return; }
        _heldVouchers.Add((submit, Sender));
        if (_heldVouchers.Count > 1) return;
        _devices.Ask<object>(new GetDevice(_channel!.Terms.Payer.Id.AsDevice()), _settings.AskTimeout)
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

/// <summary>The persisted facts of a channel, kept to build snapshots, and the escrow its opening names.</summary>
internal sealed record ChannelRecord(
    byte[]? Opening,
    string? PayerKeyHex,
    string? PayeeKeyHex,
    StreamingChannelTerms? OpeningTerms,
    ulong? EscrowBlockHeight,
    byte[]? BestVoucher,
    byte[]? CloseRequest,
    Timestamp? ClosedAt,
    Timestamp? ChallengeEndedAt,
    ChannelSettled? Settlement)
{
    public static readonly ChannelRecord Empty = new(null, null, null, null, null, null, null, null, null, null);

    /// <summary>This channel's escrow on the ledger: derived from the opening, so never persisted apart from it.</summary>
    public EscrowId? Escrow { get; init; }

    /// <summary>What the durable vouchers paid per purpose (the channel's own map runs ahead while a batch is written).</summary>
    public ImmutableDictionary<PaymentPurpose, Money> PaidByPurpose { get; init; } = ImmutableDictionary<PaymentPurpose, Money>.Empty;
}
