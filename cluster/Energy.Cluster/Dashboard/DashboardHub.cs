using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Hosting;

namespace Energy.Cluster.Dashboard;

/// <summary>
/// The live dashboard's hub. Only a signed-in operator may connect; it gets the current picture at once,
/// then at most <see cref="DashboardBroadcaster.UpdatesPerSecond"/> updates a second, each holding only
/// what that operator may see.
/// </summary>
[Authorize(AuthenticationSchemes = DashboardAuth.Scheme)]
public sealed class DashboardHub(DashboardState state, DashboardViewers viewers) : Hub
{
    public override async Task OnConnectedAsync()
    {
        var viewer = DashboardAuth.ViewerOf(Context.User!);
        viewers.Add(Context.ConnectionId, viewer);
        await Groups.AddToGroupAsync(Context.ConnectionId, DashboardViewers.GroupOf(viewer));
        await Clients.Caller.SendAsync("update", state.ViewFor(viewer));
        await base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        viewers.Remove(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }
}

/// <summary>The connected viewers, by connection; updates go to one group per kind of viewer.</summary>
public sealed class DashboardViewers
{
    private readonly ConcurrentDictionary<string, Viewer> _byConnection = new(StringComparer.Ordinal);

    public static string GroupOf(Viewer viewer) => viewer.SeesEverything ? "everything" : "operator:" + viewer.Operator;

    public void Add(string connection, Viewer viewer) => _byConnection[connection] = viewer;

    public void Remove(string connection) => _byConnection.TryRemove(connection, out _);

    public int Count => _byConnection.Count;

    /// <summary>One viewer per group (they all see the same).</summary>
    public IEnumerable<Viewer> Groups() => _byConnection.Values.DistinctBy(GroupOf);
}

/// <summary>
/// Throttles and aggregates: every tenth of a second, if anything changed, each group of viewers gets
/// one update. A busy network changes the numbers inside the update, never the number of updates.
/// </summary>
public sealed class DashboardBroadcaster(DashboardState state, DashboardViewers viewers, IHubContext<DashboardHub> hub) : BackgroundService
{
    public const int UpdatesPerSecond = 10;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1000 / UpdatesPerSecond));
        long sent = -1;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var version = state.Version;
            if (version == sent || viewers.Count == 0) continue;
            foreach (var viewer in viewers.Groups())
                await hub.Clients.Group(DashboardViewers.GroupOf(viewer)).SendAsync("update", state.ViewFor(viewer), stoppingToken);
            state.MarkSent(version);
            sent = version;
        }
    }
}

public static class DashboardAuth
{
    public const string Scheme = "energy-dashboard";
    public const string OperatorClaim = "energy:operator";
    public const string EverythingClaim = "energy:sees-everything";

    public static Viewer ViewerOf(ClaimsPrincipal user) =>
        new(user.FindFirstValue(OperatorClaim) ?? "", user.HasClaim(EverythingClaim, "true"));
}
