using Energy.Cluster.Hosting;
using Energy.Dashboard;

// The node's own settings (appsettings.json beside the program) are found wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.UseDefaultUrlsUnlessConfigured();
builder.AddEnergyNode(new DashboardModule());
var app = builder.Build();
app.MapEnergyNode();
app.Run();
