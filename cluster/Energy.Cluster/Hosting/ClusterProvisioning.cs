using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Energy.Cluster.Hosting;

/// <summary>
/// What a cluster of several nodes needs before its first start, made once in one folder per reader so that each
/// service is given only what it reads (docker-compose.yml mounts each folder as a volume of its own):
/// <list type="bullet">
/// <item><c>authority/authority.key</c>: the network authority's key (a raw 32-byte seed), for its governance only, never for a node;</item>
/// <item><c>cluster/authority-keys</c>: the authority's public key (hex), which every node reads (Energy:Authority:KeysFile);</item>
/// <item><c>cluster/remote-tls.pfx</c>: the certificate every node presents to the others and trusts (Energy:RemoteTls), made again when it nears its end;</item>
/// <item><c>database/password</c> and <c>database/pgpass</c>: the database's password, for the database server and (as a PostgreSQL password file) for the nodes;</item>
/// <item><c>grafana/admin-password</c>: the password of Grafana's admin.</item>
/// </list>
/// What exists is kept: running it again changes nothing, so it runs before every start.
/// </summary>
public static class ClusterProvisioning
{
    public const string AuthorityFolder = "authority";
    public const string ClusterFolder = "cluster";
    public const string DatabaseFolder = "database";
    public const string GrafanaFolder = "grafana";
    public const string AuthorityKeysFile = "authority-keys";
    public const string RemoteTlsFile = "remote-tls.pfx";
    public const string DatabasePasswordFile = "password";
    public const string DatabasePassFile = "pgpass";
    public const string GrafanaPasswordFile = "admin-password";
    public const string DatabaseUser = "energy";
    public static readonly TimeSpan CertificateValidity = TimeSpan.FromDays(730);
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    // Grafana's server runs as a user of its own; the folder holding this file is mounted by Grafana alone.
    private const UnixFileMode OwnerWritesAllRead = OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Makes what is missing under the root folder; returns a line per file made or kept.</summary>
    public static IReadOnlyList<string> Provision(string root, DateTimeOffset now)
    {
        var said = new List<string>();
        var authority = Folder(root, AuthorityFolder);
        var cluster = Folder(root, ClusterFolder);
        var database = Folder(root, DatabaseFolder);
        var grafana = Folder(root, GrafanaFolder);

        var authorityKeyPath = Path.Combine(authority, NodeHost.AuthorityKeyFile);
        var made = !File.Exists(authorityKeyPath);
        using (var key = NodeHost.LoadOrCreateKey(authorityKeyPath))
        {
            said.Add($"{(made ? "made" : "kept")} {authorityKeyPath}");
            // The public key follows the key, so a node never trusts an authority other than the one kept here.
            WriteIfChanged(Path.Combine(cluster, AuthorityKeysFile), key.PublicKey.Hex + "\n", OwnerWritesAllRead, said);
        }
        said.Add(ProvisionCertificate(Path.Combine(cluster, RemoteTlsFile), now));

        var password = ReadOrCreateSecret(Path.Combine(database, DatabasePasswordFile), OwnerOnly, said);
        WriteIfChanged(Path.Combine(database, DatabasePassFile), $"*:*:*:{DatabaseUser}:{password}\n", OwnerOnly, said);
        ReadOrCreateSecret(Path.Combine(grafana, GrafanaPasswordFile), OwnerWritesAllRead, said);
        return said;
    }

    /// <summary>The cluster's certificate for TLS between nodes (server and client authentication), made again within <see cref="RenewBefore"/> of its end.</summary>
    private static string ProvisionCertificate(string path, DateTimeOffset now)
    {
        if (File.Exists(path))
        {
            using var kept = X509CertificateLoader.LoadPkcs12FromFile(path, password: null);
            if (kept.NotAfter.ToUniversalTime() - now.UtcDateTime > RenewBefore) return $"kept {path} (until {kept.NotAfter:yyyy-MM-dd})";
            File.Delete(path);
        }
        using var certificate = CreateClusterCertificate(now);
        Write(path, certificate.Export(X509ContentType.Pkcs12), OwnerOnly);
        return $"made {path} (SHA-256 {certificate.GetCertHashString(HashAlgorithmName.SHA256)}, until {certificate.NotAfter:yyyy-MM-dd})";
    }

    /// <summary>A self-signed certificate every node of one cluster holds: it authenticates a node to another in both directions.</summary>
    public static X509Certificate2 CreateClusterCertificate(DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Energy cluster", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication"), new Oid("1.3.6.1.5.5.7.3.2", "Client Authentication")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddDays(-1), now.Add(CertificateValidity));
    }

    /// <summary>A secret of 32 random bytes as hex (no character a password file or a connection string would need to escape).</summary>
    private static string ReadOrCreateSecret(string path, UnixFileMode mode, List<string> said)
    {
        if (File.Exists(path))
        {
            said.Add($"kept {path}");
            return File.ReadAllText(path).Trim();
        }
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        Write(path, System.Text.Encoding.ASCII.GetBytes(secret + "\n"), mode);
        said.Add($"made {path}");
        return secret;
    }

    private static void WriteIfChanged(string path, string text, UnixFileMode mode, List<string> said)
    {
        if (File.Exists(path) && File.ReadAllText(path) == text)
        {
            said.Add($"kept {path}");
            return;
        }
        if (File.Exists(path)) File.Delete(path);
        Write(path, System.Text.Encoding.ASCII.GetBytes(text), mode);
        said.Add($"made {path}");
    }

    /// <summary>Created with its mode from the start, never for a moment readable by more than it should be.</summary>
    private static void Write(string path, byte[] bytes, UnixFileMode mode)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using var file = new FileStream(path, options);
        file.Write(bytes);
    }

    private static string Folder(string root, string name)
    {
        var path = Path.Combine(Path.GetFullPath(root), name);
        Directory.CreateDirectory(path);
        return path;
    }
}
