using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Node.Tests;

/// <summary>One scrape of /metrics in the Prometheus text format: each sample's name, labels and value.</summary>
public sealed partial record Scrape(IReadOnlyList<(string Name, IReadOnlyDictionary<string, string> Labels, double Value)> Samples, string Text)
{
    public static Scrape Parse(string text)
    {
        var samples = new List<(string, IReadOnlyDictionary<string, string>, double)>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#')) continue;
            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"not a sample line: {line}");
            var labels = LabelPair().Matches(sample.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
            samples.Add((sample.Groups["name"].Value, labels, double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return new Scrape(samples, text);
    }

    /// <summary>The sum of a metric's samples whose labels include <paramref name="labels"/>; 0 when there is none yet.</summary>
    public double Value(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"[,]?""")]
    private static partial Regex LabelPair();
}

/// <summary>
/// The node's /metrics as Prometheus scrapes it: a payment counted once it is durable, under the names the
/// operators' dashboards read; no tag naming a party, a device, a channel or an address; and, when the operator
/// closes it, a stranger refused.
/// </summary>
public sealed class MetricsTests(NodeFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<NodeFixture>
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");
    private ApiClient Api => fixture.Api;

    private static async Task<Scrape> ScrapeAsync(Uri node, string? token = null)
    {
        using var http = new HttpClient { BaseAddress = node, Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Scrape.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Scrapes until <paramref name="done"/> holds (the exporter caches a scrape for 300 ms), at most 15 s.</summary>
    private async Task<Scrape> ScrapeUntilAsync(Func<Scrape, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var scrape = await ScrapeAsync(fixture.Node.Url);
            if (done(scrape) || DateTime.UtcNow > deadline) return scrape;
            await Task.Delay(100); // poll interval of a bounded wait for a scrape
        }
    }

    private async Task<(OperatorId Cpo, DeviceId Vehicle, ChannelId Channel, DeviceKeyPair VehicleKey)> OpenAsync(string name)
    {
        using var cpoKey = DeviceKeyPair.Generate();
        var vehicleKey = DeviceKeyPair.Generate();
        var cpo = OperatorId.Of($"cpo-{name}");
        var vehicle = DeviceId.Of($"vehicle-{name}");
        var channel = ChannelId.Of($"channel-{name}");
        Assert.Equal(200, (await Api.PostSignedAsync($"/api/operators/{cpo}/admission",
            Governance.Admission(fixture.Node, cpo, cpoKey.PublicKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner | OperatorRoles.SettlementBank, 1_000_000))).Status);
        Assert.Equal(200, (await Api.PostSignedAsync($"/api/devices/{vehicle}/endorsement",
            DeviceIdentity.Endorse(Network, cpo, cpoKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray())).Status);
        Assert.Equal(200, (await Api.PostSignedAsync($"/api/accounts/{PartyId.From(vehicle)}/mint", Signed<FundingOrder>.Sign(
            new FundingOrder(Network, cpo, PartyId.From(vehicle), new Money(200_000, Currency.Eur), "fund-" + name), cpoKey).ToArray())).Status);
        Assert.Equal(200, (await Api.PostSignedAsync($"/api/channels/{channel}/open", Signed<StreamingOpening>.Sign(
            new StreamingOpening(Network, channel, PartyId.From(vehicle), PartyId.From(cpo), new Money(150_000, Currency.Eur), DurationMs.FromSeconds(60)), vehicleKey).ToArray())).Status);
        return (cpo, vehicle, channel, vehicleKey);
    }

    private static byte[] Voucher(ChannelId channel, ulong sequence, long amount, DeviceKeyPair key) =>
        Signed<Voucher>.Sign(new Voucher(Network, channel, sequence, new Money(amount, Currency.Eur), new Money(amount, Currency.Eur), PaymentPurpose.None), key).ToArray();

    [Fact]
    public async Task A_payment_is_counted_once_it_is_durable_under_the_names_the_dashboards_read()
    {
        var (_, _, channel, vehicleKey) = await OpenAsync("counted");
        var before = await ScrapeUntilAsync(s => s.Value("energy_ledger_totals", ("total", "minted")) >= 200_000);
        var paymentsBefore = before.Value("energy_payments_total", ("kind", "streaming"));
        var timedBefore = before.Value("energy_voucher_accept_duration_seconds_count", ("kind", "streaming"));

        Assert.Equal(200, (await Api.PostSignedAsync($"/api/channels/{channel}/vouchers", Voucher(channel, 1, 250, vehicleKey))).Status);
        // Refused, so never counted.
        Assert.Equal(400, (await Api.PostSignedAsync($"/api/channels/{channel}/vouchers", Voucher(channel, 1, 250, vehicleKey))).Status);

        var after = await ScrapeUntilAsync(s => s.Value("energy_payments_total", ("kind", "streaming")) > paymentsBefore);
        foreach (var line in after.Text.Split('\n').Where(l => l.StartsWith("energy_", StringComparison.Ordinal) && !l.Contains("_bucket{", StringComparison.Ordinal))) output.WriteLine(line);
        Assert.Equal(paymentsBefore + 1, after.Value("energy_payments_total", ("kind", "streaming")));
        Assert.Equal(timedBefore + 1, after.Value("energy_voucher_accept_duration_seconds_count", ("kind", "streaming")));
        Assert.True(after.Value("energy_journal_batch_size_count") > 0, "no journal write measured");
        Assert.True(after.Value("energy_journal_write_duration_seconds_count") > 0, "no journal write timed");
        Assert.True(after.Value("energy_entity_activations_total", ("entity", "channel")) >= 1, "no channel activation counted");
        Assert.True(after.Value("energy_entity_activations_total", ("entity", "ledger")) >= 1, "no ledger shard activation counted");
        Assert.True(after.Value("energy_channels_open", ("kind", "streaming")) >= 1, "the open channel is not counted");
        Assert.True(after.Value("energy_ledger_totals", ("total", "escrows")) >= 150_000, "the channel's deposit is not in the escrows");
        Assert.Contains("dotnet_gc_collections_total", after.Text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", after.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_tag_names_a_party_a_device_a_channel_an_amount_or_an_address()
    {
        var (cpo, vehicle, channel, vehicleKey) = await OpenAsync("private");
        Assert.Equal(200, (await Api.PostSignedAsync($"/api/channels/{channel}/vouchers", Voucher(channel, 1, 98_765, vehicleKey))).Status);
        var scrape = await ScrapeUntilAsync(s => s.Value("energy_payments_total") >= 1);

        var identifying = new[] { cpo.Value, vehicle.Value, channel.Value, "98765", "127.0.0.1", "localhost", fixture.Node.Port.ToString(CultureInfo.InvariantCulture),
            fixture.Node.TlsPort.ToString(CultureInfo.InvariantCulture), fixture.Node.DataDirectory };
        foreach (var (name, labels, _) in scrape.Samples)
            foreach (var (key, value) in labels)
                Assert.False(identifying.Any(id => value.Contains(id, StringComparison.Ordinal)), $"{name} has {key}=\"{value}\"");
        // The node's own metrics carry only the kind of a payment, an entity or a total.
        var energyKeys = scrape.Samples.Where(s => s.Name.StartsWith("energy_", StringComparison.Ordinal)).SelectMany(s => s.Labels.Keys).ToHashSet();
        Assert.Subset(new HashSet<string> { "otel_scope_name", "otel_scope_version", "kind", "entity", "total", "le" }, energyKeys);
        // Other meters' addresses and connection strings are dropped before they are aggregated.
        Assert.DoesNotContain("server_address", scrape.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("pool_name", scrape.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_metrics_token_a_stranger_gets_401_and_no_metrics_and_the_token_gets_them()
    {
        const string Token = "metrics-token-0123456789";
        using var node = new NodeProcess(null, $"--Energy:Telemetry:MetricsToken={Token}");
        await node.StartAsync();
        using var http = new HttpClient { BaseAddress = node.Url };

        foreach (var authorization in new AuthenticationHeaderValue?[] { null, new("Bearer", "metrics-token-012345678"), new("Basic", Token), new("Bearer", Token + "0") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = authorization } };
            using var refused = await http.SendAsync(request);
            var body = await refused.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Contains("\"Unauthenticated\"", body, StringComparison.Ordinal);
            Assert.DoesNotContain("energy_", body, StringComparison.Ordinal);
            Assert.DoesNotContain("# TYPE", body, StringComparison.Ordinal);
        }
        // Health stays open to anyone; the token reads the metrics.
        using var live = await http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var scrape = await ScrapeAsync(node.Url, Token);
        Assert.True(scrape.Value("energy_entity_activations_total", ("entity", "ledger")) >= 1, scrape.Text);
    }

    [Fact]
    public async Task With_a_metrics_port_metrics_answer_there_only()
    {
        var port = NodeProcess.FreePort();
        using var node = new NodeProcess(null, $"--Energy:Telemetry:MetricsPort={port}");
        await node.StartAsync();
        using var http = new HttpClient { BaseAddress = node.Url };

        using var elsewhere = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        // Not even with the management port's name in the Host header: the port the connection came in on decides.
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Host = $"127.0.0.1:{port}" } };
        using var spoofedAnswer = await http.SendAsync(spoofed);
        Assert.Equal(HttpStatusCode.NotFound, spoofedAnswer.StatusCode);
        var scrape = await ScrapeAsync(new Uri($"http://127.0.0.1:{port}"));
        Assert.True(scrape.Value("energy_entity_activations_total", ("entity", "ledger")) >= 1, scrape.Text);
    }

    [Fact]
    public async Task A_node_with_a_malformed_telemetry_setting_refuses_to_start_and_names_the_setting()
    {
        using var node = new NodeProcess(null, "--Energy:Telemetry:MetricsToken=short") { WaitUntilReady = false };
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(node.StartAsync);
        Assert.Contains("exited", failed.Message, StringComparison.Ordinal);
        Assert.Contains("Energy:Telemetry:MetricsToken", await File.ReadAllTextAsync(node.LogPath), StringComparison.Ordinal);
    }
}
