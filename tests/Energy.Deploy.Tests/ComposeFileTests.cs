namespace Energy.Deploy.Tests;

/// <summary>docker-compose.yml keeps what makes it safe to run, read with a YAML parser (no Docker needed).</summary>
public class ComposeFileTests
{
    private static readonly Dictionary<object, object> Compose = DeployFiles.ReadYaml(File.ReadAllText(DeployFiles.PathOf("docker-compose.yml")));

    private static Dictionary<string, Dictionary<object, object>> Services =>
        DeployFiles.Map(Compose["services"], "services").ToDictionary(s => s.Key.ToString()!, s => DeployFiles.Map(s.Value, s.Key.ToString()!));

    private static string? ReadRepositoryFile(string relative) => File.Exists(DeployFiles.PathOf(relative)) ? File.ReadAllText(DeployFiles.PathOf(relative)) : null;

    private static bool ExistsInRepository(string relative) => File.Exists(DeployFiles.PathOf(relative)) || Directory.Exists(DeployFiles.PathOf(relative));

    private static Dictionary<string, string> Environment(Dictionary<object, object> service) =>
        DeployFiles.Map(service["environment"], "environment").ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "");

    [Fact]
    public void Docker_compose_yml_breaks_no_rule()
    {
        var broken = ComposeRules.Violations(Compose, ReadRepositoryFile, ExistsInRepository);

        Assert.True(broken.Count == 0, "docker-compose.yml: " + string.Join("; ", broken));
    }

    [Fact]
    public void The_rules_catch_an_open_port_a_service_without_health_a_root_image_a_written_password_and_an_exposed_database()
    {
        var hostile = DeployFiles.ReadYaml("""
            services:
              api:
                build: { context: ., dockerfile: Rootful.Dockerfile }
                depends_on: [db]
                environment:
                  DB_PASSWORD: secret
                  CONNECTION: Host=db;Password=secret
                ports: ["8080:8080", { target: 443, published: 443, host_ip: 0.0.0.0 }]
                volumes: ["./nowhere:/data"]
              db:
                image: postgres:15
                ports: ["127.0.0.1:5432:5432"]
                networks: [public]
                restart: unless-stopped
                healthcheck: { disable: true }
              worker:
                image: worker
                depends_on: { db: { condition: service_started }, api: { condition: service_completed_successfully } }
                restart: always
                healthcheck: { test: ["CMD", "true"] }
                user: root
            networks:
              public:
            """);
        string? Files(string path) => path switch
        {
            "Rootful.Dockerfile" => "FROM sdk AS build\nUSER app\nFROM runtime\nENTRYPOINT [\"x\"]\n",
            ".dockerignore" => "bin/\nobj/\n",
            _ => null,
        };

        var broken = string.Join("\n", ComposeRules.Violations(hostile, Files, _ => false));

        Assert.Contains("api publishes port 8080:8080 on more than 127.0.0.1", broken, StringComparison.Ordinal);
        Assert.Contains("api publishes port {target: 443", broken, StringComparison.Ordinal);
        Assert.Contains("api has no restart policy", broken, StringComparison.Ordinal);
        Assert.Contains("api has no health check and is not a one-shot job", broken, StringComparison.Ordinal);
        Assert.Contains("db has no health check and is not a one-shot job", broken, StringComparison.Ordinal);
        Assert.Contains("api depends on db without waiting for a condition", broken, StringComparison.Ordinal);
        Assert.Contains("worker depends on db with condition service_started", broken, StringComparison.Ordinal);
        Assert.Contains("worker waits for api to complete, but api is not a one-shot job", broken, StringComparison.Ordinal);
        Assert.Contains("api sets DB_PASSWORD in the file", broken, StringComparison.Ordinal);
        Assert.Contains("api writes a password in CONNECTION", broken, StringComparison.Ordinal);
        Assert.Contains("Rootful.Dockerfile (of api) has no USER line in its last stage", broken, StringComparison.Ordinal);
        Assert.Contains("worker runs as root", broken, StringComparison.Ordinal);
        Assert.Contains("api mounts ./nowhere, which is not in the repository", broken, StringComparison.Ordinal);
        Assert.Contains("db publishes a port of the database", broken, StringComparison.Ordinal);
        Assert.Contains("db is on network public, which is not internal", broken, StringComparison.Ordinal);
        Assert.Contains(".dockerignore does not exclude .data/", broken, StringComparison.Ordinal);
        Assert.Contains(".dockerignore does not exclude **/bin/", broken, StringComparison.Ordinal);
        Assert.Contains(".dockerignore is missing", string.Join("\n", ComposeRules.Violations(hostile, _ => null, _ => false)), StringComparison.Ordinal);
    }

    [Fact]
    public void Three_nodes_each_a_seed_of_the_others_speak_TLS_to_each_other_with_the_provisioned_certificate_and_authority()
    {
        var nodes = Services.Where(s => s.Key.StartsWith("node-", StringComparison.Ordinal)).OrderBy(s => s.Key, StringComparer.Ordinal).ToList();

        Assert.Equal(["node-1", "node-2", "node-3"], nodes.Select(n => n.Key));
        foreach (var (name, node) in nodes)
        {
            var environment = Environment(node);
            Assert.Equal(name, environment["Energy__Hostname"]);
            // Every node is a seed: a node-1 restarted after a crash joins node-2 and node-3 instead of forming a cluster of its own.
            Assert.Equal("akka.ssl.tcp://energy@node-1:4053", environment["Energy__SeedNodes__0"]);
            Assert.Equal("akka.ssl.tcp://energy@node-2:4053", environment["Energy__SeedNodes__1"]);
            Assert.Equal("akka.ssl.tcp://energy@node-3:4053", environment["Energy__SeedNodes__2"]);
            Assert.Equal("/provision/cluster/remote-tls.pfx", environment["Energy__RemoteTls__CertificatePath"]);
            Assert.DoesNotContain("Energy__RemoteTls__SuppressValidation", environment.Keys);
            Assert.Equal("/provision/cluster/authority-keys", environment["Energy__Authority__KeysFile"]);
            Assert.Equal("postgresql", environment["Energy__Store"]);
            Assert.Contains("Passfile=/provision/database/pgpass", environment["Energy__ConnectionString"], StringComparison.Ordinal);
            // The nodes read the cluster's public part and the database's password file; never the authority's key.
            var volumes = DeployFiles.List(node, "volumes").Select(v => v.ToString()!).ToList();
            Assert.Contains("cluster:/provision/cluster:ro", volumes);
            Assert.Contains("database-secret:/provision/database:ro", volumes);
            Assert.DoesNotContain(volumes, v => v.StartsWith("authority:", StringComparison.Ordinal));
            Assert.Equal("1654", DeployFiles.Text(node, "user"));
        }
        var provision = Services["provision"];
        Assert.Equal(["--provision", "/provision"], DeployFiles.List(provision, "command").Select(c => c.ToString()));
        Assert.Equal("none", DeployFiles.Text(provision, "network_mode"));
        Assert.True(ComposeRules.IsOneShot(provision));
    }

    [Fact]
    public void The_city_drives_node_1_and_node_2_with_the_provisioned_authority_key_and_reports_each_round()
    {
        foreach (var (city, node) in new[] { ("city-1", "node-1"), ("city-2", "node-2") })
        {
            var service = Services[city];
            var command = DeployFiles.List(service, "command").Select(c => c.ToString()!).ToList();
            string Option(string name) => command[command.IndexOf(name) + 1];

            Assert.Equal("city", command[0]);
            Assert.Equal($"http://{node}:8080", Option("--node"));
            Assert.Equal("/provision/authority/authority.key", Option("--authority-key"));
            Assert.Equal("/city/status", Option("--status-file"));
            Assert.Contains("authority:/provision/authority:ro", DeployFiles.List(service, "volumes").Select(v => v.ToString()));
            Assert.Equal("service_healthy", DeployFiles.Text(DeployFiles.Map(DeployFiles.Map(service["depends_on"], "depends_on")[node], node), "condition"));
            Assert.Contains("/city/status", string.Join(" ", DeployFiles.List(DeployFiles.Map(service["healthcheck"], "healthcheck"), "test")), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_health_check_of_a_node_asks_its_readiness_through_the_node_s_own_program()
    {
        foreach (var name in new[] { "node-1", "node-2", "node-3" })
        {
            var test = DeployFiles.List(DeployFiles.Map(Services[name]["healthcheck"], "healthcheck"), "test").Select(t => t.ToString()).ToList();
            Assert.Equal(["CMD", "dotnet", "/app/energy-node.dll", "--check-health", "http://127.0.0.1:8080/health/ready"], test);
        }
    }
}
