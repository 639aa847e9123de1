using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Energy.Channels.Identity;
using Energy.Cluster.Hosting;

namespace Energy.Cluster.Tests;

/// <summary>
/// What the node's program does for a container besides running a node: provisioning a cluster's secrets once
/// (docker-compose.yml's provision service), and the health check its image runs.
/// </summary>
public class ClusterProvisioningTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static string NewRoot() => Path.Combine(Path.GetTempPath(), "energy-tests", "provision-" + Guid.NewGuid().ToString("N"));

    private static string Read(string root, string folder, string file) => File.ReadAllText(Path.Combine(root, folder, file));

    [Fact]
    public void Provisioning_makes_every_secret_once_and_a_second_run_keeps_them_byte_for_byte()
    {
        var root = NewRoot();
        var first = ClusterProvisioning.Provision(root, Now);
        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories).Order().ToArray();
        var before = files.ToDictionary(f => f, File.ReadAllBytes);

        var second = ClusterProvisioning.Provision(root, Now.AddDays(1));

        Assert.All(first, line => Assert.StartsWith("made ", line, StringComparison.Ordinal));
        Assert.All(second, line => Assert.StartsWith("kept ", line, StringComparison.Ordinal));
        Assert.Equal(files, Directory.GetFiles(root, "*", SearchOption.AllDirectories).Order().ToArray());
        Assert.All(files, f => Assert.Equal(before[f], File.ReadAllBytes(f)));
        Assert.Equal(6, files.Length);
    }

    [Fact]
    public void The_nodes_read_the_public_key_of_the_provisioned_authority_and_never_need_its_key()
    {
        var root = NewRoot();
        ClusterProvisioning.Provision(root, Now);
        using var key = DeviceKeyPair.FromSeed(File.ReadAllBytes(Path.Combine(root, "authority", NodeHost.AuthorityKeyFile))).Unwrap();
        var configuration = new NodeConfiguration
        {
            DataDirectory = Path.Combine(root, "node-data"),
            Authority = new AuthorityConfiguration { KeysFile = Path.Combine(root, "cluster", ClusterProvisioning.AuthorityKeysFile) },
        };

        var authority = NodeHost.LoadAuthority(configuration);

        Assert.Equal([key.PublicKey], authority.Keys);
        Assert.Equal(1, authority.Threshold);
        Assert.False(File.Exists(Path.Combine(root, "node-data", NodeHost.AuthorityKeyFile)));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(root, "cluster")), f => Path.GetFileName(f) == NodeHost.AuthorityKeyFile);
    }

    [Fact]
    public void A_keys_file_that_is_empty_or_holds_no_public_key_stops_the_node()
    {
        var root = NewRoot();
        Directory.CreateDirectory(root);
        var empty = Path.Combine(root, "empty");
        var garbage = Path.Combine(root, "garbage");
        File.WriteAllText(empty, "\n \n");
        File.WriteAllText(garbage, "not-a-key\n");

        Assert.Contains("holds no key", Assert.Throws<InvalidOperationException>(() =>
            NodeHost.LoadAuthority(new NodeConfiguration { DataDirectory = root, Authority = new AuthorityConfiguration { KeysFile = empty } })).Message, StringComparison.Ordinal);
        Assert.Contains("not an Ed25519 public key", Assert.Throws<InvalidOperationException>(() =>
            NodeHost.LoadAuthority(new NodeConfiguration { DataDirectory = root, Authority = new AuthorityConfiguration { KeysFile = garbage } })).Message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Secrets_are_readable_by_their_owner_only_except_the_public_key_and_grafana_s_password()
    {
        var root = NewRoot();
        ClusterProvisioning.Provision(root, Now);
        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        const UnixFileMode allRead = ownerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

        Assert.Equal(ownerOnly, File.GetUnixFileMode(Path.Combine(root, "authority", NodeHost.AuthorityKeyFile)));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(Path.Combine(root, "cluster", ClusterProvisioning.RemoteTlsFile)));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(Path.Combine(root, "database", ClusterProvisioning.DatabasePasswordFile)));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(Path.Combine(root, "database", ClusterProvisioning.DatabasePassFile)));
        Assert.Equal(allRead, File.GetUnixFileMode(Path.Combine(root, "cluster", ClusterProvisioning.AuthorityKeysFile)));
        // Grafana runs as a user of its own and reads it; only Grafana mounts that folder.
        Assert.Equal(allRead, File.GetUnixFileMode(Path.Combine(root, "grafana", ClusterProvisioning.GrafanaPasswordFile)));
        // The nodes' PostgreSQL password file names the database's own password.
        Assert.Equal($"*:*:*:energy:{Read(root, "database", "password").Trim()}\n", Read(root, "database", "pgpass"));
        Assert.Matches("^[0-9a-f]{64}\n$", Read(root, "database", "password"));
    }

    [Fact]
    public void The_cluster_certificate_authenticates_a_node_both_ways_trusts_itself_and_is_made_again_near_its_end()
    {
        var root = NewRoot();
        ClusterProvisioning.Provision(root, Now);
        var path = Path.Combine(root, "cluster", ClusterProvisioning.RemoteTlsFile);
        using var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password: null);
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value);

        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], usages.Order());
        Assert.True(RemoteTls.ChainsTo(certificate, [X509CertificateLoader.LoadCertificate(certificate.RawData)], Now.UtcDateTime.AddDays(1)));
        // RemoteTls takes it as it is: the node's own certificate is then the cluster's only anchor.
        Assert.NotNull(RemoteTls.Setup(new RemoteTlsConfiguration { CertificatePath = path }).CustomValidator);

        ClusterProvisioning.Provision(root, new DateTimeOffset(certificate.NotAfter.ToUniversalTime()).AddDays(-10));
        using var renewed = X509CertificateLoader.LoadPkcs12FromFile(path, password: null);
        Assert.NotEqual(certificate.Thumbprint, renewed.Thumbprint);
    }

    [Fact]
    public async Task The_health_check_exits_0_only_when_the_address_answers_200()
    {
        using var server = new StatusServer();
        var output = new StringWriter();

        server.Status = HttpStatusCode.OK;
        Assert.Equal(0, await NodeCommands.TryRunAsync([NodeCommands.CheckHealth, server.Url], output));
        server.Status = HttpStatusCode.ServiceUnavailable;
        Assert.Equal(1, await NodeCommands.TryRunAsync([NodeCommands.CheckHealth, server.Url], output));
        Assert.Contains("503", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_health_check_fails_when_nothing_listens_and_refuses_what_is_not_a_URL()
    {
        var output = new StringWriter();
        var closed = $"http://127.0.0.1:{FreePort()}/health/ready";

        Assert.Equal(1, await NodeCommands.TryRunAsync([NodeCommands.CheckHealth, closed], output));
        Assert.Equal(2, await NodeCommands.TryRunAsync([NodeCommands.CheckHealth, "file:///etc/passwd"], output));
        Assert.Equal(2, await NodeCommands.TryRunAsync([NodeCommands.CheckHealth], output));
        Assert.Null(await NodeCommands.TryRunAsync(["--urls", "http://127.0.0.1:5080"], output));
        Assert.Null(await NodeCommands.TryRunAsync([], output));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>An HTTP server on loopback that answers every request with the status it is set to.</summary>
    private sealed class StatusServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public StatusServer()
        {
            _listener.Start();
            _ = ServeAsync();
        }

        public HttpStatusCode Status { get; set; }

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/health/ready";

        private async Task ServeAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    await using var stream = client.GetStream();
                    var buffer = new byte[4096];
                    var read = 0;
                    while (!System.Text.Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
                        read += await stream.ReadAsync(buffer.AsMemory(read), _stop.Token);
                    const string body = "{\"status\":\"checked\"}";
                    var answer = $"HTTP/1.1 {(int)Status} {Status}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
                    await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(answer), _stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped.
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}
