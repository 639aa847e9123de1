using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Ledger;
using Energy.Cluster.Registry;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.FileProviders;

namespace Energy.Cluster.Dashboard;

/// <summary>Challenges issued to operators signing in: one use each, a minute each, at most <see cref="MaxOutstanding"/>.</summary>
public sealed class DashboardChallenges
{
    public const int MaxOutstanding = 10_000;
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);
    private readonly ConcurrentDictionary<string, AuthenticationChallenge> _issued = new(StringComparer.Ordinal);

    public AuthenticationChallenge? Issue(NetworkId network, string operatorId, Timestamp now)
    {
        if (_issued.Count >= MaxOutstanding)
        {
            foreach (var (key, old) in _issued)
                if (now.UnixMilliseconds - old.IssuedAt.UnixMilliseconds > Lifetime.TotalMilliseconds) _issued.TryRemove(key, out _);
            if (_issued.Count >= MaxOutstanding) return null;
        }
        var challenge = new AuthenticationChallenge(network, PartyId.From(new OperatorId(operatorId)), RandomNumberGenerator.GetBytes(AuthenticationChallenge.NonceBytes), now);
        _issued[operatorId] = challenge;
        return challenge;
    }

    public AuthenticationChallenge? Take(string operatorId, Timestamp now) =>
        _issued.TryRemove(operatorId, out var challenge) && now.UnixMilliseconds - challenge.IssuedAt.UnixMilliseconds <= Lifetime.TotalMilliseconds ? challenge : null;
}

/// <summary>
/// The dashboard's web side: the page and its npm libraries, sign-in by signing a challenge with the
/// operator's key, the hub, and the drill-down API. Everything but the page and sign-in refuses a
/// client that has not signed in (401), and shows an operator only what concerns it (403 otherwise).
/// </summary>
public static class DashboardEndpoints
{
    public sealed record SignInRequest(string Operator, string Signature);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app, string webDirectory)
    {
        MapStatic(app, webDirectory);
        app.MapGet("/dashboard/sign-in/challenge", (string? @operator, EnergyNetwork network, DashboardChallenges challenges) =>
        {
            if (@operator is null || !OperatorId.Parse(@operator).IsOk) return Error(400, "MalformedValue", "operator must be an operator id");
            var challenge = challenges.Issue(network.Settings.Network, @operator, network.Settings.Clock.Now);
            return challenge is null
                ? Error(503, "TooManySignIns", "too many sign-ins are waiting; try again in a minute")
                : Results.Json(new { challenge = Convert.ToBase64String(Signed<AuthenticationChallenge>.EncodeBody(challenge)) });
        });
        app.MapPost("/dashboard/sign-in", SignInAsync);
        app.MapPost("/dashboard/sign-out", async (HttpContext context) =>
        {
            await context.SignOutAsync(DashboardAuth.Scheme);
            return Results.NoContent();
        });
        app.MapHub<DashboardHub>("/dashboard/hub");

        var api = app.MapGroup("/dashboard/api").RequireAuthorization(policy => policy.AddAuthenticationSchemes(DashboardAuth.Scheme).RequireAuthenticatedUser());
        api.MapGet("/me", (ClaimsPrincipal user) => Results.Json(DashboardAuth.ViewerOf(user)));
        api.MapGet("/state", (ClaimsPrincipal user, DashboardState state) => Results.Json(state.ViewFor(DashboardAuth.ViewerOf(user)), Serialization.EnergyJson.Options));
        api.MapGet("/devices/{id}", DeviceAsync);
        api.MapGet("/channels/{id}", ChannelAsync);
        api.MapGet("/blocks/{shard}/{height}", BlockAsync);
        return app;
    }

    private static void MapStatic(IEndpointRouteBuilder app, string webDirectory)
    {
        var root = Path.GetFullPath(webDirectory);
        var files = new Dictionary<string, (string Path, string Type)>(StringComparer.Ordinal)
        {
            ["/dashboard"] = (Path.Combine(root, "index.html"), "text/html; charset=utf-8"),
            ["/dashboard/app.js"] = (Path.Combine(root, "app.js"), "text/javascript; charset=utf-8"),
            ["/dashboard/app.css"] = (Path.Combine(root, "app.css"), "text/css; charset=utf-8"),
            // The browser libraries, straight from their npm packages.
            ["/dashboard/lib/signalr.min.js"] = (Path.Combine(root, "node_modules/@microsoft/signalr/dist/browser/signalr.min.js"), "text/javascript; charset=utf-8"),
            ["/dashboard/lib/uPlot.iife.min.js"] = (Path.Combine(root, "node_modules/uplot/dist/uPlot.iife.min.js"), "text/javascript; charset=utf-8"),
            ["/dashboard/lib/uPlot.min.css"] = (Path.Combine(root, "node_modules/uplot/dist/uPlot.min.css"), "text/css; charset=utf-8"),
        };
        foreach (var (route, (path, type)) in files)
        {
            app.MapGet(route, () => File.Exists(path)
                ? Results.File(path, type)
                : Results.Text($"{Path.GetFileName(path)} is missing: run npm ci in {root}", "text/plain", statusCode: 503));
        }
    }

    private static async Task<IResult> SignInAsync(SignInRequest request, HttpContext context, EnergyNetwork network, DashboardChallenges challenges)
    {
        var id = OperatorId.Parse(request.Operator);
        if (!id.IsOk) return Error(400, "MalformedValue", "operator must be an operator id");
        var challenge = challenges.Take(request.Operator, network.Settings.Clock.Now);
        if (challenge is null) return Error(401, "NoChallenge", "ask for a challenge first; each is answered once, within a minute");
        byte[] signature;
        try { signature = Convert.FromBase64String(request.Signature); }
        catch (FormatException) { return Error(400, "MalformedValue", "signature is not base64"); }
        if (signature.Length != Ed25519Signatures.SignatureBytes) return Error(400, "MalformedValue", $"a signature has {Ed25519Signatures.SignatureBytes} bytes");
        object answer;
        try { answer = await network.Ask(new GetOperator(id.Value), context.RequestAborted); }
        catch (OperationCanceledException) { return Error(504, "Timeout", "the registry did not answer in time"); }
        if (answer is not OperatorView op) return Error(401, nameof(OperatorNotFound), $"{request.Operator} is not a registered operator");
        var key = DevicePublicKey.FromHex(op.PublicKeyHex);
        var signed = Signed<AuthenticationChallenge>.Assemble(challenge, signature);
        if (!key.IsOk || !signed.IsSignedBy(key.Value))
            return Error(401, nameof(InvalidSignature), $"the challenge is not signed by the registered key of {request.Operator}");
        var everything = op.Has(OperatorRoles.GridOperator);
        var identity = new ClaimsIdentity(
            [new Claim(DashboardAuth.OperatorClaim, op.Operator.Value), new Claim(DashboardAuth.EverythingClaim, everything ? "true" : "false"), new Claim(ClaimTypes.Name, op.Operator.Value)],
            DashboardAuth.Scheme);
        await context.SignInAsync(DashboardAuth.Scheme, new ClaimsPrincipal(identity));
        return Results.Json(new { @operator = op.Operator.Value, role = op.Roles.ToString(), seesEverything = everything });
    }

    private static async Task<IResult> DeviceAsync(string id, ClaimsPrincipal user, EnergyNetwork network, DashboardState state, CancellationToken token)
    {
        var device = DeviceId.Parse(id);
        if (!device.IsOk) return Error(400, "MalformedValue", device.Error!.Describe());
        var viewer = DashboardAuth.ViewerOf(user);
        var answer = await network.Ask(new GetDevice(device.Value), token);
        if (answer is not DeviceView view) return Error(404, nameof(DeviceNotFound), $"{id} is not registered");
        if (!viewer.SeesEverything && view.Operator.Value != viewer.Operator) return Error(403, "NotVisible", $"{id} belongs to another operator");
        return Results.Json(new { device = view, history = state.HistoryOf("device:" + id, viewer) }, Serialization.EnergyJson.Options);
    }

    private static async Task<IResult> ChannelAsync(string id, ClaimsPrincipal user, EnergyNetwork network, DashboardState state, CancellationToken token)
    {
        var channel = ChannelId.Parse(id);
        if (!channel.IsOk) return Error(400, "MalformedValue", channel.Error!.Describe());
        var viewer = DashboardAuth.ViewerOf(user);
        if (await network.Ask(new GetChannel(channel.Value), token) is not ChannelView view || view.Payer is null) return Error(404, nameof(ChannelNotFound), $"channel {id} is not open");
        if (!viewer.SeesEverything && view.Payee!.Value.Value != "operator:" + viewer.Operator && view.Payer.Value.Value != "operator:" + viewer.Operator)
            return Error(403, "NotVisible", $"channel {id} pays another operator");
        return Results.Json(new { channel = view, history = state.HistoryOf("channel:" + id, viewer) }, Serialization.EnergyJson.Options);
    }

    private static async Task<IResult> BlockAsync(string shard, ulong height, ClaimsPrincipal user, EnergyNetwork network, CancellationToken token)
    {
        var viewer = DashboardAuth.ViewerOf(user);
        if (!viewer.SeesEverything) return Error(403, "NotVisible", "settlement blocks hold every operator's settlements: grid operators only");
        if (!LedgerShards.All(network.Settings.LedgerShardCount).Contains(shard)) return Error(404, "ShardNotFound", $"{shard} is not a ledger shard");
        var blocks = await network.BlocksAsync(shard, height, 1, token);
        var audit = await network.AuditAsync(shard, token);
        return Results.Json(new { blocks, audit }, Serialization.EnergyJson.Options);
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);
}
