using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Ledger;
using Energy.Cluster.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Energy.Cluster.Api;

public sealed record RegisterOperatorRequest(string OperatorId, string Name, OperatorRole Role, string PublicKey);

/// <summary>A signed object in its canonical wire form, base64.</summary>
public sealed record SignedObjectRequest(string Signed);

public sealed record ErrorBody(ErrorDetail Error);

public sealed record ErrorDetail(string Code, string Message);

/// <summary>The HTTP API for operators and devices. Every error has one body shape: {"error":{"code","message"}}.</summary>
public static class EnergyApi
{
    public static IEndpointRouteBuilder MapEnergyApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");

        api.MapPost("/operators", (RegisterOperatorRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(OperatorId.Parse(body.OperatorId), id =>
                network.Ask(new RegisterOperator(id, body.Name ?? "", body.Role, body.PublicKey ?? ""), token))));
        api.MapGet("/operators/{id}", (string id, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(OperatorId.Parse(id), o => network.Ask(new GetOperator(o), token))));

        api.MapPost("/devices/{id}/endorsement", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => WithBytes(body, bytes => network.Ask(new EndorseDevice(d, bytes), token)))));
        api.MapPost("/devices/{id}/revocation", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => WithBytes(body, bytes => network.Ask(new RevokeDevice(d, bytes), token)))));
        api.MapGet("/devices/{id}", (string id, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => network.Ask(new GetDevice(d), token))));

        api.MapPost("/accounts/{id}/mint", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(PartyId.Parse(id), a => WithBytes(body, bytes => network.FundAsync(a, bytes, token)))));
        api.MapPost("/accounts/{id}/withdraw", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(PartyId.Parse(id), a => WithBytes(body, bytes => network.WithdrawAsync(a, bytes, token)))));
        api.MapGet("/accounts/{id}", (string id, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(PartyId.Parse(id), a => network.Ask(new GetAccount(network.ShardOf(a), a), token))));

        api.MapPost("/channels/{id}/open", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new OpenChannel(c, bytes), token)))));
        api.MapPost("/channels/{id}/vouchers", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new SubmitVoucher(c, bytes), token)))));
        api.MapPost("/channels/{id}/close", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new CloseChannel(c, bytes), token)))));
        api.MapGet("/channels/{id}", (string id, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => network.Ask(new GetChannel(c), token))));

        api.MapPost("/duplex-channels/{id}/open", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new OpenDuplexChannel(c, bytes), token)))));
        api.MapPost("/duplex-channels/{id}/states", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new SubmitDuplexState(c, bytes), token)))));
        api.MapPost("/duplex-channels/{id}/close", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => WithBytes(body, bytes => network.Ask(new CloseDuplexChannel(c, bytes), token)))));
        api.MapGet("/duplex-channels/{id}", (string id, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(ChannelId.Parse(id), c => network.Ask(new GetDuplexChannel(c), token))));

        api.MapPost("/devices/{id}/quarantine", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => WithBytes(body, bytes => network.Ask(new QuarantineDevice(d, bytes), token)))));
        api.MapGet("/alerts", (EnergyNetwork network, CancellationToken token) => Call(() => network.AlertsAsync(token)));
        api.MapPost("/gantries/{id}/tariff", (string id, SignedObjectRequest body, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => WithBytes(body, bytes => network.Ask(new Tolls.ConfigureGantry(d, bytes), token)))));
        api.MapGet("/gantries/{id}", (string id, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(DeviceId.Parse(id), d => network.Ask(new Tolls.GetGantry(d), token))));
        api.MapGet("/tolls/{operatorId}/violations", (string operatorId, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(OperatorId.Parse(operatorId), o => network.Ask(new Tolls.GetViolations(o), token))));
        api.MapGet("/zones/{zone}", (string zone, EnergyNetwork network, CancellationToken token) =>
            Call(() => Parse(SegmentId.Parse(zone), z => network.Ask(new Tolls.GetZone(z), token))));

        api.MapGet("/sessions/{id}", (string id, EnergyNetwork network, CancellationToken token) =>
            Call(() => Charging.ChargingSessionEntity.IsValidId(id)
                ? network.Ask(new Charging.GetSession(id), token)
                : Task.FromResult<object>(Refusal.From(new Charging.InvalidSessionId(id)))));

        api.MapGet("/ledger/totals", (EnergyNetwork network, CancellationToken token) => Call(async () => (object)await network.TotalsAsync(token)));
        api.MapGet("/ledger/shards", (EnergyNetwork network) => Results.Ok(LedgerShards.All(network.Settings.LedgerShardCount)));
        api.MapGet("/ledger/{shard}/blocks", (string shard, ulong? from, int? count, EnergyNetwork network, CancellationToken token) =>
            Call(() => WithShard(network, shard, async () =>
                new BlockList(shard, await network.BlocksAsync(shard, Math.Max(1, from ?? 1), Math.Clamp(count ?? 20, 1, 200), token)))));
        api.MapGet("/ledger/{shard}/audit", (string shard, EnergyNetwork network, CancellationToken token) =>
            Call(() => WithShard(network, shard, async () => await network.AuditAsync(shard, token))));
        return app;
    }

    private static Task<object> Parse<T>(Result<T> parsed, Func<T, Task<object>> next) =>
        parsed.IsOk ? next(parsed.Value) : Task.FromResult<object>(Refusal.From(parsed.Error));

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
        return reply is Refusal refusal ? Error(StatusFor(refusal.Code), refusal.Code, refusal.Message) : Results.Json(reply, Serialization.EnergyJson.Options);
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new ErrorBody(new ErrorDetail(code, message)), Serialization.EnergyJson.Options, statusCode: status);

    private static int StatusFor(string code) => code switch
    {
        nameof(OperatorNotFound) or nameof(DeviceNotFound) or nameof(ChannelNotFound) or nameof(Charging.SessionNotFound) or nameof(Tolls.PassNotFound) or nameof(Tolls.GantryNotConfigured) or nameof(EscrowNotFound) or nameof(PartyUnknown) => StatusCodes.Status404NotFound,
        nameof(OperatorAlreadyRegistered) or nameof(DeviceAlreadyEndorsed) or nameof(ChannelAlreadyExists)
            or nameof(RequestIdReused) or nameof(EscrowAlreadyLocked) => StatusCodes.Status409Conflict,
        nameof(LedgerOverloaded) or nameof(ChannelBusy) => StatusCodes.Status503ServiceUnavailable,
        nameof(InvalidSignature) or nameof(PartyRevoked) or nameof(PartyQuarantined) or nameof(DeviceIsRevoked) => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status400BadRequest,
    };
}
