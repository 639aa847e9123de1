using System.Text;
using System.Text.RegularExpressions;

namespace Energy.Cluster.Tests;

/// <summary>
/// The folders of Energy.Cluster use each other one way: each folder is a namespace, placed in a layer, and
/// may use the folders below it. What a folder uses is read from its source: its <c>using</c> directives and
/// its qualified references (<c>Energy.Cluster.Ledger.X</c>, or <c>Ledger.X</c> where X is a type of Ledger).
/// No use points up.
/// </summary>
public sealed partial class FolderDependencyTests
{
    /// <summary>From the bottom up: a folder may use those before it, never one after it.</summary>
    private static readonly string[] Layers =
        ["Infrastructure", "Serialization", "Activity", "Kernel", "Ledger", "Registry", "Channels", "Charging", "Tolls", "Market", "ChargePoints", "Network", "Gateway", "Api", "Hosting"];

    /// <summary>
    /// Uses that point up, each closing a circle: none is left, and none may be added. The list stays, empty, so that
    /// the test can name one should a use have to point up for a while.
    /// </summary>
    private static readonly HashSet<(string From, string To)> KnownUpward = [];

    private static readonly string ClusterSource = Path.Combine(RepositoryRoot(), "cluster", "Energy.Cluster");

    [Fact]
    public void Every_folder_has_a_layer_and_every_file_the_namespace_of_its_folder()
    {
        var folders = Folders();
        Assert.Equal(Layers.Order(StringComparer.Ordinal), folders.Select(f => f.Name).Order(StringComparer.Ordinal));
        foreach (var folder in folders)
            foreach (var file in folder.Files)
                Assert.True(file.Namespace == folder.Namespace, $"{folder.Name}/{file.Name} declares namespace {file.Namespace}, not {folder.Namespace}");
    }

    [Fact]
    public void No_folder_uses_a_folder_above_it_but_the_known_upward_uses()
    {
        var upward = Uses().Where(use => Layer(use.To) > Layer(use.From) && !KnownUpward.Contains((use.From, use.To))).ToList();

        Assert.True(upward.Count == 0, "uses of a folder above: " + string.Join("; ", upward.Select(u => $"{u.From}/{u.File} uses {u.To} ({u.What})")));
    }

    [Fact]
    public void Every_known_upward_use_is_still_there_so_that_one_removed_cannot_come_back_unnoticed()
    {
        var uses = Uses().Select(use => (use.From, use.To)).ToHashSet();

        Assert.All(KnownUpward, known => Assert.True(uses.Contains(known), $"{known.From} no longer uses {known.To}: take it off the known upward uses"));
    }

    [Fact]
    public void The_reader_finds_usings_and_qualified_references_and_ignores_comments_strings_and_members_named_like_folders()
    {
        var types = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal)
        {
            ["Energy.Cluster.Ledger"] = ["LedgerShard", "Mint"],
            ["Energy.Cluster.Tolls"] = ["ZonePass"],
            ["Energy.Cluster.Gateway"] = ["DevicePusher"],
            ["Energy.Cluster.Hosting"] = ["EnergyRegions"],
        };
        const string source = """
            using Energy.Cluster.Ledger;
            // Gateway.DevicePusher in a comment is not a use; /* Tolls.ZonePass */ neither.
            var text = "Hosting.EnergyRegions";
            var zone = new Tolls.ZonePass(zone, device, at, null);
            regions.Gateway.DevicePusher.Push();
            var other = Energy.Cluster.Hosting.EnergyRegions.Start(system, settings);
            """;

        var found = Referenced(Code(source), types);

        Assert.Equal(["Energy.Cluster.Hosting", "Energy.Cluster.Ledger", "Energy.Cluster.Tolls"], found.Select(f => f.Namespace).Distinct().Order(StringComparer.Ordinal));
    }

    private static int Layer(string folder) => Array.IndexOf(Layers, folder);

    private sealed record SourceFile(string Name, string Namespace, string Code);

    private sealed record Folder(string Name, string Namespace, IReadOnlyList<SourceFile> Files);

    private sealed record Use(string From, string File, string To, string What);

    private static List<Folder> Folders() => Directory.GetDirectories(ClusterSource)
        .Select(Path.GetFileName)
        .Where(name => name is not ("bin" or "obj"))
        .Select(name =>
        {
            var files = Directory.GetFiles(Path.Combine(ClusterSource, name!), "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(path =>
            {
                var code = Code(File.ReadAllText(path));
                return new SourceFile(Path.GetFileName(path), NamespaceDeclaration().Match(code).Groups[1].Value, code);
            }).ToList();
            var namespaces = files.Select(f => f.Namespace).Distinct().ToList();
            return new Folder(name!, namespaces.Count == 1 ? namespaces[0] : string.Join(" and ", namespaces), files);
        })
        .ToList();

    /// <summary>Every use of another folder, by file and with what is used.</summary>
    private static List<Use> Uses()
    {
        var folders = Folders();
        var byNamespace = folders.ToDictionary(f => f.Namespace, f => f.Name, StringComparer.Ordinal);
        var types = folders.ToDictionary(f => f.Namespace, f => f.Files.SelectMany(file => TypeDeclaration().Matches(file.Code).Select(m => m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal),
            StringComparer.Ordinal);
        return folders.SelectMany(folder => folder.Files.SelectMany(file => Referenced(file.Code, types)
                .Where(r => byNamespace.ContainsKey(r.Namespace) && r.Namespace != folder.Namespace)
                .Select(r => new Use(folder.Name, file.Name, byNamespace[r.Namespace], r.What))))
            .ToList();
    }

    /// <summary>The namespaces of Energy.Cluster that code names: in a using directive, fully qualified, or relative to Energy.Cluster before one of their types.</summary>
    private static List<(string Namespace, string What)> Referenced(string code, IReadOnlyDictionary<string, HashSet<string>> typesByNamespace)
    {
        var found = new List<(string, string)>();
        foreach (Match match in UsingDirective().Matches(code)) found.Add((match.Groups[1].Value, match.Value.Trim()));
        foreach (Match match in QualifiedName().Matches(code)) found.Add(("Energy.Cluster." + match.Groups[1].Value, match.Value));
        foreach (var (ns, types) in typesByNamespace)
        {
            if (ns == "Energy.Cluster") continue;
            var last = ns[(ns.LastIndexOf('.') + 1)..];
            // Not after a dot (a member such as regions.Ledger) nor inside a longer name.
            foreach (Match match in Regex.Matches(code, $@"(?<![\w.]){last}\.(\w+)"))
                if (types.Contains(match.Groups[1].Value)) found.Add((ns, match.Value));
        }
        return found;
    }

    /// <summary>The code of a C# source without its comments and the contents of its string and character literals.</summary>
    private static string Code(string source)
    {
        var code = new StringBuilder(source.Length);
        var i = 0;
        while (i < source.Length)
        {
            if (source.AsSpan(i).StartsWith("//")) { while (i < source.Length && source[i] != '\n') i++; continue; }
            if (source.AsSpan(i).StartsWith("/*")) { var end = source.IndexOf("*/", i + 2, StringComparison.Ordinal); i = end < 0 ? source.Length : end + 2; continue; }
            if (source.AsSpan(i).StartsWith("\"\"\""))
            {
                var quotes = 0;
                while (i < source.Length && source[i] == '"') { quotes++; i++; }
                var end = source.IndexOf(new string('"', quotes), i, StringComparison.Ordinal);
                i = end < 0 ? source.Length : end + quotes;
                code.Append("\"\"");
                continue;
            }
            if (source[i] == '"' || source[i] == '\'')
            {
                var quote = source[i];
                var verbatim = i > 0 && (source[i - 1] == '@' || (source[i - 1] == '$' && i > 1 && source[i - 2] == '@'));
                i++;
                while (i < source.Length && source[i] != quote)
                {
                    if (!verbatim && source[i] == '\\') i++;
                    else if (verbatim && source[i] == '"' && i + 1 < source.Length && source[i + 1] == '"') i++;
                    i++;
                }
                i++;
                code.Append(quote).Append(quote);
                continue;
            }
            code.Append(source[i]);
            i++;
        }
        return code.ToString();
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Energy.sln"))) return directory.FullName;
        throw new InvalidOperationException($"no Energy.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(\w+)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(Energy\.Cluster\.\w+)[\w.]*\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"(?<![\w.])Energy\.Cluster\.(\w+)\.")]
    private static partial Regex QualifiedName();
}
