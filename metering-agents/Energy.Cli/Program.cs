using Energy.Cli;

return await EnergyTool.InvokeAsync(args, ToolEnvironment.FromConsole());
