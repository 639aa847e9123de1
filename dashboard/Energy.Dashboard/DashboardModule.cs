using Akka.Actor;
using Energy.Cluster;
using Energy.Cluster.Api;
using Energy.Cluster.Hosting;
using Energy.Cluster.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Energy.Dashboard;

/// <summary>Where the dashboard's page and its npm packages are (after npm ci there): Energy:DashboardDirectory, by default dashboard/web.</summary>
public sealed record DashboardSettings(string WebDirectory)
{
    public const string ConfigurationKey = "Energy:DashboardDirectory";
    public const string DefaultWebDirectory = "dashboard/web";

    /// <summary>
    /// Where the keys that protect sign-in cookies live: Energy:DataProtectionKeysDirectory, by default a folder in the
    /// node's data folder. Kept there, a sign-in survives a restart; one folder shared by every node of a cluster lets a
    /// sign-in made on one node read the dashboard of another.
    /// </summary>
    public const string KeysConfigurationKey = "Energy:DataProtectionKeysDirectory";

    public static string KeysDirectory(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        Path.GetFullPath(configuration[KeysConfigurationKey] is { Length: > 0 } configured
            ? configured
            : Path.Combine(configuration["Energy:DataDirectory"] is { Length: > 0 } data ? data : ".data/node", "data-protection-keys"));
}

/// <summary>
/// The live dashboard as a part of a node: its sign-in (a cookie scheme of its own, which the API also takes as
/// an operator's session), the hub and its throttled broadcaster, the drill-down API, the page, and the
/// subscriber that turns every node's activity into the dashboard's state.
/// </summary>
public sealed class DashboardModule : INodeModule
{
    public void AddServices(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton(new DashboardSettings(builder.Configuration[DashboardSettings.ConfigurationKey] ?? DashboardSettings.DefaultWebDirectory));
        services.AddSingleton<DashboardState>();
        services.AddSingleton<DashboardViewers>();
        services.AddSingleton(_ => new DashboardChallenges());
        services.AddSingleton<IOperatorSessions, DashboardSessions>();
        services.AddHostedService<DashboardBroadcaster>();
        // Every node names the same application, so that a cookie protected by one is read by another with the same keys.
        services.AddDataProtection().SetApplicationName("energy-dashboard").PersistKeysToFileSystem(new DirectoryInfo(DashboardSettings.KeysDirectory(builder.Configuration)));
        services.AddSignalR().AddJsonProtocol(options => EnergyJson.AddConverters(options.PayloadSerializerOptions));
        services.AddAuthentication(DashboardAuth.Scheme).AddCookie(DashboardAuth.Scheme, options =>
        {
            options.Cookie.Name = DashboardAuth.Scheme;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.ExpireTimeSpan = DashboardEndpoints.SessionLifetime;
            options.Events.OnValidatePrincipal = DashboardAuth.ValidateAsync;
            // An API and a hub, not pages: refuse with a status instead of redirecting to a sign-in page.
            options.Events.OnRedirectToLogin = context => { context.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
            options.Events.OnRedirectToAccessDenied = context => { context.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
        });
    }

    public void Map(WebApplication app)
    {
        app.MapDashboard(app.Services.GetRequiredService<DashboardSettings>().WebDirectory);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var system = app.Services.GetRequiredService<ActorSystem>();
            system.ActorOf(DashboardSubscriber.Props(app.Services.GetRequiredService<DashboardState>(),
                app.Services.GetRequiredService<EnergySettings>().Clock), "dashboard-subscriber");
        });
    }
}
