using Energy.Cluster.Hosting;
using Energy.Dashboard;

// A container's health check and a cluster's provisioning run in the node's own image, which has nothing else.
if (await NodeCommands.TryRunAsync(args, Console.Out) is { } exitCode) return exitCode;

// The node's own settings (appsettings.json beside the program) are found wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.UseDefaultUrlsUnlessConfigured();
builder.AddEnergyNode(new DashboardModule());
var app = builder.Build();
app.MapEnergyNode();
await app.RunAsync();
return 0;
