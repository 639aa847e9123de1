using Energy.Cluster.Hosting;
using Energy.Dashboard;

var builder = WebApplication.CreateBuilder(args);
builder.AddEnergyNode(new DashboardModule());
var app = builder.Build();
app.MapEnergyNode();
app.Run();
