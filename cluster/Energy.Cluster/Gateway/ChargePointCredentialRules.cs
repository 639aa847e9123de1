using System.Collections.Immutable;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Gateway;

/// <summary>A charger's newest password object as taken: its wire form, the decoded payload, and when it was recorded.</summary>
public sealed record StoredPassword(ChargePointPasswordRecorded Recorded, ChargePointPassword Password)
{
    public ChargePointPasswordView View() => new(Password.ChargePoint, Password.Operator, Password.Version, Password.AllowUnauthenticated,
        Password.Iterations, Password.At, Recorded.At);
}

/// <summary>One shard of the credential store: the newest password of each of its charge points.</summary>
public sealed record ChargePointCredentials(ImmutableDictionary<string, StoredPassword> ByChargePoint)
{
    public static readonly ChargePointCredentials Empty = new(ImmutableDictionary<string, StoredPassword>.Empty.WithComparers(StringComparer.Ordinal));

    public ulong VersionOf(DeviceId chargePoint) => ByChargePoint.TryGetValue(chargePoint.Value, out var stored) ? stored.Password.Version : 0;
}

/// <summary>
/// Who may set a charger's OCPP password, and which object is newer: pure, state and facts in, the password
/// to take or a named error out.
/// </summary>
public static class ChargePointCredentialRules
{
    /// <summary>Charge points one shard of the store holds at most (the store has <see cref="ChargePointCredentialStore.ShardCount"/> shards).</summary>
    public const int MaxChargePointsPerShard = 50_000;

    /// <summary>
    /// The object names the charge point of the request on this network; the charge point is an endorsed,
    /// unrevoked charger; the object names that charger's own operator, which still holds the charge point
    /// operator role; and it is signed with that operator's current key.
    /// </summary>
    public static Result<ChargePointPassword> Verify(Signed<ChargePointPassword> signed, DeviceId chargePoint, NetworkId network, DeviceView? device, OperatorView? owner)
    {
        var password = signed.Payload;
        if (password.ChargePoint != chargePoint) return new DeviceIdMismatch(chargePoint, password.ChargePoint);
        if (password.Network != network) return new WrongNetwork(ChannelId.None, network, password.Network);
        if (device is null) return new DeviceNotFound(chargePoint);
        if (device.Role != DeviceRole.Charger) return new NotACharger(chargePoint, device.Role);
        if (device.Revoked) return new DeviceIsRevoked(chargePoint, device.RevokedAt ?? default);
        if (password.Operator != device.Operator) return new NotTheChargePointOperator(chargePoint, device.Operator, password.Operator);
        if (owner is null || owner.Operator != device.Operator) return new OperatorNotFound(device.Operator);
        if (!owner.Has(OperatorRoles.ChargePointOperator)) return new RoleNotHeld(owner.Operator, OperatorRoles.ChargePointOperator, $"set the OCPP password of {chargePoint}");
        var key = DevicePublicKey.FromHex(owner.PublicKeyHex);
        if (!key.IsOk || !signed.IsSignedBy(key.Value)) return new InvalidSignature(ChannelId.None, ObjectKind.ChargePointPassword, owner.Operator.Value);
        return password;
    }

    /// <summary>
    /// A password replaces the one before only with a strictly higher version, signed close to now: an old
    /// object replayed, or the same one again, is stale. A shard past its bound takes no new charge points.
    /// </summary>
    public static Result<ChargePointPasswordRecorded> DecideRecord(ChargePointCredentials state, string shard, RecordChargePointPassword command,
        ChargePointPassword password, Timestamp now, TimeSpan maxAge)
    {
        if (password.ChargePoint != command.ChargePoint) return new DeviceIdMismatch(command.ChargePoint, password.ChargePoint);
        var last = state.VersionOf(command.ChargePoint);
        if (password.Version <= last || Math.Abs(now.UnixMilliseconds - password.At.UnixMilliseconds) > maxAge.TotalMilliseconds)
            return new StaleOrder($"OCPP password of {command.ChargePoint}", password.Version, last, password.At, now);
        if (last == 0 && state.ByChargePoint.Count >= MaxChargePointsPerShard) return new CredentialStoreFull(shard, MaxChargePointsPerShard);
        return new ChargePointPasswordRecorded(command.Password, now);
    }

    public static ChargePointCredentials Evolve(ChargePointCredentials state, ChargePointPasswordRecorded recorded)
    {
        var password = Signed<ChargePointPassword>.Decode(recorded.Password).Unwrap().Payload;
        // Recovery applies the same rule as the live decision: a lower version never replaces a higher one.
        if (password.Version <= state.VersionOf(password.ChargePoint)) return state;
        return new ChargePointCredentials(state.ByChargePoint.SetItem(password.ChargePoint.Value, new StoredPassword(recorded, password)));
    }
}
