using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote;
using Akka.TestKit.Xunit2;
using Energy.Cluster.Hosting;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// Nodes speaking TLS to each other (Energy:RemoteTls): with the cluster's certificate they form one cluster and
/// messages cross; a node with another certificate, or without TLS, never joins. The certificates are made here,
/// per run, never kept in the repository.
/// </summary>
public class RemoteTlsTests : TestKit
{
    public RemoteTlsTests(ITestOutputHelper output) : base(TlsNodes.Setup(TlsNodes.Cluster), "energy", output)
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up, TimeSpan.FromSeconds(20));
        Seed = cluster.SelfAddress;
    }

    /// <summary>The cluster's first node, speaking TLS with the cluster's certificate.</summary>
    private Address Seed { get; }

    private int UpMembers => Akka.Cluster.Cluster.Get(Sys).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up);

    [Fact]
    public async Task Two_nodes_with_the_cluster_certificate_form_one_cluster_over_TLS_and_a_message_crosses()
    {
        Assert.Equal(RemoteTls.Scheme, Seed.Protocol);
        var second = ActorSystem.Create("energy", TlsNodes.Setup(TlsNodes.Cluster));
        try
        {
            var secondCluster = Akka.Cluster.Cluster.Get(second);
            secondCluster.Join(Seed);
            AwaitCondition(() => UpMembers == 2, TimeSpan.FromSeconds(30));
            Assert.Equal(RemoteTls.Scheme, secondCluster.SelfAddress.Protocol);

            second.ActorOf(Props.Create(() => new Echo()), "echo");
            Sys.ActorSelection(new RootActorPath(secondCluster.SelfAddress) / "user" / "echo").Tell("over TLS", TestActor);
            ExpectMsg("over TLS", TimeSpan.FromSeconds(10));
            Assert.Equal(secondCluster.SelfAddress, LastSender.Path.Address);
        }
        finally
        {
            await second.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task A_node_listening_on_every_address_is_known_to_the_cluster_by_its_public_name()
    {
        var second = ActorSystem.Create("energy", TlsNodes.Setup(TlsNodes.Cluster, bindHostname: "0.0.0.0"));
        try
        {
            var secondCluster = Akka.Cluster.Cluster.Get(second);
            secondCluster.Join(Seed);
            AwaitCondition(() => UpMembers == 2, TimeSpan.FromSeconds(30));

            Assert.Equal("127.0.0.1", secondCluster.SelfAddress.Host);
            Assert.Contains(Akka.Cluster.Cluster.Get(Sys).State.Members, m => m.Address == secondCluster.SelfAddress);
        }
        finally
        {
            await second.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task A_node_with_another_certificate_is_refused_by_the_cluster_and_never_joins()
    {
        var refusals = CreateTestProbe();
        Sys.EventStream.Subscribe(refusals.Ref, typeof(Warning));
        // The stranger checks nothing itself (as an attacker would not): the cluster's own check must refuse it.
        // Its certificate bears the same name as the cluster's; only the key differs.
        var stranger = ActorSystem.Create("energy", TlsNodes.Setup(TlsNodes.Stranger, suppressValidation: true));
        try
        {
            Akka.Cluster.Cluster.Get(stranger).Join(Seed);
            refusals.FishForMessage(m => m is Warning w && w.Message.ToString()!.Contains("does not chain to a trusted certificate", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30));

            Assert.Equal(1, UpMembers);
            Assert.DoesNotContain(Akka.Cluster.Cluster.Get(Sys).State.Members, m => m.Address == Akka.Cluster.Cluster.Get(stranger).SelfAddress);
            Assert.NotEqual(Akka.Cluster.MemberStatus.Up, Akka.Cluster.Cluster.Get(stranger).SelfMember.Status);
        }
        finally
        {
            await stranger.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task A_node_without_TLS_cannot_reach_the_cluster_nor_join_it()
    {
        var plain = ActorSystem.Create("energy", TlsNodes.Setup(tls: null));
        try
        {
            var failures = CreateTestProbe(plain);
            plain.EventStream.Subscribe(failures.Ref, typeof(AssociationErrorEvent));
            // The plain node can only speak akka.tcp: it knocks on the TLS port with it.
            var seedAsPlain = new Address("akka.tcp", Seed.System, Seed.Host, Seed.Port);
            Akka.Cluster.Cluster.Get(plain).Join(seedAsPlain);
            failures.ExpectMsg<AssociationErrorEvent>(e => e.RemoteAddress == seedAsPlain, TimeSpan.FromSeconds(30));

            Assert.Equal(1, UpMembers);
            Assert.NotEqual(Akka.Cluster.MemberStatus.Up, Akka.Cluster.Cluster.Get(plain).SelfMember.Status);
        }
        finally
        {
            await plain.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public void A_TLS_node_refuses_plain_seeds_and_a_plain_node_refuses_TLS_seeds_at_start()
    {
        var tls = TlsNodes.Options(TlsNodes.Cluster) with { SeedNodes = ["akka.tcp://energy@node-1:4053"] };
        var plain = TlsNodes.Options(null) with { SeedNodes = ["akka.ssl.tcp://energy@node-1:4053"] };

        Assert.Contains("akka.ssl.tcp://", Assert.Throws<InvalidOperationException>(() => EnergyConfig.Build(tls)).Message, StringComparison.Ordinal);
        Assert.Contains("akka.tcp://", Assert.Throws<InvalidOperationException>(() => EnergyConfig.Build(plain)).Message, StringComparison.Ordinal);
        Assert.Equal("akka.ssl.tcp", EnergyConfig.Build(TlsNodes.Options(TlsNodes.Cluster) with { SeedNodes = ["akka.ssl.tcp://energy@node-1:4053"] })
            .GetStringList("akka.cluster.seed-nodes")[0].Split(':')[0]);
    }

    [Fact]
    public void A_peer_certificate_is_trusted_only_when_it_chains_to_the_configured_certificates_and_is_in_date()
    {
        using var cluster = TlsNodes.Load(TlsNodes.Cluster);
        using var stranger = TlsNodes.Load(TlsNodes.Stranger);
        var anchors = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(cluster.RawData) };

        Assert.True(RemoteTls.ChainsTo(cluster, anchors, DateTime.UtcNow));
        Assert.False(RemoteTls.ChainsTo(stranger, anchors, DateTime.UtcNow));
        Assert.False(RemoteTls.ChainsTo(cluster, anchors, cluster.NotAfter.ToUniversalTime().AddDays(1)));
        Assert.False(RemoteTls.ChainsTo(cluster, [], DateTime.UtcNow));
    }

    [Fact]
    public void A_configured_file_of_trusted_certificates_replaces_the_node_s_own_certificate_as_the_anchor()
    {
        using var stranger = TlsNodes.Load(TlsNodes.Stranger);
        var pem = Path.Combine(Path.GetTempPath(), "energy-tests", Guid.NewGuid().ToString("N") + ".pem");
        Directory.CreateDirectory(Path.GetDirectoryName(pem)!);
        File.WriteAllText(pem, stranger.ExportCertificatePem());
        var setup = RemoteTls.Setup(new RemoteTlsConfiguration { CertificatePath = TlsNodes.Cluster, CertificatePassword = TlsNodes.Password, TrustedCertificatesPath = pem });
        using var cluster = TlsNodes.Load(TlsNodes.Cluster);

        Assert.False(setup.SuppressValidation);
        Assert.True(setup.RequireMutualAuthentication);
        Assert.True(setup.CustomValidator!(stranger, null, "peer", System.Net.Security.SslPolicyErrors.None, Sys.Log));
        Assert.False(setup.CustomValidator!(cluster, null, "peer", System.Net.Security.SslPolicyErrors.None, Sys.Log));
        Assert.False(setup.CustomValidator!(null, null, "peer", System.Net.Security.SslPolicyErrors.RemoteCertificateNotAvailable, Sys.Log));
    }

    private sealed class Echo : ReceiveActor
    {
        public Echo() => ReceiveAny(message => Sender.Tell(message));
    }
}

/// <summary>Certificates made for this run, and actor systems of nodes with or without TLS on loopback.</summary>
public static class TlsNodes
{
    public const string Password = "energy-test-password";

    /// <summary>The cluster's certificate, shared by its nodes.</summary>
    public static readonly string Cluster = MakeCertificate();

    /// <summary>Another certificate of the same name, with another key.</summary>
    public static readonly string Stranger = MakeCertificate();

    public static X509Certificate2 Load(string path) => X509CertificateLoader.LoadPkcs12FromFile(path, Password);

    public static NodeOptions Options(string? tls, bool suppressValidation = false, string? bindHostname = null) => TestStores.Sqlite() with
    {
        Hostname = "127.0.0.1",
        BindHostname = bindHostname,
        Port = 0,
        RemoteTls = tls is null
            ? new RemoteTlsConfiguration()
            : new RemoteTlsConfiguration { CertificatePath = tls, CertificatePassword = Password, SuppressValidation = suppressValidation },
    };

    public static ActorSystemSetup Setup(string? tls, bool suppressValidation = false, string? bindHostname = null)
    {
        var options = Options(tls, suppressValidation, bindHostname);
        var config = EnergyConfig.Build(options).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.test.single-expect-default = 10s"));
        return ActorSystemSetup.Create(EnergyConfig.Setups(options)).WithSetup(BootstrapSetup.Create().WithConfig(config));
    }

    private static string MakeCertificate()
    {
        using var certificate = ClusterProvisioning.CreateClusterCertificate(DateTimeOffset.UtcNow);
        var path = Path.Combine(Path.GetTempPath(), "energy-tests", "remote-tls-" + Guid.NewGuid().ToString("N") + ".pfx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, Password));
        return path;
    }
}
