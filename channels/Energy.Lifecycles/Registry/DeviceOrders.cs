using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Registry;

/// <summary>
/// An operator's order to a device's twin, read from its wire form and checked against the twin as it stands, waiting
/// for the word of the operators it names: the twin asks each of <see cref="Questions"/> at once and hands the answers,
/// in that order, to <see cref="DeviceOrders.Decide"/>.
/// </summary>
public abstract record PendingOrder(DeviceId Device, byte[] Wire)
{
    public abstract IReadOnlyList<GetOperator> Questions { get; }
}

/// <summary>
/// An endorsement waits for its endorser's key and roles, and for whether an operator holds the device's own id (the
/// two kinds of party stay apart everywhere, so a device never takes an operator's id).
/// </summary>
public sealed record PendingEndorsement(DeviceId Device, byte[] Wire, Signed<Endorsement> Order) : PendingOrder(Device, Wire)
{
    public override IReadOnlyList<GetOperator> Questions => [new GetOperator(Order.Payload.Operator), new GetOperator(new OperatorId(Device.Value))];
}

/// <summary>A revocation waits for the key of the operator that signed it.</summary>
public sealed record PendingRevocation(DeviceId Device, byte[] Wire, Signed<Revocation> Order) : PendingOrder(Device, Wire)
{
    public override IReadOnlyList<GetOperator> Questions => [new GetOperator(Order.Payload.Operator)];
}

/// <summary>A quarantine or release waits for the key and roles of the operator that signed it.</summary>
public sealed record PendingQuarantine(DeviceId Device, byte[] Wire, Signed<Quarantine> Order) : PendingOrder(Device, Wire)
{
    public override IReadOnlyList<GetOperator> Questions => [new GetOperator(Order.Payload.Operator)];
}

/// <summary>
/// An order as the twin read it: answered at once (<see cref="Answer"/>: the device as it stands when the order was
/// taken already, or a named refusal), or <see cref="Pending"/> the word of the operators it names.
/// </summary>
public sealed record OrderRead(object? Answer, PendingOrder? Pending)
{
    public static OrderRead Refused(ProtocolError error) => new(Refusal.From(error), null);

    /// <summary>What the checks that need no registry said: a refusal, the device's view (the order is taken already), or none, when <paramref name="pending"/> is to be looked up.</summary>
    public static OrderRead Of(Result<DeviceView?> check, PendingOrder pending) =>
        !check.IsOk ? Refused(check.Error) : check.Value is { } known ? new OrderRead(known, null) : new OrderRead(null, pending);
}

/// <summary>
/// A change of a device's standing that every node enforces on its own, without asking the twin, on every payment it
/// takes: it reaches every reachable node before the twin records it.
/// </summary>
public abstract record StandingChange(DeviceId Device)
{
    /// <summary>The device is revoked: every node refuses its key.</summary>
    public sealed record Revoked(DeviceId Device) : StandingChange(Device);

    /// <summary>The device is quarantined, or released when <paramref name="Quarantined"/> is false: every node refuses its payments, or takes them again.</summary>
    public sealed record Quarantine(DeviceId Device, bool Quarantined) : StandingChange(Device);
}

/// <summary>
/// An order the twin takes: the event it records, the change of the device's standing every reachable node must hold
/// before that event is recorded, and the alert the event raises once durable (neither when the device's standing
/// stays as it was).
/// </summary>
public sealed record OrderTaken(IEnergyMessage Event, StandingChange? Spread, Alert? Alert);

/// <summary>
/// How a device's twin takes an operator's order (an endorsement, a revocation, a quarantine or release), pure: it is
/// read and checked against the twin (<see cref="Read"/>), then decided once the operators it names answered
/// (<see cref="Decide"/>), which says what the twin records, what must reach every node first, and what it raises.
/// The rules themselves are <see cref="DeviceTwinRules"/>'.
/// </summary>
public static class DeviceOrders
{
    /// <summary>An order as it arrives: refused by name, answered with the device as it stands, or pending its operators' word.</summary>
    public static OrderRead Read(DeviceTwinState state, IDeviceCommand order, NetworkId network) => order switch
    {
        EndorseDevice endorse => ReadEndorsement(state, endorse),
        RevokeDevice revoke => ReadRevocation(state, revoke, network),
        QuarantineDevice quarantine => ReadQuarantine(state, quarantine, network),
        _ => throw new ArgumentOutOfRangeException(nameof(order), order, "not an operator's order to a device"),
    };

    /// <summary>
    /// An order once its operators answered, in the order of its <see cref="PendingOrder.Questions"/> (each null when
    /// it did not answer in time), decided on the twin's state as the answers find it: what the twin takes, or a named refusal.
    /// </summary>
    public static Result<OrderTaken> Decide(DeviceTwinState state, PendingOrder order, IReadOnlyList<object?> answers, NetworkId network,
        TimeSpan maxOrderAge, Timestamp now) => order switch
    {
        PendingEndorsement endorsement => Endorsed(endorsement, answers, network, now),
        PendingRevocation revocation => Revoked(revocation, answers, now),
        PendingQuarantine quarantine => Quarantined(state, quarantine, answers, maxOrderAge, now),
        _ => throw new ArgumentOutOfRangeException(nameof(order), order, "not an order a twin decides"),
    };

    private static OrderRead ReadEndorsement(DeviceTwinState state, EndorseDevice command)
    {
        var decoded = Signed<Endorsement>.Decode(command.Endorsement);
        if (!decoded.IsOk) return OrderRead.Refused(decoded.Error);
        return OrderRead.Of(DeviceTwinRules.CheckEndorsement(state, command.Device, decoded.Value), new PendingEndorsement(command.Device, command.Endorsement, decoded.Value));
    }

    private static OrderRead ReadRevocation(DeviceTwinState state, RevokeDevice command, NetworkId network)
    {
        var decoded = Signed<Revocation>.Decode(command.Revocation);
        if (!decoded.IsOk) return OrderRead.Refused(decoded.Error);
        return OrderRead.Of(DeviceTwinRules.CheckRevocation(state, command.Device, decoded.Value.Payload, network), new PendingRevocation(command.Device, command.Revocation, decoded.Value));
    }

    private static OrderRead ReadQuarantine(DeviceTwinState state, QuarantineDevice command, NetworkId network)
    {
        var decoded = Signed<Quarantine>.Decode(command.Order);
        if (!decoded.IsOk) return OrderRead.Refused(decoded.Error);
        if (DeviceTwinRules.CheckQuarantine(state, command.Device, decoded.Value.Payload, network) is { } refused) return OrderRead.Refused(refused);
        return new OrderRead(null, new PendingQuarantine(command.Device, command.Order, decoded.Value));
    }

    private static Result<OrderTaken> Endorsed(PendingEndorsement order, IReadOnlyList<object?> answers, NetworkId network, Timestamp now)
    {
        var endorsed = DeviceTwinRules.DecideEndorsement(order.Order, order.Wire, order.Device, network, answers[0], answers[1], now);
        return endorsed.IsOk ? new OrderTaken(endorsed.Value, null, null) : endorsed.Error;
    }

    private static Result<OrderTaken> Revoked(PendingRevocation order, IReadOnlyList<object?> answers, Timestamp now)
    {
        var revoked = DeviceTwinRules.DecideRevocation(order.Order, order.Wire, answers[0], now);
        if (!revoked.IsOk) return revoked.Error;
        var alert = new Alert($"revoked:{order.Device}", "revoked", order.Device, $"by {order.Order.Payload.Operator}", revoked.Value.At);
        return new OrderTaken(revoked.Value, new StandingChange.Revoked(order.Device), alert);
    }

    private static Result<OrderTaken> Quarantined(DeviceTwinState state, PendingQuarantine order, IReadOnlyList<object?> answers, TimeSpan maxOrderAge, Timestamp now)
    {
        var changed = DeviceTwinRules.DecideQuarantine(state, order.Order, order.Wire, answers[0], maxOrderAge, now);
        if (!changed.IsOk) return changed.Error;
        // An order that leaves the device's standing as it was is taken for its version alone: nothing to spread, nothing to raise.
        if (!DeviceTwinRules.Changes(state, changed.Value)) return new OrderTaken(changed.Value, null, null);
        var (payload, at) = (order.Order.Payload, changed.Value.At);
        var alert = new Alert($"quarantine:{order.Device}:{at.UnixMilliseconds}", payload.Quarantined ? "quarantined" : "released", order.Device, $"by {payload.Operator}", at);
        return new OrderTaken(changed.Value, new StandingChange.Quarantine(order.Device, payload.Quarantined), alert);
    }
}
