using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Energy.Cluster.Hosting;

/// <summary>
/// What an orchestrator asks a node: <c>/health/live</c> (the process serves HTTP; restart it when this fails)
/// and <c>/health/ready</c> (send it traffic): this node is an Up member of the cluster, its journal's database
/// answers, and its entities answer through their shard regions. Each answer names every check and its state.
/// </summary>
public static class NodeHealth
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    private const string ReadyTag = "ready";

    /// <summary>Every check is bounded: a store or a region that does not answer in time is unhealthy, not a hung probe.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(3);

    public static IServiceCollection AddNodeHealth(this IServiceCollection services, NodeOptions node)
    {
        services.AddHealthChecks()
            .AddCheck<ClusterMemberCheck>("cluster", tags: [ReadyTag], timeout: CheckTimeout)
            .AddCheck("journal", new JournalStoreCheck(node), tags: [ReadyTag], timeout: CheckTimeout)
            .AddCheck<EntitiesCheck>("entities", tags: [ReadyTag], timeout: CheckTimeout);
        return services;
    }

    public static WebApplication MapNodeHealth(this WebApplication app)
    {
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }

    /// <summary>Ready only as an Up member: a joining or leaving node does not own shards.</summary>
    private sealed class ClusterMemberCheck(ActorSystem system) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var self = Akka.Cluster.Cluster.Get(system).SelfMember;
            return Task.FromResult(self.Status == MemberStatus.Up
                ? HealthCheckResult.Healthy("this node is an Up member")
                : HealthCheckResult.Unhealthy($"this node is {self.Status}"));
        }
    }

    /// <summary>The journal's database answers a query on a connection of its own.</summary>
    private sealed class JournalStoreCheck(NodeOptions node) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using System.Data.Common.DbConnection connection = node.Store == JournalStore.PostgreSql
                    ? new Npgsql.NpgsqlConnection(node.ConnectionString)
                    : new SqliteConnection(node.SqliteConnectionString);
                await connection.OpenAsync(cancellationToken);
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT 1";
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy($"{node.Store} answers");
            }
            catch (Exception exception) when (exception is System.Data.Common.DbException or InvalidOperationException or OperationCanceledException)
            {
                // Anyone may ask: the answer names the check, not the database's address or its error (the exception stays in the node's log).
                return HealthCheckResult.Unhealthy($"{node.Store} does not answer", exception);
            }
        }
    }

    /// <summary>
    /// An entity answers through its region: the region has started, a shard can be allocated, and an entity
    /// recovers from the journal. The probe asks for an operator nobody admits.
    /// </summary>
    private sealed class EntitiesCheck(EnergyNetwork network) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await network.Regions.Operators.Ask<object>(new Registry.GetOperator(Energy.Channels.Primitives.OperatorId.Of("readiness-probe")),
                    CheckTimeout, cancellationToken);
                return HealthCheckResult.Healthy("entities answer");
            }
            catch (Exception exception) when (exception is AskTimeoutException or OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("entities did not answer in time");
            }
        }
    }
}
