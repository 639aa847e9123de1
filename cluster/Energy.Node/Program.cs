using Energy.Cluster.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddEnergyNode();
var app = builder.Build();
app.MapEnergyNode();
app.Run();
