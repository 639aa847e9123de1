using System.CommandLine;
using Energy.Agents.Cli;

namespace Energy.Cli.Tests;

public class HelpTests
{
    private static readonly RootCommand Energy = EnergyTool.Build(new ToolEnvironment(TextReader.Null, TextWriter.Null, TextWriter.Null, ToolEnvironment.HttpToNode));

    /// <summary>Every command of the energy tool, by its path ("" is the tool itself).</summary>
    private static List<string> CommandPaths()
    {
        var paths = new List<string>();
        void Walk(Command command, string path)
        {
            paths.Add(path);
            foreach (var sub in command.Subcommands) Walk(sub, (path + " " + sub.Name).Trim());
        }
        Walk(Energy, "");
        return paths;
    }

    public static TheoryData<string> EnergyCommands() => new(CommandPaths());

    [Theory]
    [MemberData(nameof(EnergyCommands))]
    public async Task Every_energy_command_answers_help_with_exit_0_naming_each_of_its_options_and_subcommands(string path)
    {
        var command = path.Split(' ', StringSplitOptions.RemoveEmptyEntries).Aggregate((Command)Energy, (parent, name) => parent.Subcommands.Single(c => c.Name == name));

        var run = await Tool.RunAsync([.. path.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Usage:", run.Output);
        Assert.False(string.IsNullOrWhiteSpace(command.Description), $"'{path}' has no description");
        foreach (var option in command.Options)
        {
            Assert.Contains(option.Name, run.Output);
            Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{option.Name} of '{path}' has no description");
        }
        foreach (var sub in command.Subcommands) Assert.Contains(sub.Name, run.Output);
    }

    [Fact]
    public void The_tool_has_the_commands_of_the_authority_and_the_operators()
    {
        var leaves = CommandPaths().Where(p => p.Length > 0)
            .Where(p => !p.Split(' ').Aggregate((Command)Energy, (parent, name) => parent.Subcommands.Single(c => c.Name == name)).Subcommands.Any());

        Assert.Equal(
            ["authority admit", "authority admit-node", "charge-point password", "dashboard-key", "device endorse", "device quarantine", "device revoke", "get",
             "keys new", "keys show", "money fund", "money withdraw"],
            leaves.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("demo")]
    [InlineData("city")]
    public void Every_energy_agents_command_answers_help_with_exit_0_naming_each_of_its_options(string name)
    {
        var root = AgentsCommandLine.Build();
        using var output = new StringWriter();

        var exitCode = root.Parse([name, "--help"]).Invoke(new InvocationConfiguration { Output = output });

        Assert.Equal(0, exitCode);
        foreach (var option in root.Subcommands.Single(c => c.Name == name).Options) Assert.Contains(option.Name, output.ToString());
    }

    [Fact]
    public void The_city_keeps_every_option_and_default_that_run_sh_relies_on()
    {
        var parse = AgentsCommandLine.Build().Parse(["city"]);

        Assert.Empty(parse.Errors);
        Assert.Equal(new Uri("http://127.0.0.1:5080"), parse.GetValue<Uri>("--node"));
        Assert.Equal(".data/node-1/authority.key", parse.GetValue<string>("--authority-key"));
        Assert.Equal(".data/grid-operator.key", parse.GetValue<string>("--grid-key-file"));
        Assert.Equal("energy-local", parse.GetValue<string>("--network"));
        Assert.Equal("EUR", parse.GetValue<string>("--currency"));
        var counts = new Dictionary<string, int>
        {
            ["--rounds"] = 1, ["--vehicles"] = 20, ["--chargers"] = 5, ["--gantries"] = 6, ["--homes"] = 10, ["--sessions"] = 1, ["--readings"] = 30, ["--interval-ms"] = 50,
            ["--market-interval-ms"] = 0, ["--market-gate-closure-ms"] = 1_000, ["--market-intervals"] = 3, ["--market-homes"] = 4,
        };
        foreach (var (option, value) in counts) Assert.Equal(value, parse.GetValue<int>(option));
    }

    [Fact]
    public void The_city_refuses_a_negative_count_and_an_unknown_option()
    {
        Assert.NotEmpty(AgentsCommandLine.Build().Parse(["city", "--vehicles", "-1"]).Errors);
        Assert.NotEmpty(AgentsCommandLine.Build().Parse(["city", "--vehicle", "3"]).Errors);
        Assert.NotEmpty(AgentsCommandLine.Build().Parse(["city", "--node", "not a url"]).Errors);
    }
}
