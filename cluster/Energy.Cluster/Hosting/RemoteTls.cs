using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace Energy.Cluster.Hosting;

/// <summary>
/// The "Energy:RemoteTls" section: TLS between the nodes of a cluster (Akka.Remote over DotNetty). With a
/// certificate configured, a node speaks TLS only, presents its certificate and asks every peer for one
/// (mutual TLS), and takes a peer only if the peer's certificate chains to a trusted certificate.
/// </summary>
public sealed class RemoteTlsConfiguration
{
    /// <summary>A PKCS#12 file with this node's certificate and its private key; set, it turns TLS between nodes on.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>
    /// A PEM file of the certificates a peer's certificate must chain to (a cluster's own certification
    /// authority). Without one, the node's own certificate is the only one trusted: every node of the
    /// cluster then holds the same certificate.
    /// </summary>
    public string? TrustedCertificatesPath { get; set; }

    /// <summary>Takes any peer certificate without checking it: only when set so on purpose, never by default.</summary>
    public bool SuppressValidation { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}

/// <summary>Loads the configured certificates and checks a peer's certificate against them.</summary>
public static class RemoteTls
{
    /// <summary>The address scheme of nodes speaking TLS to each other; plain nodes use akka.tcp.</summary>
    public const string Scheme = "akka.ssl.tcp";

    /// <summary>The setup Akka.Remote takes the certificate and the peer check from.</summary>
    public static DotNettySslSetup Setup(RemoteTlsConfiguration tls)
    {
        if (!tls.Enabled) throw new InvalidOperationException("Energy:RemoteTls has no CertificatePath");
        var certificate = X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath!, tls.CertificatePassword);
        if (!certificate.HasPrivateKey) throw new InvalidOperationException($"Energy:RemoteTls:CertificatePath {tls.CertificatePath} holds no private key");
        var anchors = new X509Certificate2Collection();
        if (string.IsNullOrWhiteSpace(tls.TrustedCertificatesPath)) anchors.Add(X509CertificateLoader.LoadCertificate(certificate.RawData));
        else anchors.ImportFromPemFile(tls.TrustedCertificatesPath);
        if (anchors.Count == 0) throw new InvalidOperationException($"Energy:RemoteTls:TrustedCertificatesPath {tls.TrustedCertificatesPath} holds no certificate");
        return new DotNettySslSetup(certificate, tls.SuppressValidation, requireMutualAuthentication: true, validateCertificateHostname: false,
            tls.SuppressValidation ? null : TrustedBy(anchors));
    }

    /// <summary>
    /// A peer check for Akka.Remote: the peer presented a certificate and it chains to one of the anchors. Host
    /// names are not compared (nodes share one certificate or are known by their certificate, not their name).
    /// </summary>
    public static CertificateValidationCallback TrustedBy(X509Certificate2Collection anchors) =>
        (certificate, presented, peer, errors, log) =>
        {
            if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            {
                log.Warning("Remote TLS: {0} presented no certificate; refused", peer);
                return false;
            }
            if (ChainsTo(certificate, anchors, DateTime.UtcNow, presented)) return true;
            log.Warning("Remote TLS: the certificate of {0} ({1}, SHA-256 {2}) does not chain to a trusted certificate; refused",
                peer, certificate.Subject, certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256));
            return false;
        };

    /// <summary>Whether the certificate, valid at the given time, chains to one of the anchors (and to nothing else: the machine's roots are not asked).</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection anchors, DateTime utcNow, X509Chain? presented = null)
    {
        using var chain = new X509Chain();
        // The intermediates the peer sent may complete the path; only the anchors are trusted.
        if (presented is not null)
            foreach (var element in presented.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        // A cluster's own certificates publish no revocation list; a node is retired by a new cluster certificate.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = utcNow;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        return chain.Build(certificate);
    }
}
