using System.Text;
using Energy.Channels.Identity;

namespace Energy.Cli;

/// <summary>
/// Key files. A key is its 32-byte Ed25519 seed, kept either as the raw bytes (the node's own
/// <c>authority.key</c> and <c>node.key</c>) or as 64 hex digits on a line (what this tool writes; a file of
/// two lines, an operator id and then the key, as the dashboard's sign-in takes it, reads the same way).
/// Files are created readable by their owner only and never overwritten.
/// </summary>
public static class KeyFile
{
    public const int SeedBytes = 32;

    /// <summary>Key files are small; anything larger is not one.</summary>
    public const int MaxFileBytes = 4_096;

    public static DeviceKeyPair Load(string path, TextWriter warnings)
    {
        if (!File.Exists(path)) throw new ToolFailureException("KeyFileMissing", $"key file {path} does not exist");
        var info = new FileInfo(path);
        if (info.Length > MaxFileBytes) throw Malformed(path);
        if (!OperatingSystem.IsWindows() && (info.UnixFileMode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
            warnings.WriteLine($"warning: key file {path} is readable by others (chmod 600 {path})");
        var bytes = File.ReadAllBytes(path);
        var seed = bytes.Length == SeedBytes ? bytes : SeedFromText(bytes) ?? throw Malformed(path);
        return DeviceKeyPair.FromSeed(seed).Unwrap();
    }

    /// <summary>Writes a new file only its owner may read, from the first byte on; an existing file is left alone.</summary>
    public static void WriteNew(string path, IReadOnlyList<string> lines)
    {
        var fullPath = Path.GetFullPath(path);
        if (File.Exists(fullPath)) throw Exists(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(fullPath, options);
            stream.Write(Encoding.UTF8.GetBytes(string.Concat(lines.Select(line => line + "\n"))));
        }
        catch (IOException) when (File.Exists(fullPath))
        {
            throw Exists(path);
        }
    }

    public static string SeedHex(DeviceKeyPair key) => Convert.ToHexStringLower(key.ExportSeed());

    private static byte[]? SeedFromText(byte[] bytes)
    {
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
        var hex = text.Split('\n').Select(line => line.Trim()).LastOrDefault(IsSeedHex);
        return hex is null ? null : Convert.FromHexString(hex);
    }

    private static bool IsSeedHex(string line) => line.Length == 2 * SeedBytes && line.All(char.IsAsciiHexDigit);

    private static ToolFailureException Malformed(string path) =>
        new("KeyFileMalformed", $"{path} holds no Ed25519 key: expected its 32-byte seed, raw or as 64 hex digits on a line");

    private static ToolFailureException Exists(string path) =>
        new("KeyFileExists", $"{path} already exists; a key file is never overwritten (move it away or choose another name)");
}
