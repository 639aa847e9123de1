using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Kernel;

/// <summary>
/// The channel's answer to a voucher an entity handed it (a session's payment, a toll pass's), piped back to the
/// entity with what the payment is <paramref name="For"/>, who to answer, and the payment's span (ended by the entity).
/// </summary>
public sealed record VoucherAnswered<TFor>(TFor For, object Answer, IActorRef ReplyTo, System.Diagnostics.Activity? Span);

/// <summary>How an entity that takes payments on behalf of a payee hands a voucher to the payer's channel.</summary>
public static class ChannelPayments
{
    /// <summary>
    /// Hands <paramref name="voucher"/> to its channel, which verifies it against the payer's registered key and
    /// persists it before it answers. The answer comes back to the entity as a <see cref="VoucherAnswered{TFor}"/>
    /// (never awaited), at a reply address of the node's (<see cref="ReplyAddresses.ForEntities"/>): the channel's own
    /// answer, or <paramref name="unanswered"/> when it did not answer within <paramref name="timeout"/>. The channel's
    /// span is the payment's child.
    /// </summary>
    public static void Submit<TFor>(IActorContext context, IActorRef channels, ChannelId channel, byte[] voucher, TimeSpan timeout, TFor @for, IActorRef replyTo,
        System.Diagnostics.Activity? span, ProtocolError unanswered)
    {
        var self = context.Self;
        ReplyAddresses.ForEntities(context.System, timeout).Ask(channels, new SubmitVoucher(channel, voucher) { TraceParent = EnergyTracing.TraceParentOf(span) },
            (answer, _) => self.Tell(new VoucherAnswered<TFor>(@for, answer ?? Refusal.From(unanswered), replyTo, span)));
    }
}
