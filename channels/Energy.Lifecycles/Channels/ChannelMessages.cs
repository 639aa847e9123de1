using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Lifecycles.Ledger;

namespace Energy.Lifecycles.Channels;

public interface IChannelCommand : IEnergyMessage, IWithEntityId
{
    ChannelId ChannelId { get; }
    string IWithEntityId.EntityId => ChannelId.Value;
}

/// <summary>The payer's signed opening (wire form of <c>Signed&lt;StreamingOpening&gt;</c>).</summary>
[Manifest("channel.open.v1")]
public sealed record OpenChannel(ChannelId ChannelId, byte[] Opening) : IChannelCommand;

/// <summary>A payer's voucher (wire form of <c>Signed&lt;Voucher&gt;</c>). Acknowledged only once durable.</summary>
[Manifest("channel.submit-voucher.v1")]
public sealed record SubmitVoucher(ChannelId ChannelId, byte[] Voucher) : IChannelCommand, ITraced
{
    public string? TraceParent { get; init; }

    public ITraced WithTraceParent(string traceParent) => this with { TraceParent = traceParent };
}

/// <summary>A party's signed close request (wire form of <c>Signed&lt;CloseRequest&gt;</c>).</summary>
[Manifest("channel.close.v1")]
public sealed record CloseChannel(ChannelId ChannelId, byte[] CloseRequest) : IChannelCommand, ITraced
{
    public string? TraceParent { get; init; }

    public ITraced WithTraceParent(string traceParent) => this with { TraceParent = traceParent };
}

/// <summary>Starts the channel if it is not running, so that its deadlines and pending settlement go on.</summary>
[Manifest("channel.wake.v1")]
public sealed record WakeChannel(ChannelId ChannelId) : IChannelCommand;

[Manifest("channel.get.v1")]
public sealed record GetChannel(ChannelId ChannelId) : IChannelCommand;

/// <summary>Asks for the newest voucher the channel holds durably (a session resyncs what it was paid).</summary>
[Manifest("channel.best-voucher.get.v1")]
public sealed record GetBestVoucher(ChannelId ChannelId) : IChannelCommand;

/// <summary>
/// Asks what the channel holds durably as paid for one purpose: the sum of the increments of the vouchers
/// that name it. A session or a gantry asks after a restart instead of trusting the channel's cumulative.
/// </summary>
[Manifest("channel.purpose-paid.get.v1")]
public sealed record GetPurposePaid(ChannelId ChannelId, PaymentPurpose Purpose) : IChannelCommand;

// Replies

/// <summary>
/// What is durably paid for <see cref="Purpose"/> on the channel, and who pays whom on it; with the
/// channel's newest voucher when that one names the purpose (the evidence a charge record keeps).
/// </summary>
[Manifest("channel.purpose-paid.v1")]
public sealed record PurposePaid(ChannelId ChannelId, PaymentPurpose Purpose, Money Paid, PartyId Payer, PartyId Payee, byte[]? Voucher) : IEnergyMessage;

/// <summary>What the vouchers written together paid for one purpose (a channel persists only the newest voucher of a batch).</summary>
public sealed record PurposePayment(PaymentPurpose Purpose, Money Amount);

[Manifest("channel.best-voucher.v1")]
public sealed record BestVoucher(ChannelId ChannelId, byte[]? Voucher) : IEnergyMessage;

[Manifest("channel.opened.v1")]
public sealed record ChannelOpened(ChannelId ChannelId, PartyId Payer, PartyId Payee, Money Deposit, ulong EscrowBlockHeight) : IEnergyMessage;

[Manifest("channel.voucher-acknowledged.v1")]
public sealed record VoucherAcknowledged(ChannelId ChannelId, ulong Sequence, Money Cumulative) : IEnergyMessage
{
    /// <summary>What this voucher added to the channel's best one when it was accepted.</summary>
    public Money? Increment { get; init; }

    /// <summary>What the voucher pays for.</summary>
    public PaymentPurpose Purpose { get; init; }

    /// <summary>The sum of the increments paid for <see cref="Purpose"/> on the channel, this voucher's included.</summary>
    public Money? PaidForPurpose { get; init; }

    public PartyId? Payer { get; init; }

    public PartyId? Payee { get; init; }
}

[Manifest("channel.closing.v1")]
public sealed record ChannelClosing(ChannelId ChannelId, Timestamp ChallengeDeadline) : IEnergyMessage;

[Manifest("channel.settled.v1")]
public sealed record ChannelSettled(ChannelId ChannelId, IReadOnlyList<Payout> Payouts, ulong FinalSequence, string Shard, ulong BlockHeight) : IEnergyMessage;

[Manifest("channel.view.v1")]
public sealed record ChannelView(
    ChannelId ChannelId,
    string Status,
    PartyId? Payer,
    PartyId? Payee,
    Money? Deposit,
    Money? Paid,
    ulong LastSequence,
    Timestamp? ChallengeDeadline,
    ChannelSettled? Settlement) : IEnergyMessage;

// Events

[Manifest("channel.event.opening-started.v1")]
public sealed record ChannelOpeningStarted(byte[] Opening, string PayerKeyHex, string PayeeKeyHex) : IEnergyMessage;

[Manifest("channel.event.escrow-locked.v1")]
public sealed record EscrowLockConfirmed(ulong BlockHeight) : IEnergyMessage;

/// <summary>
/// The ledger refused the lock for good: the opening is abandoned. <see cref="Refusal"/> carries the refusal whole, with
/// its named error, so that whoever reads the event matches the error by type; events written before it was kept have
/// only the code and the sentence, and read back (<see cref="ToRefusal"/>) as a <see cref="Energy.Channels.RecordedError"/>.
/// </summary>
[Manifest("channel.event.opening-abandoned.v1")]
public sealed record ChannelOpeningAbandoned(string Code, string Message) : IEnergyMessage
{
    public Refusal? Refusal { get; init; }

    /// <summary>The ledger's refusal: whole when the event kept it, else by its code and sentence.</summary>
    public Refusal ToRefusal() => Refusal ?? new Refusal(new Energy.Channels.RecordedError(Code, Message));
}

/// <summary>The newest voucher of a batch, and what every voucher of the batch paid per purpose.</summary>
[Manifest("channel.event.voucher-recorded.v2")]
public sealed record VoucherRecorded(byte[] Voucher, IReadOnlyList<PurposePayment> Purposes) : IEnergyMessage;

[Manifest("channel.event.close-recorded.v1")]
public sealed record CloseRecorded(byte[] CloseRequest, Timestamp At) : IEnergyMessage;

[Manifest("channel.event.challenge-ended.v1")]
public sealed record ChallengeWindowEnded(Timestamp At) : IEnergyMessage;

[Manifest("channel.event.settlement-recorded.v1")]
public sealed record SettlementRecorded(ChannelSettled Result) : IEnergyMessage;

/// <summary>A channel's state for recovery: the same records the events carry, newest only.</summary>
[Manifest("channel.snapshot.v2")]
public sealed record ChannelSnapshot(
    byte[]? Opening,
    string? PayerKeyHex,
    string? PayeeKeyHex,
    ulong? EscrowBlockHeight,
    byte[]? BestVoucher,
    IReadOnlyList<PurposePayment>? PaidByPurpose,
    byte[]? CloseRequest,
    Timestamp? ClosedAt,
    Timestamp? ChallengeEndedAt,
    ChannelSettled? Settlement) : IEnergyMessage;
