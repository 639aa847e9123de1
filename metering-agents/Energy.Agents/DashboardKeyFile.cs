using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Agents;

/// <summary>
/// The file a person signs in to the dashboard with: two lines, the operator's id and the seed (hex) of a
/// viewer key the operator endorsed. The operator's own key stays with its back office; a browser only
/// ever holds this key, which sees what the operator sees until it expires.
/// </summary>
public static class DashboardKeyFile
{
    /// <summary>How long each endorsement lasts; every run of the back office renews it.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(30);

    /// <summary>
    /// Makes sure <paramref name="path"/> holds a live viewer key of the operator: the key already in the file
    /// when it is this operator's, otherwise a new one; endorsed (again) for <see cref="Lifetime"/>. The file is
    /// readable by its owner only.
    /// </summary>
    public static async Task WriteAsync(OperatorAgent op, string path)
    {
        using var key = Read(path, op.Id) ?? DeviceKeyPair.Generate();
        await op.AddViewerKeyAsync(key.PublicKey, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow + Lifetime));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        // Created readable by its owner only, never for a moment by others.
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using var file = new StreamWriter(new FileStream(path, options));
        await file.WriteAsync($"{op.Id.Value}\n{Convert.ToHexStringLower(key.ExportSeed())}\n");
    }

    /// <summary>The viewer key in the file, if the file is there and names this operator.</summary>
    public static DeviceKeyPair? Read(string path, OperatorId expected)
    {
        if (!File.Exists(path)) return null;
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2 || lines[0].Trim() != expected.Value) return null;
        try { return DeviceKeyPair.FromSeed(Convert.FromHexString(lines[1].Trim())) is { IsOk: true } key ? key.Value : null; }
        catch (FormatException) { return null; }
    }
}
