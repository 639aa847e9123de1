using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace Energy.Cluster.Hosting;

/// <summary>The "Energy:Tls" section: the HTTPS listener that OCPP security profile 2 needs.</summary>
public sealed class TlsConfiguration
{
    /// <summary>The HTTPS port, beside the plain HTTP of the node's URLs; 0 turns HTTPS off.</summary>
    public int Port { get; set; } = 5443;

    /// <summary>Where HTTPS listens; by default the host of the node's first URL.</summary>
    public string? Hostname { get; set; }

    /// <summary>A PKCS#12 file with the certificate and its private key; without one the node makes a self-signed one in its data folder.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }
}

/// <summary>
/// HTTPS for the node (TLS 1.2 or 1.3), on its own port: chargers of profile 2 connect to wss://host:port/ocpp/{id}.
/// A configured certificate is used as it is. Otherwise the node makes a self-signed RSA certificate on first
/// start and keeps it in its data folder (<see cref="CertificateFile"/>, readable by its owner only, and its
/// public part as <see cref="PublicCertificateFile"/> for chargers to trust); it is made again when it nears
/// its end.
/// </summary>
public static class NodeTls
{
    public const string CertificateFile = "tls-certificate.pfx";
    public const string PublicCertificateFile = "tls-certificate.pem";
    public static readonly TimeSpan SelfSignedValidity = TimeSpan.FromDays(730);
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    /// <summary>Adds the HTTPS address to the node's URLs and gives Kestrel the certificate.</summary>
    public static WebApplicationBuilder AddNodeTls(this WebApplicationBuilder builder, NodeConfiguration configuration)
    {
        var tls = configuration.Tls;
        if (tls.Port <= 0) return builder;
        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
        var plain = string.IsNullOrWhiteSpace(urls) ? "http://localhost:5000" : urls;
        var host = tls.Hostname ?? BindingAddress.Parse(plain.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0]).Host;
        var certificate = LoadOrCreate(tls, configuration.DataDirectory, host);
        builder.WebHost.UseUrls($"{plain};https://{host}:{tls.Port}");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
        {
            https.ServerCertificate = certificate;
            https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        }));
        Console.WriteLine($"HTTPS (OCPP security profile 2) at https://{host}:{tls.Port}, certificate SHA-256 {certificate.GetCertHashString(HashAlgorithmName.SHA256)}");
        return builder;
    }

    public static X509Certificate2 LoadOrCreate(TlsConfiguration tls, string dataDirectory, string host)
    {
        if (!string.IsNullOrEmpty(tls.CertificatePath))
        {
            var configured = X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath, tls.CertificatePassword);
            if (!configured.HasPrivateKey) throw new InvalidOperationException($"Energy:Tls:CertificatePath {tls.CertificatePath} holds no private key");
            return configured;
        }
        var directory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, CertificateFile);
        if (File.Exists(path))
        {
            var kept = X509CertificateLoader.LoadPkcs12FromFile(path, password: null);
            if (kept.NotAfter.ToUniversalTime() - DateTime.UtcNow > RenewBefore) return kept;
            kept.Dispose();
            File.Delete(path);
        }
        using var created = CreateSelfSigned(host, DateTimeOffset.UtcNow);
        var pfx = created.Export(X509ContentType.Pkcs12);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        // The private key is readable by the node's owner only, never for a moment by others.
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(path, options)) file.Write(pfx);
        File.WriteAllText(Path.Combine(directory, PublicCertificateFile), created.ExportCertificatePem() + "\n");
        Console.WriteLine($"No TLS certificate is configured: made a self-signed one, {path} (chargers may trust {PublicCertificateFile})");
        return X509CertificateLoader.LoadPkcs12(pfx, password: null);
    }

    /// <summary>A self-signed server certificate for this machine's names and loopback addresses, and the host it listens on.</summary>
    public static X509Certificate2 CreateSelfSigned(string host, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=Energy node", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        var machine = Environment.MachineName.ToLowerInvariant();
        if (Uri.CheckHostName(machine) == UriHostNameType.Dns && machine != "localhost") names.AddDnsName(machine);
        if (IPAddress.TryParse(host, out var address))
        {
            if (!IPAddress.IsLoopback(address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any)) names.AddIpAddress(address);
        }
        else if (Uri.CheckHostName(host) == UriHostNameType.Dns && host != "localhost" && host != machine)
        {
            names.AddDnsName(host);
        }
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddDays(-1), now.Add(SelfSignedValidity));
    }
}
