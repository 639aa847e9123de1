using System.Collections.Immutable;
using Energy.Channels;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Lifecycles.Ledger;

namespace Energy.Lifecycles.Channels;

/// <summary>
/// The durable state of a duplex channel: its opening, which deposits the ledger locked, the protocol state,
/// which escrows the ledger released, and the settlement once both are. A refused opening keeps its facts:
/// its locked deposits are paid back. Changed only by <see cref="DuplexChannelLifecycle.Evolve"/>.
/// </summary>
public sealed record DuplexChannelState(
    byte[]? Opening,
    DuplexChannelTerms? Terms,
    EscrowId? Escrow,
    ImmutableHashSet<PartyId> Locked,
    Refusal? Refusal,
    DuplexChannel? Channel,
    ImmutableList<EscrowReleasedRecord> Released,
    ChannelSettled? Settlement) : IChannelState
{
    public static readonly DuplexChannelState Empty = new(null, null, null, ImmutableHashSet<PartyId>.Empty, null, null,
        ImmutableList<EscrowReleasedRecord>.Empty, null);

    public ChannelPhase Phase =>
        Settlement is not null ? ChannelPhase.Settled
        : Refusal is not null ? ChannelPhase.Refused
        : Channel is null ? (Opening is null ? ChannelPhase.None : ChannelPhase.Opening)
        : ChannelPhases.Of(Channel.Status);

    /// <summary>The parties that put money in, in order (A, then B): only they lock an escrow.</summary>
    public IReadOnlyList<(PartyId Account, Money Amount)> Deposits =>
        Terms is null ? [] : new[] { (Terms.PartyA.Id, Terms.DepositA), (Terms.PartyB.Id, Terms.DepositB) }.Where(d => d.Item2.MinorUnits > 0).ToList();

    public Money DepositOf(PartyId party) => party == Terms!.PartyA.Id ? Terms.DepositA : Terms.DepositB;

    /// <summary>The ledger released <paramref name="holder"/>'s escrow (at most two escrows: a short list, in the order released).</summary>
    public bool IsReleased(PartyId holder) => Released.Exists(r => r.Holder == holder);
}

/// <summary>A close decided against the channel: the event to persist, none when the channel already closes.</summary>
public sealed record DuplexCloseDecision(DuplexCloseRecorded? Event, DuplexChannel Next);

/// <summary>
/// The life of a duplex channel as pure functions around <see cref="DuplexChannels"/>: both deposits locked
/// (A's, then B's; if one is refused, what was locked is paid back), co-signed states of ever higher version,
/// a close (cooperative at once, or alone after the challenge window), then each escrow released with its
/// part of the final split. Decide: <c>(state, command, now) -> event or a named error</c>; evolve:
/// <c>(state, event) -> state</c>, the same live and in recovery.
/// </summary>
public sealed class DuplexChannelLifecycle : IChannelLifecycle<DuplexChannelState>
{
    private DuplexChannelLifecycle() { }

    // Deciding

    /// <summary>The checks of an opening that need no registry: for this channel, network and currency, with a challenge window no shorter than the network's minimum.</summary>
    public static ProtocolError? CheckOpening(DuplexOpening opening, ChannelId channel, NetworkId network, Currency currency, DurationMs minimumWindow)
    {
        if (opening.ChannelId != channel) return new WrongChannel(channel, opening.ChannelId);
        if (opening.Network != network) return new WrongNetwork(channel, network, opening.Network);
        if (opening.DepositA.Currency != currency) return new CurrencyMismatch(currency, opening.DepositA.Currency);
        return ChallengeWindows.CheckMinimum(channel, opening.ChallengeWindow, minimumWindow);
    }

    /// <summary>Takes an opening whose parties' keys were looked up: signed by both, on terms the protocol accepts.</summary>
    public static Result<DuplexOpeningStarted> Open(DuplexChannelState state, ChannelId channel, byte[] opening,
        Signed<DuplexOpening> signed, DevicePublicKey keyA, DevicePublicKey keyB)
    {
        if (state.Phase != ChannelPhase.None) return new ChannelAlreadyExists(channel);
        var payload = signed.Payload;
        if (!signed.IsSignedBy(keyA, 0)) return new InvalidSignature(channel, ObjectKind.DuplexOpening, payload.PartyA.Value);
        if (!signed.IsSignedBy(keyB, 1)) return new InvalidSignature(channel, ObjectKind.DuplexOpening, payload.PartyB.Value);
        var check = DuplexChannels.Open(Terms(payload, keyA, keyB));
        if (!check.IsOk) return check.Error;
        return new DuplexOpeningStarted(opening, keyA.Hex, keyB.Hex);
    }

    /// <summary>An opening in its wire form: decoded, then checked as <see cref="CheckOpening"/> under the network's rules.</summary>
    public static Result<Signed<DuplexOpening>> ReadOpening(byte[] opening, ChannelId channel, ChannelRules rules)
    {
        var decoded = Signed<DuplexOpening>.Decode(opening);
        if (!decoded.IsOk) return decoded.Error;
        var refused = CheckOpening(decoded.Value.Payload, channel, rules.Network, rules.Currency, rules.MinimumChallengeWindow);
        if (refused is not null) return refused;
        return decoded.Value;
    }

    /// <summary>
    /// Takes an opening as its parties' keys were looked up: a party this node knows revoked is refused whatever its twin
    /// said, party A's lookup first, then B's; else as <see cref="Open(DuplexChannelState, ChannelId, byte[], Signed{DuplexOpening}, DevicePublicKey, DevicePublicKey)"/>.
    /// </summary>
    public static Result<DuplexOpeningStarted> Open(DuplexChannelState state, ChannelId channel, byte[] opening, Signed<DuplexOpening> signed,
        Result<DevicePublicKey> foundA, Result<DevicePublicKey> foundB, Func<PartyId, bool> revokedHere)
    {
        var payload = signed.Payload;
        var keyA = ChannelParties.KnownKey(channel, payload.PartyA, foundA, revokedHere(payload.PartyA));
        var keyB = ChannelParties.KnownKey(channel, payload.PartyB, foundB, revokedHere(payload.PartyB));
        if (!keyA.IsOk) return keyA.Error;
        if (!keyB.IsOk) return keyB.Error;
        return Open(state, channel, opening, signed, keyA.Value, keyB.Value);
    }

    /// <summary>Whether the channel takes co-signed states: it is open, and not yet settled.</summary>
    public static bool TakesPayments(DuplexChannelState state) => state.Channel is not null && state.Settlement is null;

    /// <summary>The parties whose standing a state depends on: both sign every state.</summary>
    public static PartyId[] Signers(DuplexChannelState state) => state.Terms is null ? [] : [state.Terms.PartyA.Id, state.Terms.PartyB.Id];

    /// <summary>Whether the channel waits for this lock: it is opening (or refused, to be paid back) and has not had that depositor's lock yet.</summary>
    public static bool AwaitsLock(DuplexChannelState state, EscrowLocked locked) =>
        state.Phase is ChannelPhase.Opening or ChannelPhase.Refused && !state.Locked.Contains(locked.Account);

    /// <summary>Whether the channel waits for this release: it is closed (or refused) and that holder's escrow is not released yet.</summary>
    public static bool AwaitsRelease(DuplexChannelState state, EscrowReleased released) =>
        state.Phase is ChannelPhase.Closed or ChannelPhase.Refused && !state.IsReleased(released.Holder);

    /// <summary>
    /// A depositor's lock of its whole deposit into this channel's own escrow. A lock confirmed after the opening
    /// was refused (a retry that crossed the refusal) is recorded too, so that it is paid back.
    /// </summary>
    public static Result<DuplexEscrowLocked> ConfirmLock(DuplexChannelState state, ChannelId channel, EscrowLocked locked)
    {
        if (state.Phase is not (ChannelPhase.Opening or ChannelPhase.Refused)) return new WrongPhase(channel, ChannelPhase.Opening, state.Phase);
        var mismatch = EscrowChecks.CheckLock(channel, state.Escrow!.Value, locked, state.Deposits);
        if (mismatch is not null) return mismatch;
        return new DuplexEscrowLocked(locked.Account);
    }

    /// <summary>The ledger refused a lock for good: the opening is refused, and what was locked is owed back.</summary>
    public static Result<DuplexOpeningRefused> Refuse(DuplexChannelState state, ChannelId channel, Refusal refusal)
    {
        if (state.Phase != ChannelPhase.Opening) return new WrongPhase(channel, ChannelPhase.Opening, state.Phase);
        return new DuplexOpeningRefused(refusal.Code, refusal.Message) { Refusal = refusal };
    }

    /// <summary>
    /// What an opening hears when the channel already holds one: another opening is refused, the same one hears the
    /// ledger's refusal, the channel once both deposits are locked, or waits for them. Null when it holds no opening.
    /// </summary>
    public static KnownAnswer? KnownOpening(DuplexChannelState state, ChannelId channel, byte[] opening)
    {
        if (state.Opening is null) return null;
        if (!state.Opening.AsSpan().SequenceEqual(opening)) return new KnownAnswer(Refusal.From(new ChannelAlreadyExists(channel)));
        if (state.Refusal is not null) return new KnownAnswer(state.Refusal);
        return state.Channel is not null ? new KnownAnswer(Opened(state, channel)) : KnownAnswer.Wait;
    }

    /// <summary>
    /// A co-signed state in its wire form: decoded, refused while either party is revoked or quarantined (both sign
    /// every state, so either one's key stops the channel's payments, as it stops vouchers), then taken.
    /// </summary>
    public static Result<DuplexStateRecorded> TakeState(DuplexChannelState state, ChannelId channel, byte[] bytes, Func<PartyId, bool> revoked,
        Func<PartyId, bool> quarantined, Timestamp now)
    {
        if (state.Channel is null) return new ChannelNotFound(channel);
        var decoded = Signed<DuplexState>.Decode(bytes);
        if (!decoded.IsOk) return decoded.Error;
        var terms = state.Terms!;
        if (ChannelParties.CheckStanding(channel, [terms.PartyA.Id, terms.PartyB.Id], revoked, quarantined) is { } refused) return refused;
        return TakeState(state, channel, bytes, decoded.Value, now);
    }

    /// <summary>Whether a taken state is final: it closes the channel at once.</summary>
    public static bool Closes(DuplexStateRecorded recorded) => Signed<DuplexState>.Decode(recorded.State) is { IsOk: true } decoded && decoded.Value.Payload.IsFinal;

    /// <summary>A co-signed state: a newer one updates the channel, a final one closes it at once.</summary>
    public static Result<DuplexStateRecorded> TakeState(DuplexChannelState state, ChannelId channel, byte[] bytes, Signed<DuplexState> signed, Timestamp now)
    {
        if (state.Channel is null) return new ChannelNotFound(channel);
        var next = Next(state.Channel, signed, now);
        if (!next.IsOk) return next.Error;
        return new DuplexStateRecorded(bytes, now);
    }

    /// <summary>
    /// A close the channel answers without deciding: refused when no channel is open, the settlement once the
    /// ledger released both escrows, or a wait for it once the split is decided. Null when the close is to be decided.
    /// </summary>
    public static KnownAnswer? KnownClose(DuplexChannelState state, ChannelId channel)
    {
        if (state.Channel is not { } open) return new KnownAnswer(Refusal.From(new ChannelNotFound(channel)));
        if (state.Settlement is not null) return new KnownAnswer(state.Settlement);
        return open.Status == ChannelStatus.Closed ? KnownAnswer.Wait : null;
    }

    /// <summary>A close in its wire form: decoded, then decided as <see cref="Close(DuplexChannelState, ChannelId, byte[], Signed{CloseRequest}, Timestamp)"/>.</summary>
    public static Result<DuplexCloseDecision> Close(DuplexChannelState state, ChannelId channel, byte[] bytes, Timestamp now)
    {
        var decoded = Signed<CloseRequest>.Decode(bytes);
        if (!decoded.IsOk) return decoded.Error;
        return Close(state, channel, bytes, decoded.Value, now);
    }

    /// <summary>One party's close: opens the challenge window, or changes nothing while it runs.</summary>
    public static Result<DuplexCloseDecision> Close(DuplexChannelState state, ChannelId channel, byte[] bytes, Signed<CloseRequest> signed, Timestamp now)
    {
        if (state.Channel is null) return new ChannelNotFound(channel);
        var next = DuplexChannels.RequestClose(state.Channel, signed, now);
        if (!next.IsOk) return next.Error;
        if (state.Channel.Status == ChannelStatus.Closing) return new DuplexCloseDecision(null, state.Channel);
        return new DuplexCloseDecision(new DuplexCloseRecorded(bytes, now), next.Value);
    }

    /// <summary>
    /// What a close comes to: answered as <see cref="KnownClose"/> says, refused by name, told the running window when it
    /// changes nothing, or written, with the window its closer then hears.
    /// </summary>
    public static CloseOutcome<DuplexChannel> DecideClose(DuplexChannelState state, ChannelId channel, byte[] bytes, Timestamp now)
    {
        if (KnownClose(state, channel) is { } known) return CloseOutcome<DuplexChannel>.Answered(known);
        var decision = Close(state, channel, bytes, now);
        if (!decision.IsOk) return CloseOutcome<DuplexChannel>.Refused(decision.Error);
        if (decision.Value.Event is not { } closed) return CloseOutcome<DuplexChannel>.Answered(new KnownAnswer(Closing(state, channel)));
        return CloseOutcome<DuplexChannel>.Write(closed, decision.Value.Next, Window(channel, decision.Value.Next));
    }

    /// <summary>Ends the challenge window once it has passed.</summary>
    public static Result<DuplexChallengeEnded> EndChallenge(DuplexChannelState state, ChannelId channel, Timestamp now)
    {
        if (state.Channel is null) return new ChannelNotFound(channel);
        var finalized = DuplexChannels.FinalizeClose(state.Channel, now);
        if (!finalized.IsOk) return finalized.Error;
        return new DuplexChallengeEnded(now);
    }

    /// <summary>Only this channel's own escrow, paying out what this channel decided for that holder, counts as released.</summary>
    public static Result<DuplexEscrowReleased> ConfirmRelease(DuplexChannelState state, ChannelId channel, EscrowReleased released)
    {
        if (state.Phase is not (ChannelPhase.Closed or ChannelPhase.Refused)) return new WrongPhase(channel, ChannelPhase.Closed, state.Phase);
        if (state.IsReleased(released.Holder)) return new WrongPhase(channel, ChannelPhase.Closed, ChannelPhase.Settled);
        var mismatch = EscrowChecks.CheckRelease(channel, state.Escrow!.Value, released, released.Holder, ReleaseOf(state, released.Holder));
        if (mismatch is not null) return mismatch;
        return new DuplexEscrowReleased(new EscrowReleasedRecord(released.Holder, released.Payouts, released.Shard, released.BlockHeight));
    }

    /// <summary>
    /// What the ledger still owes the channel: refunds after a refused opening, the next lock (A's, then B's)
    /// while opening, the releases once closed; nothing otherwise. All are idempotent on the ledger.
    /// </summary>
    public static IReadOnlyList<ILedgerCommand> OwedByLedger(DuplexChannelState state, int ledgerShardCount)
    {
        var escrow = state.Escrow;
        switch (state.Phase)
        {
            case ChannelPhase.Refused:
                return state.Locked.Where(h => !state.IsReleased(h))
                    .Select(h => (ILedgerCommand)LedgerRequests.Release(ledgerShardCount, escrow!.Value, h, ReleaseOf(state, h)!)).ToList();
            case ChannelPhase.Opening:
                var next = state.Deposits.FirstOrDefault(d => !state.Locked.Contains(d.Account));
                return next.Account == default ? [] : [LedgerRequests.Lock(ledgerShardCount, escrow!.Value, next.Account, next.Amount)];
            case ChannelPhase.Closed:
                return Split(state.Terms!, state.Channel!.Settlement!).Where(s => !state.IsReleased(s.Holder))
                    .Select(s => (ILedgerCommand)LedgerRequests.Release(ledgerShardCount, escrow!.Value, s.Holder, s.Payouts)).ToList();
            default:
                return [];
        }
    }

    /// <summary>What the release of <paramref name="holder"/>'s escrow must pay out: its deposit back after a refusal, else its part of the split.</summary>
    public static IReadOnlyList<Payout>? ReleaseOf(DuplexChannelState state, PartyId holder)
    {
        if (state.Refusal is not null) return state.Locked.Contains(holder) ? [new Payout(holder, state.DepositOf(holder))] : null;
        if (state.Channel?.Settlement is not { } settlement) return null;
        return Split(state.Terms!, settlement).Where(s => s.Holder == holder).Select(s => s.Payouts).FirstOrDefault();
    }

    /// <summary>Pays the final balances out of the two escrows: A's deposit goes first to A, B's covers the rest.</summary>
    public static List<(PartyId Holder, IReadOnlyList<Payout> Payouts)> Split(DuplexChannelTerms terms, ChannelSettlement settlement)
    {
        var fromAToA = Math.Min(terms.DepositA.MinorUnits, settlement.PayoutA.MinorUnits);
        var split = new List<(PartyId, IReadOnlyList<Payout>)>();
        Money Units(long units) => new(units, terms.DepositA.Currency);
        if (terms.DepositA.MinorUnits > 0)
            split.Add((terms.PartyA.Id, [new Payout(terms.PartyA.Id, Units(fromAToA)), new Payout(terms.PartyB.Id, Units(terms.DepositA.MinorUnits - fromAToA))]));
        if (terms.DepositB.MinorUnits > 0)
        {
            var fromBToA = settlement.PayoutA.MinorUnits - fromAToA;
            split.Add((terms.PartyB.Id, [new Payout(terms.PartyA.Id, Units(fromBToA)), new Payout(terms.PartyB.Id, Units(terms.DepositB.MinorUnits - fromBToA))]));
        }
        return split;
    }

    // What callers are told

    /// <summary>What a close hears while the challenge window runs.</summary>
    public static ChannelClosing Closing(DuplexChannelState state, ChannelId channel) => new(channel, state.Channel!.ChallengeDeadline!.Value);

    /// <summary>What the closer hears once its close is durable: the challenge window it opened (a duplex close always opens one).</summary>
    public static ChannelClosing? Window(ChannelId channel, DuplexChannel next) => next.Status == ChannelStatus.Closing ? new(channel, next.ChallengeDeadline!.Value) : null;

    /// <summary>What a taken state is acknowledged with once durable; none once it closed the channel (its closer waits for the settlement).</summary>
    public static DuplexStateAcknowledged? Acknowledge(DuplexChannelState state, ChannelId channel) =>
        state.Channel is { Status: not ChannelStatus.Closed } open ? new DuplexStateAcknowledged(channel, open.Version) : null;

    /// <summary>What a state moved between the parties: how far B's balance went, either way (A's went as far the other way).</summary>
    public static Money Moved(DuplexChannel before, DuplexChannel after) =>
        new(Math.Abs(after.BalanceB.MinorUnits - before.BalanceB.MinorUnits), after.BalanceB.Currency);

    public static DuplexChannelOpened Opened(DuplexChannelState state, ChannelId channel)
    {
        var terms = state.Terms!;
        return new(channel, terms.PartyA.Id, terms.PartyB.Id, terms.DepositA, terms.DepositB);
    }

    public static DuplexChannelView View(DuplexChannelState state, ChannelId channel)
    {
        var view = state.Channel is not { } open
            ? new DuplexChannelView(channel, state.Phase.ToWire(), 0, null, null, null, null)
            : new DuplexChannelView(channel, (state.Settlement is not null ? ChannelPhase.Settled : ChannelPhases.Of(open.Status)).ToWire(),
                open.Version, open.BalanceA, open.BalanceB, open.ChallengeDeadline, state.Settlement);
        return view with { PartyA = state.Terms?.PartyA.Id, PartyB = state.Terms?.PartyB.Id };
    }

    // Evolving

    /// <summary>The state after a durable event, the same live and in recovery.</summary>
    public static DuplexChannelState Evolve(DuplexChannelState state, object e) => e switch
    {
        DuplexOpeningStarted s => Started(s),
        DuplexEscrowLocked l => Locked(state, l),
        DuplexOpeningRefused r => state with { Refusal = r.ToRefusal() },
        DuplexStateRecorded s => state with { Channel = Next(state.Channel!, Signed<DuplexState>.Decode(s.State).Unwrap(), s.At).Unwrap() },
        DuplexCloseRecorded c => state with { Channel = DuplexChannels.RequestClose(state.Channel!, Signed<CloseRequest>.Decode(c.CloseRequest).Unwrap(), c.At).Unwrap() },
        DuplexChallengeEnded w => state with { Channel = DuplexChannels.FinalizeClose(state.Channel!, w.At).Unwrap() },
        DuplexEscrowReleased r => Released(state, r.Release),
        _ => throw new InvalidOperationException($"not a duplex channel event: {e.GetType().Name}"),
    };

    private static DuplexChannelState Started(DuplexOpeningStarted s)
    {
        var signed = Signed<DuplexOpening>.Decode(s.Opening).Unwrap();
        var opening = signed.Payload;
        // The escrow is derived from the opening, so it is never persisted apart from it.
        var escrow = new EscrowId(ChannelKind.Duplex, opening.ChannelId, OpeningHash.Of(signed.Body));
        var terms = Terms(opening, DevicePublicKey.FromHex(s.KeyAHex).Unwrap(), DevicePublicKey.FromHex(s.KeyBHex).Unwrap());
        return DuplexChannelState.Empty with { Opening = s.Opening, Escrow = escrow, Terms = terms };
    }

    private static DuplexChannelState Locked(DuplexChannelState state, DuplexEscrowLocked l)
    {
        var next = state with { Locked = state.Locked.Add(l.Account) };
        // The channel opens once every depositor's escrow is locked, unless the opening was refused.
        if (next.Refusal is null && next.Channel is null && next.Deposits.All(d => next.Locked.Contains(d.Account)))
            next = next with { Channel = DuplexChannels.Open(next.Terms!).Unwrap() };
        return next;
    }

    private static DuplexChannelState Released(DuplexChannelState state, EscrowReleasedRecord release)
    {
        var next = state with { Released = state.Released.Add(release) };
        if (next.Refusal is not null || next.Channel?.Settlement is not { } settlement) return next;
        if (!next.Deposits.All(d => next.IsReleased(d.Account))) return next;
        // Settled once every escrow is released: what each party received from both, in one answer.
        var last = next.Released.MaxBy(x => x.BlockHeight)!;
        var payouts = next.Released.SelectMany(x => x.Payouts).GroupBy(p => p.Account)
            .Select(g => new Payout(g.Key, new Money(g.Sum(p => p.Amount.MinorUnits), settlement.PayoutA.Currency)))
            .OrderBy(p => p.Account.Value, StringComparer.Ordinal).ToList();
        return next with { Settlement = new ChannelSettled(next.Terms!.ChannelId, payouts, settlement.FinalVersion, last.Shard, last.BlockHeight) };
    }

    private static Result<DuplexChannel> Next(DuplexChannel channel, Signed<DuplexState> state, Timestamp now) =>
        state.Payload.IsFinal ? DuplexChannels.CloseCooperatively(channel, state, now) : DuplexChannels.Update(channel, state, now);

    public static DuplexChannelTerms Terms(DuplexOpening opening, DevicePublicKey keyA, DevicePublicKey keyB) =>
        new(opening.Network, opening.ChannelId, new ChannelParty(opening.PartyA, keyA), opening.DepositA,
            new ChannelParty(opening.PartyB, keyB), opening.DepositB, opening.ChallengeWindow);

    // The same rules as every channel's shell asks them (IChannelLifecycle); the awaits, Evolve and OwedByLedger are above.

    static DuplexChannelState IChannelLifecycle<DuplexChannelState>.Empty => DuplexChannelState.Empty;
    static Result<object> IChannelLifecycle<DuplexChannelState>.ConfirmLock(DuplexChannelState state, ChannelId channel, EscrowLocked locked) =>
        ConfirmLock(state, channel, locked).Then<object>(e => e);
    static Result<object> IChannelLifecycle<DuplexChannelState>.ConfirmRelease(DuplexChannelState state, ChannelId channel, EscrowReleased released) =>
        ConfirmRelease(state, channel, released).Then<object>(e => e);
    static Result<object> IChannelLifecycle<DuplexChannelState>.Refuse(DuplexChannelState state, ChannelId channel, Refusal refusal) =>
        Refuse(state, channel, refusal).Then<object>(e => e);
    static object? IChannelLifecycle<DuplexChannelState>.Opened(DuplexChannelState state, ChannelId channel) => state.Channel is null ? null : Opened(state, channel);
}
