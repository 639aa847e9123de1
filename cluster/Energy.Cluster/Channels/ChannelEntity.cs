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
public sealed class ChannelEntity : ReceivePersistentActor, IEscrowedChannel
{
    private readonly ChannelId _id;
    private readonly EnergySettings _settings;
    private readonly ChannelRules _rules;
    private readonly Func<PartyId, bool> _revoked, _quarantined;
    private readonly OpeningLookups _lookups;
    private readonly PartyStanding<SubmitVoucher> _payer;
    private readonly ChannelShell _shell;
    private readonly VoucherWrites _vouchers;
    private int _eventsSinceSnapshot;

    // What is durable, and the channel ahead of it once a voucher or a close moved it ahead (else the durable one): with
    // every voucher accepted and the close or the end of the window decided, while their events are written. New
    // vouchers and closes are judged against the channel ahead.
    private StreamingChannelState _state = StreamingChannelState.Empty;
    private StreamingChannel? _movedAhead;

    public ChannelEntity(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators)
    {
        _id = new ChannelId(id);
        _settings = settings;
        _rules = new ChannelRules(settings.Network, settings.Currency, settings.MinChallengeWindow, settings.LedgerShardCount);
        var revocations = RevocationList.Get(Context.System);
        (_revoked, _quarantined) = (revocations.IsRevoked, revocations.IsQuarantined);
        _lookups = new OpeningLookups(Context, devices, operators, _id, settings.AskTimeout);
        _payer = new PartyStanding<SubmitVoucher>(Context, devices, revocations, _id, settings.AskTimeout, 10_000, "checking its payer's standing");
        _vouchers = new VoucherWrites("channel " + id, settings.MaxWaitingVoucherReplies, PersistAsync, Evolve, MaybeSnapshot);
        // A close and a window's end are journaled after every voucher taken before them.
        _shell = new ChannelShell(Context, this, _id, duplex: false, ledger, settings, Persist, PersistAsync);

        Recover<SnapshotOffer>(offer => _state = StreamingChannelLifecycle.FromSnapshot((ChannelSnapshot)offer.Snapshot));
        Recover<IEnergyMessage>(Evolve);
        Recover<RecoveryCompleted>(_ => { EnergyMetrics.EntityActivated("channel"); Resume(); });
        Command<OpenChannel>(Open);
        Command<OpeningKeysFound<StreamingOpening>>(OnOpeningKeysFound);
        Command<SubmitVoucher>(submit =>
        {
            if (!_payer.Known && Ahead is not null) _payer.Hold(submit, Sender, StreamingChannelLifecycle.Signers(_state));
            else Submit(submit, Sender);
        });
        Command<PartiesStanding>(standing => _payer.Answered(standing, Submit));
        Command<PartiesStandingUnknown>(_ => _payer.Unanswered());
        Command<CloseChannel>(Close);
        Command<GetChannel>(_ => Sender.Tell(StreamingChannelLifecycle.View(_state, Ahead, _id)));
        Command<GetBestVoucher>(_ => Sender.Tell(new BestVoucher(_id, _state.BestVoucher)));
        Command<GetPurposePaid>(query => Sender.Tell(Answers.Of(StreamingChannelLifecycle.PaidFor(_state, _id, query.Purpose))));
        Command<WakeChannel>(_ => _shell.Wake());
        Command<EscrowLocked>(locked => { if (StreamingChannelLifecycle.AwaitsLock(_state)) _shell.Locked(StreamingChannelLifecycle.ConfirmLock(_state, _id, locked)); });
        Command<EscrowReleased>(released => { if (StreamingChannelLifecycle.AwaitsRelease(_state)) _shell.Released(StreamingChannelLifecycle.ConfirmRelease(_state, _id, released)); });
        Command<Refusal>(refusal => _shell.Refused(StreamingChannelLifecycle.Abandon(_state, _id, refusal), refusal));
        Command<EscrowRetryDue>(_ => _shell.RetryDue());
        Command<ChallengeDeadlineReached>(_ => FinalizeIfDue());
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(_ => { });
    }

    public override string PersistenceId => "channel-" + _id.Value;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new ChannelEntity(id, settings, ledger, devices, operators));

    private StreamingChannel? Ahead => _movedAhead ?? _state.Channel;

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

    private bool AnswerKnownOpening(byte[] opening, IActorRef sender) => _shell.AnswerKnownOpening(StreamingChannelLifecycle.KnownOpening(_state, _id, opening), sender);

    private void OnOpeningKeysFound(OpeningKeysFound<StreamingOpening> found)
    {
        _lookups.Done();
        // Another opening may have been taken while the keys were looked up.
        if (AnswerKnownOpening(found.Opening, found.Sender)) return;
        _shell.Open(StreamingChannelLifecycle.Open(_state, _id, found.Opening, found.Signed, found.First, found.Second), found.Sender);
    }

    // Vouchers

    private void Submit(SubmitVoucher command, IActorRef sender)
    {
        var arrivedAt = Stopwatch.GetTimestamp();
        var span = EnergyTracing.StartHandling("channel.voucher", command.TraceParent);
        var ahead = Ahead;
        var decoded = ahead is null ? new ChannelNotFound(_id) : Signed<Voucher>.Decode(command.Voucher);
        if (decoded.IsOk) span?.SetTag("energy.payment.kind", EnergyMetrics.NameOf(EnergyMetrics.KindOf(decoded.Value.Payload.Purpose)));
        var taken = decoded.IsOk
            ? StreamingChannelLifecycle.TakeVoucher(ahead!, _id, decoded.Value, _revoked, _quarantined, _vouchers.Full, _settings.Clock.Now)
            : decoded.Error;
        if (!taken.IsOk)
        {
            EnergyTracing.End(span, taken.Error.Code);
            sender.Tell(Refusal.From(taken.Error));
            return;
        }
        var (voucher, accepted) = taken.Value;
        _movedAhead = accepted.Channel;
        Activity.ActivityFeed.Get(Context.System).CountPayment();
        // Counted, timed and its span ended when its acknowledgement goes out: once it is durable.
        _vouchers.Take(voucher, accepted, sender, StreamingChannelLifecycle.Acknowledge(_id, voucher.Payload, accepted),
            new PendingPayment(EnergyMetrics.KindOf(voucher.Payload.Purpose), arrivedAt, span));
    }

    // Closing and settlement

    private void Close(CloseChannel command)
    {
        var ahead = Ahead;
        if (_shell.AnswerKnownClose(StreamingChannelLifecycle.KnownClose(_state, ahead, _id), Sender)) return;
        var now = _settings.Clock.Now;
        var decision = StreamingChannelLifecycle.Close(ahead!, command.CloseRequest, now);
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        if (decision.Value.Event is not { } closed) { Sender.Tell(StreamingChannelLifecycle.Closing(_id, ahead!)); return; }
        // From here on, vouchers are judged against the closing (or closed) channel, and are journaled after it.
        var next = decision.Value.Next;
        _vouchers.WriteBeforeAClose();
        _movedAhead = next;
        // A payer's close opens a challenge window: a dispute the operators may want to watch.
        var window = StreamingChannelLifecycle.Window(_id, next);
        _shell.Close(closed, window, Sender, command.TraceParent, window is null ? null : new Activity.ChannelDisputeOpened(_id, next.Terms.Payer.Id, next.Terms.Payee.Id, now));
    }

    private void FinalizeIfDue()
    {
        if (Ahead is not { Status: ChannelStatus.Closing } closing) return;
        var ended = StreamingChannelLifecycle.EndChallenge(closing, _settings.Clock.Now);
        if (!ended.IsOk) { _shell.WatchChallenge(closing.ChallengeDeadline!.Value); return; }
        _vouchers.WriteBeforeAClose();
        _movedAhead = ended.Value.Next;
        _shell.EndChallenge(ended.Value.Event);
    }

    private void Resume()
    {
        _payer.Recovered(StreamingChannelLifecycle.TakesPayments(_state), StreamingChannelLifecycle.Signers(_state));
        _shell.Resumed(_state.Channel?.ChallengeDeadline);
    }

    protected override void PostStop()
    {
        _shell.Stopped();
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

    // What the shell reads of the durable state, and how an event of it becomes the state.

    ChannelPhase IEscrowedChannel.Phase => _state.Phase;
    EscrowId? IEscrowedChannel.Escrow => _state.Escrow;
    ChannelSettled? IEscrowedChannel.Settlement => _state.Settlement;
    IReadOnlyList<ILedgerCommand> IEscrowedChannel.OwedByLedger() => StreamingChannelLifecycle.OwedByLedger(_state, _settings.LedgerShardCount);
    object? IEscrowedChannel.Opened() => _state.Channel is null ? null : StreamingChannelLifecycle.Opened(_state, _id);
    void IEscrowedChannel.Durable(object e) { Evolve(e); MaybeSnapshot(); }
}
