using System.Collections.Concurrent;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Microsoft.AspNetCore.Http;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Api;

/// <summary>
/// Who calls the API, once authenticated: an admitted operator (with its roles), or an endorsed, unrevoked
/// device (with its operator). What a caller may see follows from this alone.
/// </summary>
public sealed record ApiCaller(PartyId Party, OperatorRoles Roles, OperatorId? DeviceOperator)
{
    /// <summary>The grid operator sees everything.</summary>
    public bool SeesEverything => Party.IsOperator && (Roles & OperatorRoles.GridOperator) != 0;

    public bool Has(OperatorRoles role) => Party.IsOperator && (Roles & role) != 0;

    /// <summary>Whether this caller owns the party: it is the party, or the party is one of its devices.</summary>
    public bool Owns(PartyId party, OperatorId? operatorOfParty) =>
        party == Party || (Party.IsOperator && operatorOfParty is { } op && op.Value == Party.Name);
}

public sealed record Unauthenticated(string Reason) : ProtocolError
{
    public override string Describe() => $"the caller is not authenticated: {Reason}";
}

public sealed record NotVisible(string What, string Caller) : ProtocolError
{
    public override string Describe() => $"{What} is not visible to {Caller}";
}

/// <summary>
/// A sign-in that another part of the node keeps and that the API takes too: the dashboard's session of an
/// operator who signed a challenge with a viewer key. The API defines what it needs of a session (the operator
/// it signed in) and the part that signs people in provides it, so the API depends on no such part.
/// </summary>
public interface IOperatorSessions
{
    /// <summary>The operator whose live session the request carries, or null when it carries none.</summary>
    Task<OperatorId?> SignedInOperatorAsync(HttpContext context);
}

/// <summary>
/// Authenticates API reads. A caller either signs the request (header <c>Authorization: Energy &lt;base64 of a
/// signed ApiRequest&gt;</c>: the party, a time within <see cref="MaxSkew"/> of the node's clock, a fresh nonce
/// and the hash of method, path and body, with the party's registered key), or presents a session one of the
/// node's <see cref="IOperatorSessions"/> recognises (the dashboard's challenge sign-in). A signed request is
/// taken once: its nonce is remembered until it would be stale anyway, in a table bounded by <see cref="MaxRememberedNonces"/>.
/// </summary>
public sealed class ApiAuthenticator(EnergyNetwork network, IEnumerable<IOperatorSessions> sessions)
{
    public const string Scheme = "Energy";
    public static readonly TimeSpan MaxSkew = TimeSpan.FromSeconds(60);
    public const int MaxRememberedNonces = 200_000;
    public const int MaxHeaderBytes = 2_048;

    private readonly ConcurrentDictionary<string, long> _nonces = new(StringComparer.Ordinal);

    public async Task<Result<ApiCaller>> AuthenticateAsync(HttpContext context, CancellationToken token)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith(Scheme + " ", StringComparison.Ordinal)) return await SignedAsync(context, header[(Scheme.Length + 1)..].Trim(), token);
        foreach (var signIn in sessions)
        {
            if (await signIn.SignedInOperatorAsync(context) is not { } signedIn) continue;
            return await CallerAsync(PartyId.From(signedIn), token) is { IsOk: true } caller ? caller.Value : new Unauthenticated($"operator {signedIn} is no longer admitted");
        }
        return new Unauthenticated($"sign the request (Authorization: {Scheme} <signed request>) or sign in on the dashboard");
    }

    private async Task<Result<ApiCaller>> SignedAsync(HttpContext context, string base64, CancellationToken token)
    {
        if (base64.Length > MaxHeaderBytes) return new Unauthenticated("the signed request is too long");
        byte[] wire;
        try { wire = Convert.FromBase64String(base64); }
        catch (FormatException) { return new Unauthenticated("the signed request is not base64"); }
        var decoded = Signed<ApiRequest>.Decode(wire);
        if (!decoded.IsOk) return new Unauthenticated(decoded.Error.Describe());
        var request = decoded.Value.Payload;
        var settings = network.Settings;
        if (request.Network != settings.Network) return new Unauthenticated($"the request is signed for network {request.Network}");
        var now = settings.Clock.Now.UnixMilliseconds;
        if (Math.Abs(now - request.At.UnixMilliseconds) > MaxSkew.TotalMilliseconds)
            return new Unauthenticated($"the request was signed at {request.At}, more than {MaxSkew.TotalSeconds:0} s from this node's clock");
        context.Request.EnableBuffering(16 * 1024);
        byte[] body;
        using (var buffer = new MemoryStream())
        {
            await context.Request.Body.CopyToAsync(buffer, token);
            body = buffer.ToArray();
            context.Request.Body.Position = 0;
        }
        var expected = ApiRequest.HashOf(context.Request.Method, context.Request.PathBase + context.Request.Path + context.Request.QueryString, body);
        if (!expected.AsSpan().SequenceEqual(request.RequestHash)) return new Unauthenticated("the signature is for another request (method, path or body)");
        var (standing, key) = await PartyKeys.ResolveAsync(network.Regions.Devices, network.Regions.Operators, request.Caller, settings.AskTimeout);
        if (standing != PartyKeys.Standing.Registered || key is null) return new Unauthenticated($"{request.Caller} is not a registered, unrevoked party");
        if (!decoded.Value.IsSignedBy(key)) return new Unauthenticated($"the request is not signed by the registered key of {request.Caller}");
        if (!Remember(request, now)) return new Unauthenticated("this signed request was already used (replay)");
        return await CallerAsync(request.Caller, token);
    }

    private bool Remember(ApiRequest request, long now)
    {
        if (_nonces.Count >= MaxRememberedNonces)
        {
            var horizon = now - 2 * (long)MaxSkew.TotalMilliseconds;
            foreach (var (nonce, at) in _nonces)
                if (at < horizon) _nonces.TryRemove(nonce, out _);
            if (_nonces.Count >= MaxRememberedNonces) return false;
        }
        return _nonces.TryAdd(request.Caller.Value + "/" + Convert.ToBase64String(request.Nonce), request.At.UnixMilliseconds);
    }

    /// <summary>The caller's roles (an operator's) or operator (a device's), as the registry knows them now.</summary>
    public async Task<Result<ApiCaller>> CallerAsync(PartyId party, CancellationToken token)
    {
        if (party.IsOperator)
            return await network.Ask(new GetOperator(party.AsOperator()), token) is OperatorView op
                ? new ApiCaller(party, op.Roles, null)
                : new Unauthenticated($"{party} is not admitted");
        return await network.Ask(new GetDevice(party.AsDevice()), token) is DeviceView { Revoked: false } device
            ? new ApiCaller(party, OperatorRoles.None, device.Operator)
            : new Unauthenticated($"{party} is not an endorsed, unrevoked device");
    }
}
