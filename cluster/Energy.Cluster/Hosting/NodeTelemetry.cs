using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Energy.Cluster.Hosting;

/// <summary>The "Energy:Telemetry" section: where the node's metrics and traces go, and who may read <c>/metrics</c>.</summary>
public sealed class TelemetryConfiguration
{
    /// <summary>The Prometheus scrape endpoint at <c>/metrics</c>; on unless set false.</summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>Where to send traces and metrics over OTLP (<c>http://collector:4317</c>); without it, the standard OTEL_EXPORTER_OTLP_ENDPOINT. Neither: no OTLP, and no traces.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>How to speak OTLP to <see cref="OtlpEndpoint"/>: <c>grpc</c> (port 4317) or <c>http/protobuf</c> (port 4318, paths <c>/v1/traces</c> and <c>/v1/metrics</c>).</summary>
    public string OtlpProtocol { get; set; } = NodeTelemetry.Grpc;

    /// <summary>The share of traces recorded, 0 to 1, when traces are exported (OTEL_TRACES_SAMPLER, when set, decides instead).</summary>
    public double TraceSampleRatio { get; set; } = 0.01;

    /// <summary>When set, <c>/metrics</c> answers only a request with <c>Authorization: Bearer</c> and this token (at least 16 characters).</summary>
    public string? MetricsToken { get; set; }

    /// <summary>When set, <c>/metrics</c> answers only on this port (a management port the node also listens on, on the host of its first URL).</summary>
    public int MetricsPort { get; set; }
}

/// <summary>
/// The node's telemetry: metrics from the <see cref="EnergyMetrics"/> meter, the .NET runtime, ASP.NET Core and
/// Npgsql, scraped by Prometheus at <c>/metrics</c> and, when an OTLP endpoint is configured, sent there with
/// the traces of <see cref="EnergyTracing"/>, ASP.NET Core and Npgsql.
/// <para>
/// Who may read <c>/metrics</c>: it holds aggregate counts only (no party or device ids, no amounts per party,
/// no addresses: other meters' tags are reduced to <see cref="SharedTagKeys"/>), so by default anyone may, like
/// <c>/health/*</c>. An operator who wants it closed sets <see cref="TelemetryConfiguration.MetricsToken"/> (a
/// stranger then gets 401 and nothing else) and/or <see cref="TelemetryConfiguration.MetricsPort"/> (then only
/// that port serves it, which a firewall may keep to the monitoring network).
/// </para>
/// </summary>
public static class NodeTelemetry
{
    public const string MetricsPath = "/metrics";
    public const string ServiceName = "energy-node";
    public const int MinTokenLength = 16;
    public const string Grpc = "grpc";
    public const string HttpProtobuf = "http/protobuf";

    /// <summary>
    /// The tags other meters may keep: methods, routes (templates, never values), statuses, protocols, error types
    /// and connection states. Everything else (a listening address and port, a database's connection string as its
    /// pool's name) is dropped before it is aggregated.
    /// </summary>
    public static readonly string[] SharedTagKeys =
    [
        "http.request.method", "http.response.status_code", "http.route", "url.scheme", "error.type",
        "network.protocol.name", "network.protocol.version", "network.transport", "network.type", "tls.protocol.version",
        "aspnetcore.routing.match_status", "aspnetcore.routing.is_fallback", "aspnetcore.diagnostics.handler.type",
        "aspnetcore.diagnostics.exception.result", "aspnetcore.authentication.result", "aspnetcore.authentication.scheme",
        "aspnetcore.authorization.result", "aspnetcore.authorization.policy", "aspnetcore.user.is_authenticated",
        "signalr.connection.status", "signalr.transport", "db.client.connection.state",
    ];

    /// <summary>Meters whose tags are the node's own (checked by its tests) or carry nothing about anyone (the runtime's).</summary>
    private static readonly HashSet<string> UnfilteredMeters = new(StringComparer.Ordinal) { EnergyMetrics.MeterName, "System.Runtime" };

    /// <summary>Checks the section; a bad value stops the node at start with a message naming the setting.</summary>
    public static void Check(TelemetryConfiguration telemetry)
    {
        if (telemetry.OtlpEndpoint is { } endpoint && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            throw new InvalidOperationException($"Energy:Telemetry:OtlpEndpoint '{endpoint}' is not an absolute http or https URI");
        if (telemetry.OtlpProtocol is not (Grpc or HttpProtobuf))
            throw new InvalidOperationException($"Energy:Telemetry:OtlpProtocol is '{telemetry.OtlpProtocol}'; it is {Grpc} or {HttpProtobuf}");
        if (telemetry.TraceSampleRatio is < 0 or > 1 || double.IsNaN(telemetry.TraceSampleRatio))
            throw new InvalidOperationException($"Energy:Telemetry:TraceSampleRatio is {telemetry.TraceSampleRatio}; it is a share of traces, from 0 to 1");
        if (telemetry.MetricsToken is { } token && (token.Length < MinTokenLength || token.Any(char.IsWhiteSpace)))
            throw new InvalidOperationException($"Energy:Telemetry:MetricsToken must be at least {MinTokenLength} characters without spaces");
        if (telemetry.MetricsPort is < 0 or > 65_535)
            throw new InvalidOperationException($"Energy:Telemetry:MetricsPort is {telemetry.MetricsPort}; it is a TCP port (1 to 65535), or 0 for the node's own ports");
    }

    /// <summary>The OTLP endpoint the node sends to, or null for none: the setting, else the standard environment variable.</summary>
    public static string? OtlpEndpoint(TelemetryConfiguration telemetry) =>
        telemetry.OtlpEndpoint ?? (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")) ? null : Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));

    public static WebApplicationBuilder AddNodeTelemetry(this WebApplicationBuilder builder, TelemetryConfiguration telemetry)
    {
        Check(telemetry);
        var otlp = OtlpEndpoint(telemetry);
        if (!telemetry.Prometheus && otlp is null) return builder;
        if (telemetry.Prometheus && telemetry.MetricsPort > 0) ListenOnMetricsPort(builder, telemetry.MetricsPort);
        var openTelemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(EnergyMetrics.MeterName)
                    .AddRuntimeInstrumentation()
                    .AddAspNetCoreInstrumentation()
                    .AddNpgsqlInstrumentation()
                    .AddView(instrument => UnfilteredMeters.Contains(instrument.Meter.Name) ? null : new MetricStreamConfiguration { TagKeys = SharedTagKeys });
                if (telemetry.Prometheus) metrics.AddPrometheusExporter();
                if (otlp is not null) metrics.AddOtlpExporter(options => Otlp(options, telemetry, "metrics"));
            });
        // Traces go nowhere but OTLP: without it nothing listens to the node's spans, and starting one costs a flag test.
        if (otlp is not null)
        {
            openTelemetry.WithTracing(tracing =>
            {
                tracing.AddSource(EnergyTracing.SourceName)
                    .AddAspNetCoreInstrumentation(options => options.Filter = Traced)
                    .AddNpgsql()
                    .AddOtlpExporter(options => Otlp(options, telemetry, "traces"));
                if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_TRACES_SAMPLER"))) tracing.SetSampler(Sampler(telemetry.TraceSampleRatio));
            });
        }
        return builder;
    }

    /// <summary>
    /// The exporter's protocol, and its endpoint when the setting names one (over HTTP, with the signal's path). An
    /// endpoint from OTEL_EXPORTER_OTLP_ENDPOINT is the exporter's own to read, with the other OTEL_EXPORTER_OTLP_* variables.
    /// </summary>
    private static void Otlp(OpenTelemetry.Exporter.OtlpExporterOptions options, TelemetryConfiguration telemetry, string signal)
    {
        var http = telemetry.OtlpProtocol == HttpProtobuf;
        if (http) options.Protocol = OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf;
        if (telemetry.OtlpEndpoint is { } endpoint) options.Endpoint = new Uri(http ? $"{endpoint.TrimEnd('/')}/v1/{signal}" : endpoint);
    }

    /// <summary>
    /// Maps <c>/metrics</c> (when Prometheus is on), guarded by <see cref="TelemetryConfiguration.MetricsPort"/> and
    /// <see cref="TelemetryConfiguration.MetricsToken"/> when they are set, and never itself measured.
    /// </summary>
    public static WebApplication MapNodeTelemetry(this WebApplication app, TelemetryConfiguration telemetry)
    {
        if (!telemetry.Prometheus) return app;
        var guard = new MetricsGuard(telemetry.MetricsPort, telemetry.MetricsToken);
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(guard.InvokeAsync), optionsName: null)
            .DisableHttpMetrics();
        return app;
    }

    /// <summary>
    /// Records a trace only from its root's ratio (the same on every node, so that a trace is recorded whole or
    /// not at all); a caller's sampled traceparent is followed only when its trace id falls in the ratio too, so a
    /// stranger cannot make the node record every request.
    /// </summary>
    public static OpenTelemetry.Trace.Sampler Sampler(double ratio)
    {
        var byRatio = new TraceIdRatioBasedSampler(ratio);
        return new ParentBasedSampler(byRatio, remoteParentSampled: byRatio, remoteParentNotSampled: new AlwaysOffSampler(),
            localParentSampled: new AlwaysOnSampler(), localParentNotSampled: new AlwaysOffSampler());
    }

    /// <summary>Requests worth a trace: not a WebSocket (a connection's life; its calls have traces of their own), a health probe or a scrape.</summary>
    private static bool Traced(HttpContext context) =>
        !context.WebSockets.IsWebSocketRequest && !context.Request.Path.StartsWithSegments("/health") && !context.Request.Path.StartsWithSegments(MetricsPath);

    private static void ListenOnMetricsPort(WebApplicationBuilder builder, int port)
    {
        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        var current = string.IsNullOrWhiteSpace(urls) ? "http://localhost:5000" : urls;
        var host = BindingAddress.Parse(current.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0]).Host;
        builder.WebHost.UseUrls($"{current};http://{host}:{port}");
    }

    /// <summary>Who may read <c>/metrics</c>: on the management port only when one is set, and with the token only when one is set.</summary>
    private sealed class MetricsGuard(int port, string? token)
    {
        private readonly byte[]? _token = token is null ? null : Encoding.UTF8.GetBytes(token);

        public async Task InvokeAsync(HttpContext context, Func<Task> next)
        {
            if (port > 0 && context.Connection.LocalPort != port)
            {
                // Not served on the node's public ports: as if there were no such endpoint.
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            if (_token is not null && !Presented(context.Request.Headers.Authorization.ToString()))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"metrics\"";
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(JsonSerializer.Serialize(new
                {
                    error = new { code = "Unauthenticated", message = "the node's metrics are read with its metrics token: Authorization: Bearer <token>" },
                }));
                return;
            }
            await next();
        }

        private bool Presented(string authorization)
        {
            const string Scheme = "Bearer ";
            if (!authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)) return false;
            var presented = Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim());
            // Compared in constant time: how long a refusal takes says nothing of how much of the token was right.
            return CryptographicOperations.FixedTimeEquals(presented, _token);
        }
    }
}
