using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Activity;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Channels;

/// <summary>
/// A streaming channel's vouchers where they enter. Each is read and judged by the core against the channel ahead: the
/// durable channel, moved on by every voucher taken and by a close or a window's end on its way to the journal. A taken
/// voucher is counted on the feed and handed to <see cref="VoucherWrites"/>, which writes the newest of each batch and
/// acknowledges every voucher once the write that holds it is durable; a refused one is answered by name at once. The
/// hot path allocates nothing beyond what the core and the batch need: the delegates are made once per entity.
/// </summary>
public sealed class VoucherIntake
{
    private readonly ChannelId _channel;
    private readonly EnergySettings _settings;
    private readonly Func<StreamingChannel?> _durable;
    private readonly Func<PartyId, bool> _revoked, _quarantined;
    private readonly ActivityFeed _feed;
    private readonly VoucherWrites _writes;
    private StreamingChannel? _movedAhead;

    /// <param name="durable">The channel in the entity's durable state (null before it opens).</param>
    /// <param name="persist">Writes a batch: the entity's <c>PersistAsync</c>, so a close written after it follows it.</param>
    /// <param name="evolve">Evolves the entity's state with a durable batch, before its acknowledgements go out.</param>
    /// <param name="snapshot">Lets the entity snapshot after a batch that no close follows.</param>
    public VoucherIntake(IActorContext context, ChannelId channel, EnergySettings settings, RevocationList revocations, Func<StreamingChannel?> durable,
        Action<VoucherRecorded, Action<VoucherRecorded>> persist, Action<object> evolve, Action snapshot)
    {
        (_channel, _settings, _durable) = (channel, settings, durable);
        (_revoked, _quarantined) = (revocations.IsRevoked, revocations.IsQuarantined);
        _feed = ActivityFeed.Get(context.System);
        _writes = new VoucherWrites("channel " + channel.Value, settings.MaxWaitingVoucherReplies, persist, evolve, snapshot);
    }

    /// <summary>The channel as it stands with every voucher taken and the close or window's end being written; the durable one when nothing moved it.</summary>
    public StreamingChannel? Ahead => _movedAhead ?? _durable();

    /// <summary>Every voucher taken is durable: nothing waits and nothing is in flight.</summary>
    public bool Idle => _writes.Idle;

    /// <summary>A voucher arrived from <paramref name="sender"/>: refused by name, or taken and acknowledged once durable.</summary>
    public void Submit(SubmitVoucher command, IActorRef sender)
    {
        var payment = PaymentArrivals.Arrive(PaymentKind.Streaming, "channel.voucher", command.TraceParent);
        var ahead = Ahead;
        var read = StreamingChannelLifecycle.ReadVoucher(ahead, _channel, command.Voucher);
        if (read.IsOk) payment = OfKind(payment, read.Value.Payload.Purpose);
        var taken = read.IsOk
            ? StreamingChannelLifecycle.TakeVoucher(ahead!, _channel, read.Value, _revoked, _quarantined, _writes.Full, _settings.Clock.Now)
            : read.Error;
        if (!taken.IsOk) { payment.Refuse(sender, taken.Error); return; }
        var (voucher, accepted) = taken.Value;
        _movedAhead = accepted.Channel;
        _feed.CountPayment();
        // Counted, timed and its span ended when its acknowledgement goes out: once it is durable.
        _writes.Take(voucher, accepted, sender, StreamingChannelLifecycle.Acknowledge(_channel, voucher.Payload, accepted), payment);
    }

    /// <summary>
    /// A close or a window's end is about to be written, moving the channel to <paramref name="next"/>: the vouchers taken
    /// before it are written first, and vouchers from here on are judged against <paramref name="next"/> and journaled after it.
    /// </summary>
    public void MoveAhead(StreamingChannel next)
    {
        _writes.WriteBeforeAClose();
        _movedAhead = next;
    }

    private static PendingPayment OfKind(PendingPayment payment, PaymentPurpose purpose)
    {
        var kind = EnergyMetrics.KindOf(purpose);
        payment.Span?.SetTag("energy.payment.kind", EnergyMetrics.NameOf(kind));
        return payment with { Kind = kind };
    }
}
