using System.Text.Json;

namespace Energy.Deploy.Tests;

/// <summary>Prometheus scrapes every node, and Grafana's provisioned dashboard shows the network's metrics from it.</summary>
public class MonitoringTests
{
    private static readonly Dictionary<object, object> Compose = DeployFiles.ReadYaml(File.ReadAllText(DeployFiles.PathOf("docker-compose.yml")));

    private static readonly JsonElement Dashboard = JsonDocument.Parse(File.ReadAllText(DeployFiles.PathOf("deploy/grafana/dashboards/energy.json"))).RootElement;

    /// <summary>The metrics the nodes export (Prometheus names), each of which the dashboard shows.</summary>
    public static readonly string[] Counters = ["energy_payments_total", "energy_entity_activations_total"];

    public static readonly string[] Gauges = ["energy_channels_open", "energy_ocpp_connections", "energy_gateway_connections", "energy_ledger_totals"];

    public static readonly string[] Histograms =
    [
        "energy_voucher_accept_duration_seconds", "energy_journal_batch_size", "energy_journal_write_duration_seconds",
        "energy_toll_payment_latency_seconds", "http_server_request_duration_seconds",
    ];

    private static List<string> Expressions() =>
        Dashboard.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();

    [Fact]
    public void Prometheus_scrapes_the_metrics_of_every_node_of_the_compose_file()
    {
        var prometheus = DeployFiles.ReadYaml(File.ReadAllText(DeployFiles.PathOf("deploy/prometheus/prometheus.yml")));
        var job = DeployFiles.Map(DeployFiles.List(prometheus, "scrape_configs").Single(), "scrape config");
        var targets = DeployFiles.List(job, "static_configs").SelectMany(c => DeployFiles.List(DeployFiles.Map(c, "static config"), "targets")).Select(t => t.ToString()).Order();
        var nodes = DeployFiles.Map(Compose["services"], "services").Keys.Select(k => k.ToString()!).Where(k => k.StartsWith("node-", StringComparison.Ordinal)).Order();

        Assert.Equal("/metrics", DeployFiles.Text(job, "metrics_path"));
        Assert.Equal(nodes.Select(n => $"{n}:8080"), targets);
    }

    [Fact]
    public void The_dashboard_shows_every_metric_of_the_network_and_takes_quantiles_of_every_histogram()
    {
        var expressions = Expressions();
        var all = string.Join("\n", expressions);

        foreach (var counter in Counters) Assert.Contains(expressions, e => e.Contains($"rate({counter}[", StringComparison.Ordinal));
        foreach (var gauge in Gauges) Assert.Contains(gauge, all, StringComparison.Ordinal);
        foreach (var histogram in Histograms)
            foreach (var quantile in new[] { "0.5", "0.99" }.Where(_ => histogram != "http_server_request_duration_seconds"))
                Assert.Contains(expressions, e => e.Contains($"histogram_quantile({quantile}, sum by (le) (rate({histogram}_bucket[", StringComparison.Ordinal));
        Assert.Contains(expressions, e => e.Contains("histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[", StringComparison.Ordinal));
        Assert.Contains(expressions, e => e.Contains("rate(http_server_request_duration_seconds_count[", StringComparison.Ordinal));
        // The runtime's collections under either naming: .NET 9's System.Runtime meter, or the earlier instrumentation.
        Assert.Contains("dotnet_gc_collections_total", all, StringComparison.Ordinal);
        Assert.Contains("process_runtime_dotnet_gc_collections_count_total", all, StringComparison.Ordinal);
    }

    [Fact]
    public void The_dashboard_reads_the_provisioned_data_source_from_the_folder_grafana_mounts()
    {
        var source = DeployFiles.Map(DeployFiles.List(DeployFiles.ReadYaml(File.ReadAllText(DeployFiles.PathOf("deploy/grafana/provisioning/datasources/prometheus.yml"))), "datasources").Single(), "data source");
        var provider = DeployFiles.Map(DeployFiles.List(DeployFiles.ReadYaml(File.ReadAllText(DeployFiles.PathOf("deploy/grafana/provisioning/dashboards/energy.yml"))), "providers").Single(), "provider");
        var grafana = DeployFiles.Map(DeployFiles.Map(Compose["services"], "services")["grafana"], "grafana");
        var mounts = DeployFiles.List(grafana, "volumes").Select(v => v.ToString()!).ToList();

        Assert.Equal("http://prometheus:9090", DeployFiles.Text(source, "url"));
        var uid = DeployFiles.Text(source, "uid");
        Assert.All(Dashboard.GetProperty("panels").EnumerateArray(), p => Assert.Equal(uid, p.GetProperty("datasource").GetProperty("uid").GetString()));
        Assert.Contains($"./deploy/grafana/dashboards:{DeployFiles.Text(DeployFiles.Map(provider["options"], "options"), "path")}:ro", mounts);
        Assert.Contains("./deploy/grafana/provisioning:/etc/grafana/provisioning:ro", mounts);
        Assert.Equal("/provision/grafana/admin-password", DeployFiles.Text(DeployFiles.Map(grafana["environment"], "environment"), "GF_SECURITY_ADMIN_PASSWORD__FILE"));
    }
}
