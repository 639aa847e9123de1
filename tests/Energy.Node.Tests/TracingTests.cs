using System.Collections.Concurrent;
using System.Net;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Google.Protobuf;

namespace Energy.Node.Tests;

/// <summary>
/// A collector that takes OTLP over HTTP (<c>POST /v1/traces</c>) and keeps every span it is sent: its trace id,
/// span id, parent span id, name and kind, read from the protobuf of ExportTraceServiceRequest.
/// </summary>
public sealed class OtlpCollector : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _serving;

    public OtlpCollector()
    {
        Port = NodeProcess.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public ConcurrentQueue<ExportedSpan> Spans { get; } = new();

    public sealed record ExportedSpan(ByteString TraceId, ByteString SpanId, ByteString ParentSpanId, string Name, int Kind);

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (context.Request.Url!.AbsolutePath == "/v1/traces") Read(body.ToArray());
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    // ExportTraceServiceRequest: 1 resource_spans { 2 scope_spans { 2 spans { 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind } } }
    private void Read(byte[] request)
    {
        foreach (var resourceSpans in Fields(request, 1))
            foreach (var scopeSpans in Fields(resourceSpans, 2))
                foreach (var span in Fields(scopeSpans, 2))
                {
                    ByteString trace = ByteString.Empty, id = ByteString.Empty, parent = ByteString.Empty;
                    string name = "";
                    var kind = 0;
                    var input = new CodedInputStream(span);
                    for (uint tag; (tag = input.ReadTag()) != 0;)
                    {
                        switch (WireFormat.GetTagFieldNumber(tag))
                        {
                            case 1: trace = input.ReadBytes(); break;
                            case 2: id = input.ReadBytes(); break;
                            case 4: parent = input.ReadBytes(); break;
                            case 5: name = input.ReadString(); break;
                            case 6: kind = input.ReadEnum(); break;
                            default: input.SkipLastField(); break;
                        }
                    }
                    Spans.Enqueue(new ExportedSpan(trace, id, parent, name, kind));
                }
    }

    /// <summary>The length-delimited fields numbered <paramref name="number"/> of a message.</summary>
    private static List<byte[]> Fields(byte[] message, int number)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            if (WireFormat.GetTagFieldNumber(tag) == number && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited) found.Add(input.ReadBytes().ToByteArray());
            else input.SkipLastField();
        }
        return found;
    }

    public void Dispose()
    {
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }
}

/// <summary>Traces leave the node over OTLP when it is configured, and a payment's spans are one trace across the request and the entity.</summary>
public sealed class TracingTests
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");

    [Fact]
    public async Task With_OTLP_configured_a_payment_s_channel_span_reaches_the_collector_as_the_child_of_its_request_s_span()
    {
        using var collector = new OtlpCollector();
        using var node = new NodeProcess(null, $"--Energy:Telemetry:OtlpEndpoint=http://127.0.0.1:{collector.Port}", "--Energy:Telemetry:OtlpProtocol=http/protobuf",
            "--Energy:Telemetry:TraceSampleRatio=1");
        await node.StartAsync();
        using var api = new ApiClient(node, TimeSpan.FromSeconds(5));
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(30) };
        using var governance = await Governance.StartAsync(node, new Energy.Agents.NodeClient(http), api);

        using var cpoKey = DeviceKeyPair.Generate();
        using var vehicleKey = DeviceKeyPair.Generate();
        var (cpo, vehicle, channel) = (OperatorId.Of("cpo-traced"), DeviceId.Of("vehicle-traced"), ChannelId.Of("channel-traced"));
        Assert.Equal(200, (await api.PostSignedAsync($"/api/operators/{cpo}/admission",
            Governance.Admission(node, cpo, cpoKey.PublicKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner | OperatorRoles.SettlementBank, 1_000_000))).Status);
        Assert.Equal(200, (await api.PostSignedAsync($"/api/devices/{vehicle}/endorsement",
            DeviceIdentity.Endorse(Network, cpo, cpoKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray())).Status);
        Assert.Equal(200, (await api.PostSignedAsync($"/api/accounts/{PartyId.From(vehicle)}/mint", Signed<FundingOrder>.Sign(
            new FundingOrder(Network, cpo, PartyId.From(vehicle), new Money(5_000, Currency.Eur), "fund-traced"), cpoKey).ToArray())).Status);
        Assert.Equal(200, (await api.PostSignedAsync($"/api/channels/{channel}/open", Signed<StreamingOpening>.Sign(
            new StreamingOpening(Network, channel, PartyId.From(vehicle), PartyId.From(cpo), new Money(2_000, Currency.Eur), DurationMs.FromSeconds(60)), vehicleKey).ToArray())).Status);
        Assert.Equal(200, (await api.PostSignedAsync($"/api/channels/{channel}/vouchers", Signed<Voucher>.Sign(
            new Voucher(Network, channel, 1, new Money(100, Currency.Eur), new Money(100, Currency.Eur), PaymentPurpose.None), vehicleKey).ToArray())).Status);

        // The exporter sends its batch every 5 s, and the request's span ends after the voucher's, so it may come in a later
        // batch: wait for the voucher's span and a span it names as its parent, at most 30 s.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        OtlpCollector.ExportedSpan? voucher = null;
        while (DateTime.UtcNow < deadline && ((voucher = collector.Spans.FirstOrDefault(s => s.Name == "channel.voucher")) is null
            || !collector.Spans.Any(s => s.SpanId == voucher.ParentSpanId)))
            await Task.Delay(200); // poll interval of a bounded wait for the node's exporter
        Assert.NotNull(voucher);
        var request = Assert.Single(collector.Spans, s => s.SpanId == voucher.ParentSpanId);
        Assert.Equal(voucher.TraceId, request.TraceId);
        Assert.StartsWith("POST /api/channels/", request.Name, StringComparison.Ordinal);
        Assert.Equal(2, request.Kind); // SPAN_KIND_SERVER
        // The journal's writes are traces of their own, and the database's work nests in them (SQLite: no database spans).
        Assert.Contains(collector.Spans, s => s.Name == "journal.write" && s.ParentSpanId.IsEmpty);
    }
}
