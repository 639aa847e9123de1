using System.Net.Http.Json;
using System.Text.Json;

namespace Energy.Node.Tests;

public sealed record ApiAnswer(int Status, JsonElement Body)
{
    public bool Ok => Status is >= 200 and < 300;
    public string? Code => !Ok && Body.TryGetProperty("error", out var e) ? e.GetProperty("code").GetString() : null;
}

/// <summary>The node's HTTP API; while the node is down, a call waits (bounded) and tries again.</summary>
public sealed class ApiClient(NodeProcess node, TimeSpan? retryFor = null) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(30) };
    private readonly TimeSpan _retryFor = retryFor ?? TimeSpan.FromSeconds(90);

    public Task<ApiAnswer> PostAsync(string path, object body) => SendAsync(() => _http.PostAsJsonAsync(path, body));

    public Task<ApiAnswer> PostSignedAsync(string path, byte[] signed) => PostAsync(path, new { signed = Convert.ToBase64String(signed) });

    public Task<ApiAnswer> GetAsync(string path) => SendAsync(() => _http.GetAsync(new Uri(path, UriKind.Relative)));

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
