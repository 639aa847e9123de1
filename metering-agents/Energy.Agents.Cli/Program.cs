using Energy.Agents.Cli;

return await AgentsCommandLine.Build().Parse(args).InvokeAsync();
