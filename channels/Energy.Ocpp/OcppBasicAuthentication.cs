using System.Text;

namespace Energy.Ocpp;

/// <summary>What a charge point presented in its Authorization header.</summary>
public enum PresentedCredentials
{
    /// <summary>No Authorization header at all (security profile 0).</summary>
    None,

    /// <summary>A header that is not Basic, not base64, not UTF-8, too long, or names another user.</summary>
    Malformed,

    /// <summary>Basic authentication with the charge point's own id as the user.</summary>
    Password,
}

/// <summary>The outcome of reading an Authorization header; <see cref="Password"/> is set only for <see cref="PresentedCredentials.Password"/>.</summary>
public readonly record struct BasicCredentials(PresentedCredentials Presented, string? Password);

/// <summary>
/// HTTP Basic authentication as OCPP 1.6 security profiles 1 and 2 use it: the user is the charge point's id
/// and the password its AuthorizationKey, "Basic base64(id:password)". The id may itself hold colons, so
/// the password is what follows "id:" rather than what follows the first colon (RFC 7617 forbids colons
/// in user names; OCPP's fixed user makes them unambiguous).
/// </summary>
public static class OcppBasicAuthentication
{
    /// <summary>The longest Authorization header read; the whitepaper's keys have at most 40 bytes.</summary>
    public const int MaxHeaderLength = 1_024;

    private const string Scheme = "Basic ";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static BasicCredentials Read(string? authorization, string chargePointId)
    {
        if (string.IsNullOrEmpty(authorization)) return new(PresentedCredentials.None, null);
        if (authorization.Length > MaxHeaderLength || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            return new(PresentedCredentials.Malformed, null);
        string decoded;
        try { decoded = StrictUtf8.GetString(Convert.FromBase64String(authorization[Scheme.Length..].Trim())); }
        catch (Exception exception) when (exception is FormatException or DecoderFallbackException) { return new(PresentedCredentials.Malformed, null); }
        var user = chargePointId + ":";
        return decoded.StartsWith(user, StringComparison.Ordinal)
            ? new(PresentedCredentials.Password, decoded[user.Length..])
            : new(PresentedCredentials.Malformed, null);
    }

    /// <summary>The header a charge point sends.</summary>
    public static string Header(string chargePointId, string password) =>
        Scheme + Convert.ToBase64String(Encoding.UTF8.GetBytes(chargePointId + ":" + password));
}
