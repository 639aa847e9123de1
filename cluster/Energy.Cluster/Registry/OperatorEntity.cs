using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Registry;

/// <summary>An admitted operator: its newest admission and, for a settlement bank, what it has issued.</summary>
public sealed record OperatorState(Admission? Admission, Timestamp AdmittedAt, long IssuedMinorUnits, ImmutableDictionary<string, long> Issuances)
{
    public const int MaxIssuanceRecords = 1_000_000;

    public static readonly OperatorState Empty = new(null, default, 0, ImmutableDictionary<string, long>.Empty.WithComparers(StringComparer.Ordinal));

    public OperatorView? View() => Admission is null
        ? null
        : new OperatorView(Admission.Operator, Admission.Roles, Admission.OperatorKey.Hex, Admission.Version, Admission.IssuanceLimit, IssuedMinorUnits, AdmittedAt);
}

/// <summary>The rules of an operator's membership, pure: state and command in, an event or a named error out.</summary>
public static class OperatorRules
{
    public static Result<Admission> DecideAdmission(OperatorState state, OperatorId id, AuthorityApproved<Admission> approved, EnergySettings settings)
    {
        if (settings.Authority is null) return new NotPermitted("this node", "admit operators", "it has no network authority configured");
        var verified = settings.Authority.Verify(approved, settings.Network);
        if (!verified.IsOk) return verified.Error;
        var admission = verified.Value;
        if (admission.Operator != id) return new AdmissionMismatch(id, admission.Operator);
        if (admission.IssuanceLimit.Currency != settings.Currency) return new CurrencyMismatch(settings.Currency, admission.IssuanceLimit.Currency);
        var current = state.Admission;
        if (current is null) return admission;
        if (admission.Version < current.Version) return new AdmissionSuperseded(id, admission.Version, current.Version);
        if (admission.Version == current.Version)
            return admission == current ? admission : new AdmissionVersionReused(id, admission.Version);
        return admission;
    }

    public static Result<IssuanceRecorded> DecideIssuance(OperatorState state, ReserveIssuance command)
    {
        var admission = state.Admission;
        if (admission is null) return new OperatorNotFound(command.Operator);
        if (!admission.Has(OperatorRoles.SettlementBank)) return new NotASettlementBank(command.Operator);
        if (command.Amount.Currency != admission.IssuanceLimit.Currency) return new CurrencyMismatch(admission.IssuanceLimit.Currency, command.Amount.Currency);
        if (command.Amount.MinorUnits <= 0) return new ZeroAmount(ChannelId.None, "amount");
        if (state.Issuances.TryGetValue(command.RequestId, out var earlier))
            return earlier == command.Amount.MinorUnits
                ? new IssuanceRecorded(command.RequestId, earlier)
                : new Ledger.RequestIdReused(command.RequestId, $"was an issuance of {earlier}");
        var limit = admission.IssuanceLimit.MinorUnits;
        if (command.Amount.MinorUnits > limit - state.IssuedMinorUnits)
            return new IssuanceLimitExceeded(command.Operator, limit, state.IssuedMinorUnits, command.Amount.MinorUnits);
        if (state.Issuances.Count >= OperatorState.MaxIssuanceRecords)
            return new IssuanceLimitExceeded(command.Operator, limit, state.IssuedMinorUnits, command.Amount.MinorUnits);
        return new IssuanceRecorded(command.RequestId, command.Amount.MinorUnits);
    }

    public static OperatorState Evolve(OperatorState state, object @event) => @event switch
    {
        OperatorAdmitted e => state with
        {
            Admission = AuthorityApproved<Admission>.Decode(e.Admission).Unwrap().Payload,
            AdmittedAt = e.At,
        },
        IssuanceRecorded e when !state.Issuances.ContainsKey(e.RequestId) => state with
        {
            IssuedMinorUnits = state.IssuedMinorUnits + e.AmountMinorUnits,
            Issuances = state.Issuances.Add(e.RequestId, e.AmountMinorUnits),
        },
        _ => state,
    };
}

/// <summary>
/// An operator: it exists only through an admission signed by the network authority. A higher version
/// replaces the admission (key rotation, changed roles). A settlement bank's issuance is counted here, so
/// the limit holds across every ledger shard.
/// </summary>
public sealed class OperatorEntity : ReceivePersistentActor
{
    private readonly string _id;
    private OperatorState _state = OperatorState.Empty;

    public OperatorEntity(string id, EnergySettings settings, IActorRef devices)
    {
        _id = id;
        Recover<OperatorAdmitted>(e => _state = OperatorRules.Evolve(_state, e));
        Recover<IssuanceRecorded>(e => _state = OperatorRules.Evolve(_state, e));

        CommandAsync<AdmitOperator>(async command =>
        {
            var sender = Sender;
            var decoded = AuthorityApproved<Admission>.Decode(command.Admission);
            if (!decoded.IsOk) { sender.Tell(Refusal.From(decoded.Error)); return; }
            var decided = OperatorRules.DecideAdmission(_state, command.Operator, decoded.Value, settings);
            if (!decided.IsOk) { sender.Tell(Refusal.From(decided.Error)); return; }
            if (_state.Admission == decided.Value) { sender.Tell(_state.View()); return; }
            // An operator never takes the id of a device: the two kinds of party stay apart everywhere.
            if (_state.Admission is null && await DeviceExistsAsync(devices, command.Operator, settings.AskTimeout))
            {
                sender.Tell(Refusal.From(new PartyKindConflict(command.Operator.Value, PartyKind.Device)));
                return;
            }
            Persist(new OperatorAdmitted(command.Admission, settings.Clock.Now), e =>
            {
                _state = OperatorRules.Evolve(_state, e);
                sender.Tell(_state.View());
            });
        });
        Command<ReserveIssuance>(command =>
        {
            var decided = OperatorRules.DecideIssuance(_state, command);
            if (!decided.IsOk) { Sender.Tell(Refusal.From(decided.Error)); return; }
            if (_state.Issuances.ContainsKey(command.RequestId)) { Sender.Tell(Reserved(command)); return; }
            var sender = Sender;
            Persist(decided.Value, e =>
            {
                _state = OperatorRules.Evolve(_state, e);
                sender.Tell(Reserved(command));
            });
        });
        Command<GetOperator>(command => Sender.Tell(_state.View() is { } view ? view : Refusal.From(new OperatorNotFound(command.Operator))));
    }

    public override string PersistenceId => "operator-" + _id;

    private IssuanceReserved Reserved(ReserveIssuance command) => new(command.Operator, command.RequestId, command.Amount, _state.IssuedMinorUnits);

    private static async Task<bool> DeviceExistsAsync(IActorRef devices, OperatorId id, TimeSpan timeout)
    {
        try { return await devices.Ask<object>(new GetDevice(new DeviceId(id.Value)) /* the same name as a device */, timeout) is DeviceView; }
        catch (AskTimeoutException) { return true; } // Unsure is refused: the id may be a device's.
    }

    public static Props Props(string id, EnergySettings settings, IActorRef devices) =>
        Akka.Actor.Props.Create(() => new OperatorEntity(id, settings, devices));
}
