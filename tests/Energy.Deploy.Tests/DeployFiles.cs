using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Energy.Deploy.Tests;

/// <summary>The repository's deployment files, read as a program reads them (YAML merge keys resolved).</summary>
public static class DeployFiles
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>A YAML document as nested dictionaries, lists and strings, with anchors and merge keys (&lt;&lt;) resolved.</summary>
    public static Dictionary<object, object> ReadYaml(string text)
    {
        using var reader = new StringReader(text);
        var parsed = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
        return parsed ?? throw new InvalidOperationException("the document is empty");
    }

    public static Dictionary<object, object> Map(object? node, string what) =>
        node as Dictionary<object, object> ?? throw new InvalidOperationException($"{what} is not a mapping");

    public static Dictionary<object, object>? MapOrNull(Dictionary<object, object> map, string key) =>
        map.TryGetValue(key, out var value) ? value as Dictionary<object, object> : null;

    public static IEnumerable<object> List(Dictionary<object, object> map, string key) =>
        map.TryGetValue(key, out var value) && value is List<object> list ? list : [];

    public static string? Text(Dictionary<object, object> map, string key) => map.TryGetValue(key, out var value) ? value?.ToString() : null;

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Energy.sln"))) return directory.FullName;
        throw new InvalidOperationException("Energy.sln not found above " + AppContext.BaseDirectory);
    }
}
