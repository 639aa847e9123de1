using System.Security.Claims;
using System.Security.Cryptography;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Api;
using Energy.Cluster.Hosting;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Energy.Lifecycles.Registry;

namespace Energy.Dashboard;

public sealed record NoChallenge(OperatorId Operator) : ProtocolError
{
    public override string Describe() => $"there is no outstanding challenge of {Operator} like this one: ask for one first; each is used once, within {DashboardChallenges.Lifetime.TotalSeconds:0} s";
}

public sealed record ChallengeExpired(OperatorId Operator, Timestamp IssuedAt, Timestamp Now) : ProtocolError
{
    public override string Describe() => $"the challenge of {Operator} issued at {IssuedAt} is older than {DashboardChallenges.Lifetime.TotalSeconds:0} s (now {Now})";
}

public sealed record TooManySignIns(int Max) : ProtocolError
{
    public override string Describe() => $"{Max} sign-ins are waiting on this node; try again in a minute";
}

public sealed record TooManySignInsForOperator(OperatorId Operator, int Max) : ProtocolError
{
    public override string Describe() => $"{Max} sign-ins of {Operator} are waiting; answer one, or try again in a minute";
}

/// <summary>A challenge as it was issued: its text (base64 of its canonical body), which the sign-in sends back, and the challenge.</summary>
public sealed record IssuedChallenge(string Text, AuthenticationChallenge Challenge);

/// <summary>
/// Challenges issued to operators signing in on the dashboard. The caller issues them only for admitted
/// operators. Bounded twice: at most <c>maxPerOperator</c> outstanding for one operator, so that nobody
/// fills the table with one operator's name, and <c>maxOutstanding</c> on the node. Each lives
/// <see cref="Lifetime"/> and is used at most once, by a sign-in whose signature verifies: a wrong answer
/// leaves it outstanding, so a stranger posting garbage for an operator cannot cancel the operator's own sign-in.
/// </summary>
public sealed class DashboardChallenges(int maxOutstanding = DashboardChallenges.DefaultMaxOutstanding, int maxPerOperator = DashboardChallenges.DefaultMaxPerOperator)
{
    public const int DefaultMaxOutstanding = 10_000;
    public const int DefaultMaxPerOperator = 4;

    /// <summary>The longest challenge text a sign-in may name (an issued one is about 120 characters).</summary>
    public const int MaxTextLength = 512;

    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, AuthenticationChallenge> _issued = new(StringComparer.Ordinal);
    private readonly Dictionary<OperatorId, List<string>> _byOperator = [];

    public int Count
    {
        get { lock (_gate) return _issued.Count; }
    }

    public Result<IssuedChallenge> Issue(NetworkId network, OperatorId operatorId, Timestamp now)
    {
        lock (_gate)
        {
            var mine = _byOperator.GetValueOrDefault(operatorId) ?? [];
            foreach (var text in mine.Where(t => Expired(_issued[t], now)).ToList()) Remove(text);
            if (mine.Count >= maxPerOperator) return new TooManySignInsForOperator(operatorId, maxPerOperator);
            if (_issued.Count >= maxOutstanding)
            {
                foreach (var text in _issued.Where(i => Expired(i.Value, now)).Select(i => i.Key).ToList()) Remove(text);
                if (_issued.Count >= maxOutstanding) return new TooManySignIns(maxOutstanding);
            }
            var challenge = new AuthenticationChallenge(network, PartyId.From(operatorId), RandomNumberGenerator.GetBytes(AuthenticationChallenge.NonceBytes), now);
            var issued = new IssuedChallenge(Convert.ToBase64String(Signed<AuthenticationChallenge>.EncodeBody(challenge)), challenge);
            _issued.Add(issued.Text, challenge);
            if (!_byOperator.TryGetValue(operatorId, out var list)) _byOperator[operatorId] = list = [];
            list.Add(issued.Text);
            return issued;
        }
    }

    /// <summary>The outstanding challenge this text names, issued to this operator and not expired. It stays outstanding.</summary>
    public Result<AuthenticationChallenge> Find(string text, OperatorId operatorId, Timestamp now)
    {
        lock (_gate)
        {
            if (text.Length > MaxTextLength || !_issued.TryGetValue(text, out var challenge) || challenge.Party != PartyId.From(operatorId))
                return new NoChallenge(operatorId);
            if (!Expired(challenge, now)) return challenge;
            Remove(text);
            return new ChallengeExpired(operatorId, challenge.IssuedAt, now);
        }
    }

    /// <summary>Uses the challenge up, after its answer verified: true once; false when another answer used it first.</summary>
    public bool Consume(string text)
    {
        lock (_gate) return Remove(text);
    }

    private bool Remove(string text)
    {
        if (!_issued.Remove(text, out var challenge)) return false;
        var operatorId = challenge.Party.AsOperator();
        var list = _byOperator[operatorId];
        list.Remove(text);
        if (list.Count == 0) _byOperator.Remove(operatorId);
        return true;
    }

    private static bool Expired(AuthenticationChallenge challenge, Timestamp now) =>
        now.UnixMilliseconds - challenge.IssuedAt.UnixMilliseconds > Lifetime.TotalMilliseconds;
}

/// <summary>
/// The dashboard's session: a cookie of its own scheme, holding the operator, whether it sees everything and the
/// viewer key it signed in with; every request asks again whether that key is still live.
/// </summary>
public static class DashboardAuth
{
    public const string Scheme = "energy-dashboard";
    public const string OperatorClaim = "energy:operator";
    public const string EverythingClaim = "energy:sees-everything";
    public const string ViewerKeyClaim = "energy:viewer-key";

    public static Viewer ViewerOf(ClaimsPrincipal user) =>
        new(user.FindFirstValue(OperatorClaim) ?? "", user.HasClaim(EverythingClaim, "true"));

    /// <summary>
    /// Every request of a dashboard session asks again whether its viewer key is live (endorsed under the
    /// operator's current admission, not expired) and whether the operator still has the roles it signed in
    /// with: a rotated operator key or a changed role ends the session at once. An unanswered question ends it too.
    /// </summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var user = context.Principal;
        var network = context.HttpContext.RequestServices.GetRequiredService<EnergyNetwork>();
        if (user is not null
            && await IsLiveAsync(network, user.FindFirstValue(OperatorClaim), user.FindFirstValue(ViewerKeyClaim), user.HasClaim(EverythingClaim, "true"), context.HttpContext.RequestAborted))
            return;
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(Scheme);
    }

    /// <summary>Whether the viewer key is live for the operator, and the operator sees everything exactly when the session says so.</summary>
    public static async Task<bool> IsLiveAsync(EnergyNetwork network, string? operatorId, string? viewerKeyHex, bool seesEverything, CancellationToken token)
    {
        var id = OperatorId.Parse(operatorId);
        if (!id.IsOk || string.IsNullOrEmpty(viewerKeyHex)) return false;
        object answer;
        try { answer = await network.Ask(new CheckViewerKey(id.Value, viewerKeyHex), token); }
        catch (OperationCanceledException) { return false; }
        return answer is ViewerKeyAccepted accepted && accepted.Operator.Has(OperatorRoles.GridOperator) == seesEverything;
    }
}

/// <summary>
/// The dashboard's sign-in as the API takes it: a live dashboard session reads the API as its operator. The API
/// defines <see cref="IOperatorSessions"/>; the dashboard provides it.
/// </summary>
public sealed class DashboardSessions : IOperatorSessions
{
    public async Task<OperatorId?> SignedInOperatorAsync(HttpContext context)
    {
        var session = await context.AuthenticateAsync(DashboardAuth.Scheme);
        if (!session.Succeeded || session.Principal is not { } user) return null;
        var signedIn = OperatorId.Parse(DashboardAuth.ViewerOf(user).Operator);
        return signedIn.IsOk ? signedIn.Value : null;
    }
}
