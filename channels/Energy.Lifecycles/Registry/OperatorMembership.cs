using System.Collections.Immutable;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;

namespace Energy.Lifecycles.Registry;

/// <summary>A dashboard key the operator endorsed: until when, and under which of its admissions.</summary>
public sealed record ViewerKeyRecord(string KeyHex, Timestamp ExpiresAt, ulong AdmissionVersion);

/// <summary>An admitted operator: its newest admission, its live viewer keys and, for a settlement bank, what it has issued.</summary>
public sealed record OperatorState(
    Admission? Admission,
    Timestamp AdmittedAt,
    long IssuedMinorUnits,
    ImmutableDictionary<string, long> Issuances,
    ImmutableDictionary<string, ViewerKeyRecord> ViewerKeys)
{
    public const int MaxIssuanceRecords = 1_000_000;

    /// <summary>Live viewer keys per operator, at most: each browser the operator signs in from holds one.</summary>
    public const int MaxViewerKeys = 16;

    /// <summary>How long a viewer key may live: the operator endorses it again to keep it longer.</summary>
    public static readonly DurationMs MaxViewerKeyLifetime = DurationMs.FromMinutes(90 * 24 * 60);

    public static readonly OperatorState Empty = new(null, default, 0, ImmutableDictionary<string, long>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableDictionary<string, ViewerKeyRecord>.Empty.WithComparers(StringComparer.Ordinal));

    public OperatorView? View() => Admission is null
        ? null
        : new OperatorView(Admission.Operator, Admission.Roles, Admission.OperatorKey.Hex, Admission.Version, Admission.IssuanceLimit, IssuedMinorUnits, AdmittedAt);

    public ViewerKeyView ViewOf(ViewerKeyRecord key) => new(Admission!.Operator, key.KeyHex, key.ExpiresAt, key.AdmissionVersion);

    /// <summary>Whether this endorsement is already held as it stands (the same key, expiry and admission): taking it again changes nothing.</summary>
    public bool Holds(ViewerKeyEndorsed endorsed)
    {
        var key = Signed<ViewerKey>.Decode(endorsed.Endorsement).Unwrap().Payload;
        return ViewerKeys.TryGetValue(key.Key.Hex, out var held) && held.ExpiresAt == key.ExpiresAt && held.AdmissionVersion == endorsed.AdmissionVersion;
    }
}

/// <summary>The rules of an operator's membership, pure: state and command in, an event or a named error out.</summary>
public static class OperatorRules
{
    /// <summary>
    /// An admission the network authority approved, for this operator and the network's currency; a lower version
    /// than the one held is superseded, the same version is taken again only as it stands. A node without the
    /// authority's key (<paramref name="authority"/> null) admits no one.
    /// </summary>
    public static Result<Admission> DecideAdmission(OperatorState state, OperatorId id, AuthorityApproved<Admission> approved, NetworkAuthority? authority,
        NetworkId network, Currency currency)
    {
        if (authority is null) return new NotPermitted("this node", "admit operators", "it has no network authority configured");
        var verified = authority.Verify(approved, network);
        if (!verified.IsOk) return verified.Error;
        var admission = verified.Value;
        if (admission.Operator != id) return new AdmissionMismatch(id, admission.Operator);
        if (admission.IssuanceLimit.Currency != currency) return new CurrencyMismatch(currency, admission.IssuanceLimit.Currency);
        var current = state.Admission;
        if (current is null) return admission;
        if (admission.Version < current.Version) return new AdmissionSuperseded(id, admission.Version, current.Version);
        if (admission.Version == current.Version)
            return admission == current ? admission : new AdmissionVersionReused(id, admission.Version);
        return admission;
    }

    /// <summary>
    /// An operator never takes the id of a device: the two kinds of party stay apart everywhere. The registry's
    /// answer about a device of the same name is a conflict when it names one, and when none came in time (unsure
    /// is refused: the id may be a device's).
    /// </summary>
    public static PartyKindConflict? CheckNotADevice(OperatorId id, object? deviceAnswer) =>
        deviceAnswer is null or DeviceView ? new PartyKindConflict(id.Value, PartyKind.Device) : null;

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
                : new RequestIdReused(command.RequestId, $"was an issuance of {earlier}");
        var limit = admission.IssuanceLimit.MinorUnits;
        if (command.Amount.MinorUnits > limit - state.IssuedMinorUnits)
            return new IssuanceLimitExceeded(command.Operator, limit, state.IssuedMinorUnits, command.Amount.MinorUnits);
        if (state.Issuances.Count >= OperatorState.MaxIssuanceRecords)
            return new IssuanceLimitExceeded(command.Operator, limit, state.IssuedMinorUnits, command.Amount.MinorUnits);
        return new IssuanceRecorded(command.RequestId, command.Amount.MinorUnits);
    }

    /// <summary>
    /// A viewer key the operator signed with its current key: for this network, not the operator key itself, not
    /// expired, living at most <see cref="OperatorState.MaxViewerKeyLifetime"/>, and at most
    /// <see cref="OperatorState.MaxViewerKeys"/> live at once (the same key again renews it and counts once).
    /// </summary>
    public static Result<ViewerKeyEndorsed> DecideViewerKey(OperatorState state, OperatorId id, Signed<ViewerKey> signed, NetworkId network, Timestamp now)
    {
        var admission = state.Admission;
        if (admission is null) return new OperatorNotFound(id);
        var key = signed.Payload;
        if (key.Operator != id) return new OperatorIdMismatch(id, key.Operator, "viewer key");
        if (key.Network != network) return new WrongNetwork(ChannelId.None, network, key.Network);
        if (!signed.IsSignedBy(admission.OperatorKey)) return new InvalidSignature(ChannelId.None, ObjectKind.ViewerKey, id.Value);
        if (key.Key.Hex == admission.OperatorKey.Hex) return new ViewerKeyIsOperatorKey(id);
        if (key.ExpiresAt <= now) return new ViewerKeyExpired(id, key.Key.Hex, key.ExpiresAt, now);
        if (key.ExpiresAt.UnixMilliseconds - now.UnixMilliseconds > OperatorState.MaxViewerKeyLifetime.Milliseconds)
            return new ViewerKeyLifetimeTooLong(id, key.ExpiresAt, OperatorState.MaxViewerKeyLifetime);
        var others = Live(state.ViewerKeys, now, admission.Version).Count(k => k.KeyHex != key.Key.Hex);
        if (others >= OperatorState.MaxViewerKeys) return new TooManyViewerKeys(id, OperatorState.MaxViewerKeys);
        return new ViewerKeyEndorsed(signed.ToArray(), admission.Version, now);
    }

    /// <summary>The viewer key, if it is live now: endorsed under the operator's current admission and not expired.</summary>
    public static Result<ViewerKeyRecord> LiveViewerKey(OperatorState state, OperatorId id, string keyHex, Timestamp now)
    {
        var admission = state.Admission;
        if (admission is null) return new OperatorNotFound(id);
        if (!state.ViewerKeys.TryGetValue(keyHex, out var key) || key.AdmissionVersion != admission.Version) return new ViewerKeyUnknown(id, keyHex);
        if (key.ExpiresAt <= now) return new ViewerKeyExpired(id, keyHex, key.ExpiresAt, now);
        return key;
    }

    public static OperatorState Evolve(OperatorState state, object @event) => @event switch
    {
        OperatorAdmitted e => Admitted(state, AuthorityApproved<Admission>.Decode(e.Admission).Unwrap().Payload, e.At),
        IssuanceRecorded e when !state.Issuances.ContainsKey(e.RequestId) => state with
        {
            IssuedMinorUnits = state.IssuedMinorUnits + e.AmountMinorUnits,
            Issuances = state.Issuances.Add(e.RequestId, e.AmountMinorUnits),
        },
        ViewerKeyEndorsed e => ViewerKeyAdded(state, e),
        _ => state,
    };

    /// <summary>A new admission (a rotated key, changed roles) drops every viewer key endorsed under an earlier one.</summary>
    private static OperatorState Admitted(OperatorState state, Admission admission, Timestamp at) => state with
    {
        Admission = admission,
        AdmittedAt = at,
        ViewerKeys = state.ViewerKeys.RemoveRange(state.ViewerKeys.Values.Where(k => k.AdmissionVersion != admission.Version).Select(k => k.KeyHex)),
    };

    /// <summary>Adds (or renews) a viewer key, dropping the expired ones and those of replaced admissions as of the event's time.</summary>
    private static OperatorState ViewerKeyAdded(OperatorState state, ViewerKeyEndorsed e)
    {
        var key = Signed<ViewerKey>.Decode(e.Endorsement).Unwrap().Payload;
        var kept = Live(state.ViewerKeys, e.At, e.AdmissionVersion).Where(k => k.KeyHex != key.Key.Hex).ToList();
        var keys = ImmutableDictionary.CreateRange(StringComparer.Ordinal, kept.Select(k => KeyValuePair.Create(k.KeyHex, k)))
            .Add(key.Key.Hex, new ViewerKeyRecord(key.Key.Hex, key.ExpiresAt, e.AdmissionVersion));
        // The decision bounds the live keys; a journal that breaks the bound is not replayed as if it did not.
        if (keys.Count > OperatorState.MaxViewerKeys)
            throw new InvalidOperationException($"operator {key.Operator} holds {keys.Count} viewer keys, over the bound of {OperatorState.MaxViewerKeys}");
        return state with { ViewerKeys = keys };
    }

    private static IEnumerable<ViewerKeyRecord> Live(ImmutableDictionary<string, ViewerKeyRecord> keys, Timestamp now, ulong admissionVersion) =>
        keys.Values.Where(k => k.ExpiresAt > now && k.AdmissionVersion == admissionVersion);
}

