using System.CommandLine;
using Energy.Agents.Cli;

var demo = DemoCommand.Create();
var root = new RootCommand("energy-agents: the simulated devices of the Energy network (without a command: demo)")
{
    demo,
    CityCommand.Create(),
};
// Without a command the program shows the demo, as it always has.
root.Action = demo.Action;
return await root.Parse(args).InvokeAsync();
