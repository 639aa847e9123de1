using System.Collections.Immutable;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Streaming;

/// <summary>What both sides agreed when the payer locked the deposit.</summary>
public sealed record StreamingChannelTerms(
    NetworkId Network,
    ChannelId ChannelId,
    ChannelParty Payer,
    ChannelParty Payee,
    Money Deposit,
    DurationMs ChallengeWindow);

/// <summary>
/// A payer-to-payee channel: the state is the newest accepted voucher. Immutable; the operations in
/// <see cref="StreamingChannels"/> return the next state or a named error.
/// </summary>
public sealed record StreamingChannel(
    StreamingChannelTerms Terms,
    ChannelStatus Status,
    Signed<Voucher>? Best,
    Timestamp? ChallengeDeadline,
    ChannelSettlement? Settlement)
{
    public ChannelId Id => Terms.ChannelId;

    public Money Paid => Best?.Payload.Cumulative ?? Money.Zero(Terms.Deposit.Currency);

    public ulong LastSequence => Best?.Payload.Sequence ?? 0;

    /// <summary>
    /// The sum of the accepted increments per purpose (a session, a toll pass): what each was paid on
    /// this channel. Purposes with nothing paid and <see cref="PaymentPurpose.None"/> are not kept.
    /// Bounded by <see cref="StreamingChannels.MaxPurposes"/>.
    /// </summary>
    public ImmutableDictionary<PaymentPurpose, Money> PaidByPurpose { get; init; } = ImmutableDictionary<PaymentPurpose, Money>.Empty;

    /// <summary>What was paid for <paramref name="purpose"/> on this channel (zero for none and for purposes never paid).</summary>
    public Money PaidFor(PaymentPurpose purpose) =>
        PaidByPurpose.TryGetValue(purpose, out var paid) ? paid : Money.Zero(Terms.Deposit.Currency);
}

/// <summary>An accepted voucher: the next state, what the voucher added, and what its purpose is paid in all now.</summary>
public sealed record VoucherAccepted(StreamingChannel Channel, Money Increment, Money PaidForPurpose);

/// <summary>The rules of a streaming channel, as pure functions.</summary>
public static class StreamingChannels
{
    public static readonly DurationMs MaxChallengeWindow = DurationMs.FromMinutes(7 * 24 * 60);

    /// <summary>
    /// How many purposes one channel counts. Every toll pass is a purpose of its own, so a long-lived
    /// channel fills up; a voucher for one purpose more is refused and the payer opens a new channel.
    /// The bound keeps a channel's state, snapshot and recovery small.
    /// </summary>
    public const int MaxPurposes = 1_024;

    public static Result<StreamingChannel> Open(StreamingChannelTerms terms)
    {
        var id = terms.ChannelId;
        if (terms.Payer.Id == terms.Payee.Id) return new SamePartyOnBothSides(id, new DeviceId(terms.Payer.Id.Value));
        if (terms.Payer.Key.Equals(terms.Payee.Key)) return new SamePartyOnBothSides(id, new DeviceId(terms.Payer.Id.Value));
        if (terms.Deposit.IsNegative) return new NegativeAmount(id, "deposit", terms.Deposit.MinorUnits);
        if (terms.Deposit.MinorUnits == 0) return new ZeroAmount(id, "deposit");
        if (terms.ChallengeWindow.Milliseconds < 0 || terms.ChallengeWindow.Milliseconds > MaxChallengeWindow.Milliseconds)
            return new MalformedValue("challenge window", terms.ChallengeWindow.ToString(), $"0 to {MaxChallengeWindow}");
        return new StreamingChannel(terms, ChannelStatus.Open, null, null, null);
    }

    /// <summary>
    /// Accepts a voucher if it is for this network and channel, signed by the payer, newer than the last
    /// and within the deposit. Allowed while open, and while closing until the challenge deadline.
    /// </summary>
    public static Result<VoucherAccepted> AcceptVoucher(StreamingChannel channel, Signed<Voucher> signed, Timestamp now)
    {
        var terms = channel.Terms;
        var voucher = signed.Payload;
        var id = terms.ChannelId;
        if (voucher.Network != terms.Network) return new WrongNetwork(id, terms.Network, voucher.Network);
        if (voucher.ChannelId != id) return new WrongChannel(id, voucher.ChannelId);
        var open = CheckAcceptsUpdates(channel.Status, channel.ChallengeDeadline, id, now);
        if (open is not null) return open;
        if (voucher.Cumulative.Currency != terms.Deposit.Currency) return new CurrencyMismatch(terms.Deposit.Currency, voucher.Cumulative.Currency);
        if (voucher.Cumulative.IsNegative) return new NegativeAmount(id, "cumulative", voucher.Cumulative.MinorUnits);
        if (voucher.Sequence <= channel.LastSequence) return new VoucherNotNewer(id, channel.LastSequence, voucher.Sequence);
        if (voucher.Cumulative < channel.Paid) return new CumulativeAmountDecreased(id, channel.Paid.MinorUnits, voucher.Cumulative.MinorUnits);
        if (voucher.Cumulative > terms.Deposit) return new AmountExceedsDeposit(id, terms.Deposit.MinorUnits, voucher.Cumulative.MinorUnits);
        // Both are within the deposit and the cumulative did not decrease: the difference neither overflows nor is negative.
        var increment = voucher.Cumulative.MinorUnits - channel.Paid.MinorUnits;
        if (voucher.Increment.MinorUnits != increment || voucher.Increment.Currency != terms.Deposit.Currency)
            return new IncrementMismatch(id, voucher.Sequence, channel.Paid.MinorUnits, voucher.Cumulative.MinorUnits, voucher.Increment.MinorUnits);
        var counts = increment > 0 && !voucher.Purpose.IsNone;
        var purposes = channel.PaidByPurpose;
        var known = purposes.TryGetValue(voucher.Purpose, out var before);
        if (!known) before = Money.Zero(terms.Deposit.Currency);
        if (counts && !known && purposes.Count >= MaxPurposes) return new TooManyPurposes(id, MaxPurposes, voucher.Purpose.ToString());
        // The signature is checked last: it is the expensive check, and everything before it is free.
        if (!signed.IsSignedBy(terms.Payer.Key)) return new InvalidSignature(id, ObjectKind.Voucher, terms.Payer.Id.Value);
        if (!counts) return new VoucherAccepted(channel with { Best = signed }, voucher.Increment, before);
        // A purpose's sum is at most the cumulative, itself within the deposit: it cannot overflow.
        var paidForPurpose = new Money(before.MinorUnits + increment, terms.Deposit.Currency);
        return new VoucherAccepted(channel with { Best = signed, PaidByPurpose = purposes.SetItem(voucher.Purpose, paidForPurpose) }, voucher.Increment, paidForPurpose);
    }

    /// <summary>
    /// Restores a voucher that was accepted before it was persisted, with what the vouchers written with it
    /// paid per purpose (a channel persists only the newest voucher of a batch). Recovery does not verify
    /// again; it checks that the purposes stay within the bound and the sums within the cumulative.
    /// </summary>
    public static StreamingChannel Restore(StreamingChannel channel, Signed<Voucher> best, IEnumerable<KeyValuePair<PaymentPurpose, Money>> increments)
    {
        var purposes = channel.PaidByPurpose.ToBuilder();
        foreach (var (purpose, amount) in increments)
        {
            if (purpose.IsNone || amount.MinorUnits <= 0) continue;
            var sum = purposes.TryGetValue(purpose, out var before) ? before.Add(amount).Unwrap() : amount;
            if (sum > best.Payload.Cumulative) throw new InvalidOperationException($"channel {channel.Id}: {purpose} sums to {sum.MinorUnits}, above the cumulative {best.Payload.Cumulative.MinorUnits}");
            purposes[purpose] = sum;
        }
        if (purposes.Count > MaxPurposes) throw new InvalidOperationException($"channel {channel.Id}: {purposes.Count} purposes restored, above the bound of {MaxPurposes}");
        return channel with { Best = best, PaidByPurpose = purposes.ToImmutable() };
    }

    /// <summary>
    /// A close signed by one party. The payee closes at once with the best voucher; the payer starts the
    /// challenge window, during which the payee may still present a newer voucher.
    /// </summary>
    public static Result<StreamingChannel> RequestClose(StreamingChannel channel, Signed<CloseRequest> signed, Timestamp now)
    {
        var terms = channel.Terms;
        var request = signed.Payload;
        var id = terms.ChannelId;
        if (request.Network != terms.Network) return new WrongNetwork(id, terms.Network, request.Network);
        if (request.ChannelKind != ChannelKind.Streaming) return new WrongChannelKind(id, ChannelKind.Streaming, request.ChannelKind);
        if (request.ChannelId != id) return new WrongChannel(id, request.ChannelId);
        if (channel.Status == ChannelStatus.Closed) return new ChannelNotOpen(id, channel.Status);
        ChannelParty closer;
        if (request.Closer == terms.Payee.Id) closer = terms.Payee;
        else if (request.Closer == terms.Payer.Id) closer = terms.Payer;
        else return new NotAParty(id, request.Closer.Value);
        if (!signed.IsSignedBy(closer.Key)) return new InvalidSignature(id, ObjectKind.CloseRequest, closer.Id.Value);

        if (closer.Id == terms.Payee.Id) return Settle(channel, now);
        if (channel.Status == ChannelStatus.Closing) return channel;
        var deadline = now.Plus(terms.ChallengeWindow);
        if (!deadline.IsOk) return deadline.Error;
        return channel with { Status = ChannelStatus.Closing, ChallengeDeadline = deadline.Value };
    }

    /// <summary>Ends a payer's close once the challenge window has passed.</summary>
    public static Result<StreamingChannel> FinalizeClose(StreamingChannel channel, Timestamp now)
    {
        var id = channel.Id;
        if (channel.Status != ChannelStatus.Closing) return new ChannelNotOpen(id, channel.Status);
        var deadline = channel.ChallengeDeadline!.Value;
        if (now < deadline) return new ChallengeWindowStillOpen(id, deadline, now);
        return Settle(channel, now);
    }

    private static StreamingChannel Settle(StreamingChannel channel, Timestamp now)
    {
        var terms = channel.Terms;
        var paid = channel.Paid;
        var refund = terms.Deposit.Subtract(paid).Value;
        var settlement = new ChannelSettlement(terms.ChannelId, terms.Payer.Id, refund, terms.Payee.Id, paid, channel.LastSequence, now);
        return channel with { Status = ChannelStatus.Closed, ChallengeDeadline = null, Settlement = settlement };
    }

    internal static ProtocolError? CheckAcceptsUpdates(ChannelStatus status, Timestamp? deadline, ChannelId id, Timestamp now)
    {
        if (status == ChannelStatus.Closed) return new ChannelNotOpen(id, status);
        if (status == ChannelStatus.Closing && now >= deadline!.Value) return new ChallengeWindowOver(id, deadline.Value, now);
        return null;
    }
}
