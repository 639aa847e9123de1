using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;
using Energy.Wire;
using System.Text.Json.Serialization;
using Energy.Lifecycles.Charging;

namespace Energy.Lifecycles.Tolls;

/// <summary>Where a toll pass stands. Each pass resolves once: paid, or one violation. The wire names are what devices and the HTTP API read.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PassStatus>))]
public enum PassStatus
{
    [JsonStringEnumMemberName("awaiting-payment")] AwaitingPayment,
    [JsonStringEnumMemberName("paid")] Paid,
    [JsonStringEnumMemberName("violation")] Violation,
}

public static class PassStatusNames
{
    public static string ToWire(this PassStatus status) => status switch
    {
        PassStatus.AwaitingPayment => "awaiting-payment",
        PassStatus.Paid => "paid",
        PassStatus.Violation => "violation",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "no wire name"),
    };
}

/// <summary>The names a violation's cause has in what the gantry is told: the cause's name in camel case.</summary>
public static class ViolationCauseNames
{
    public static string ToWire(this ViolationCause cause) => cause switch
    {
        ViolationCause.NoChannel => "noChannel",
        ViolationCause.DepositExhausted => "depositExhausted",
        ViolationCause.InvalidAnswer => "invalidAnswer",
        ViolationCause.Late => "late",
        _ => throw new ArgumentOutOfRangeException(nameof(cause), cause, "no wire name"),
    };
}

/// <summary>
/// How a vehicle's answer to a pass is taken: the open pass to decide on, or what the vehicle is told instead
/// (why it is refused, or the pass as it stands when it is resolved or being paid already).
/// </summary>
public readonly record struct PassAnswer(TollPassState? Pass, ProtocolError? Refused, PassView? Standing)
{
    /// <summary>What the vehicle is told instead of a decision: the refusal by name, or the pass as it stands; none when there is a pass to decide on.</summary>
    public object? Reply => Refused is { } refused ? Refusal.From(refused) : Standing;
}

/// <summary>
/// One vehicle's pass under a gantry, immutable: the signed request, what a voucher must name to pay it, the
/// channel a voucher for it was handed to (once that is durable), and how it resolved.
/// </summary>
public sealed record TollPassState(PassId Id, Signed<TollRequest> Request, Timestamp RecordedAt, PaymentPurpose Purpose)
{
    public ChannelId? Channel { get; init; }
    public PassStatus Status { get; init; } = PassStatus.AwaitingPayment;
    public long? PaidMinorUnits { get; init; }
    public ViolationCause? Violation { get; init; }

    public bool IsOpen => Status == PassStatus.AwaitingPayment;

    public TollRequest Payload => Request.Payload;

    public PassView View() => new(Id, Payload.Gantry, Payload.Vehicle, Payload.Price, Status, PaidMinorUnits, Violation);
}

/// <summary>
/// The rules of one toll pass, pure: each <c>Decide*</c> returns the event that resolves or advances the pass
/// (a payment handed to a channel, the pass paid, one violation), or a named error, and changes nothing;
/// <see cref="Evolve"/> is the only way a pass changes. Time comes only from the <c>now</c> passed in.
/// </summary>
public static class TollPasses
{
    /// <summary>The pass a <see cref="PassRecorded"/> names; its id is <c>{gantry}.{number}</c>, so a voucher can name it.</summary>
    public static TollPassState Recorded(PassRecorded recorded, Signed<TollRequest> request) =>
        new(recorded.Pass, request, recorded.At, recorded.Pass.Purpose);

    /// <summary>Refuses a vehicle that is not the pass's.</summary>
    public static ProtocolError? CheckVehicle(TollPassState pass, DeviceId vehicle) =>
        pass.Payload.Vehicle == vehicle ? null : new NotPassVehicle(pass.Id, vehicle);

    /// <summary>
    /// Whether a vehicle's payment or decline may be decided on the pass: it must know the pass, be its vehicle,
    /// and the pass must be open and not being paid already (a voucher of it is with the channel). A resolved pass
    /// answers with where it stands; one being paid refuses a second payment and answers a decline with where it stands.
    /// </summary>
    public static PassAnswer CheckAnswer(TollPassState? pass, PassId id, DeviceId vehicle, bool beingPaid, bool refuseWhileBeingPaid)
    {
        if (pass is null) return new PassAnswer(null, new PassNotFound(id), null);
        if (CheckVehicle(pass, vehicle) is { } refused) return new PassAnswer(null, refused, null);
        if (pass.IsOpen && !beingPaid) return new PassAnswer(pass, null, null);
        return pass.IsOpen && refuseWhileBeingPaid ? new PassAnswer(null, new PassBeingPaid(id), null) : new PassAnswer(null, null, pass.View());
    }

    /// <summary>
    /// A voucher for the pass: one that cannot be read, or that names anything but this pass, is a violation at
    /// once; otherwise which channel it is on is recorded before the channel sees it.
    /// </summary>
    public static IEnergyMessage DecidePayment(TollPassState pass, OperatorId tollOperator, Result<Signed<Voucher>> voucher, Timestamp now)
    {
        if (!voucher.IsOk) return Violate(pass, tollOperator, ViolationCause.InvalidAnswer, voucher.Error.Describe(), now);
        var payload = voucher.Value.Payload;
        if (payload.Purpose != pass.Purpose)
            return Violate(pass, tollOperator, ViolationCause.InvalidAnswer, $"the voucher pays for {payload.Purpose}, not for {pass.Purpose}", now);
        return new PassPaymentSubmitted(pass.Id, payload.ChannelId);
    }

    /// <summary>
    /// The channel's answer to the pass's voucher. What counts is what the vouchers naming this pass paid in all,
    /// never what the channel's cumulative grew by; a channel that does not pay the operator from the vehicle
    /// pays nothing.
    /// </summary>
    public static IEnergyMessage DecideAnswer(TollPassState pass, OperatorId tollOperator, Signed<Voucher> voucher, object? answer, Timestamp now)
    {
        var request = pass.Payload;
        switch (answer)
        {
            case VoucherAcknowledged ack when ack.Payee != PartyId.From(tollOperator) || ack.Payer != PartyId.From(request.Vehicle):
                return Violate(pass, tollOperator, ViolationCause.InvalidAnswer,
                    $"the voucher is on channel {ack.ChannelId}, which does not pay {tollOperator} from {request.Vehicle}", now);
            case VoucherAcknowledged ack when ack.Purpose != pass.Purpose || ack.PaidForPurpose is not { } sum || !Covers(sum, request.Price):
                return Violate(pass, tollOperator, ViolationCause.InvalidAnswer,
                    $"the vouchers for {pass.Purpose} add {ack.PaidForPurpose?.MinorUnits ?? 0}; the toll is {request.Price.MinorUnits}", now);
            case VoucherAcknowledged ack:
                return new PassPaid(pass.Id, voucher.ToArray(), ack.PaidForPurpose!.Value, now);
            case Refusal refusal:
                var cause = refusal.Error switch
                {
                    ChannelNotFound => ViolationCause.NoChannel,
                    AmountExceedsDeposit => ViolationCause.DepositExhausted,
                    _ => ViolationCause.InvalidAnswer,
                };
                return Violate(pass, tollOperator, cause, $"{refusal.Code}: {refusal.Message}", now);
            default:
                return Violate(pass, tollOperator, ViolationCause.InvalidAnswer, "the channel gave no answer", now);
        }
    }

    /// <summary>
    /// After a restart, what the channel says the vouchers naming the pass paid: the pass is paid when that
    /// covers the toll on a channel from the vehicle to the operator; otherwise its deadline decides.
    /// </summary>
    public static PassPaid? DecideFound(TollPassState pass, OperatorId tollOperator, object? answer, Timestamp now)
    {
        var request = pass.Payload;
        if (!pass.IsOpen || answer is not PurposePaid paid || paid.Purpose != pass.Purpose || paid.Payer != PartyId.From(request.Vehicle)
            || paid.Payee != PartyId.From(tollOperator) || !Covers(paid.Paid, request.Price)) return null;
        return new PassPaid(pass.Id, null, paid.Paid, now);
    }

    /// <summary>The vehicle says it cannot pay: one violation with the cause it gave, when it is one the network knows.</summary>
    public static ViolationRecorded DecideDecline(TollPassState pass, OperatorId tollOperator, string reason, Timestamp now)
    {
        return Violate(pass, tollOperator, DeclinedFor(reason), $"the vehicle declined: {reason}", now);
    }

    /// <summary>The cause a vehicle's reason to decline is recorded as: the reasons of the wire contract, any other an invalid answer.</summary>
    public static ViolationCause DeclinedFor(string reason) => reason switch
    {
        TollDeclineReasons.NoChannel => ViolationCause.NoChannel,
        TollDeclineReasons.DepositExhausted => ViolationCause.DepositExhausted,
        _ => ViolationCause.InvalidAnswer,
    };

    /// <summary>What the operator's toll office is given once a pass resolves: the violation to file; none when the pass was paid.</summary>
    public static FileViolation? ToFile(IEnergyMessage resolution) =>
        resolution is ViolationRecorded { Violation: var violation } ? new FileViolation(violation.Operator, violation) : null;

    /// <summary>What the channel a pass's voucher was handed to is asked after a restart: what the vouchers naming the pass paid on it.</summary>
    public static GetPurposePaid PaidToAsk(TollPassState pass) =>
        new(pass.Channel ?? throw new ArgumentException($"no voucher of {pass.Id} was handed to a channel", nameof(pass)), pass.Purpose);

    /// <summary>The pass a resolution resolves: the one paid, or the one a violation is recorded for.</summary>
    public static PassId PassOf(IEnergyMessage resolution) => resolution switch
    {
        PassPaid paid => paid.Pass,
        ViolationRecorded recorded => recorded.Violation.Pass,
        _ => throw new ArgumentException($"{resolution.GetType().Name} resolves no pass", nameof(resolution)),
    };

    /// <summary>A pass not paid within the answer time is late: one violation.</summary>
    public static ViolationRecorded? DecideLate(TollPassState pass, OperatorId tollOperator, long answerTimeoutMs, Timestamp now) =>
        pass.IsOpen && now.UnixMilliseconds - pass.RecordedAt.UnixMilliseconds > answerTimeoutMs
            ? Violate(pass, tollOperator, ViolationCause.Late, $"no valid payment within {answerTimeoutMs} ms", now)
            : null;

    private static bool Covers(Money paid, Money price) => paid.Currency == price.Currency && paid >= price;

    private static ViolationRecorded Violate(TollPassState pass, OperatorId tollOperator, ViolationCause cause, string detail, Timestamp now)
    {
        var request = pass.Payload;
        return new ViolationRecorded(new TollViolation($"{pass.Id}.v", pass.Id, request.Gantry, request.Vehicle, tollOperator, request.Segment,
            request.Price, cause, detail, request.Time, now));
    }

    /// <summary>What the gantry is told once a pass resolves: confirmed with what was paid, or the violation's cause; none for anything else.</summary>
    public static DeviceEvent? Notice(TollPassState pass, IEnergyMessage resolution)
    {
        var request = pass.Payload;
        return resolution switch
        {
            PassPaid paid => DeviceEvents.Of(request.Gantry, new TollConfirmedEvent(pass.Id, request.Vehicle, paid.Paid.MinorUnits, request.Time.UnixMilliseconds)),
            ViolationRecorded { Violation: var v } => DeviceEvents.Of(request.Gantry, new TollViolationEvent(pass.Id, request.Vehicle, v.Cause.ToWire(), v.Detail)),
            _ => null,
        };
    }

    /// <summary>
    /// What follows once <paramref name="resolution"/> of <paramref name="resolved"/> (the pass as it resolved) is durable,
    /// in order: the operators' feed shows it, whoever answered hears how the pass stands (when someone did:
    /// <paramref name="answered"/>), the gantry is told (<see cref="Notice"/>), and a violation is filed with the
    /// operator's toll office (<see cref="ToFile"/>).
    /// </summary>
    public static Effect[] Resolved(TollPassState resolved, IEnergyMessage resolution, bool answered)
    {
        var (notice, filing) = (Notice(resolved, resolution), ToFile(resolution));
        var effects = new Effect[1 + (answered ? 1 : 0) + (notice is null ? 0 : 1) + (filing is null ? 0 : 1)];
        var next = 0;
        effects[next++] = Effect.Publish(resolution, resolved);
        if (answered) effects[next++] = Effect.Reply(resolved.View());
        if (notice is not null) effects[next++] = Effect.Push(notice);
        if (filing is not null) effects[next] = Effect.Tell(Peer.TollOffices, filing);
        return effects;
    }

    /// <summary>The one way a pass changes, live and in recovery alike. A resolved pass never changes again.</summary>
    public static TollPassState Evolve(TollPassState pass, IEnergyMessage e) => e switch
    {
        PassPaymentSubmitted s when s.Pass == pass.Id => pass with { Channel = s.Channel },
        PassPaid p when p.Pass == pass.Id && pass.IsOpen => pass with { Status = PassStatus.Paid, PaidMinorUnits = p.Paid.MinorUnits },
        ViolationRecorded v when v.Violation.Pass == pass.Id && pass.IsOpen => pass with { Status = PassStatus.Violation, Violation = v.Violation.Cause },
        _ => pass,
    };
}

/// <summary>
/// The price a gantry asks and the one it asked before a change. A request signed at the old price shortly
/// after a change is still taken: the gantry may have signed it before it heard of the change.
/// </summary>
public readonly record struct TollPricing(Money? Current, Money? Previous, Timestamp ChangedAt)
{
    public const long PriceChangeGraceMs = 5_000;

    /// <summary>The pricing at <paramref name="now"/>, and whether the price changed.</summary>
    public (TollPricing Pricing, bool Changed) Next(GantryTariff tariff, Timestamp now, int vehiclesInZone)
    {
        var price = GantryTariffs.PriceAt(tariff, now, vehiclesInZone);
        return price == Current ? (this, false) : (new TollPricing(price, Current, now), true);
    }

    public bool Accepts(Money price, Timestamp now) =>
        price == Current || (Previous is not null && price == Previous && now.UnixMilliseconds - ChangedAt.UnixMilliseconds <= PriceChangeGraceMs);
}
