using System.Diagnostics;
using Akka.Actor;
using Energy.Channels;

namespace Energy.Cluster.Kernel;

/// <summary>
/// A payment where it enters an entity (a voucher, a co-signed state): timed from its arrival and traced under its
/// sender's span. Refused, its span ends with the error's code and its sender hears the error by name; taken, it is
/// counted, timed and its span ended once it is durable (<see cref="PendingPayment.Durable"/>). Nothing here allocates.
/// </summary>
public static class PaymentArrivals
{
    /// <summary>A payment of <paramref name="kind"/> arrived now, handled under a span named <paramref name="operation"/>.</summary>
    public static PendingPayment Arrive(PaymentKind kind, string operation, string? traceParent)
    {
        var arrivedAt = Stopwatch.GetTimestamp();
        return new PendingPayment(kind, arrivedAt, EnergyTracing.StartHandling(operation, traceParent));
    }

    /// <summary>The payment is refused: its span ends with <paramref name="error"/>'s code, and <paramref name="sender"/> hears it.</summary>
    public static void Refuse(this PendingPayment payment, IActorRef sender, ProtocolError error)
    {
        EnergyTracing.End(payment.Span, error.Code);
        sender.Tell(Refusal.From(error));
    }
}
