using System.Net.Http.Json;
using System.Text.Json;

namespace Energy.Agents;

/// <summary>The network's HTTP API as a device or operator agent sees it: JSON over HTTP, signed objects as base64.</summary>
public sealed class NodeClient(HttpClient http)
{
    public sealed class NodeRefusedException(string code, string message) : Exception($"{code}: {message}")
    {
        public string Code { get; } = code;
    }

    public Task<JsonElement> RegisterOperatorAsync(string operatorId, string name, string role, string publicKeyHex) =>
        PostAsync("/api/operators", new { operatorId, name, role, publicKey = publicKeyHex });

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

    public Task<JsonElement> GantryAsync(string gantry) => GetAsync($"/api/gantries/{gantry}");

    public Task<JsonElement> ViolationsAsync(string tollOperator) => GetAsync($"/api/tolls/{tollOperator}/violations");

    public Task<JsonElement> ZoneAsync(string zone) => GetAsync($"/api/zones/{zone}");

    public Task<JsonElement> AlertsAsync() => GetAsync("/api/alerts");

    public Task<JsonElement> TotalsAsync() => GetAsync("/api/ledger/totals");

    public Task<JsonElement> ShardsAsync() => GetAsync("/api/ledger/shards");

    public Task<JsonElement> AuditAsync(string shard) => GetAsync($"/api/ledger/{shard}/audit");

    private async Task<JsonElement> PostAsync(string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        return await ReadAsync(response);
    }

    private async Task<JsonElement> GetAsync(string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return await ReadAsync(response);
    }

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
