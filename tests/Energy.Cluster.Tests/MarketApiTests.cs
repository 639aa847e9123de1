using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Cluster.Api;
using Energy.Cluster.Hosting;
using Energy.Cluster.Market;
using Energy.Lifecycles.Market;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Energy.Cluster.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

/// <summary>
/// The market's HTTP routes on the node's API, each asked who may call it: anyone submits an order (its signature
/// decides), the grid operator reads and settles everything, a meter reads only its own, and the stranger, the other
/// tenant and the replayer are refused.
/// </summary>
public sealed class MarketApiTests(ITestOutputHelper output)
    : ClusterTestKit(TestStores.Sqlite(), output, configure: s => s with { MarketClearCheckInterval = TimeSpan.FromHours(1), MarketWatchInterval = TimeSpan.FromHours(1) }), IAsyncLifetime
{
    private static readonly OperatorId OtherTenant = OperatorId.Of("cpo-elsewhere");
    private readonly MarketParticipants _m = new();
    private readonly DeviceKeyPair _otherKey = DeviceKeyPair.Generate();
    private WebApplication? _app;
    private HttpClient _http = null!;

    private ZoneId Zone => MarketParticipants.Zone;

    private MarketInterval Next => MarketInterval.Numbered(Zone, MarketInterval.Containing(Zone, Clock.Now, Settings.MarketRules.IntervalLength).Number + 1,
        Settings.MarketRules.IntervalLength);

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new EnergyNetwork(Sys, Regions, Settings));
        builder.Services.AddSingleton<ApiAuthenticator>();
        builder.Services.ConfigureHttpJsonOptions(options => EnergyJson.AddConverters(options.SerializerOptions));
        _app = builder.Build();
        _app.MapEnergyApi();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_app is not null) await _app.DisposeAsync();
    }

    private object Ask(object message, IActorRef region)
    {
        region.Tell(message, TestActor);
        return ExpectMsg<object>(TimeSpan.FromSeconds(15));
    }

    private void Onboard()
    {
        foreach (var step in _m.Onboarding(Settings.LedgerShardCount, 10_000, 1_000))
        {
            var region = step switch { AdmitOperator => Regions.Operators, EndorseDevice => Regions.Devices, _ => Regions.Ledger };
            Assert.IsNotType<Refusal>(Ask(step, region));
        }
        Assert.IsType<OperatorView>(Ask(TestAuthority.Admit(OtherTenant, _otherKey, OperatorRoles.ChargePointOperator), Regions.Operators));
    }

    private string Signature(PartyId party, DeviceKeyPair key, string method, string path, byte[] body)
    {
        var request = new ApiRequest(Network, party, Clock.Now, RandomNumberGenerator.GetBytes(ApiRequest.NonceBytes), ApiRequest.HashOf(method, path, body));
        return Convert.ToBase64String(Signed<ApiRequest>.Sign(request, key).ToArray());
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, byte[]? body, string? signature)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        if (signature is not null) request.Headers.TryAddWithoutValidation("Authorization", "Energy " + signature);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path, PartyId? party = null, DeviceKeyPair? key = null) =>
        SendAsync(HttpMethod.Get, path, null, party is { } p ? Signature(p, key!, "GET", path, []) : null);

    private static string Code(JsonElement body) => body.GetProperty("error").GetProperty("code").GetString()!;

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostOrderAsync(Signed<MarketOrder> order) =>
        await SendAsync(HttpMethod.Post, $"/api/market/{Zone}/orders",
            Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { signed = Convert.ToBase64String(order.ToArray()) })), null);

    [Fact]
    public async Task Anyone_may_post_an_order_and_its_signature_decides()
    {
        Onboard();
        var order = MarketParticipants.Order(Next, MarketParticipants.Seller1, MarketSide.Offer, 3_000, 100);

        var accepted = await PostOrderAsync(_m.Sign(order));
        var replayed = await PostOrderAsync(_m.Sign(order));
        using var thief = DeviceKeyPair.Generate();
        var forged = await PostOrderAsync(_m.Sign(order with { OrderNumber = 2 }, thief));

        Assert.Equal(HttpStatusCode.OK, accepted.Status);
        Assert.Equal(1UL, accepted.Body.GetProperty("sequence").GetUInt64());
        Assert.Equal((HttpStatusCode.Conflict, "DuplicateOrder"), (replayed.Status, Code(replayed.Body)));
        Assert.Equal((HttpStatusCode.Forbidden, "InvalidSignature"), (forged.Status, Code(forged.Body)));
    }

    [Fact]
    public async Task The_grid_operator_reads_the_whole_interval_a_meter_only_its_own_and_the_stranger_the_other_tenant_and_the_replayer_nothing()
    {
        Onboard();
        var interval = Next;
        foreach (var order in MarketParticipants.Book(interval)) Assert.Equal(HttpStatusCode.OK, (await PostOrderAsync(_m.Sign(order))).Status);
        Clock.Advance(new DurationMs(interval.Start.UnixMilliseconds - Clock.Now.UnixMilliseconds));
        Assert.IsType<MarketCleared>(Ask(new ClearDue(Zone), Regions.Markets));
        var path = $"/api/market/{Zone}/intervals/{interval.Start.UnixMilliseconds}";

        var grid = await GetAsync(path, PartyId.From(MarketParticipants.Grid), _m.GridKey);
        var buyer = await GetAsync(path, PartyId.From(MarketParticipants.Buyer1), _m.Keys[MarketParticipants.Buyer1]);
        var stranger = await GetAsync(path);
        var otherTenant = await GetAsync(path, PartyId.From(OtherTenant), _otherKey);
        var signature = Signature(PartyId.From(MarketParticipants.Grid), _m.GridKey, "GET", path, []);
        var first = await SendAsync(HttpMethod.Get, path, null, signature);
        var replayed = await SendAsync(HttpMethod.Get, path, null, signature);

        Assert.Equal(HttpStatusCode.OK, grid.Status);
        Assert.Equal(4_500, grid.Body.GetProperty("volume").GetInt64());
        Assert.Equal(2, grid.Body.GetProperty("bids").GetProperty("orders").GetInt32());
        Assert.Equal(HttpStatusCode.OK, buyer.Status);
        Assert.Equal(MarketParticipants.Buyer1.Value, buyer.Body.GetProperty("device").GetString());
        Assert.All(buyer.Body.GetProperty("fills").EnumerateArray(), f => Assert.Equal(MarketParticipants.Buyer1.Value, f.GetProperty("device").GetString()));
        Assert.False(buyer.Body.TryGetProperty("bids", out _));
        Assert.Equal((HttpStatusCode.Unauthorized, "Unauthenticated"), (stranger.Status, Code(stranger.Body)));
        Assert.Equal((HttpStatusCode.Forbidden, "NotVisible"), (otherTenant.Status, Code(otherTenant.Body)));
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal((HttpStatusCode.Unauthorized, "Unauthenticated"), (replayed.Status, Code(replayed.Body)));
    }

    [Fact]
    public async Task Only_the_grid_operator_settles_and_a_replayed_settlement_is_refused()
    {
        Onboard();
        var interval = Next;
        foreach (var order in MarketParticipants.Book(interval)) Assert.Equal(HttpStatusCode.OK, (await PostOrderAsync(_m.Sign(order))).Status);
        Clock.Advance(new DurationMs(interval.Start.UnixMilliseconds - Clock.Now.UnixMilliseconds));
        Assert.IsType<MarketCleared>(Ask(new ClearDue(Zone), Regions.Markets));
        var evidence = MarketParticipants.All.Select(device => new
        {
            participant = device.Value,
            side = device == MarketParticipants.Seller1 || device == MarketParticipants.Seller2 ? "offer" : "bid",
            start = Convert.ToBase64String(_m.Reading(device, 1, new Timestamp(interval.Start.UnixMilliseconds), 1_000).ToArray()),
            end = Convert.ToBase64String(_m.Reading(device, 2, interval.End, 4_000).ToArray()),
            channel = "market-" + device.Value,
        }).ToList();
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { evidence }));
        var path = $"/api/market/{Zone}/intervals/{interval.Start.UnixMilliseconds}/settlement";
        Clock.Advance(new DurationMs(interval.End.UnixMilliseconds + 10_000 - Clock.Now.UnixMilliseconds));
        var badChannel = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { evidence = evidence.Select(e => e with { channel = "Not A Channel" }) }));
        var refusedChannel = await SendAsync(HttpMethod.Post, path, badChannel, Signature(PartyId.From(MarketParticipants.Grid), _m.GridKey, "POST", path, badChannel));
        Assert.Equal((HttpStatusCode.BadRequest, "MalformedValue"), (refusedChannel.Status, Code(refusedChannel.Body)));

        var stranger = await SendAsync(HttpMethod.Post, path, body, null);
        var participant = await SendAsync(HttpMethod.Post, path, body, Signature(PartyId.From(MarketParticipants.Seller1), _m.Keys[MarketParticipants.Seller1], "POST", path, body));
        var otherTenant = await SendAsync(HttpMethod.Post, path, body, Signature(PartyId.From(OtherTenant), _otherKey, "POST", path, body));
        Assert.Null(Assert.IsType<MarketIntervalView>(Ask(new GetMarketInterval(Zone, interval.Number), Regions.Markets)).Settlement);
        var signature = Signature(PartyId.From(MarketParticipants.Grid), _m.GridKey, "POST", path, body);
        var settled = await SendAsync(HttpMethod.Post, path, body, signature);
        var replayed = await SendAsync(HttpMethod.Post, path, body, signature);
        var again = await SendAsync(HttpMethod.Post, path, body, Signature(PartyId.From(MarketParticipants.Grid), _m.GridKey, "POST", path, body));

        Assert.Equal((HttpStatusCode.Unauthorized, "Unauthenticated"), (stranger.Status, Code(stranger.Body)));
        Assert.Equal((HttpStatusCode.Forbidden, "NotPermitted"), (participant.Status, Code(participant.Body)));
        Assert.Equal((HttpStatusCode.Forbidden, "NotPermitted"), (otherTenant.Status, Code(otherTenant.Body)));
        Assert.Equal(HttpStatusCode.OK, settled.Status);
        Assert.Equal(MarketParticipants.Grid.Value, settled.Body.GetProperty("marketOperator").GetString());
        Assert.Equal(4, settled.Body.GetProperty("lines").GetArrayLength());
        Assert.All(settled.Body.GetProperty("lines").EnumerateArray(), l => Assert.Equal("market-" + l.GetProperty("participant").GetString(), l.GetProperty("channel").GetString()));
        Assert.Equal((HttpStatusCode.Unauthorized, "Unauthenticated"), (replayed.Status, Code(replayed.Body)));
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(settled.Body.GetProperty("settledAt").GetInt64(), again.Body.GetProperty("settledAt").GetInt64());
    }

    protected override void Dispose(bool disposing)
    {
        _m.Dispose();
        _otherKey.Dispose();
        base.Dispose(disposing);
    }
}
