using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>
/// How a device's twin takes operators' orders, called directly: random scripts of endorsements, revocations and
/// quarantine orders, signed by the operator they name or forged, given by the device's own operator, a grid operator
/// or a toll operator, stale, off the clock, unanswered by the registry, and replays of earlier orders byte for byte,
/// each read and decided as the twin does and checked against a small model of the rules.
/// </summary>
public sealed class DeviceOrderProperties
{
    private static readonly NetworkId Network = TestParties.Network;
    private static readonly OperatorId Fleet = OperatorId.Of("fleet-o");
    private static readonly OperatorId Grid = OperatorId.Of("grid-o");
    private static readonly OperatorId Toll = OperatorId.Of("toll-o");
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-o");
    private static readonly DeviceKeyPair FleetKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair GridKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair TollKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair ForgedKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair VehicleKey = DeviceKeyPair.Generate();
    private static readonly Timestamp Start = new(1_800_000_000_000);
    private static readonly TimeSpan MaxOrderAge = TimeSpan.FromMinutes(10);
    private const long MaxOrderAgeMs = 600_000;

    public enum OrderKind { Endorse, EndorseAsGantry, Revoke, Quarantine, Release, Replay }

    /// <summary>
    /// One order: who it names, whether the named operator's key signed it (else another key did), its version step
    /// over the last taken and how far its time is from now (quarantines only), whether the registry answered in
    /// time, which earlier order a replay sends again, and how long after the last order it arrives.
    /// </summary>
    public sealed record Step(OrderKind Kind, OperatorId By, bool Forged, int VersionStep, long SkewMs, bool Unanswered, int Earlier, int AfterMs);

    /// <summary>The device's own operator endorses it as a vehicle, and the registry answers in time.</summary>
    private static readonly Step FirstEndorsement = new(OrderKind.Endorse, Fleet, Forged: false, VersionStep: 1, SkewMs: 0, Unanswered: false, Earlier: 0, AfterMs: 0);

    private static readonly Gen<Step> Steps =
        from kind in Gen.Frequency((3, Gen.Constant(OrderKind.Endorse)), (1, Gen.Constant(OrderKind.EndorseAsGantry)), (2, Gen.Constant(OrderKind.Revoke)),
            (3, Gen.Constant(OrderKind.Quarantine)), (3, Gen.Constant(OrderKind.Release)), (2, Gen.Constant(OrderKind.Replay)))
        from issuer in Gen.Frequency((4, Gen.Constant(Fleet)), (2, Gen.Constant(Grid)), (1, Gen.Constant(Toll)))
        from forged in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
        from versionStep in Gen.Choose(-1, 2)
        from skewMs in Gen.Frequency((6, Gen.Choose(-60_000, 60_000).Select(s => (long)s)), (1, Gen.Constant(MaxOrderAgeMs + 1)), (1, Gen.Constant(-MaxOrderAgeMs - 1)))
        from unanswered in Gen.Frequency((8, Gen.Constant(false)), (1, Gen.Constant(true)))
        from earlier in Gen.Choose(0, 40)
        from afterMs in Gen.Choose(0, 120_000)
        select new Step(kind, issuer, forged, versionStep, skewMs, unanswered, earlier, afterMs);

    /// <summary>
    /// Scripts open with an endorsement, most often one the device's own operator signed and the registry answered, but
    /// also a forged one, one for a kind of device the operator may not endorse, or one the registry did not answer.
    /// </summary>
    private static readonly Arbitrary<IReadOnlyList<Step>> Scripts =
        (from first in Steps
         from rest in Gen.ListOf(Steps)
         let opening = first with { Kind = first.Kind == OrderKind.EndorseAsGantry ? OrderKind.EndorseAsGantry : OrderKind.Endorse }
         select (IReadOnlyList<Step>)[opening, .. rest]).ToArbitrary();

    /// <summary>What the model says of an order: taken, answered with the device as it stands, or refused with this kind of error.</summary>
    public sealed record Expected(bool Taken, bool Known, Type? Refusal);

    /// <summary>
    /// One order as the twin handled it: the command sent (a replay sends an earlier one again, byte for byte), whether
    /// that command was taken before, what the model expected, and what happened.
    /// </summary>
    public sealed record Handled(Step Step, IDeviceCommand Command, bool TakenBefore, DeviceTwinState Before, DeviceTwinState After,
        Expected Expected, OrderRead Read, IReadOnlyList<object?>? Answers, Result<OrderTaken>? Decided);

    /// <summary>The twin's state as the model keeps it: the endorsement taken (its wire form), revoked or not, quarantined or not, the last version taken.</summary>
    private sealed record Model(byte[]? Endorsement, bool Revoked, bool Quarantined, ulong Version);

    private static OperatorView ViewOf(OperatorId id) =>
        new(id, id == Fleet ? OperatorRoles.FleetOwner : id == Grid ? OperatorRoles.GridOperator : OperatorRoles.TollOperator,
            KeyOf(id).PublicKey.Hex, 1, new Money(0, Currency.Eur), 0, Start);

    private static DeviceKeyPair KeyOf(OperatorId id) => id == Fleet ? FleetKey : id == Grid ? GridKey : TollKey;

    /// <summary>The registry as the twin asks it: each admitted operator answers with its view; any other id (the device's own) is no operator.</summary>
    private static object? Answer(GetOperator question, bool unanswered) =>
        unanswered ? null : question.Operator == Fleet || question.Operator == Grid || question.Operator == Toll
            ? ViewOf(question.Operator)
            : Refusal.From(new OperatorNotFound(question.Operator));

    private static IDeviceCommand Command(Step step, Timestamp now, ulong lastVersion)
    {
        var key = step.Forged ? ForgedKey : KeyOf(step.By);
        return step.Kind switch
        {
            OrderKind.Endorse or OrderKind.EndorseAsGantry => new EndorseDevice(Vehicle, Signed<Endorsement>.Sign(
                new Endorsement(Network, Fleet, Vehicle, step.Kind == OrderKind.Endorse ? DeviceRole.Vehicle : DeviceRole.Gantry, VehicleKey.PublicKey),
                step.Forged ? ForgedKey : FleetKey).ToArray()),
            OrderKind.Revoke => new RevokeDevice(Vehicle, Signed<Revocation>.Sign(new Revocation(Network, step.By, Vehicle, now), key).ToArray()),
            _ => new QuarantineDevice(Vehicle, Signed<Quarantine>.Sign(new Quarantine(Network, step.By, Vehicle, step.Kind == OrderKind.Quarantine,
                (ulong)Math.Max(0, (long)lastVersion + step.VersionStep), new Timestamp(now.UnixMilliseconds + step.SkewMs)), key).ToArray()),
        };
    }

    /// <summary>The rules, as the model states them, for an order at <paramref name="now"/>; the model after it when it is taken.</summary>
    private static (Expected Expected, Model Next) Expect(Model model, IDeviceCommand command, bool unanswered, Timestamp now)
    {
        static (Expected, Model) Refused<TError>(Model model) where TError : ProtocolError => (new Expected(false, false, typeof(TError)), model);
        var known = (new Expected(false, true, null), model);
        switch (command)
        {
            case EndorseDevice endorse:
                var endorsement = Signed<Endorsement>.Decode(endorse.Endorsement).Value;
                if (model.Revoked) return Refused<DeviceIsRevoked>(model);
                if (model.Endorsement is { } taken) return taken.AsSpan().SequenceEqual(endorse.Endorsement) ? known : Refused<DeviceAlreadyEndorsed>(model);
                if (unanswered) return Refused<OperatorNotFound>(model);
                if (endorsement.Payload.Role != DeviceRole.Vehicle) return Refused<RoleNotHeld>(model);
                if (!endorsement.IsSignedBy(FleetKey.PublicKey)) return Refused<InvalidSignature>(model);
                return (new Expected(true, false, null), model with { Endorsement = endorse.Endorsement });
            case RevokeDevice revoke:
                var revocation = Signed<Revocation>.Decode(revoke.Revocation).Value;
                if (model.Endorsement is null) return Refused<DeviceNotFound>(model);
                if (revocation.Payload.Operator != Fleet) return Refused<EndorsementMismatch>(model);
                if (model.Revoked) return known;
                if (unanswered) return Refused<OperatorNotFound>(model);
                if (!revocation.IsSignedBy(FleetKey.PublicKey)) return Refused<InvalidSignature>(model);
                return (new Expected(true, false, null), model with { Revoked = true });
            case QuarantineDevice quarantine:
                var order = Signed<Quarantine>.Decode(quarantine.Order).Value;
                if (model.Endorsement is null) return Refused<DeviceNotFound>(model);
                if (unanswered) return Refused<OperatorNotFound>(model);
                if (order.Payload.Operator == Toll) return Refused<NotPermitted>(model);
                if (!order.IsSignedBy(KeyOf(order.Payload.Operator).PublicKey)) return Refused<InvalidSignature>(model);
                if (order.Payload.Version <= model.Version || Math.Abs(now.UnixMilliseconds - order.Payload.At.UnixMilliseconds) > MaxOrderAgeMs)
                    return Refused<StaleOrder>(model);
                return (new Expected(true, false, null), model with { Quarantined = order.Payload.Quarantined, Version = order.Payload.Version });
            default:
                throw new ArgumentOutOfRangeException(nameof(command), command, "not an order");
        }
    }

    /// <summary>Plays a script as the twin does: each order is read; one pending is decided on the registry's answers and, when taken, evolves the twin.</summary>
    public static IReadOnlyList<Handled> Play(IReadOnlyList<Step> steps)
    {
        var (state, model, now) = (DeviceTwinState.Empty, new Model(null, false, false, 0), Start);
        var sent = new List<IDeviceCommand>();
        var taken = new HashSet<IDeviceCommand>(ReferenceEqualityComparer.Instance);
        var handled = new List<Handled>();
        foreach (var step in steps)
        {
            now = new Timestamp(now.UnixMilliseconds + step.AfterMs);
            var command = step.Kind == OrderKind.Replay ? sent[step.Earlier % sent.Count] : Command(step, now, model.Version);
            sent.Add(command);
            var (expected, next) = Expect(model, command, step.Unanswered, now);
            var read = DeviceOrders.Read(state, command, Network);
            var answers = read.Pending?.Questions.Select(question => Answer(question, step.Unanswered)).ToList();
            Result<OrderTaken>? decided = read.Pending is { } pending ? DeviceOrders.Decide(state, pending, answers!, Network, MaxOrderAge, now) : (Result<OrderTaken>?)null;
            var (before, takenBefore) = (state, taken.Contains(command));
            if (decided is { IsOk: true } accepted)
            {
                state = DeviceTwinRules.Evolve(state, accepted.Value.Event);
                taken.Add(command);
            }
            handled.Add(new Handled(step, command, takenBefore, before, state, expected, read, answers, decided));
            model = next;
        }
        return handled;
    }

    [Property(MaxTest = 100)]
    public Property An_order_is_taken_only_when_signed_by_the_admitted_key_of_an_operator_allowed_to_give_it() =>
        Prop.ForAll(Scripts, steps =>
        {
            foreach (var order in Play(steps))
            {
                var refusal = order.Decided is { IsOk: false } refused ? refused.Error : (order.Read.Answer as Refusal)?.Error;
                Assert.Equal(order.Expected, new Expected(order.Decided is { IsOk: true }, order.Read.Pending is null && refusal is null, refusal?.GetType()));
                // Nothing refused, and nothing answered at once, changes the twin.
                if (order.Decided is not { IsOk: true }) Assert.Same(order.Before, order.After);
            }
        });

    [Property(MaxTest = 100)]
    public Property An_order_answered_at_once_is_answered_with_the_device_as_it_stands_and_one_pending_asks_the_operators_it_names() =>
        Prop.ForAll(Scripts, steps =>
        {
            foreach (var order in Play(steps))
            {
                if (order.Read.Pending is not { } pending)
                {
                    Assert.True(order.Read.Answer is Refusal || Equals(order.Before.View(), order.Read.Answer), $"answered {order.Read.Answer}");
                    continue;
                }
                Assert.Null(order.Read.Answer);
                Assert.Equal(Signer(order.Command), pending.Questions[0].Operator);
                // An endorsement also asks whether an operator holds the device's own id.
                if (order.Command is EndorseDevice) Assert.Equal([Signer(order.Command), OperatorId.Of(Vehicle.Value)], pending.Questions.Select(q => q.Operator));
                else Assert.Single(pending.Questions);
            }
        });

    [Property(MaxTest = 100)]
    public Property A_replayed_order_is_never_taken_twice() =>
        Prop.ForAll(Scripts, steps =>
        {
            // An endorsement or a revocation again is answered with the device as it stands; a quarantine order again is stale.
            foreach (var replay in Play(steps).Where(o => o.TakenBefore))
                Assert.False(replay.Decided is { IsOk: true }, $"{replay.Command.GetType().Name} taken again");
        });

    [Property(MaxTest = 100)]
    public Property A_change_of_standing_reaches_every_node_before_it_is_recorded_and_raises_one_alert_and_an_order_changing_nothing_does_neither() =>
        Prop.ForAll(Scripts, steps =>
        {
            foreach (var order in Play(steps).Where(o => o.Decided is { IsOk: true }))
            {
                var taken = order.Decided!.Value.Value;
                var revokedNow = order.Before.RevokedAt is null && order.After.RevokedAt is not null;
                var quarantineChanged = order.Before.Quarantined != order.After.Quarantined;
                StandingChange? expected = revokedNow ? new StandingChange.Revoked(Vehicle)
                    : quarantineChanged ? new StandingChange.Quarantine(Vehicle, order.After.Quarantined) : null;
                Assert.Equal(expected, taken.Spread);
                Assert.Equal(expected is not null, taken.Alert is not null);
                if (taken.Alert is not { } alert) continue;
                var kind = revokedNow ? "revoked" : order.After.Quarantined ? "quarantined" : "released";
                Assert.Equal((kind, Vehicle, $"by {Signer(order.Command)}"), (alert.Kind, alert.Device, alert.Detail));
            }
        });

    [Fact]
    public void A_revoked_device_is_reached_nowhere_and_a_device_never_endorsed_is_not_found()
    {
        Assert.Equal(Refusal.From(new DeviceNotFound(Vehicle)), DeviceTwinRules.Get(DeviceTwinState.Empty, Vehicle));
        var endorsed = Play([FirstEndorsement])[0].After;
        Assert.Equal(endorsed.View(), DeviceTwinRules.Get(endorsed, Vehicle));
        Assert.Equal(new DeviceConnection(Vehicle, "gateway/1"), DeviceTwinRules.ConnectionOf(Vehicle, endorsed.RevokedAt is not null, "gateway/1"));
        Assert.Equal(new DeviceConnection(Vehicle, null), DeviceTwinRules.ConnectionOf(Vehicle, endorsed.RevokedAt is not null, null));
        var revoked = Play([FirstEndorsement, FirstEndorsement with { Kind = OrderKind.Revoke }])[1].After;
        Assert.NotNull(revoked.RevokedAt);
        Assert.Equal(new DeviceConnection(Vehicle, null), DeviceTwinRules.ConnectionOf(Vehicle, revoked.RevokedAt is not null, "gateway/1"));
    }

    private static OperatorId Signer(IDeviceCommand command) => command switch
    {
        EndorseDevice e => Signed<Endorsement>.Decode(e.Endorsement).Value.Payload.Operator,
        RevokeDevice r => Signed<Revocation>.Decode(r.Revocation).Value.Payload.Operator,
        QuarantineDevice q => Signed<Quarantine>.Decode(q.Order).Value.Payload.Operator,
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not an order"),
    };
}
