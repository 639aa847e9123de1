using System.CommandLine;

namespace Energy.Agents.Cli;

/// <summary>The command line of <c>energy-agents</c>: demo and city.</summary>
public static class AgentsCommandLine
{
    public static RootCommand Build()
    {
        var demo = DemoCommand.Create();
        var root = new RootCommand("energy-agents: the simulated devices of the Energy network (without a command: demo)")
        {
            demo,
            CityCommand.Create(),
        };
        // Without a command the program shows the demo, as it always has.
        root.Action = demo.Action;
        return root;
    }
}
