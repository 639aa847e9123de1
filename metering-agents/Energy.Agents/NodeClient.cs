using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Agents;

/// <summary>
/// The network's HTTP API as a device or operator agent sees it: JSON over HTTP, signed objects as base64.
/// Reads are signed by the caller (<see cref="SignedBy"/>): the node answers only what that party may see.
/// </summary>
public sealed class NodeClient(HttpClient http, PartyId? caller = null, DeviceKeyPair? callerKey = null)
{
    /// <summary>The same node, with reads signed as this party.</summary>
    public NodeClient SignedBy(PartyId party, DeviceKeyPair key, NetworkId network) => new(http, party, key) { NetworkFor = network };

    public PartyId? Caller => caller;

    public sealed class NodeRefusedException(string code, string message) : Exception($"{code}: {message}")
    {
        public string Code { get; } = code;
    }

    /// <summary>Posts an admission signed by the network authority.</summary>
    public Task<JsonElement> AdmitOperatorAsync(string operatorId, byte[] admission) =>
        PostAsync($"/api/operators/{operatorId}/admission", new { signed = Convert.ToBase64String(admission) });

    /// <summary>Posts the authority's signed statement about a ledger node key.</summary>
    public Task<JsonElement> AdmitLedgerNodeAsync(string nodeKeyHex, byte[] admission) =>
        PostAsync($"/api/ledger/nodes/{nodeKeyHex}/admission", new { signed = Convert.ToBase64String(admission) });

    /// <summary>The ledger node keys the authority has spoken about (the grid operator reads it).</summary>
    public Task<JsonElement> LedgerNodesAsync() => GetAsync("/api/ledger/nodes");

    /// <summary>The cluster's members, the key each signs ledger blocks with, and the shards each hosts (the grid operator reads it).</summary>
    public Task<JsonElement> ClusterAsync() => GetAsync("/api/cluster");

    /// <summary>Posts an operator's signed endorsement of a dashboard (viewer) key.</summary>
    public Task<JsonElement> AddViewerKeyAsync(string operatorId, byte[] viewerKey) =>
        PostAsync($"/api/operators/{operatorId}/viewer-keys", new { signed = Convert.ToBase64String(viewerKey) });

    public Task<JsonElement> OperatorAsync(string operatorId) => GetAsync($"/api/operators/{operatorId}");

    public Task<JsonElement> DeviceAsync(string deviceId) => GetAsync($"/api/devices/{deviceId}");

    public Task<JsonElement> WithdrawAsync(string account, byte[] withdrawalOrder) =>
        PostAsync($"/api/accounts/{account}/withdraw", new { signed = Convert.ToBase64String(withdrawalOrder) });

    public Task<JsonElement> EndorseAsync(string deviceId, byte[] endorsement) =>
        PostAsync($"/api/devices/{deviceId}/endorsement", new { signed = Convert.ToBase64String(endorsement) });

    /// <summary>Posts an operator's signed funding order for an account.</summary>
    public Task<JsonElement> FundAsync(string account, byte[] fundingOrder) =>
        PostAsync($"/api/accounts/{account}/mint", new { signed = Convert.ToBase64String(fundingOrder) });

    public Task<JsonElement> OpenChannelAsync(string channelId, byte[] opening) =>
        PostAsync($"/api/channels/{channelId}/open", new { signed = Convert.ToBase64String(opening) });

    public Task<JsonElement> SubmitVoucherAsync(string channelId, byte[] voucher) =>
        PostAsync($"/api/channels/{channelId}/vouchers", new { signed = Convert.ToBase64String(voucher) });

    public Task<JsonElement> CloseChannelAsync(string channelId, byte[] closeRequest) =>
        PostAsync($"/api/channels/{channelId}/close", new { signed = Convert.ToBase64String(closeRequest) });

    public Task<JsonElement> RevokeAsync(string deviceId, byte[] revocation) =>
        PostAsync($"/api/devices/{deviceId}/revocation", new { signed = Convert.ToBase64String(revocation) });

    public Task<JsonElement> AccountAsync(string account) => GetAsync($"/api/accounts/{account}");

    public Task<JsonElement> ChannelAsync(string channelId) => GetAsync($"/api/channels/{channelId}");

    public Task<JsonElement> SessionAsync(string session) => GetAsync($"/api/sessions/{session}");

    public Task<JsonElement> OpenDuplexChannelAsync(string channelId, byte[] opening) =>
        PostAsync($"/api/duplex-channels/{channelId}/open", new { signed = Convert.ToBase64String(opening) });

    public Task<JsonElement> SubmitDuplexStateAsync(string channelId, byte[] state) =>
        PostAsync($"/api/duplex-channels/{channelId}/states", new { signed = Convert.ToBase64String(state) });

    public Task<JsonElement> SetTariffAsync(string gantry, byte[] tariff) =>
        PostAsync($"/api/gantries/{gantry}/tariff", new { signed = Convert.ToBase64String(tariff) });

    public Task<JsonElement> QuarantineAsync(string device, byte[] order) =>
        PostAsync($"/api/devices/{device}/quarantine", new { signed = Convert.ToBase64String(order) });

    /// <summary>Posts an operator's signed setting of a charge point's OCPP password (a salted hash, never the password).</summary>
    public Task<JsonElement> SetChargePointPasswordAsync(string chargePoint, byte[] password) =>
        PostAsync($"/api/charge-points/{chargePoint}/password", new { signed = Convert.ToBase64String(password) });

    /// <summary>Posts a meter's signed order to its zone's market (anyone may post it; the signature decides).</summary>
    public Task<JsonElement> SubmitMarketOrderAsync(string zone, byte[] order) =>
        PostAsync($"/api/market/{zone}/orders", new { signed = Convert.ToBase64String(order) });

    /// <summary>An interval of a zone's market as the caller may see it (the grid operator all of it, a meter its own part).</summary>
    public Task<JsonElement> MarketIntervalAsync(string zone, long startMs) => GetAsync($"/api/market/{zone}/intervals/{startMs}");

    /// <summary>The grid operator settles an interval against the participants' signed readings (a signed request).</summary>
    public Task<JsonElement> SettleMarketIntervalAsync(string zone, long startMs, object body) =>
        PostSignedAsync($"/api/market/{zone}/intervals/{startMs}/settlement", body);

    public Task<JsonElement> GantryAsync(string gantry) => GetAsync($"/api/gantries/{gantry}");

    public Task<JsonElement> ViolationsAsync(string tollOperator) => GetAsync($"/api/tolls/{tollOperator}/violations");

    public Task<JsonElement> ZoneAsync(string zone) => GetAsync($"/api/zones/{zone}");

    public Task<JsonElement> AlertsAsync() => GetAsync("/api/alerts");

    public Task<JsonElement> TotalsAsync() => GetAsync("/api/ledger/totals");

    public Task<JsonElement> ShardsAsync() => GetAsync("/api/ledger/shards");

    /// <summary>Audits a shard's whole chain, page by page.</summary>
    public async Task<JsonElement> AuditAsync(string shard)
    {
        ulong from = 1;
        ulong total = 0;
        while (true)
        {
            var page = await GetAsync($"/api/ledger/{shard}/audit?from={from}");
            var checkedBlocks = page.GetProperty("blocksChecked").GetUInt64();
            total += checkedBlocks;
            if (!page.GetProperty("intact").GetBoolean() || checkedBlocks < AuditPageBlocks)
                // The node leaves out what is null: the first bad height and the reason of an intact chain.
                return JsonSerializer.SerializeToElement(new { shard, intact = page.GetProperty("intact").GetBoolean(), blocksChecked = total,
                    firstBadHeight = page.TryGetProperty("firstBadHeight", out var height) ? height : default(JsonElement?),
                    reason = page.TryGetProperty("reason", out var reason) ? reason : default(JsonElement?) });
            from += checkedBlocks;
        }
    }

    private const ulong AuditPageBlocks = 1_000;

    private async Task<JsonElement> PostAsync(string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        return await ReadAsync(response);
    }

    /// <summary>Posts a body with the request signed by the caller over its method, path and exact bytes.</summary>
    public async Task<JsonElement> PostSignedAsync(string path, object body)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json");
        if (caller is { } party && callerKey is not null) request.Headers.Authorization = new("Energy", SignRequest(party, callerKey, "POST", path, bytes));
        using var response = await http.SendAsync(request);
        return await ReadAsync(response);
    }

    public async Task<JsonElement> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (caller is { } party && callerKey is not null) request.Headers.Authorization = new("Energy", SignRequest(party, callerKey, "GET", path, []));
        using var response = await http.SendAsync(request);
        return await ReadAsync(response);
    }

    /// <summary>The Authorization value of a signed API call: who, when, a fresh nonce and the hash of the request.</summary>
    public string SignRequest(PartyId party, DeviceKeyPair key, string method, string pathAndQuery, byte[] body)
    {
        var network = NetworkFor ?? throw new InvalidOperationException("the client's network is not set");
        var request = new ApiRequest(network, party, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), RandomNumberGenerator.GetBytes(ApiRequest.NonceBytes),
            ApiRequest.HashOf(method, pathAndQuery, body));
        return Convert.ToBase64String(Signed<ApiRequest>.Sign(request, key).Wire);
    }

    /// <summary>The network signed requests are for.</summary>
    public NetworkId? NetworkFor { get; init; }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (text.Length == 0)
        {
            if (response.IsSuccessStatusCode) return default;
            throw new NodeRefusedException($"Http{(int)response.StatusCode}", response.ReasonPhrase ?? "");
        }
        var json = JsonDocument.Parse(text).RootElement.Clone();
        if (response.IsSuccessStatusCode) return json;
        var error = json.TryGetProperty("error", out var e) ? e : json;
        throw new NodeRefusedException(
            error.TryGetProperty("code", out var code) ? code.GetString() ?? "Unknown" : $"Http{(int)response.StatusCode}",
            error.TryGetProperty("message", out var message) ? message.GetString() ?? "" : json.ToString());
    }
}
