using System.Security.Claims;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Energy.Cluster.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Dashboard;

/// <summary>
/// The dashboard's web side: the page and its npm libraries, sign-in by signing a challenge with a viewer
/// key the operator endorsed (never with the operator's own key, which stays out of browsers), the hub,
/// and the drill-down API. Everything but the page and sign-in refuses a client that has not signed in
/// (401), and shows an operator only what concerns it (403 otherwise).
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>A sign-in: the operator, the viewer key (hex public key), the challenge as issued, and the viewer key's signature of it (base64).</summary>
    public sealed record SignInRequest(string Operator, string Key, string Challenge, string Signature);

    /// <summary>How long a dashboard session lasts at most; never past its viewer key's expiry.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app, string webDirectory)
    {
        MapStatic(app, webDirectory);
        app.MapGet("/dashboard/sign-in/challenge", ChallengeAsync);
        app.MapPost("/dashboard/sign-in", SignInAsync);
        app.MapPost("/dashboard/sign-out", async (HttpContext context) =>
        {
            await context.SignOutAsync(DashboardAuth.Scheme);
            return Results.NoContent();
        });
        app.MapHub<DashboardHub>("/dashboard/hub");

        var api = app.MapGroup("/dashboard/api").RequireAuthorization(policy => policy.AddAuthenticationSchemes(DashboardAuth.Scheme).RequireAuthenticatedUser());
        api.MapGet("/me", (ClaimsPrincipal user) => Results.Json(DashboardAuth.ViewerOf(user)));
        api.MapGet("/state", (ClaimsPrincipal user, DashboardState state) => Results.Json(state.ViewFor(DashboardAuth.ViewerOf(user)), EnergyJson.Options));
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

    /// <summary>A challenge, only for an admitted operator: a stranger naming anyone else is refused and nothing is kept.</summary>
    private static async Task<IResult> ChallengeAsync(string? @operator, EnergyNetwork network, DashboardChallenges challenges, CancellationToken token)
    {
        var id = OperatorId.Parse(@operator);
        if (!id.IsOk) return Error(400, id.Error);
        object answer;
        try { answer = await network.Ask(new GetOperator(id.Value), token); }
        catch (OperationCanceledException) { return Error(504, "Timeout", "the registry did not answer in time"); }
        if (answer is not OperatorView) return Error(404, new OperatorNotFound(id.Value));
        var issued = challenges.Issue(network.Settings.Network, id.Value, network.Settings.Clock.Now);
        if (!issued.IsOk) return Error(issued.Error is TooManySignIns ? 503 : 429, issued.Error);
        return Results.Json(new { challenge = issued.Value.Text });
    }

    /// <summary>
    /// Signs in with a live viewer key of the operator: the challenge must be outstanding for the operator, the
    /// key endorsed by the operator's current key and not expired, and the signature the key's. Only a verified
    /// answer uses the challenge up. The session lasts at most <see cref="SessionLifetime"/>, never past the key's expiry.
    /// </summary>
    private static async Task<IResult> SignInAsync(SignInRequest request, HttpContext context, EnergyNetwork network, DashboardChallenges challenges)
    {
        var id = OperatorId.Parse(request.Operator);
        if (!id.IsOk) return Error(400, id.Error);
        var key = DevicePublicKey.FromHex(request.Key);
        if (!key.IsOk) return Error(400, new MalformedValue("key", "(not a public key)", "the viewer key's Ed25519 public key, 64 hex digits"));
        byte[] signature;
        try { signature = Convert.FromBase64String(request.Signature ?? ""); }
        catch (FormatException) { return Error(400, new MalformedValue("signature", "(not base64)", "base64 of an Ed25519 signature")); }
        if (signature.Length != Ed25519Signatures.SignatureBytes)
            return Error(400, new MalformedValue("signature", $"({signature.Length} bytes)", $"{Ed25519Signatures.SignatureBytes} bytes"));
        var found = challenges.Find(request.Challenge ?? "", id.Value, network.Settings.Clock.Now);
        if (!found.IsOk) return Error(401, found.Error);
        object answer;
        try { answer = await network.Ask(new CheckViewerKey(id.Value, key.Value.Hex), context.RequestAborted); }
        catch (OperationCanceledException) { return Error(504, "Timeout", "the registry did not answer in time"); }
        if (answer is Refusal refused) return Error(401, refused.Code, refused.Message);
        if (answer is not ViewerKeyAccepted accepted) return Error(401, nameof(ViewerKeyUnknown), new ViewerKeyUnknown(id.Value, key.Value.Hex).Describe());
        if (!Signed<AuthenticationChallenge>.Assemble(found.Value, signature).IsSignedBy(key.Value))
            return Error(401, new InvalidSignature(ChannelId.None, ObjectKind.AuthenticationChallenge, $"viewer key {key.Value.Hex} of {id.Value}"));
        if (!challenges.Consume(request.Challenge!)) return Error(401, new NoChallenge(id.Value));

        var op = accepted.Operator;
        var everything = op.Has(OperatorRoles.GridOperator);
        var identity = new ClaimsIdentity(
        [
            new Claim(DashboardAuth.OperatorClaim, op.Operator.Value), new Claim(DashboardAuth.EverythingClaim, everything ? "true" : "false"),
            new Claim(DashboardAuth.ViewerKeyClaim, accepted.Key.KeyHex), new Claim(ClaimTypes.Name, op.Operator.Value),
        ], DashboardAuth.Scheme);
        var keyExpires = accepted.Key.ExpiresAt.ToDateTimeOffset();
        var expires = DateTimeOffset.UtcNow + SessionLifetime < keyExpires ? DateTimeOffset.UtcNow + SessionLifetime : keyExpires;
        await context.SignInAsync(DashboardAuth.Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { ExpiresUtc = expires, AllowRefresh = false });
        return Results.Json(new { @operator = op.Operator.Value, role = op.Roles.ToString(), seesEverything = everything, viewerKeyExpiresAt = accepted.Key.ExpiresAt.UnixMilliseconds });
    }

    private static async Task<IResult> DeviceAsync(string id, ClaimsPrincipal user, EnergyNetwork network, DashboardState state, CancellationToken token)
    {
        var device = DeviceId.Parse(id);
        if (!device.IsOk) return Error(400, "MalformedValue", device.Error!.Describe());
        var viewer = DashboardAuth.ViewerOf(user);
        var answer = await network.Ask(new GetDevice(device.Value), token);
        if (answer is not DeviceView view) return Error(404, nameof(DeviceNotFound), $"{id} is not registered");
        if (!viewer.SeesEverything && view.Operator.Value != viewer.Operator) return Error(403, "NotVisible", $"{id} belongs to another operator");
        return Results.Json(new { device = view, history = state.HistoryOf("device:" + id, viewer) }, EnergyJson.Options);
    }

    private static async Task<IResult> ChannelAsync(string id, ClaimsPrincipal user, EnergyNetwork network, DashboardState state, CancellationToken token)
    {
        var channel = ChannelId.Parse(id);
        if (!channel.IsOk) return Error(400, "MalformedValue", channel.Error!.Describe());
        var viewer = DashboardAuth.ViewerOf(user);
        if (await network.Ask(new GetChannel(channel.Value), token) is not ChannelView view || view.Payer is null) return Error(404, nameof(ChannelNotFound), $"channel {id} is not open");
        if (!viewer.SeesEverything && view.Payee!.Value.Value != "operator:" + viewer.Operator && view.Payer.Value.Value != "operator:" + viewer.Operator)
            return Error(403, "NotVisible", $"channel {id} pays another operator");
        return Results.Json(new { channel = view, history = state.HistoryOf("channel:" + id, viewer) }, EnergyJson.Options);
    }

    private static async Task<IResult> BlockAsync(string shard, ulong height, ClaimsPrincipal user, EnergyNetwork network, CancellationToken token)
    {
        var viewer = DashboardAuth.ViewerOf(user);
        if (!viewer.SeesEverything) return Error(403, "NotVisible", "settlement blocks hold every operator's settlements: grid operators only");
        if (!LedgerShards.All(network.Settings.LedgerShardCount).Contains(shard)) return Error(404, "ShardNotFound", $"{shard} is not a ledger shard");
        var blocks = await network.BlocksAsync(shard, height, 1, token);
        // The block checked against the one before it: bounded work, whatever the length of the chain.
        var audit = await network.AuditPageAsync(shard, height, 1, token);
        return Results.Json(new { blocks, audit }, EnergyJson.Options);
    }

    private static IResult Error(int status, ProtocolError error) => Error(status, error.Code, error.Describe());

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);
}
