namespace Energy.Deploy.Tests;

/// <summary>
/// What docker-compose.yml must keep, as a function from the parsed file (and the repository's files it names) to
/// the rules it breaks, each said in a sentence. Pure, so that tests feed it broken files too.
/// </summary>
public static class ComposeRules
{
    public const string Loopback = "127.0.0.1";

    /// <summary>Lines a .dockerignore must hold so that no build output, data or history reaches an image.</summary>
    public static readonly string[] IgnoredPaths = ["**/bin/", "**/obj/", ".data/", "**/node_modules/", ".git/", "artifacts/"];

    private static readonly string[] HealthConditions = ["service_healthy", "service_completed_successfully"];

    /// <param name="compose">The parsed compose file.</param>
    /// <param name="readFile">A repository file's text by its path from the root, or null when there is none.</param>
    /// <param name="exists">Whether a path from the root exists (a file or a folder).</param>
    public static IReadOnlyList<string> Violations(Dictionary<object, object> compose, Func<string, string?> readFile, Func<string, bool> exists)
    {
        var broken = new List<string>();
        var services = DeployFiles.Map(compose.GetValueOrDefault("services"), "services")
            .ToDictionary(s => s.Key.ToString()!, s => DeployFiles.Map(s.Value, $"service {s.Key}"));
        var networks = DeployFiles.MapOrNull(compose, "networks") ?? [];
        foreach (var (name, service) in services)
        {
            Ports(name, service, broken);
            Health(name, service, services, broken);
            Secrets(name, service, broken);
            Image(name, service, readFile, broken);
            BindMounts(name, service, exists, broken);
            if (DeployFiles.Text(service, "image") is { } image && image.StartsWith("postgres", StringComparison.Ordinal))
                Database(name, service, networks, broken);
        }
        var ignore = readFile(".dockerignore");
        if (ignore is null) broken.Add(".dockerignore is missing");
        else
        {
            var lines = ignore.Split('\n').Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);
            broken.AddRange(IgnoredPaths.Where(p => !lines.Contains(p)).Select(p => $".dockerignore does not exclude {p}"));
        }
        return broken;
    }

    /// <summary>Every published port is on the loopback address only.</summary>
    private static void Ports(string name, Dictionary<object, object> service, List<string> broken)
    {
        foreach (var port in DeployFiles.List(service, "ports"))
        {
            var bound = port switch
            {
                Dictionary<object, object> longForm => DeployFiles.Text(longForm, "host_ip") == Loopback,
                _ => port.ToString()!.StartsWith(Loopback + ":", StringComparison.Ordinal),
            };
            if (!bound) broken.Add($"{name} publishes port {Describe(port)} on more than {Loopback}");
        }
    }

    /// <summary>A running service says when it is healthy; a one-shot job does not restart; what depends on either waits for it.</summary>
    private static void Health(string name, Dictionary<object, object> service, Dictionary<string, Dictionary<object, object>> services, List<string> broken)
    {
        var restart = DeployFiles.Text(service, "restart");
        if (restart is null) broken.Add($"{name} has no restart policy");
        if (!IsOneShot(service) && !HasHealthcheck(service)) broken.Add($"{name} has no health check and is not a one-shot job");
        var dependsOn = service.GetValueOrDefault("depends_on");
        if (dependsOn is List<object> shortForm && shortForm.Count > 0) broken.Add($"{name} depends on {string.Join(", ", shortForm)} without waiting for a condition");
        if (dependsOn is not Dictionary<object, object> longForm) return;
        foreach (var (other, value) in longForm)
        {
            var condition = value is Dictionary<object, object> map ? DeployFiles.Text(map, "condition") : null;
            var target = services.GetValueOrDefault(other.ToString()!);
            if (target is null) broken.Add($"{name} depends on {other}, which is not a service");
            else if (condition is null || !HealthConditions.Contains(condition)) broken.Add($"{name} depends on {other} with condition {condition ?? "none"}, not its health or its completion");
            else if (condition == "service_healthy" && !HasHealthcheck(target)) broken.Add($"{name} waits for {other} to be healthy, but {other} has no health check");
            else if (condition == "service_completed_successfully" && !IsOneShot(target)) broken.Add($"{name} waits for {other} to complete, but {other} is not a one-shot job");
        }
    }

    /// <summary>No password is written in the file: variables of passwords name a file, and connection strings hold none.</summary>
    private static void Secrets(string name, Dictionary<object, object> service, List<string> broken)
    {
        var environment = service.GetValueOrDefault("environment") switch
        {
            Dictionary<object, object> map => map.Select(e => (Key: e.Key.ToString()!, Value: e.Value?.ToString() ?? "")),
            List<object> list => list.Select(e => e.ToString()!.Split('=', 2)).Select(kv => (Key: kv[0], Value: kv.Length > 1 ? kv[1] : "")),
            _ => [],
        };
        foreach (var (key, value) in environment)
        {
            if (key.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase) && !key.EndsWith("_FILE", StringComparison.Ordinal))
                broken.Add($"{name} sets {key} in the file instead of a file holding it");
            if (value.Contains("Password=", StringComparison.OrdinalIgnoreCase))
                broken.Add($"{name} writes a password in {key}");
        }
    }

    /// <summary>An image built here runs as a user that is not root.</summary>
    private static void Image(string name, Dictionary<object, object> service, Func<string, string?> readFile, List<string> broken)
    {
        if (DeployFiles.Text(service, "user") is "root" or "0" or "0:0") broken.Add($"{name} runs as root");
        if (DeployFiles.MapOrNull(service, "build") is not { } build) return;
        var context = DeployFiles.Text(build, "context") ?? ".";
        var dockerfile = Path.Combine(context, DeployFiles.Text(build, "dockerfile") ?? "Dockerfile");
        var text = readFile(Path.GetRelativePath(".", dockerfile));
        if (text is null)
        {
            broken.Add($"{name} is built from {dockerfile}, which is missing");
            return;
        }
        // The last stage is the image; its last USER line is who runs it.
        var lines = text.Split('\n').Select(l => l.Trim()).ToList();
        var lastStage = lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.OrdinalIgnoreCase));
        var user = lines.Skip(Math.Max(lastStage, 0)).LastOrDefault(l => l.StartsWith("USER ", StringComparison.OrdinalIgnoreCase))?[5..].Trim();
        if (user is null) broken.Add($"{dockerfile} (of {name}) has no USER line in its last stage: the image runs as root");
        else if (user is "root" or "0" or "0:0") broken.Add($"{dockerfile} (of {name}) runs as {user}");
    }

    /// <summary>A folder or file of the repository mounted into a service is there.</summary>
    private static void BindMounts(string name, Dictionary<object, object> service, Func<string, bool> exists, List<string> broken)
    {
        foreach (var volume in DeployFiles.List(service, "volumes").Select(v => v.ToString()!))
        {
            if (!volume.StartsWith("./", StringComparison.Ordinal)) continue;
            var source = volume.Split(':')[0];
            if (!exists(source[2..])) broken.Add($"{name} mounts {source}, which is not in the repository");
        }
    }

    /// <summary>The database is reachable from the internal network only.</summary>
    private static void Database(string name, Dictionary<object, object> service, Dictionary<object, object> networks, List<string> broken)
    {
        if (DeployFiles.List(service, "ports").Any()) broken.Add($"{name} publishes a port of the database");
        var joined = DeployFiles.List(service, "networks").Select(n => n.ToString()!).ToList();
        if (joined.Count == 0) broken.Add($"{name} is on the default network, not an internal one");
        foreach (var network in joined)
        {
            var definition = DeployFiles.MapOrNull(networks, network);
            if (definition is null || DeployFiles.Text(definition, "internal") is not ("true" or "True"))
                broken.Add($"{name} is on network {network}, which is not internal");
        }
    }

    public static bool IsOneShot(Dictionary<object, object> service) => DeployFiles.Text(service, "restart") == "no";

    public static bool HasHealthcheck(Dictionary<object, object> service) =>
        DeployFiles.MapOrNull(service, "healthcheck") is { } check
        && DeployFiles.Text(check, "disable") is not ("true" or "True")
        && check.ContainsKey("test");

    private static string Describe(object value) => value is Dictionary<object, object> map
        ? "{" + string.Join(", ", map.Select(e => $"{e.Key}: {e.Value}")) + "}"
        : value.ToString()!;
}
