using System.Collections.Immutable;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Lifecycles.Ledger;

namespace Energy.Lifecycles.Channels;

/// <summary>Where a channel is in its life, from its opening to its settlement on the ledger.</summary>
public enum ChannelPhase : byte
{
    /// <summary>No opening was taken.</summary>
    None,

    /// <summary>The opening is durable; the ledger has not locked the escrow yet.</summary>
    Opening,

    /// <summary>The escrow is locked; payments are taken.</summary>
    Open,

    /// <summary>A party closed alone; the challenge window runs.</summary>
    Closing,

    /// <summary>The final split is decided; the ledger has not released the escrow yet.</summary>
    Closed,

    /// <summary>The ledger released the escrow as the channel decided.</summary>
    Settled,

    /// <summary>The ledger refused the opening; what was locked for it is paid back.</summary>
    Refused,
}

/// <summary>A channel's phase: the name it has in the views callers read, and the phase of an opened channel.</summary>
public static class ChannelPhases
{
    public static string ToWire(this ChannelPhase phase) => phase switch
    {
        ChannelPhase.None => "none",
        ChannelPhase.Opening => "opening",
        ChannelPhase.Open => "open",
        ChannelPhase.Closing => "closing",
        ChannelPhase.Closed => "closed",
        ChannelPhase.Settled => "settled",
        ChannelPhase.Refused => "refused",
        _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, "no wire name"),
    };

    /// <summary>The phase a view names, or null for a name no phase has.</summary>
    public static ChannelPhase? FromWire(string name) =>
        Enum.GetValues<ChannelPhase>().Select(p => (ChannelPhase?)p).FirstOrDefault(p => p!.Value.ToWire() == name);

    /// <summary>The phase of an opened channel, by its protocol status.</summary>
    public static ChannelPhase Of(ChannelStatus status) => status switch
    {
        ChannelStatus.Closing => ChannelPhase.Closing,
        ChannelStatus.Closed => ChannelPhase.Closed,
        _ => ChannelPhase.Open,
    };
}

/// <summary>
/// The durable state of a streaming channel: the facts its events carry, and the protocol state they
/// evolve into. Changed only by <see cref="StreamingChannelLifecycle.Evolve"/>, and only with durable events.
/// </summary>
public sealed record StreamingChannelState(
    byte[]? Opening,
    string? PayerKeyHex,
    string? PayeeKeyHex,
    StreamingChannelTerms? Terms,
    EscrowId? Escrow,
    ulong? EscrowBlockHeight,
    StreamingChannel? Channel,
    byte[]? BestVoucher,
    byte[]? CloseRequest,
    Timestamp? ClosedAt,
    Timestamp? ChallengeEndedAt,
    ChannelSettled? Settlement) : IChannelState
{
    public static readonly StreamingChannelState Empty = new(null, null, null, null, null, null, null, null, null, null, null, null);

    public ChannelPhase Phase =>
        Settlement is not null ? ChannelPhase.Settled
        : Channel is null ? (Opening is null ? ChannelPhase.None : ChannelPhase.Opening)
        : ChannelPhases.Of(Channel.Status);

    /// <summary>What the durable vouchers paid per purpose.</summary>
    public ImmutableDictionary<PaymentPurpose, Money> PaidByPurpose => Channel?.PaidByPurpose ?? ImmutableDictionary<PaymentPurpose, Money>.Empty;
}

/// <summary>A voucher taken against the channel ahead: the voucher, and what the protocol made of it.</summary>
public readonly record struct VoucherTaken(Signed<Voucher> Voucher, VoucherAccepted Accepted);

/// <summary>A close decided against the channel: the event to persist (none when the channel already closes) and the channel after it.</summary>
public sealed record StreamingCloseDecision(CloseRecorded? Event, StreamingChannel Next);

/// <summary>The end of a challenge window: the event to persist and the channel after it.</summary>
public sealed record StreamingWindowEnd(ChallengeWindowEnded Event, StreamingChannel Next);

/// <summary>
/// The vouchers accepted since the last write, written as one event: the newest voucher, and what every voucher of
/// the batch paid per purpose (a channel persists only the newest voucher, so recovery counts the others from here).
/// </summary>
public sealed record VoucherBatch(Signed<Voucher> Newest, ImmutableList<PurposePayment> Purposes)
{
    /// <summary>The batch with one more accepted voucher: the newest now, its increment added to its purpose's sum.</summary>
    public static VoucherBatch Add(VoucherBatch? batch, Signed<Voucher> voucher, Money increment)
    {
        var purposes = batch?.Purposes ?? [];
        var purpose = voucher.Payload.Purpose;
        if (!purpose.IsNone && increment.MinorUnits > 0)
        {
            var index = purposes.FindIndex(p => p.Purpose == purpose);
            purposes = index < 0
                ? purposes.Add(new PurposePayment(purpose, increment))
                : purposes.SetItem(index, purposes[index] with { Amount = purposes[index].Amount.Add(increment).Unwrap() });
        }
        return new VoucherBatch(voucher, purposes);
    }

    public VoucherRecorded ToEvent() => new(Newest.ToArray(), Purposes.ToList());
}

/// <summary>
/// The life of a streaming channel as pure functions around <see cref="StreamingChannels"/>:
/// <c>decide(state, command, now) -> event or a named error</c> and <c>evolve(state, event) -> state</c>,
/// the same evolve for live events and recovery. Vouchers are decided by the protocol itself against the
/// channel ahead of the durable one (the entity writes only the newest voucher of a batch).
/// </summary>
public sealed class StreamingChannelLifecycle : IChannelLifecycle<StreamingChannelState>
{
    private StreamingChannelLifecycle() { }

    // Deciding

    /// <summary>
    /// The checks of an opening that need no registry: for this channel (as requested), network and currency,
    /// neither party revoked as this node knows, and a challenge window no shorter than the network's minimum
    /// (the payer alone signs a streaming opening: the minimum window is what protects the payee).
    /// </summary>
    public static ProtocolError? CheckOpening(StreamingOpening opening, ChannelId requested, ChannelId channel, NetworkId network, Currency currency,
        DurationMs minimumWindow, Func<PartyId, bool> revokedHere)
    {
        if (opening.ChannelId != requested || opening.ChannelId != channel) return new WrongChannel(channel, opening.ChannelId);
        if (opening.Network != network) return new WrongNetwork(channel, network, opening.Network);
        if (opening.Deposit.Currency != currency) return new CurrencyMismatch(currency, opening.Deposit.Currency);
        if (revokedHere(opening.Payer)) return new PartyRevoked(channel, opening.Payer);
        if (revokedHere(opening.Payee)) return new PartyRevoked(channel, opening.Payee);
        return ChallengeWindows.CheckMinimum(channel, opening.ChallengeWindow, minimumWindow);
    }

    /// <summary>An opening in its wire form: decoded, then checked as <see cref="CheckOpening"/> under the network's rules.</summary>
    public static Result<Signed<StreamingOpening>> ReadOpening(byte[] opening, ChannelId requested, ChannelId channel, ChannelRules rules, Func<PartyId, bool> revokedHere)
    {
        var decoded = Signed<StreamingOpening>.Decode(opening);
        if (!decoded.IsOk) return decoded.Error;
        var refused = CheckOpening(decoded.Value.Payload, requested, channel, rules.Network, rules.Currency, rules.MinimumChallengeWindow, revokedHere);
        if (refused is not null) return refused;
        return decoded.Value;
    }

    /// <summary>
    /// What an opening hears when the channel already holds one: another opening is refused, the same one hears the
    /// channel once its escrow is locked, or waits for it. Null when the channel holds no opening yet.
    /// </summary>
    public static KnownAnswer? KnownOpening(StreamingChannelState state, ChannelId channel, byte[] opening)
    {
        if (state.Opening is null) return null;
        if (!state.Opening.AsSpan().SequenceEqual(opening)) return new KnownAnswer(Refusal.From(new ChannelAlreadyExists(channel)));
        return state.Phase != ChannelPhase.Opening ? new KnownAnswer(Opened(state, channel)) : KnownAnswer.Wait;
    }

    /// <summary>Takes an opening whose parties' keys were looked up: signed by the payer, on terms the protocol accepts.</summary>
    public static Result<ChannelOpeningStarted> Open(StreamingChannelState state, ChannelId channel, byte[] opening,
        Signed<StreamingOpening> signed, DevicePublicKey payerKey, DevicePublicKey payeeKey)
    {
        if (state.Phase != ChannelPhase.None) return new ChannelAlreadyExists(channel);
        var payload = signed.Payload;
        if (!signed.IsSignedBy(payerKey)) return new InvalidSignature(channel, ObjectKind.StreamingOpening, payload.Payer.Value);
        var check = StreamingChannels.Open(Terms(payload, payerKey, payeeKey));
        if (!check.IsOk) return check.Error;
        return new ChannelOpeningStarted(opening, payerKey.Hex, payeeKey.Hex);
    }

    /// <summary>
    /// Takes an opening as its parties' keys were looked up (<paramref name="payerKey"/>, <paramref name="payeeKey"/>): the
    /// payer's lookup refused first, then the payee's, else as <see cref="Open(StreamingChannelState, ChannelId, byte[], Signed{StreamingOpening}, DevicePublicKey, DevicePublicKey)"/>.
    /// </summary>
    public static Result<ChannelOpeningStarted> Open(StreamingChannelState state, ChannelId channel, byte[] opening,
        Signed<StreamingOpening> signed, Result<DevicePublicKey> payerKey, Result<DevicePublicKey> payeeKey)
    {
        if (!payerKey.IsOk) return payerKey.Error;
        if (!payeeKey.IsOk) return payeeKey.Error;
        return Open(state, channel, opening, signed, payerKey.Value, payeeKey.Value);
    }

    /// <summary>Whether the channel waits for the ledger's lock: only while it opens.</summary>
    public static bool AwaitsLock(StreamingChannelState state) => state.Phase == ChannelPhase.Opening;

    /// <summary>Whether the channel waits for the ledger's release: only once its split is decided.</summary>
    public static bool AwaitsRelease(StreamingChannelState state) => state.Phase == ChannelPhase.Closed;

    /// <summary>Whether the channel takes payments: it is open, closing or closed, and not yet settled.</summary>
    public static bool TakesPayments(StreamingChannelState state) => state.Channel is not null && state.Settlement is null;

    /// <summary>The parties whose standing a payment depends on: the payer, once there is an opening.</summary>
    public static PartyId[] Signers(StreamingChannelState state) => state.Terms is null ? [] : [state.Terms.Payer.Id];

    /// <summary>A voucher in its wire form, for the channel ahead: refused while no channel is open, else decoded (and judged by <see cref="TakeVoucher"/>).</summary>
    public static Result<Signed<Voucher>> ReadVoucher(StreamingChannel? ahead, ChannelId channel, byte[] voucher) =>
        ahead is null ? new ChannelNotFound(channel) : Signed<Voucher>.Decode(voucher);

    /// <summary>
    /// A voucher against the channel as it stands with every accepted voucher (<paramref name="ahead"/>): refused while its
    /// payer is revoked or quarantined, or when the entity holds as many answers as it may (<paramref name="busy"/>: an
    /// accepted voucher is always acknowledged once durable, so it is refused before it is accepted); else judged by the protocol.
    /// </summary>
    public static Result<VoucherTaken> TakeVoucher(StreamingChannel ahead, ChannelId channel, Signed<Voucher> voucher, Func<PartyId, bool> revoked,
        Func<PartyId, bool> quarantined, ProtocolError? busy, Timestamp now)
    {
        var refused = ChannelParties.CheckStanding(channel, [ahead.Terms.Payer.Id], revoked, quarantined) ?? busy;
        if (refused is not null) return refused;
        var accepted = StreamingChannels.AcceptVoucher(ahead, voucher, now);
        if (!accepted.IsOk) return accepted.Error;
        return new VoucherTaken(voucher, accepted.Value);
    }

    /// <summary>Only the lock of this channel's own escrow, of its payer's whole deposit, opens it.</summary>
    public static Result<EscrowLockConfirmed> ConfirmLock(StreamingChannelState state, ChannelId channel, EscrowLocked locked)
    {
        if (state.Phase != ChannelPhase.Opening) return new WrongPhase(channel, ChannelPhase.Opening, state.Phase);
        var terms = state.Terms!;
        var mismatch = EscrowChecks.CheckLock(channel, state.Escrow!.Value, locked, [(terms.Payer.Id, terms.Deposit)]);
        if (mismatch is not null) return mismatch;
        return new EscrowLockConfirmed(locked.BlockHeight);
    }

    /// <summary>The ledger refused the lock for good (no funds): the opening is abandoned.</summary>
    public static Result<ChannelOpeningAbandoned> Abandon(StreamingChannelState state, ChannelId channel, Refusal refusal)
    {
        if (state.Phase != ChannelPhase.Opening) return new WrongPhase(channel, ChannelPhase.Opening, state.Phase);
        return new ChannelOpeningAbandoned(refusal.Code, refusal.Message) { Refusal = refusal };
    }

    /// <summary>
    /// A close the channel answers without deciding: refused when no channel is open, the settlement once the
    /// ledger released it, or a wait for it once the split is decided. Null when the close is to be decided.
    /// </summary>
    public static KnownAnswer? KnownClose(StreamingChannelState state, StreamingChannel? ahead, ChannelId channel)
    {
        if (ahead is null) return new KnownAnswer(Refusal.From(new ChannelNotFound(channel)));
        if (state.Settlement is not null) return new KnownAnswer(state.Settlement);
        return ahead.Status == ChannelStatus.Closed ? KnownAnswer.Wait : null;
    }

    /// <summary>A close in its wire form: decoded, then decided as <see cref="Close(StreamingChannel, byte[], Signed{CloseRequest}, Timestamp)"/>.</summary>
    public static Result<StreamingCloseDecision> Close(StreamingChannel ahead, byte[] closeRequest, Timestamp now)
    {
        var decoded = Signed<CloseRequest>.Decode(closeRequest);
        if (!decoded.IsOk) return decoded.Error;
        return Close(ahead, closeRequest, decoded.Value, now);
    }

    /// <summary>
    /// A close against the channel as it stands with every accepted voucher (<paramref name="ahead"/>). A payer's
    /// second close while closing changes nothing and writes nothing.
    /// </summary>
    public static Result<StreamingCloseDecision> Close(StreamingChannel ahead, byte[] closeRequest, Signed<CloseRequest> signed, Timestamp now)
    {
        var next = StreamingChannels.RequestClose(ahead, signed, now);
        if (!next.IsOk) return next.Error;
        if (next.Value.Status == ChannelStatus.Closing && ahead.Status == ChannelStatus.Closing) return new StreamingCloseDecision(null, ahead);
        return new StreamingCloseDecision(new CloseRecorded(closeRequest, now), next.Value);
    }

    /// <summary>
    /// What a close comes to against the channel ahead: answered as <see cref="KnownClose"/> says, refused by name, told the
    /// running window when it changes nothing, or written, with the window its closer then hears (none when it closes at once).
    /// </summary>
    public static CloseOutcome<StreamingChannel> DecideClose(StreamingChannelState state, StreamingChannel? ahead, ChannelId channel, byte[] closeRequest, Timestamp now)
    {
        if (KnownClose(state, ahead, channel) is { } known) return CloseOutcome<StreamingChannel>.Answered(known);
        var decision = Close(ahead!, closeRequest, now);
        if (!decision.IsOk) return CloseOutcome<StreamingChannel>.Refused(decision.Error);
        if (decision.Value.Event is not { } closed) return CloseOutcome<StreamingChannel>.Answered(new KnownAnswer(Closing(channel, ahead!)));
        var next = decision.Value.Next;
        return CloseOutcome<StreamingChannel>.Write(closed, next, Window(channel, next));
    }

    /// <summary>Ends the challenge window once it has passed: the event to persist, and the closed channel after it.</summary>
    public static Result<StreamingWindowEnd> EndChallenge(StreamingChannel ahead, Timestamp now)
    {
        var finalized = StreamingChannels.FinalizeClose(ahead, now);
        if (!finalized.IsOk) return finalized.Error;
        return new StreamingWindowEnd(new ChallengeWindowEnded(now), finalized.Value);
    }

    /// <summary>
    /// The channel is settled only by its own escrow's release paying out what the channel decided; anything
    /// else is a fault to raise, never a settlement to record.
    /// </summary>
    public static Result<SettlementRecorded> ConfirmRelease(StreamingChannelState state, ChannelId channel, EscrowReleased released)
    {
        if (state.Phase != ChannelPhase.Closed) return new WrongPhase(channel, ChannelPhase.Closed, state.Phase);
        var settlement = state.Channel!.Settlement!;
        var mismatch = EscrowChecks.CheckRelease(channel, state.Escrow!.Value, released, state.Terms!.Payer.Id, Payouts(settlement));
        if (mismatch is not null) return mismatch;
        return new SettlementRecorded(new ChannelSettled(channel, released.Payouts, settlement.FinalVersion, released.Shard, released.BlockHeight));
    }

    /// <summary>What the ledger still owes the channel: the lock while opening, the release once closed; nothing otherwise.</summary>
    public static IReadOnlyList<ILedgerCommand> OwedByLedger(StreamingChannelState state, int ledgerShardCount) => state.Phase switch
    {
        ChannelPhase.Opening => [LedgerRequests.Lock(ledgerShardCount, state.Escrow!.Value, state.Terms!.Payer.Id, state.Terms.Deposit)],
        ChannelPhase.Closed => [LedgerRequests.Release(ledgerShardCount, state.Escrow!.Value, state.Terms!.Payer.Id, Payouts(state.Channel!.Settlement!))],
        _ => [],
    };

    public static List<Payout> Payouts(ChannelSettlement settlement) =>
        [new(settlement.PartyA, settlement.PayoutA), new(settlement.PartyB, settlement.PayoutB)];

    // What callers are told

    /// <summary>What a close hears while the challenge window of <paramref name="closing"/> runs.</summary>
    public static ChannelClosing Closing(ChannelId channel, StreamingChannel closing) => new(channel, closing.ChallengeDeadline!.Value);

    /// <summary>What the closer hears once its close is durable: the challenge window it opened, or none when it closed the channel at once (then it waits for the settlement).</summary>
    public static ChannelClosing? Window(ChannelId channel, StreamingChannel next) => next.Status == ChannelStatus.Closing ? Closing(channel, next) : null;

    /// <summary>The acknowledgement of an accepted voucher, sent once its batch is durable.</summary>
    public static VoucherAcknowledged Acknowledge(ChannelId channel, Voucher voucher, VoucherAccepted accepted) =>
        new(channel, voucher.Sequence, voucher.Cumulative)
        {
            Increment = accepted.Increment,
            Purpose = voucher.Purpose,
            PaidForPurpose = accepted.PaidForPurpose,
            Payer = accepted.Channel.Terms.Payer.Id,
            Payee = accepted.Channel.Terms.Payee.Id,
        };

    /// <summary>
    /// What is durably paid for a purpose on an open channel (a voucher accepted but not yet written is not counted),
    /// with the channel's newest voucher when that one names the purpose.
    /// </summary>
    public static Result<PurposePaid> PaidFor(StreamingChannelState state, ChannelId channel, PaymentPurpose purpose)
    {
        if (state.Channel is not { } open) return new ChannelNotFound(channel);
        var terms = open.Terms;
        var paid = state.PaidByPurpose.TryGetValue(purpose, out var sum) ? sum : Money.Zero(terms.Deposit.Currency);
        var newest = state.BestVoucher is { } best && Signed<Voucher>.Decode(best) is { IsOk: true } decoded && decoded.Value.Payload.Purpose == purpose ? best : null;
        return new PurposePaid(channel, purpose, paid, terms.Payer.Id, terms.Payee.Id, newest);
    }

    public static ChannelOpened Opened(StreamingChannelState state, ChannelId channel)
    {
        var terms = state.Terms!;
        return new ChannelOpened(channel, terms.Payer.Id, terms.Payee.Id, terms.Deposit, state.EscrowBlockHeight ?? 0);
    }

    /// <summary>The channel as it stands with every accepted voucher (<paramref name="ahead"/>), settled once the ledger released it.</summary>
    public static ChannelView View(StreamingChannelState state, StreamingChannel? ahead, ChannelId channel)
    {
        if (ahead is null) return new ChannelView(channel, state.Opening is null ? ChannelPhase.None.ToWire() : ChannelPhase.Opening.ToWire(), null, null, null, null, 0, null, null);
        var phase = state.Settlement is not null ? ChannelPhase.Settled : ChannelPhases.Of(ahead.Status);
        var terms = ahead.Terms;
        return new ChannelView(channel, phase.ToWire(), terms.Payer.Id, terms.Payee.Id, terms.Deposit, ahead.Paid, ahead.LastSequence, ahead.ChallengeDeadline, state.Settlement);
    }

    // Evolving

    /// <summary>
    /// The state after a durable event, the same live and in recovery. Every event was decided (and its
    /// signatures verified) before it was persisted; a voucher is restored without verifying again.
    /// </summary>
    public static StreamingChannelState Evolve(StreamingChannelState state, object e) => e switch
    {
        ChannelOpeningStarted s => Started(s),
        EscrowLockConfirmed l => state with { EscrowBlockHeight = l.BlockHeight, Channel = StreamingChannels.Open(state.Terms!).Unwrap() },
        ChannelOpeningAbandoned => StreamingChannelState.Empty,
        VoucherRecorded v => state with
        {
            Channel = StreamingChannels.Restore(state.Channel!, Signed<Voucher>.Decode(v.Voucher).Unwrap(),
                v.Purposes.Select(p => KeyValuePair.Create(p.Purpose, p.Amount))),
            BestVoucher = v.Voucher,
        },
        CloseRecorded c => state with
        {
            CloseRequest = c.CloseRequest,
            ClosedAt = c.At,
            Channel = StreamingChannels.RequestClose(state.Channel!, Signed<CloseRequest>.Decode(c.CloseRequest).Unwrap(), c.At).Unwrap(),
        },
        ChallengeWindowEnded w => state with { ChallengeEndedAt = w.At, Channel = StreamingChannels.FinalizeClose(state.Channel!, w.At).Unwrap() },
        SettlementRecorded r => state with { Settlement = r.Result },
        _ => throw new InvalidOperationException($"not a streaming channel event: {e.GetType().Name}"),
    };

    private static StreamingChannelState Started(ChannelOpeningStarted s)
    {
        var signed = Signed<StreamingOpening>.Decode(s.Opening).Unwrap();
        var opening = signed.Payload;
        var terms = Terms(opening, DevicePublicKey.FromHex(s.PayerKeyHex).Unwrap(), DevicePublicKey.FromHex(s.PayeeKeyHex).Unwrap());
        // The escrow is derived from the opening, so it is never persisted apart from it.
        var escrow = new EscrowId(ChannelKind.Streaming, opening.ChannelId, OpeningHash.Of(signed.Body));
        return StreamingChannelState.Empty with { Opening = s.Opening, PayerKeyHex = s.PayerKeyHex, PayeeKeyHex = s.PayeeKeyHex, Terms = terms, Escrow = escrow };
    }

    public static StreamingChannelTerms Terms(StreamingOpening opening, DevicePublicKey payerKey, DevicePublicKey payeeKey) =>
        new(opening.Network, opening.ChannelId, new ChannelParty(opening.Payer, payerKey), new ChannelParty(opening.Payee, payeeKey),
            opening.Deposit, opening.ChallengeWindow);

    // Snapshots: the same facts the events carry, newest only.

    public static ChannelSnapshot ToSnapshot(StreamingChannelState state) =>
        new(state.Opening, state.PayerKeyHex, state.PayeeKeyHex, state.EscrowBlockHeight, state.BestVoucher,
            state.PaidByPurpose.Select(p => new PurposePayment(p.Key, p.Value)).ToList(), state.CloseRequest, state.ClosedAt,
            state.ChallengeEndedAt, state.Settlement);

    /// <summary>Restores a snapshot by evolving the events it stands for, in their order.</summary>
    public static StreamingChannelState FromSnapshot(ChannelSnapshot s)
    {
        var state = StreamingChannelState.Empty;
        if (s.Opening is null) return state;
        state = Evolve(state, new ChannelOpeningStarted(s.Opening, s.PayerKeyHex!, s.PayeeKeyHex!));
        if (s.EscrowBlockHeight is { } height) state = Evolve(state, new EscrowLockConfirmed(height));
        if (s.BestVoucher is not null) state = Evolve(state, new VoucherRecorded(s.BestVoucher, s.PaidByPurpose ?? []));
        if (s.CloseRequest is not null) state = Evolve(state, new CloseRecorded(s.CloseRequest, s.ClosedAt!.Value));
        if (s.ChallengeEndedAt is { } ended) state = Evolve(state, new ChallengeWindowEnded(ended));
        if (s.Settlement is not null) state = Evolve(state, new SettlementRecorded(s.Settlement));
        return state;
    }

    // The same rules as every channel's shell asks them (IChannelLifecycle); Evolve and OwedByLedger are above.

    static StreamingChannelState IChannelLifecycle<StreamingChannelState>.Empty => StreamingChannelState.Empty;
    static bool IChannelLifecycle<StreamingChannelState>.AwaitsLock(StreamingChannelState state, EscrowLocked locked) => AwaitsLock(state);
    static bool IChannelLifecycle<StreamingChannelState>.AwaitsRelease(StreamingChannelState state, EscrowReleased released) => AwaitsRelease(state);
    static Result<object> IChannelLifecycle<StreamingChannelState>.ConfirmLock(StreamingChannelState state, ChannelId channel, EscrowLocked locked) =>
        ConfirmLock(state, channel, locked).Then<object>(e => e);
    static Result<object> IChannelLifecycle<StreamingChannelState>.ConfirmRelease(StreamingChannelState state, ChannelId channel, EscrowReleased released) =>
        ConfirmRelease(state, channel, released).Then<object>(e => e);
    static Result<object> IChannelLifecycle<StreamingChannelState>.Refuse(StreamingChannelState state, ChannelId channel, Refusal refusal) =>
        Abandon(state, channel, refusal).Then<object>(e => e);
    static object? IChannelLifecycle<StreamingChannelState>.Opened(StreamingChannelState state, ChannelId channel) => state.Channel is null ? null : Opened(state, channel);
}
