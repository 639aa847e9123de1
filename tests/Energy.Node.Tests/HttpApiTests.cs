using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Node.Tests;

public sealed class NodeFixture : IAsyncLifetime
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public NodeProcess Node { get; } = new();
    public ApiClient Api { get; private set; } = null!;
    public Governance Governance { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Node.StartAsync();
        Api = new ApiClient(Node, TimeSpan.FromSeconds(5));
        _http.BaseAddress = Node.Url;
        Governance = await Governance.StartAsync(Node, new Energy.Agents.NodeClient(_http), Api);
    }

    public Task DisposeAsync()
    {
        Governance.Dispose();
        _http.Dispose();
        Api.Dispose();
        Node.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The HTTP API of a real node process: the whole flow, and one error shape for every refusal.</summary>
public sealed class HttpApiTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private ApiClient Api => fixture.Api;

    private async Task<(DeviceKeyPair Cpo, OperatorId CpoId, DeviceKeyPair Vehicle, DeviceId VehicleId, ChannelId Channel)> OpenAsync(string name)
    {
        var cpoKey = DeviceKeyPair.Generate();
        var vehicleKey = DeviceKeyPair.Generate();
        var cpo = OperatorId.Of($"cpo-{name}");
        var vehicle = DeviceId.Of($"vehicle-{name}");
        var channel = ChannelId.Of($"channel-{name}");
        Assert.Equal(200, (await Api.PostSignedAsync($"/api/operators/{cpo}/admission", Governance.Admission(fixture.Node, cpo, cpoKey.PublicKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner | OperatorRoles.SettlementBank, 1_000_000_000))).Status);
        Assert.Equal(200, (await Api.PostSignedAsync($"/api/devices/{vehicle}/endorsement",
            DeviceIdentity.Endorse(Network, cpo, cpoKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray())).Status);
        Assert.Equal(200, (await Api.PostSignedAsync($"/api/accounts/{PartyId.From(vehicle)}/mint", Signed<FundingOrder>.Sign(
            new FundingOrder(Network, cpo, PartyId.From(vehicle), new Money(5_000, Currency.Eur), "fund"), cpoKey).ToArray())).Status);
        var opened = await Api.PostSignedAsync($"/api/channels/{channel}/open", Signed<StreamingOpening>.Sign(
            new StreamingOpening(Network, channel, PartyId.From(vehicle), PartyId.From(cpo), new Money(2_000, Currency.Eur), DurationMs.FromSeconds(60)), vehicleKey).ToArray());
        Assert.Equal(200, opened.Status);
        return (cpoKey, cpo, vehicleKey, vehicle, channel);
    }

    /// <summary>A voucher; its increment is the whole amount unless told (right for a channel's first voucher).</summary>
    private static byte[] Voucher(ChannelId channel, ulong sequence, long amount, DeviceKeyPair key, long? increment = null) =>
        Signed<Voucher>.Sign(new Voucher(Network, channel, sequence, new Money(amount, Currency.Eur), new Money(increment ?? amount, Currency.Eur), PaymentPurpose.None), key).ToArray();

    private static void AssertError(ApiAnswer answer, int status, string code)
    {
        Assert.Equal(status, answer.Status);
        Assert.Equal(code, answer.Code);
        Assert.False(string.IsNullOrEmpty(answer.Body.GetProperty("error").GetProperty("message").GetString()));
    }

    [Fact]
    public async Task A_channel_pays_and_settles_and_the_same_close_gets_the_same_answer()
    {
        var (cpoKey, cpo, vehicleKey, vehicle, channel) = await OpenAsync("flow");
        for (ulong i = 1; i <= 3; i++) Assert.Equal(200, (await Api.PostSignedAsync($"/api/channels/{channel}/vouchers", Voucher(channel, i, (long)i * 250, vehicleKey, increment: 250))).Status);
        var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, channel, PartyId.From(cpo), Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), cpoKey).ToArray();
        var first = await Api.PostSignedAsync($"/api/channels/{channel}/close", close);
        var second = await Api.PostSignedAsync($"/api/channels/{channel}/close", close);
        Assert.Equal(200, first.Status);
        Assert.Equal(first.Body.ToString(), second.Body.ToString());
        var payouts = first.Body.GetProperty("payouts").EnumerateArray().ToDictionary(p => p.GetProperty("account").GetString()!, p => p.GetProperty("amount").GetProperty("minorUnits").GetInt64());
        Assert.Equal((750L, 1_250L), (payouts[PartyId.From(cpo).Value], payouts[PartyId.From(vehicle).Value]));
        var account = await Api.GetAsync($"/api/accounts/{PartyId.From(vehicle)}");
        Assert.Equal(4_250, account.Body.GetProperty("balance").GetProperty("minorUnits").GetInt64());
        var shards = (await Api.GetAsync("/api/ledger/shards")).Body.EnumerateArray().Select(s => s.GetString()!).ToList();
        foreach (var shard in shards)
        {
            var audit = await Api.GetAsync($"/api/ledger/{shard}/audit");
            Assert.True(audit.Body.GetProperty("intact").GetBoolean(), audit.Body.ToString());
        }
        var blocks = await Api.GetAsync($"/api/ledger/{shards[0]}/blocks?from=1&count=5");
        Assert.Equal(200, blocks.Status);
    }

    [Fact]
    public async Task Hostile_requests_get_named_errors_with_one_body_shape()
    {
        var (cpoKey, cpo, vehicleKey, vehicle, channel) = await OpenAsync("hostile");
        using var stranger = DeviceKeyPair.Generate();
        AssertError(await Api.GetAsync("/api/accounts/Upper-Case"), 400, "MalformedValue");
        AssertError(await Api.PostAsync($"/api/channels/{channel}/vouchers", new { signed = "not base64!" }), 400, "MalformedValue");
        AssertError(await Api.PostSignedAsync($"/api/channels/{channel}/vouchers", Voucher(channel, 1, 10, vehicleKey)[..30]), 400, "Truncated");
        AssertError(await Api.PostSignedAsync($"/api/channels/{channel}/vouchers", Voucher(channel, 1, 10, stranger)), 403, "InvalidSignature");
        Assert.Equal(200, (await Api.PostSignedAsync($"/api/channels/{channel}/vouchers", Voucher(channel, 1, 10, vehicleKey))).Status);
        AssertError(await Api.PostSignedAsync($"/api/channels/{channel}/vouchers", Voucher(channel, 1, 10, vehicleKey)), 400, "VoucherNotNewer");
        AssertError(await Api.PostSignedAsync("/api/channels/nowhere/vouchers", Voucher(ChannelId.Of("nowhere"), 1, 10, vehicleKey)), 404, "ChannelNotFound");
        AssertError(await Api.PostSignedAsync($"/api/operators/{cpo}/admission", Governance.Admission(fixture.Node, cpo, stranger.PublicKey, OperatorRoles.TollOperator)), 409, "AdmissionVersionReused");
        AssertError(await Api.PostSignedAsync($"/api/accounts/{PartyId.From(vehicle)}/withdraw", Signed<WithdrawalOrder>.Sign(
            new WithdrawalOrder(Network, PartyId.From(vehicle), new Money(1_000_000, Currency.Eur), "too-much"), vehicleKey).ToArray()), 400, "InsufficientFunds");
        AssertError(await Api.PostSignedAsync($"/api/accounts/{PartyId.From(vehicle)}/withdraw", Signed<WithdrawalOrder>.Sign(
            new WithdrawalOrder(Network, PartyId.From(vehicle), new Money(1, Currency.Eur), "stolen"), stranger).ToArray()), 403, "InvalidSignature");
        AssertError(await Api.PostSignedAsync($"/api/accounts/{PartyId.From(vehicle)}/mint", Signed<FundingOrder>.Sign(
            new FundingOrder(Network, cpo, PartyId.From(vehicle), new Money(1_000_000, Currency.Eur), "printing-money"), stranger).ToArray()), 403, "InvalidSignature");
        AssertError(await Api.PostSignedAsync("/api/accounts/someone-else/mint", Signed<FundingOrder>.Sign(
            new FundingOrder(Network, cpo, PartyId.From(vehicle), new Money(1, Currency.Eur), "moved"), cpoKey).ToArray()), 400, "MalformedValue");
        AssertError(await Api.GetAsync("/api/ledger/ledger-99/audit"), 400, "MalformedValue");

        var revocation = Signed<Revocation>.Sign(new Revocation(Network, cpo, vehicle, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), cpoKey).ToArray();
        var revoked = await Api.PostSignedAsync($"/api/devices/{vehicle}/revocation", revocation);
        Assert.True(revoked.Body.GetProperty("revoked").GetBoolean());
        AssertError(await Api.PostSignedAsync($"/api/channels/{channel}/vouchers", Voucher(channel, 2, 20, vehicleKey, increment: 10)), 403, "PartyRevoked");
    }

    [Fact]
    public async Task The_OpenAPI_description_lists_the_endpoints()
    {
        var document = await Api.GetAsync("/openapi/v1.json");
        Assert.Equal(200, document.Status);
        var paths = document.Body.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/channels/{id}/vouchers", paths);
        Assert.Contains("/api/ledger/{shard}/audit", paths);
        Assert.Contains("/api/devices/{id}/revocation", paths);
    }
}
