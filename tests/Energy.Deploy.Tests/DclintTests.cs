using System.Diagnostics;

namespace Energy.Deploy.Tests;

/// <summary>
/// dclint (npm, installed by tests/setup/npm.sh into tests/compose) validates docker-compose.yml offline against the
/// Compose schema and its rules; a warning fails as an error does.
/// </summary>
public class DclintTests
{
    private static readonly string Dclint = DeployFiles.PathOf(Path.Combine("tests", "compose", "node_modules", "dclint", "bin", "dclint.cjs"));
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static (int ExitCode, string Output) Lint(string composeFile)
    {
        Assert.True(File.Exists(Dclint), $"{Dclint} is missing: tests/setup/npm.sh installs it (npm ci in tests/compose)");
        var start = new ProcessStartInfo("node") { WorkingDirectory = DeployFiles.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Dclint, composeFile, "--max-warnings", "0", "--color", "false" }) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Bound))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dclint did not finish within {Bound.TotalSeconds} s");
        }
        return (process.ExitCode, output.Result + errors.Result);
    }

    [Fact]
    public void Dclint_finds_no_error_and_no_warning_in_docker_compose_yml()
    {
        var (exitCode, output) = Lint("docker-compose.yml");

        Assert.True(exitCode == 0, "dclint docker-compose.yml:\n" + output);
    }

    [Fact]
    public void Dclint_fails_a_compose_file_that_publishes_a_port_on_every_address()
    {
        var file = Path.Combine(Path.GetTempPath(), "energy-tests", "compose-" + Guid.NewGuid().ToString("N") + ".yml");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, "name: open\nservices:\n  web:\n    image: nginx:1.27\n    ports:\n      - '8080:80'\n");

        var (exitCode, output) = Lint(file);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("no-unbound-port-interfaces", output, StringComparison.Ordinal);
    }
}
