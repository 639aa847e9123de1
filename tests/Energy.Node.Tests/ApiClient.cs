using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Node.Tests;

public sealed record ApiAnswer(int Status, JsonElement Body)
{
    public bool Ok => Status is >= 200 and < 300;
    public string? Code => !Ok && Body.TryGetProperty("error", out var e) ? e.GetProperty("code").GetString() : null;
}

/// <summary>
/// The node's HTTP API; while the node is down, a call waits (bounded) and tries again. Reads are signed as
/// <see cref="Caller"/> when it is set (each try with a fresh nonce), and go unsigned otherwise.
/// </summary>
public sealed class ApiClient(NodeProcess node, TimeSpan? retryFor = null) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(30) };
    private readonly TimeSpan _retryFor = retryFor ?? TimeSpan.FromSeconds(90);

    /// <summary>Who signs reads: a party and its key.</summary>
    public (PartyId Party, DeviceKeyPair Key)? Caller { get; set; }

    /// <summary>The same node, reading as another party.</summary>
    public ApiClient As(PartyId party, DeviceKeyPair key) => new(node, _retryFor) { Caller = (party, key) };

    /// <summary>The same node, reading as a stranger (no signature).</summary>
    public ApiClient Anonymous() => new(node, _retryFor);

    /// <summary>A read with a header of the caller's choosing (forged, replayed, for another request).</summary>
    public Task<ApiAnswer> GetWithAuthorizationAsync(string path, string authorization) => SendAsync(() =>
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return _http.SendAsync(request);
    });

    /// <summary>The Authorization value of a signed read of this path.</summary>
    public static string SignRead(PartyId party, DeviceKeyPair key, string path, NetworkId? network = null, Timestamp? at = null)
    {
        var request = new ApiRequest(network ?? NetworkId.Of("energy-test"), party, at ?? Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            RandomNumberGenerator.GetBytes(ApiRequest.NonceBytes), ApiRequest.HashOf("GET", path, []));
        return "Energy " + Convert.ToBase64String(Signed<ApiRequest>.Sign(request, key).Wire);
    }

    public Task<ApiAnswer> PostAsync(string path, object body) => SendAsync(() => _http.PostAsJsonAsync(path, body));

    public Task<ApiAnswer> PostSignedAsync(string path, byte[] signed) => PostAsync(path, new { signed = Convert.ToBase64String(signed) });

    public Task<ApiAnswer> GetAsync(string path) => SendAsync(() =>
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (Caller is { } caller) request.Headers.TryAddWithoutValidation("Authorization", SignRead(caller.Party, caller.Key, path));
        return _http.SendAsync(request);
    });

    private async Task<ApiAnswer> SendAsync(Func<Task<HttpResponseMessage>> send)
    {
        var deadline = DateTime.UtcNow + _retryFor;
        while (true)
        {
            try
            {
                using var response = await send();
                var text = await response.Content.ReadAsStringAsync();
                if ((int)response.StatusCode == 504 && DateTime.UtcNow < deadline) continue;
                var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
                return new ApiAnswer((int)response.StatusCode, body);
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && DateTime.UtcNow < deadline)
            {
                // The node is down or restarting: wait until it answers again, then repeat the (idempotent) request.
                await node.WaitHealthyAsync(deadline - DateTime.UtcNow);
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
