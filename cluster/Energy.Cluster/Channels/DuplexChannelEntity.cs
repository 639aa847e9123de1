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
/// A duplex channel on the network, a thin shell around <see cref="DuplexChannels"/>. It opens once the
/// ledger has locked both deposits (A's, then B's; if B's cannot be locked, A's is paid back), takes
/// co-signed states of ever higher version, closes cooperatively on a final state or alone after the
/// challenge window (the entity is the watchtower: a higher version wins), then releases each escrow.
/// Every event is persisted before it is acknowledged. A refused opening keeps its channel id: its
/// escrow was released, and the same opening can never lock it again.
/// </summary>
public sealed class DuplexChannelEntity : ReceivePersistentActor, IWithTimers
{
    private readonly string _id;
    private readonly EnergySettings _settings;
    private readonly IActorRef _devices;
    private readonly IActorRef _operators;
    private readonly RevocationList _revocations;

    private byte[]? _opening;
    private EscrowId? _escrow;
    private DuplexChannelTerms? _terms;
    private readonly HashSet<PartyId> _locked = [];
    private Refusal? _refusal;
    private DuplexChannel? _channel;
    private readonly Dictionary<PartyId, EscrowReleasedRecord> _released = [];
    private ChannelSettled? _settlement;
    private readonly Waiters _openWaiters;
    private readonly Waiters _settleWaiters;
    private readonly EscrowClient _escrowClient;
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
        _escrowClient = new EscrowClient(new ChannelId(id), ledger, this, settings, OwedByLedger);

        Recover<DuplexOpeningStarted>(Apply);
        Recover<DuplexEscrowLocked>(Apply);
        Recover<DuplexOpeningRefused>(Apply);
        Recover<DuplexStateRecorded>(Apply);
        Recover<DuplexCloseRecorded>(Apply);
        Recover<DuplexChallengeEnded>(Apply);
        Recover<DuplexEscrowReleased>(Apply);
        Recover<RecoveryCompleted>(_ => Resume());

        Command<OpenDuplexChannel>(Open);
        Command<OpeningKeysFound>(OnOpeningKeysFound);
        Command<SubmitDuplexState>(submit =>
        {
            if (_partiesStanding is null && _channel is not null) HoldUntilPartiesKnown(submit);
            else Submit(submit, Sender);
        });
        Command<PartiesStanding>(OnPartiesStanding);
        Command<PartiesStandingUnknown>(_ => OnPartiesStandingUnknown());
        Command<CloseDuplexChannel>(Close);
        Command<GetDuplexChannel>(_ => Sender.Tell(View()));
        Command<WakeDuplexChannel>(_ => { if (_escrowClient.GaveUp) _escrowClient.Send(); });
        Command<EscrowLocked>(OnLocked);
        Command<EscrowReleased>(OnReleased);
        Command<Refusal>(OnLedgerRefusal);
        Command<EscrowRetryDue>(_ => { if (_escrow is { } escrow && _escrowClient.Retry(escrow) is { } unanswered) Alert(unanswered); });
        Command<DeadlineReached>(_ => FinalizeIfDue());
    }

    public override string PersistenceId => "duplex-" + _id;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string id, EnergySettings settings, IActorRef ledger, IActorRef devices, IActorRef operators) =>
        Akka.Actor.Props.Create(() => new DuplexChannelEntity(id, settings, ledger, devices, operators));

    private ChannelId ChannelId => new(_id);

    private IEnumerable<PartyId> Depositors =>
        new[] { (_terms!.PartyA.Id, _terms.DepositA), (_terms.PartyB.Id, _terms.DepositB) }.Where(d => d.Item2.MinorUnits > 0).Select(d => d.Item1);

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
        if (_opening is null) return false;
        if (!_opening.AsSpan().SequenceEqual(opening)) sender.Tell(Refusal.From(new ChannelAlreadyExists(ChannelId)));
        else if (_refusal is not null) sender.Tell(_refusal);
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
        var decoded = found.Signed;
        var opening = decoded.Payload;
        var keyA = KnownKey(opening.PartyA, found.KeyA);
        if (!keyA.IsOk) { sender.Tell(Refusal.From(keyA.Error)); return; }
        var keyB = KnownKey(opening.PartyB, found.KeyB);
        if (!keyB.IsOk) { sender.Tell(Refusal.From(keyB.Error)); return; }
        if (!decoded.IsSignedBy(keyA.Value, 0)) { sender.Tell(Refusal.From(new InvalidSignature(ChannelId, ObjectKind.DuplexOpening, opening.PartyA.Value))); return; }
        if (!decoded.IsSignedBy(keyB.Value, 1)) { sender.Tell(Refusal.From(new InvalidSignature(ChannelId, ObjectKind.DuplexOpening, opening.PartyB.Value))); return; }
        var check = DuplexChannels.Open(Terms(opening, keyA.Value, keyB.Value));
        if (!check.IsOk) { sender.Tell(Refusal.From(check.Error)); return; }
        Persist(new DuplexOpeningStarted(found.Opening, keyA.Value.Hex, keyB.Value.Hex), e =>
        {
            Apply(e);
            _openWaiters.Add(sender);
            _escrowClient.Send();
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
        if (_terms is null || _channel is not null || _locked.Contains(locked.Account)) return;
        var mismatch = EscrowChecks.CheckLock(ChannelId, _escrow!.Value, locked, Depositors.Select(d => (d, DepositOf(d))).ToList());
        if (mismatch is not null) { Alert(mismatch); return; }
        // A lock confirmed after the opening was refused (a retry that crossed the refusal) is recorded, then paid back.
        Persist(new DuplexEscrowLocked(locked.Account), e =>
        {
            Apply(e);
            if (_channel is null) { _escrowClient.Send(); return; }
            _escrowClient.Settled();
            _openWaiters.AnswerAll(Opened());
        });
    }

    private void OnLedgerRefusal(Refusal refusal)
    {
        if (_terms is null || _channel is not null || _refusal is not null)
        {
            Context.GetLogger().Error("duplex channel {0}: the ledger refused {1}: {2}", _id, refusal.Code, refusal.Message);
            return;
        }
        Persist(new DuplexOpeningRefused(refusal.Code, refusal.Message), e =>
        {
            _openWaiters.AnswerAll(refusal);
            Apply(e);
            _escrowClient.Send();
        });
    }

    private void Submit(SubmitDuplexState command, IActorRef sender)
    {
        if (_channel is null) { sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        var decoded = Signed<DuplexState>.Decode(command.State);
        if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
        // Both parties sign every state, so a revoked or quarantined key on either side stops the channel's payments, as it stops vouchers.
        var parties = new[] { _channel.Terms.PartyA.Id, _channel.Terms.PartyB.Id };
        var revoked = parties.FirstOrDefault(_revocations.IsRevoked);
        if (revoked != default) { sender.Tell(Refusal.From(new PartyRevoked(ChannelId, revoked))); return; }
        var quarantined = parties.FirstOrDefault(_revocations.IsQuarantined);
        if (quarantined != default) { sender.Tell(Refusal.From(new PartyQuarantined(ChannelId, quarantined))); return; }
        var now = _settings.Clock.Now;
        var next = Evolve(_channel, decoded.Value, now);
        if (!next.IsOk) { sender.Tell(Refusal.From(next.Error)); return; }
        var balanceBefore = _channel.BalanceB;
        Persist(new DuplexStateRecorded(command.State, now), e =>
        {
            Apply(e);
            var feed = Dashboard.DashboardFeed.Get(Context.System);
            feed.CountPayment();
            var moved = Math.Abs(_channel!.BalanceB.MinorUnits - balanceBefore.MinorUnits);
            feed.Publish(new Dashboard.DashboardItem("trade", $"{ChannelId}.{_channel.Version}",
                $"{_channel.Terms.PartyA.Id} and {_channel.Terms.PartyB.Id} trade {moved} on {ChannelId} (state {_channel.Version})",
                [], moved, 0, null, now, ["channel:" + ChannelId.Value, _channel.Terms.PartyA.Id.Value, _channel.Terms.PartyB.Id.Value]));
            if (_channel!.Status == ChannelStatus.Closed)
            {
                _settleWaiters.Add(sender);
                _escrowClient.Send();
            }
            else sender.Tell(new DuplexStateAcknowledged(ChannelId, _channel.Version));
        });
    }

    private static Result<DuplexChannel> Evolve(DuplexChannel channel, Signed<DuplexState> state, Timestamp now) =>
        state.Payload.IsFinal ? DuplexChannels.CloseCooperatively(channel, state, now) : DuplexChannels.Update(channel, state, now);

    private void Close(CloseDuplexChannel command)
    {
        if (_channel is null) { Sender.Tell(Refusal.From(new ChannelNotFound(ChannelId))); return; }
        if (_settlement is not null) { Sender.Tell(_settlement); return; }
        if (_channel.Status == ChannelStatus.Closed) { _settleWaiters.Add(Sender); return; }
        var decoded = Signed<CloseRequest>.Decode(command.CloseRequest);
        if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
        var now = _settings.Clock.Now;
        var next = DuplexChannels.RequestClose(_channel, decoded.Value, now);
        if (!next.IsOk) { Sender.Tell(Refusal.From(next.Error)); return; }
        if (_channel.Status == ChannelStatus.Closing) { Sender.Tell(new ChannelClosing(ChannelId, _channel.ChallengeDeadline!.Value)); return; }
        var sender = Sender;
        Persist(new DuplexCloseRecorded(command.CloseRequest, now), e =>
        {
            Apply(e);
            sender.Tell(new ChannelClosing(ChannelId, _channel!.ChallengeDeadline!.Value));
            ScheduleDeadline();
        });
    }

    private void FinalizeIfDue()
    {
        if (_channel is not { Status: ChannelStatus.Closing }) return;
        var now = _settings.Clock.Now;
        if (!DuplexChannels.FinalizeClose(_channel, now).IsOk) { ScheduleDeadline(); return; }
        Persist(new DuplexChallengeEnded(now), e =>
        {
            Apply(e);
            _escrowClient.Send();
        });
    }

    private void OnReleased(EscrowReleased released)
    {
        if (_terms is null || _released.ContainsKey(released.Holder) || (_refusal is null && _channel?.Settlement is null)) return;
        // Only this channel's own escrow, paying out what this channel decided, counts as released.
        var mismatch = EscrowChecks.CheckRelease(ChannelId, _escrow!.Value, released, released.Holder, ReleaseOf(released.Holder));
        if (mismatch is not null) { Alert(mismatch); return; }
        Persist(new DuplexEscrowReleased(new EscrowReleasedRecord(released.Holder, released.Payouts, released.Shard, released.BlockHeight)), e =>
        {
            Apply(e);
            // Sends what is still owed (the other escrow's release or refund), or stops retrying when nothing is.
            _escrowClient.Send();
            if (_settlement is not null) _settleWaiters.AnswerAll(_settlement);
        });
    }

    /// <summary>
    /// What the ledger still owes this channel: refunds after a refused opening, the next lock (A's, then B's)
    /// while opening, the releases once closed. All are idempotent on the ledger.
    /// </summary>
    private List<ILedgerCommand> OwedByLedger()
    {
        if (_terms is null) return [];
        if (_refusal is not null)
            return _locked.Where(h => !_released.ContainsKey(h)).Select(h => (ILedgerCommand)LedgerRequests.Release(_settings.LedgerShardCount, _escrow!.Value, h, ReleaseOf(h)!)).ToList();
        if (_channel is null)
        {
            var next = Depositors.FirstOrDefault(d => !_locked.Contains(d));
            return next == default ? [] : [LedgerRequests.Lock(_settings.LedgerShardCount, _escrow!.Value, next, DepositOf(next))];
        }
        if (_channel.Settlement is { } settlement && _settlement is null)
            return Split(settlement).Where(s => !_released.ContainsKey(s.Holder)).Select(s => (ILedgerCommand)LedgerRequests.Release(_settings.LedgerShardCount, _escrow!.Value, s.Holder, s.Payouts)).ToList();
        return [];
    }

    /// <summary>What the release of <paramref name="holder"/>'s escrow must pay out: its deposit back after a refusal, else its part of the split.</summary>
    private IReadOnlyList<Payout>? ReleaseOf(PartyId holder)
    {
        if (_refusal is not null) return _locked.Contains(holder) ? [new Payout(holder, DepositOf(holder))] : null;
        if (_channel?.Settlement is not { } settlement) return null;
        return Split(settlement).Where(s => s.Holder == holder).Select(s => s.Payouts).FirstOrDefault();
    }

    private void Alert(ProtocolError error) => EscrowClient.Alert(Context, _settings, ChannelId, error);

    private Money DepositOf(PartyId party) => party == _terms!.PartyA.Id ? _terms.DepositA : _terms.DepositB;

    /// <summary>Pays the final balances out of the two escrows: A's deposit goes first to A, B's covers the rest.</summary>
    private List<(PartyId Holder, IReadOnlyList<Payout> Payouts)> Split(ChannelSettlement settlement)
    {
        var terms = _terms!;
        var fromAToA = Math.Min(terms.DepositA.MinorUnits, settlement.PayoutA.MinorUnits);
        var split = new List<(PartyId, IReadOnlyList<Payout>)>();
        Money Eur(long units) => new(units, terms.DepositA.Currency);
        if (terms.DepositA.MinorUnits > 0)
            split.Add((terms.PartyA.Id, [new Payout(terms.PartyA.Id, Eur(fromAToA)), new Payout(terms.PartyB.Id, Eur(terms.DepositA.MinorUnits - fromAToA))]));
        if (terms.DepositB.MinorUnits > 0)
        {
            var fromBToA = settlement.PayoutA.MinorUnits - fromAToA;
            split.Add((terms.PartyB.Id, [new Payout(terms.PartyA.Id, Eur(fromBToA)), new Payout(terms.PartyB.Id, Eur(terms.DepositB.MinorUnits - fromBToA))]));
        }
        return split;
    }

    private void ScheduleDeadline() =>
        Deadlines.Schedule(Timers, "deadline", DeadlineReached.Instance, _channel!.ChallengeDeadline!.Value, _settings.Clock.Now);

    private void Resume()
    {
        // A party revoked or quarantined before a restart is known on this node only once its twin runs:
        // the first state after a restart asks the parties' twins, and states wait (bounded) for the answer.
        _partiesStanding = _channel is not null && _settlement is null && Parties.Any(p => p.IsDevice) ? null : new PartiesStanding([]);
        if (_channel is { Status: ChannelStatus.Closing }) ScheduleDeadline();
        else _escrowClient.Send();
    }

    private PartyId[] Parties => [_terms!.PartyA.Id, _terms.PartyB.Id];

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

    private void Apply(object e)
    {
        switch (e)
        {
            case DuplexOpeningStarted s:
                var signed = Signed<DuplexOpening>.Decode(s.Opening).Unwrap();
                var opening = signed.Payload;
                _opening = s.Opening;
                _escrow = new EscrowId(ChannelKind.Duplex, opening.ChannelId, OpeningHash.Of(signed.Body));
                _terms = Terms(opening, DevicePublicKey.FromHex(s.KeyAHex).Unwrap(), DevicePublicKey.FromHex(s.KeyBHex).Unwrap());
                break;
            case DuplexEscrowLocked l:
                _locked.Add(l.Account);
                if (_refusal is null && Depositors.All(_locked.Contains)) _channel = DuplexChannels.Open(_terms!).Unwrap();
                break;
            case DuplexOpeningRefused r:
                _refusal = new Refusal(r.Code, r.Message);
                break;
            case DuplexStateRecorded s:
                _channel = Evolve(_channel!, Signed<DuplexState>.Decode(s.State).Unwrap(), s.At).Unwrap();
                break;
            case DuplexCloseRecorded c:
                _channel = DuplexChannels.RequestClose(_channel!, Signed<CloseRequest>.Decode(c.CloseRequest).Unwrap(), c.At).Unwrap();
                break;
            case DuplexChallengeEnded w:
                _channel = DuplexChannels.FinalizeClose(_channel!, w.At).Unwrap();
                break;
            case DuplexEscrowReleased r:
                _released[r.Release.Holder] = r.Release;
                if (_refusal is not null) break;
                if (_channel?.Settlement is { } settlement && Depositors.All(_released.ContainsKey))
                {
                    var last = _released.Values.MaxBy(x => x.BlockHeight)!;
                    var payouts = _released.Values.SelectMany(x => x.Payouts).GroupBy(p => p.Account)
                        .Select(g => new Payout(g.Key, new Money(g.Sum(p => p.Amount.MinorUnits), settlement.PayoutA.Currency))).OrderBy(p => p.Account.Value, StringComparer.Ordinal).ToList();
                    _settlement = new ChannelSettled(ChannelId, payouts, settlement.FinalVersion, last.Shard, last.BlockHeight);
                }
                break;
        }
    }

    private static DuplexChannelTerms Terms(DuplexOpening opening, DevicePublicKey keyA, DevicePublicKey keyB) =>
        new(opening.Network, opening.ChannelId, new ChannelParty(opening.PartyA, keyA), opening.DepositA,
            new ChannelParty(opening.PartyB, keyB), opening.DepositB, opening.ChallengeWindow);

    private DuplexChannelOpened Opened() => new(ChannelId, _terms!.PartyA.Id, _terms.PartyB.Id, _terms.DepositA, _terms.DepositB);

    private DuplexChannelView View() => (_channel is null
        ? new DuplexChannelView(ChannelId, _opening is null ? "none" : _refusal is not null ? "refused" : "opening", 0, null, null, null, null)
        : new DuplexChannelView(ChannelId, _settlement is not null ? "settled" : _channel.Status.ToString().ToLowerInvariant(),
            _channel.Version, _channel.BalanceA, _channel.BalanceB, _channel.ChallengeDeadline, _settlement))
        with { PartyA = _terms?.PartyA.Id, PartyB = _terms?.PartyB.Id };

    private sealed record DeadlineReached
    {
        public static readonly DeadlineReached Instance = new();
    }
}
