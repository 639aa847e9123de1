using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Ledger;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Market;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Api;


/// <summary>A signed object in its canonical wire form, base64.</summary>
public sealed record SignedObjectRequest(string Signed);

public sealed record ErrorBody(ErrorDetail Error);

public sealed record ErrorDetail(string Code, string Message);

/// <summary>
/// The HTTP API for operators and devices. Writes carry their own signatures; reads need an authenticated
/// caller and answer only what its role and ownership allow. Every error has one body shape:
/// {"error":{"code","message"}}.
/// </summary>
public static class EnergyApi
{
    public static IEndpointRouteBuilder MapEnergyApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");

        // Writes: each carries its own signature (the authority's, an operator's or a device's), checked by the entity it reaches.
        api.MapPost("/operators/{id}/admission", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(OperatorId.Parse(id), o => WithBytes(body, bytes => network.Ask(new AdmitOperator(o, bytes), token)))));
        api.MapPost("/operators/{id}/viewer-keys", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(OperatorId.Parse(id), o => WithBytes(body, bytes => network.Ask(new AddViewerKey(o, bytes), token)))));
        api.MapPost("/devices/{id}/endorsement", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => WithBytes(body, bytes => network.Ask(new EndorseDevice(d, bytes), token)))));
        api.MapPost("/devices/{id}/revocation", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => WithBytes(body, bytes => network.Ask(new RevokeDevice(d, bytes), token)))));
        api.MapPost("/devices/{id}/quarantine", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => WithBytes(body, bytes => network.Ask(new QuarantineDevice(d, bytes), token)))));
        api.MapPost("/accounts/{id}/mint", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(PartyId.Parse(id), a => WithBytes(body, bytes => network.FundAsync(a, bytes, token)))));
        api.MapPost("/accounts/{id}/withdraw", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(PartyId.Parse(id), a => WithBytes(body, bytes => network.WithdrawAsync(a, bytes, token)))));
        api.MapPost("/channels/{id}/open", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new OpenChannel(c, bytes), token)))));
        api.MapPost("/channels/{id}/vouchers", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new SubmitVoucher(c, bytes), token)))));
        api.MapPost("/channels/{id}/close", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new CloseChannel(c, bytes), token)))));
        api.MapPost("/duplex-channels/{id}/open", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new OpenDuplexChannel(c, bytes), token)))));
        api.MapPost("/duplex-channels/{id}/states", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new SubmitDuplexState(c, bytes), token)))));
        api.MapPost("/duplex-channels/{id}/close", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new CloseDuplexChannel(c, bytes), token)))));
        api.MapPost("/charge-points/{id}/password", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => WithBytes(body, bytes => Gateway.ChargePointPasswords.SetAsync(network, d, bytes, token)))));
        api.MapPost("/ledger/nodes/{key}/admission", (string key, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(Energy.Channels.Identity.DevicePublicKey.FromHex(key.ToLowerInvariant()), k => WithBytes(body, bytes => network.AdmitLedgerNodeAsync(k, bytes, token)))));
        api.MapPost("/market/{zone}/orders", (string zone, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(Energy.Channels.Market.ZoneId.Parse(zone), z => WithBytes(body, bytes => network.Ask(new SubmitMarketOrder(z, bytes), token)))));
        // The grid operator's settlement of an interval: a signed request (as a read is), so the node knows who settles.
        api.MapPost("/market/{zone}/intervals/{start}/settlement", (string zone, long start, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(MarketIntervalOf(network, zone, start), interval =>
                ApiAccess.SettleMarketIntervalAsync(caller, network, interval, context.Request, token))));
        api.MapPost("/gantries/{id}/tariff", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => WithBytes(body, bytes => network.Ask(new Energy.Lifecycles.Tolls.ConfigureGantry(d, bytes), token)))));

        // Reads: an authenticated caller sees what its role and ownership allow (ApiAccess).
        api.MapGet("/me", (HttpContext context, CancellationToken _) => Read(context, (caller, _, _) => Task.FromResult<object>(caller)));
        api.MapGet("/operators/{id}", (string id, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(OperatorId.Parse(id), o => ApiAccess.OperatorAsync(caller, network, o, token))));
        api.MapGet("/devices/{id}", (string id, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(DeviceId.Parse(id), d => ApiAccess.DeviceAsync(caller, network, d, token))));
        api.MapGet("/accounts/{id}", (string id, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(PartyId.Parse(id), a => ApiAccess.AccountAsync(caller, network, a, token))));
        api.MapGet("/channels/{id}", (string id, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(ChannelId.Parse(id), c => ApiAccess.ChannelAsync(caller, network, c, token))));
        api.MapGet("/duplex-channels/{id}", (string id, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(ChannelId.Parse(id), c => ApiAccess.DuplexChannelAsync(caller, network, c, token))));
        api.MapGet("/alerts", (HttpContext context, CancellationToken _) => Read(context, ApiAccess.AlertsAsync));
        api.MapGet("/gantries/{id}", (string id, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(DeviceId.Parse(id), d => ApiAccess.GantryAsync(caller, network, d, token))));
        api.MapGet("/tolls/{operatorId}/violations", (string operatorId, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(OperatorId.Parse(operatorId), o => ApiAccess.ViolationsAsync(caller, network, o, token))));
        api.MapGet("/zones/{zone}", (string zone, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(SegmentId.Parse(zone), z => ApiAccess.ZoneAsync(caller, network, z, token))));
        api.MapGet("/market/{zone}/intervals/{start}", (string zone, long start, HttpContext context) =>
            Read(context, (caller, network, token) => Parse(MarketIntervalOf(network, zone, start), interval => ApiAccess.MarketIntervalAsync(caller, network, interval, token))));
        api.MapGet("/sessions/{id}", (string id, HttpContext context) =>
            Read(context, (caller, network, token) => SessionId.IsValid(id)
                ? ApiAccess.SessionAsync(caller, network, new SessionId(id), token)
                : Task.FromResult<object>(Refusal.From(new Energy.Lifecycles.Charging.InvalidSessionId(id)))));
        api.MapGet("/ledger/totals", (HttpContext context, CancellationToken _) => Read(context, ApiAccess.TotalsAsync));
        api.MapGet("/ledger/shards", (HttpContext context, CancellationToken _) =>
            Read(context, (_, network, _) => Task.FromResult<object>(LedgerShards.All(network.Settings.LedgerShardCount))));
        api.MapGet("/ledger/nodes", (HttpContext context, CancellationToken _) =>
            Read(context, (caller, network, token) => ApiAccess.GridOnly(caller, "the ledger nodes", () => network.LedgerNodesAsync(token))));
        api.MapGet("/cluster", (HttpContext context, CancellationToken _) =>
            Read(context, (caller, network, token) => ApiAccess.GridOnly(caller, "the cluster", async () => await ClusterViews.BuildAsync(network, token))));
        api.MapGet("/ledger/{shard}/blocks", (string shard, ulong? from, int? count, HttpContext context) =>
            Read(context, (caller, network, token) => ApiAccess.GridOnly(caller, "settlement blocks", () => WithShard(network, shard, async () =>
                new BlockList(shard, await network.BlocksAsync(shard, Math.Max(1, from ?? 1), Math.Clamp(count ?? 20, 1, 200), token))))));
        api.MapGet("/ledger/{shard}/audit", (string shard, ulong? from, int? count, HttpContext context) =>
            Read(context, (caller, network, token) => ApiAccess.GridOnly(caller, "the ledger audit", () => WithShard(network, shard, async () =>
                await network.AuditPageAsync(shard, from ?? 1, count ?? LedgerAudit.MaxPageBlocks, token)))));
        return app;
    }

    /// <summary>Authenticates the caller, then answers what it may see; a stranger gets 401 and nothing else.</summary>
    private static Task<IResult> Read(HttpContext context, Func<ApiCaller, EnergyNetwork, CancellationToken, Task<object>> read)
    {
        var network = context.RequestServices.GetRequiredService<EnergyNetwork>();
        var authenticator = context.RequestServices.GetRequiredService<ApiAuthenticator>();
        var token = context.RequestAborted;
        return Call(async () =>
        {
            var caller = await authenticator.AuthenticateAsync(context, token);
            return caller.IsOk ? await read(caller.Value, network, token) : Refusal.From(caller.Error);
        });
    }

    private static Task<object> Parse<T>(Result<T> parsed, Func<T, Task<object>> next) =>
        parsed.IsOk ? next(parsed.Value) : Task.FromResult<object>(Refusal.From(parsed.Error));

    /// <summary>The interval of the zone's market that starts at <paramref name="startMs"/> (Unix ms, a whole multiple of the market's interval length).</summary>
    private static Result<Energy.Channels.Market.MarketInterval> MarketIntervalOf(EnergyNetwork network, string zone, long startMs)
    {
        var parsed = Energy.Channels.Market.ZoneId.Parse(zone);
        if (!parsed.IsOk) return parsed.Error!;
        var interval = new Energy.Channels.Market.MarketInterval(parsed.Value, new Timestamp(startMs), network.Settings.MarketRules.IntervalLength);
        return interval.Check() is { } malformed ? malformed : interval;
    }

    private static Task<object> WithBytes(SignedObjectRequest? body, Func<byte[], Task<object>> next)
    {
        if (body?.Signed is null || body.Signed.Length > 4 * 1024)
            return Task.FromResult<object>(Refusal.From(new MalformedValue("signed", "(missing or over 4 KiB)", "base64 of a signed object")));
        byte[] bytes;
        try { bytes = Convert.FromBase64String(body.Signed); }
        catch (FormatException) { return Task.FromResult<object>(Refusal.From(new MalformedValue("signed", "(not base64)", "base64 of a signed object"))); }
        return next(bytes);
    }

    private static async Task<object> WithShard(EnergyNetwork network, string shard, Func<Task<object>> next) =>
        LedgerShards.All(network.Settings.LedgerShardCount).Contains(shard)
            ? await next()
            : Refusal.From(new MalformedValue("shard", shard, "one of /api/ledger/shards"));

    private static async Task<IResult> Call(Func<Task<object>> call)
    {
        object reply;
        try { reply = await call(); }
        catch (OperationCanceledException) { return Error(StatusCodes.Status504GatewayTimeout, "Timeout", "the network did not answer in time"); }
        return reply is Refusal refusal ? Error(StatusFor(refusal.Error), refusal.Code, refusal.Message) : Results.Json(reply, Serialization.EnergyJson.Options);
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new ErrorBody(new ErrorDetail(code, message)), Serialization.EnergyJson.Options, statusCode: status);

    /// <summary>The HTTP status of a refusal, by the type of its error.</summary>
    public static int StatusFor(ProtocolError error) => error switch
    {
        OperatorNotFound or DeviceNotFound or ChannelNotFound or Energy.Lifecycles.Charging.SessionNotFound or Energy.Lifecycles.Tolls.PassNotFound or Energy.Lifecycles.Tolls.GantryNotConfigured or EscrowNotFound
            or PartyUnknown => StatusCodes.Status404NotFound,
        PartyKindConflict or AdmissionSuperseded or AdmissionVersionReused or StaleOrder or DeviceAlreadyEndorsed or ChannelAlreadyExists
            or RequestIdReused or EscrowAlreadyLocked or TooManyViewerKeys or Gateway.CredentialStoreFull or TooManyLedgerNodes
            or Energy.Channels.Market.DuplicateOrder or MarketSettledByAnother or MarketIntervalNotCleared => StatusCodes.Status409Conflict,
        LedgerOverloaded or ChannelBusy => StatusCodes.Status503ServiceUnavailable,
        NotAnsweredInTime => StatusCodes.Status504GatewayTimeout,
        Unauthenticated => StatusCodes.Status401Unauthorized,
        NotVisible or NotPermitted or RoleNotHeld or NotASettlementBank or IssuanceLimitExceeded => StatusCodes.Status403Forbidden,
        Gateway.NotTheChargePointOperator or InvalidSignature or PartyRevoked or PartyQuarantined or DeviceIsRevoked or NotAMeter => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status400BadRequest,
    };
}
