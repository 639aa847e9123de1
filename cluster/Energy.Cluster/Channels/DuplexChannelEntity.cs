using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Cluster.Ledger;
using Energy.Cluster.Registry;

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
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _operators;
    private readonly RevocationList _revocations;

    private DuplexChannelState _state = DuplexChannelState.Empty;
    private readonly Waiters _openWaiters;
    private readonly Waiters _settleWaiters;
    private readonly EscrowClient _escrow;
    private int _openingLookups;

    public DuplexChannelEntity(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators)
    {
        _id = id;
        _settings = settings;
        _devices = devices;
        _operators = operators;
        _revocations = RevocationList.Get(Context.System);
        _openWaiters = new Waiters("duplex channel " + id, settings.MaxChannelWaiters);
        _settleWaiters = new Waiters("duplex channel " + id, settings.MaxChannelWaiters);
        _escrow = new EscrowClient(new ChannelId(id), ledger, this, settings,
            () => DuplexChannelLifecycle.OwedByLedger(_state, settings.LedgerShardCount));

        Recover<DuplexOpeningStarted>(Evolve);
        Recover<DuplexEscrowLocked>(Evolve);
        Recover<DuplexOpeningRefused>(Evolve);
        Recover<DuplexStateRecorded>(Evolve);
        Recover<DuplexCloseRecorded>(Evolve);
        Recover<DuplexChallengeEnded>(Evolve);
        Recover<DuplexEscrowReleased>(Evolve);
        Recover<RecoveryCompleted>(_ => Resume());

        Command<OpenDuplexChannel>(Open);
        Command<OpeningKeysFound>(OnOpeningKeysFound);
        Command<SubmitDuplexState>(submit =>
        {
            if (_partiesStanding is null && _state.Channel is not null) HoldUntilPartiesKnown(submit);
            else Submit(submit, Sender);
        });
        Command<PartiesStanding>(OnPartiesStanding);
        Command<PartiesStandingUnknown>(_ => OnPartiesStandingUnknown());
        Command<CloseDuplexChannel>(Close);
        Command<GetDuplexChannel>(_ => Sender.Tell(View()));
        Command<WakeDuplexChannel>(_ => { if (_escrow.GaveUp) _escrow.Send(); });
        Command<EscrowLocked>(OnLocked);
        Command<EscrowReleased>(OnReleased);
        Command<Refusal>(OnLedgerRefusal);
        Command<EscrowRetryDue>(_ => { if (_state.Escrow is { } escrow && _escrow.Retry(escrow) is { } unanswered) Alert(unanswered); });
        Command<DeadlineReached>(_ => FinalizeIfDue());
    }

    public override string PersistenceId => "duplex-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new DuplexChannelEntity(id, settings, ledger, devices, operators));

    private ChannelId ChannelId => new(_id);

    /// <summary>The one way the state changes: a durable event, live or in recovery.</summary>
    private void Evolve(object e) => _state = DuplexChannelLifecycle.Evolve(_state, e);

    // Opening

    private void Open(OpenDuplexChannel command)
    {
        var sender = Sender;
        if (AnswerKnownOpening(command.Opening, sender)) return;
        var decoded = Signed<DuplexOpening>.Decode(command.Opening);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        var opening = decoded.Value.Payload;
        if (opening.ChannelId != ChannelId) { sender.Tell(Refusal.From(new WrongChannel(ChannelId, opening.ChannelId))); return; }
        if (opening.Network != _settings.Network) { sender.Tell(Refusal.From(new WrongNetwork(ChannelId, _settings.Network, opening.Network))); return; }
        if (opening.DepositA.Currency != _settings.Currency) { sender.Tell(Refusal.From(new CurrencyMismatch(_settings.Currency, opening.DepositA.Currency))); return; }
        var shortWindow = ChallengeWindows.CheckMinimum(ChannelId, opening.ChallengeWindow, _settings.MinChallengeWindow);
        if (shortWindow is not null) { sender.Tell(Refusal.From(shortWindow)); return; }
        if (_openingLookups >= MaxOpeningLookups) { sender.Tell(Refusal.From(new ChannelBusy(ChannelId, "looking up the parties of other openings"))); return; }
        // The parties' keys come from their twins: the answer is piped back, and the entity goes on meanwhile.
        _openingLookups++;
        PartyKeys.ResolveBothAsync(_devices, _operators, ChannelId, opening.PartyA, opening.PartyB, _settings.AskTimeout)
            .PipeTo(Self, success: keys => new OpeningKeysFound(command.Opening, decoded.Value, sender, keys.First, keys.Second),
                failure: _ => new OpeningKeysFound(command.Opening, decoded.Value, sender, new PartyUnknown(ChannelId, opening.PartyA), new PartyUnknown(ChannelId, opening.PartyB)));
    }

    /// <summary>Answers an opening this channel already holds; false when it holds none.</summary>
    private bool AnswerKnownOpening(byte[] opening, IActorRef sender)
    {
        if (_state.Opening is null) return false;
        if (!_state.Opening.AsSpan().SequenceEqual(opening)) sender.Tell(Refusal.From(new ChannelAlreadyExists(ChannelId)));
        else if (_state.Refusal is not null) sender.Tell(_state.Refusal);
        else if (_state.Channel is not null) sender.Tell(Opened());
        else _openWaiters.Add(sender);
        return true;
    }

    private void OnOpeningKeysFound(OpeningKeysFound found)
    {
        _openingLookups--;
        var sender = found.Sender;
        // Another opening may have been taken while the keys were looked up.
        if (AnswerKnownOpening(found.Opening, sender)) return;
        var opening = found.Signed.Payload;
        var keyA = KnownKey(opening.PartyA, found.KeyA);
        if (!keyA.IsOk) { sender.Tell(Refusal.From(keyA.Error)); return; }
        var keyB = KnownKey(opening.PartyB, found.KeyB);
        if (!keyB.IsOk) { sender.Tell(Refusal.From(keyB.Error)); return; }
        var started = DuplexChannelLifecycle.Open(_state, ChannelId, found.Opening, found.Signed, keyA.Value, keyB.Value);
        if (!started.IsOk) { sender.Tell(Refusal.From(started.Error)); return; }
        Persist(started.Value, e =>
        {
            Evolve(e);
            _openWaiters.Add(sender);
            _escrow.Send();
        });
    }

    /// <summary>A party's key as looked up, unless this node already knows the party is revoked.</summary>
    private Result<DevicePublicKey> KnownKey(PartyId party, Result<DevicePublicKey> found) =>
        _revocations.IsRevoked(party) ? new PartyRevoked(ChannelId, party) : found;

    /// <summary>Openings whose parties are being looked up at once, at most; more are refused as busy.</summary>
    private const int MaxOpeningLookups = 64;

    private sealed record OpeningKeysFound(byte[] Opening, Signed<DuplexOpening> Signed, IActorRef Sender,
        Result<DevicePublicKey> KeyA, Result<DevicePublicKey> KeyB);

    private void OnLocked(EscrowLocked locked)
    {
        if (_state.Phase is not (ChannelPhase.Opening or ChannelPhase.Refused) || _state.Locked.Contains(locked.Account)) return;
        var confirmed = DuplexChannelLifecycle.ConfirmLock(_state, ChannelId, locked);
        if (!confirmed.IsOk) { Alert(confirmed.Error); return; }
        Persist(confirmed.Value, e =>
        {
            Evolve(e);
            // Not open yet (the other deposit, or a refund after a refusal): the client sends what is still owed.
            if (_state.Channel is null) { _escrow.Send(); return; }
            _escrow.Settled();
            _openWaiters.AnswerAll(Opened());
        });
    }

    private void OnLedgerRefusal(Refusal refusal)
    {
        var refused = DuplexChannelLifecycle.Refuse(_state, ChannelId, refusal);
        if (!refused.IsOk)
        {
            Context.GetLogger().Error("duplex channel {0}: the ledger refused {1}: {2}", _id, refusal.Code, refusal.Message);
            return;
        }
        Persist(refused.Value, e =>
        {
            Evolve(e);
            _openWaiters.AnswerAll(refusal);
            _escrow.Send();
        });
    }

    // States

    private void Submit(SubmitDuplexState command, IActorRef sender)
    {
        if (_state.Channel is not { } channel) { sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        var decoded = Signed<DuplexState>.Decode(command.State);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        // Both parties sign every state, so a revoked or quarantined key on either side stops the channel's payments, as it stops vouchers.
        var parties = Parties;
        var revoked = parties.FirstOrDefault(_revocations.IsRevoked);
        if (revoked != default) { sender.Tell(Refusal.From(new PartyRevoked(ChannelId, revoked))); return; }
        var quarantined = parties.FirstOrDefault(_revocations.IsQuarantined);
        if (quarantined != default) { sender.Tell(Refusal.From(new PartyQuarantined(ChannelId, quarantined))); return; }
        var now = _settings.Clock.Now;
        var recorded = DuplexChannelLifecycle.TakeState(_state, ChannelId, command.State, decoded.Value, now);
        if (!recorded.IsOk) { sender.Tell(Refusal.From(recorded.Error)); return; }
        var balanceBefore = channel.BalanceB;
        Persist(recorded.Value, e =>
        {
            Evolve(e);
            var after = _state.Channel!;
            PublishTrade(after, Math.Abs(after.BalanceB.MinorUnits - balanceBefore.MinorUnits), now);
            if (after.Status == ChannelStatus.Closed)
            {
                _settleWaiters.Add(sender);
                _escrow.Send();
            }
            else sender.Tell(new DuplexStateAcknowledged(ChannelId, after.Version));
        });
    }

    private void PublishTrade(DuplexChannel channel, long moved, Timestamp now)
    {
        var feed = Activity.ActivityFeed.Get(Context.System);
        feed.CountPayment();
        feed.Publish(new Activity.DuplexTradeAgreed(ChannelId, channel.Version, channel.Terms.PartyA.Id, channel.Terms.PartyB.Id, new Money(moved, channel.BalanceB.Currency), now));
    }

    // Closing and settlement

    private void Close(CloseDuplexChannel command)
    {
        if (_state.Channel is not { } channel) { Sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        if (_state.Settlement is not null) { Sender.Tell(_state.Settlement); return; }
        if (channel.Status == ChannelStatus.Closed) { _settleWaiters.Add(Sender); return; }
        var decoded = Signed<CloseRequest>.Decode(command.CloseRequest);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var decision = DuplexChannelLifecycle.Close(_state, ChannelId, command.CloseRequest, decoded.Value, _settings.Clock.Now);
        if (!decision.IsOk) { Sender.Tell(Refusal.From(decision.Error)); return; }
        if (decision.Value.Event is not { } closed) { Sender.Tell(new ChannelClosing(ChannelId, channel.ChallengeDeadline!.Value)); return; }
        var sender = Sender;
        Persist(closed, e =>
        {
            Evolve(e);
            sender.Tell(new ChannelClosing(ChannelId, _state.Channel!.ChallengeDeadline!.Value));
            ScheduleDeadline();
        });
    }

    private void FinalizeIfDue()
    {
        if (_state.Phase != ChannelPhase.Closing) return;
        var ended = DuplexChannelLifecycle.EndChallenge(_state, ChannelId, _settings.Clock.Now);
        if (!ended.IsOk) { ScheduleDeadline(); return; }
        Persist(ended.Value, e =>
        {
            Evolve(e);
            _escrow.Send();
        });
    }

    private void OnReleased(EscrowReleased released)
    {
        if (_state.Phase is not (ChannelPhase.Closed or ChannelPhase.Refused) || _state.IsReleased(released.Holder)) return;
        var confirmed = DuplexChannelLifecycle.ConfirmRelease(_state, ChannelId, released);
        if (!confirmed.IsOk) { Alert(confirmed.Error); return; }
        Persist(confirmed.Value, e =>
        {
            Evolve(e);
            // Sends what is still owed (the other escrow's release or refund), or stops retrying when nothing is.
            _escrow.Send();
            // A refused opening answers no one on its refunds: its waiters were told of the refusal.
            if (_state.Settlement is { } settlement) _settleWaiters.AnswerAll(settlement);
        });
    }

    private void Alert(ProtocolError error) => EscrowClient.Alert(Context, _settings, ChannelId, error);

    private void ScheduleDeadline() =>
        Deadlines.Schedule(Timers, "deadline", DeadlineReached.Instance, _state.Channel!.ChallengeDeadline!.Value, _settings.Clock.Now);

    private void Resume()
    {
        // A party revoked or quarantined before a restart is known on this node only once its twin runs:
        // the first state after a restart asks the parties' twins, and states wait (bounded) for the answer.
        _partiesStanding = _state.Channel is not null && _state.Settlement is null && Parties.Any(p => p.IsDevice) ? null : new PartiesStanding([]);
        if (_state.Phase == ChannelPhase.Closing) ScheduleDeadline();
        else _escrow.Send();
    }

    private PartyId[] Parties => [_state.Terms!.PartyA.Id, _state.Terms.PartyB.Id];

    private PartiesStanding? _partiesStanding = new([]);
    private readonly List<(SubmitDuplexState Command, IActorRef Sender)> _heldStates = [];
    private const int MaxHeldStates = 1_000;

    private void HoldUntilPartiesKnown(SubmitDuplexState submit)
    {
        if (_heldStates.Count >= MaxHeldStates) { Sender.Tell(Refusal.From(new ChannelBusy(ChannelId, "starting"))); return; }
        _heldStates.Add((submit, Sender));
        if (_heldStates.Count > 1) return;
        var timeout = _settings.AskTimeout;
        Task.WhenAll(Parties.Where(p => p.IsDevice).Select(p => _devices.Ask<object>(new GetDevice(p.AsDevice()), timeout)))
            .PipeTo(Self, success: answers => new PartiesStanding(answers.OfType<DeviceView>().ToList()), failure: _ => PartiesStandingUnknown.Instance);
    }

    /// <summary>A twin did not answer: the held states are refused (the sender tries again), nothing is taken unchecked.</summary>
    private void OnPartiesStandingUnknown()
    {
        foreach (var (_, sender) in _heldStates) sender.Tell(Refusal.From(new ChannelBusy(ChannelId, "checking its parties' standing")));
        _heldStates.Clear();
    }

    private void OnPartiesStanding(PartiesStanding standing)
    {
        foreach (var device in standing.Devices)
        {
            if (device.Revoked) _revocations.MarkRevoked(device.Device.Value);
            if (device.Quarantined) _revocations.SetQuarantined(device.Device.Value, true);
        }
        _partiesStanding = standing;
        foreach (var (command, sender) in _heldStates) Submit(command, sender);
        _heldStates.Clear();
    }

    private sealed record PartiesStanding(IReadOnlyList<DeviceView> Devices);

    private sealed record PartiesStandingUnknown
    {
        public static readonly PartiesStandingUnknown Instance = new();
    }

    private DuplexChannelOpened Opened()
    {
        var terms = _state.Terms!;
        return new(ChannelId, terms.PartyA.Id, terms.PartyB.Id, terms.DepositA, terms.DepositB);
    }

    private DuplexChannelView View()
    {
        var channel = _state.Channel;
        var view = channel is null
            ? new DuplexChannelView(ChannelId, _state.Opening is null ? "none" : _state.Refusal is not null ? "refused" : "opening", 0, null, null, null, null)
            : new DuplexChannelView(ChannelId, _state.Settlement is not null ? "settled" : channel.Status.ToString().ToLowerInvariant(),
                channel.Version, channel.BalanceA, channel.BalanceB, channel.ChallengeDeadline, _state.Settlement);
        return view with { PartyA = _state.Terms?.PartyA.Id, PartyB = _state.Terms?.PartyB.Id };
    }

    private sealed record DeadlineReached
    {
        public static readonly DeadlineReached Instance = new();
    }
}
