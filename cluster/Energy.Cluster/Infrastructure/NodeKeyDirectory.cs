namespace Energy.Cluster;

/// <summary>
/// A folder the nodes of one cluster share (Energy:NodeKeysDirectory): each node writes its public key there as
/// <c>{key}.pub</c> when it starts, and an audit accepts the block signatures of every key found there, so that
/// any node audits the blocks every other node signed. A key stays when its node later has another, since the
/// blocks it signed stay too. Whoever may write the folder is trusted like a node.
/// </summary>
public static class NodeKeyDirectory
{
    public const string Extension = ".pub";

    /// <summary>At most this many keys are read; a folder with more is not a cluster's.</summary>
    public const int MaxKeys = 256;

    /// <summary>Writes this node's public key (hex) as a file named by the key: written beside it, then moved, so that a reader never sees half a key.</summary>
    public static void Publish(string directory, string publicKeyHex)
    {
        if (publicKeyHex.Length != 64 || !publicKeyHex.All(char.IsAsciiHexDigitLower))
            throw new ArgumentException("a public key is 64 lower-case hex digits", nameof(publicKeyHex));
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, publicKeyHex + Extension);
        if (File.Exists(path)) return;
        var next = path + ".next";
        File.WriteAllText(next, publicKeyHex + "\n");
        File.Move(next, path, overwrite: true);
    }

    /// <summary>The public keys (hex) published in the folder; what is not a key's 64 hex digits is passed over.</summary>
    public static IReadOnlyList<string> Read(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        return Directory.EnumerateFiles(directory, "*" + Extension)
            .Take(MaxKeys)
            .Select(path => new FileInfo(path))
            .Where(file => file.Length <= 256)
            .Select(file => File.ReadAllText(file.FullName).Trim().ToLowerInvariant())
            .Where(hex => hex.Length == 64 && hex.All(char.IsAsciiHexDigitLower))
            .ToList();
    }
}
