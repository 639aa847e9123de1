using System.Collections.Concurrent;
using System.Security.Claims;
using Energy.Channels.Primitives;
using Energy.Cluster.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Energy.Cluster.Network;

namespace Energy.Dashboard;

/// <summary>
/// The live dashboard's hub. Only a signed-in operator may connect; it gets the current picture at once,
/// then at most <see cref="DashboardBroadcaster.UpdatesPerSecond"/> updates a second, each holding only
/// what that operator may see. A connection whose viewer key stops being live is closed.
/// </summary>
[Authorize(AuthenticationSchemes = DashboardAuth.Scheme)]
public sealed class DashboardHub(DashboardState state, DashboardViewers viewers) : Hub
{
    public override async Task OnConnectedAsync()
    {
        var viewer = DashboardAuth.ViewerOf(Context.User!);
        viewers.Add(Context.ConnectionId, new DashboardViewers.Connected(viewer, Context.User!.FindFirstValue(DashboardAuth.ViewerKeyClaim) ?? "", Context));
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

/// <summary>
/// The connected viewers, by connection; updates go to one group per kind of viewer: "everything" for grid
/// operators, "operator:{id}" for each other operator, whose members all see the same filtered view.
/// </summary>
public sealed class DashboardViewers
{
    public sealed record Connected(Viewer Viewer, string ViewerKeyHex, HubCallerContext Context);

    private readonly ConcurrentDictionary<string, Connected> _byConnection = new(StringComparer.Ordinal);

    public static string GroupOf(Viewer viewer) => viewer.SeesEverything ? "everything" : "operator:" + viewer.Operator;

    public void Add(string connection, Connected connected) => _byConnection[connection] = connected;

    public void Remove(string connection) => _byConnection.TryRemove(connection, out _);

    public int Count => _byConnection.Count;

    /// <summary>One viewer per group (they all see the same).</summary>
    public IEnumerable<Viewer> Groups() => _byConnection.Values.Select(c => c.Viewer).DistinctBy(GroupOf);

    public IReadOnlyList<Connected> All() => _byConnection.Values.ToList();
}

/// <summary>
/// Throttles and aggregates: every tenth of a second, if anything changed, each group of viewers gets
/// one update. A busy network changes the numbers inside the update, never the number of updates.
/// Every <see cref="RevalidateInterval"/> it asks again whether each connection's viewer key is live, and
/// closes the connections whose key expired or was dropped by a new admission of its operator.
/// </summary>
public sealed class DashboardBroadcaster(DashboardState state, DashboardViewers viewers, IHubContext<DashboardHub> hub, IServiceProvider services) : BackgroundService
{
    public const int UpdatesPerSecond = 10;
    public static readonly TimeSpan RevalidateInterval = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1000 / UpdatesPerSecond));
        long sent = -1;
        var revalidateAt = DateTime.UtcNow + RevalidateInterval;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (DateTime.UtcNow >= revalidateAt)
            {
                await RevalidateAsync(stoppingToken);
                revalidateAt = DateTime.UtcNow + RevalidateInterval;
            }
            var version = state.Version;
            if (version == sent || viewers.Count == 0) continue;
            var sentAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            foreach (var viewer in viewers.Groups())
                await hub.Clients.Group(DashboardViewers.GroupOf(viewer)).SendAsync("update", state.ViewFor(viewer) with { SentAtMs = sentAtMs }, stoppingToken);
            state.MarkSent(version);
            sent = version;
        }
    }

    private async Task RevalidateAsync(CancellationToken token)
    {
        var connected = viewers.All();
        if (connected.Count == 0) return;
        var network = services.GetRequiredService<EnergyNetwork>();
        foreach (var group in connected.GroupBy(c => (c.Viewer.Operator, c.ViewerKeyHex, c.Viewer.SeesEverything)))
        {
            var (op, key, everything) = group.Key;
            if (await DashboardAuth.IsLiveAsync(network, op, key, everything, token)) continue;
            foreach (var connection in group) connection.Context.Abort();
        }
    }
}
