using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Energy.Channels.Primitives;
using Energy.Cluster.Registry;
using Energy.Ocpp;

namespace Energy.Cluster.Gateway;

public enum OcppAdmissionOutcome
{
    /// <summary>Upgrade: the password matched, or the operator lets this charger connect without one.</summary>
    Accepted,

    /// <summary>401: unknown id, no password object, no or wrong password, revoked charger.</summary>
    Refused,

    /// <summary>429: the id or the address failed too often; nothing was checked.</summary>
    LockedOut,

    /// <summary>503: this node has not read the credential store yet since it started.</summary>
    NotReady,

    /// <summary>503: the password checks queued already take longer than a charger should wait; come back after Retry-After.</summary>
    Busy,
}

public readonly record struct OcppAdmission(OcppAdmissionOutcome Outcome, TimeSpan RetryAfter = default);

/// <summary>
/// Decides an OCPP upgrade before it happens (security profiles 0, 1 and 2; TLS is the listener's). Everything
/// it reads is on this node: the credential table, the revocation list and the failure tables. It sends no
/// message to any entity, so an unknown or hostile id costs a lookup and wakes nothing. The password is
/// checked against the operator's salted PBKDF2 hash, in time that does not depend on where it differs, in its
/// turn among the node's <see cref="PasswordChecks"/>; a password this node admitted before against the same
/// object (<see cref="AdmittedPasswords"/>) costs one HMAC instead, and so does a key the operator generated.
/// </summary>
public sealed class OcppAuthenticator(ChargePointCredentialTable table, RevocationList revocations, IClock clock, PasswordChecks checks,
    AdmittedPasswords admitted)
{
    /// <summary>How long an upgrade waits for a starting node to read the credential store.</summary>
    public static readonly TimeSpan MaxLoadWait = TimeSpan.FromSeconds(10);

    private readonly AuthenticationThrottle _byChargePoint = new(ThrottlePolicy.PerChargePoint);
    private readonly AuthenticationThrottle _byAddress = new(ThrottlePolicy.PerAddress);

    // One check at a time per charge point: attempts fired together cannot all pass the lock before the first failure counts.
    private readonly ConcurrentDictionary<string, bool> _checking = new(StringComparer.Ordinal);

    public async Task<OcppAdmission> AdmitAsync(string chargePointId, string? authorization, IPAddress? remote, CancellationToken token)
    {
        var address = AddressKey(remote);
        var now = clock.Now.UnixMilliseconds;
        var locked = Max(_byChargePoint.RetryAfter(chargePointId, now), _byAddress.RetryAfter(address, now));
        if (locked > TimeSpan.Zero) return new(OcppAdmissionOutcome.LockedOut, locked);
        if (!await table.WhenLoadedAsync(MaxLoadWait, token)) return new(OcppAdmissionOutcome.NotReady, TimeSpan.FromSeconds(5));

        if (!_checking.TryAdd(chargePointId, true)) return new(OcppAdmissionOutcome.LockedOut, TimeSpan.FromSeconds(1));
        try
        {
            var checkedPassword = await CheckAsync(chargePointId, authorization, token);
            if (!checkedPassword.Ran) return new(OcppAdmissionOutcome.Busy, checkedPassword.RetryAfter);
            if (checkedPassword.Match)
            {
                _byChargePoint.RecordSuccess(chargePointId);
                return new(OcppAdmissionOutcome.Accepted);
            }
            now = clock.Now.UnixMilliseconds;
            _byChargePoint.RecordFailure(chargePointId, now);
            _byAddress.RecordFailure(address, now);
            return new(OcppAdmissionOutcome.Refused);
        }
        finally
        {
            _checking.TryRemove(chargePointId, out _);
        }
    }

    private async Task<PasswordCheck> CheckAsync(string chargePointId, string? authorization, CancellationToken token)
    {
        var password = table.Find(chargePointId);
        if (password is null || revocations.IsRevoked(new DeviceId(chargePointId))) return PasswordCheck.Mismatched;
        var presented = OcppBasicAuthentication.Read(authorization, chargePointId);
        switch (presented.Presented)
        {
            case PresentedCredentials.None:
                return password.AllowUnauthenticated ? PasswordCheck.Matched : PasswordCheck.Mismatched;
            case PresentedCredentials.Password:
                var secret = presented.Password!;
                // A generated key costs one HMAC, like a remembered admission: it takes no turn among the PBKDF2 checks.
                if (password.IsGeneratedKey) return password.Matches(secret) ? PasswordCheck.Matched : PasswordCheck.Mismatched;
                if (admitted.Admits(chargePointId, password, secret)) return PasswordCheck.Matched;
                var check = await checks.RunAsync(() => password.Matches(secret), token);
                if (check.Match) admitted.Remember(chargePointId, password, secret);
                return check;
            default:
                return PasswordCheck.Mismatched;
        }
    }

    /// <summary>An IPv4 address as it is; an IPv6 address by its /64, which one subscriber usually holds whole.</summary>
    public static string AddressKey(IPAddress? remote)
    {
        if (remote is null) return "unknown";
        if (remote.IsIPv4MappedToIPv6) remote = remote.MapToIPv4();
        if (remote.AddressFamily != AddressFamily.InterNetworkV6) return remote.ToString();
        var bytes = remote.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
