using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Energy.Cluster.Network;

namespace Energy.Cluster.Hosting;

/// <summary>
/// What an orchestrator asks a node: <c>/health/live</c> (the process serves HTTP; restart it when this fails)
/// and <c>/health/ready</c> (send it traffic): this node is an Up member of the cluster, its journal's database
/// answers, its entities answer through their shard regions, and it has read every charge point's credentials.
/// Each answer names every check and its state.
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
            .AddCheck<EntitiesCheck>("entities", tags: [ReadyTag], timeout: CheckTimeout)
            .AddCheck<LedgerNodeCheck>("ledger-node", tags: [ReadyTag], timeout: CheckTimeout)
            .Add(ReadAtStart("ocpp-credentials", system => Gateway.ChargePointCredentialTable.Get(system).IsLoaded,
                "every charge point's credentials are read", "the charge points' credentials are being read"))
            .Add(ReadAtStart("device-directory", system => Registry.DeviceDirectory.Get(system).IsLoaded,
                "the devices' registrations are read", "the devices' registrations are being read"));
        services.AddSingleton<LedgerNodeStanding>();
        return services;
    }

    private static HealthCheckRegistration ReadAtStart(string name, Func<ActorSystem, bool> isRead, string read, string reading) =>
        new(name, services =>
        {
            var system = services.GetRequiredService<ActorSystem>();
            return new ReadAtStartCheck(() => isRead(system), read, reading);
        }, failureStatus: null, tags: [ReadyTag], timeout: CheckTimeout);

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
                await network.Regions.Operators.Ask<object>(new Energy.Lifecycles.Registry.GetOperator(Energy.Channels.Primitives.OperatorId.Of("readiness-probe")),
                    CheckTimeout, cancellationToken);
                return HealthCheckResult.Healthy("entities answer");
            }
            catch (Exception exception) when (exception is AskTimeoutException or OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("entities did not answer in time");
            }
        }
    }

    /// <summary>
    /// Something this node reads once at start and then answers from, alone: until it is read, callers sent here would
    /// all wait for it at once, right after a restart. Anyone may ask: the answer says only whether it is read.
    /// <list type="bullet">
    /// <item>An OCPP upgrade is decided from this node's credential table, read from every shard of the store.</item>
    /// <item>A device's hello is answered from this node's directory of registrations, read from the journal; until it is
    /// read, every hello wakes its device's twin. The answer does not say how many devices the network has.</item>
    /// </list>
    /// </summary>
    private sealed class ReadAtStartCheck(Func<bool> isRead, string read, string reading) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(isRead() ? HealthCheckResult.Healthy(read) : HealthCheckResult.Unhealthy(reading));
    }

    /// <summary>
    /// Whether the blocks this node signs audit as intact on the other nodes: its key is configured on the nodes
    /// (Energy:TrustedNodeKeys) or admitted by the network authority. A node that is neither still serves (its
    /// own audits take its own key), so the check is Degraded, not Unhealthy: the answer stays 200 and says why.
    /// </summary>
    private sealed class LedgerNodeCheck(LedgerNodeStanding standing) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var (trusted, description) = await standing.CheckAsync(cancellationToken);
            return trusted ? HealthCheckResult.Healthy(description) : HealthCheckResult.Degraded(description);
        }
    }
}

/// <summary>
/// This node's standing as a signer of ledger blocks, asked of the register of ledger nodes at most once every
/// <see cref="RecheckAfter"/> (a probe does not wake an entity each time), with a log line whenever it changes.
/// </summary>
public sealed partial class LedgerNodeStanding(EnergyNetwork network, ILogger<LedgerNodeStanding> log)
{
    public static readonly TimeSpan RecheckAfter = TimeSpan.FromSeconds(10);

    /// <summary>How long one look at the register may take; past it the standing is not known, which is said.</summary>
    public static readonly TimeSpan AskBound = TimeSpan.FromSeconds(1);

    private int _asking;
    private (bool Trusted, string Description, DateTime At)? _last;
    private bool _logged;

    public async Task<(bool Trusted, string Description)> CheckAsync(CancellationToken token)
    {
        var last = _last;
        if (last is { } held && DateTime.UtcNow - held.At < RecheckAfter) return (held.Trusted, held.Description);
        // One look at a time: a probe that comes while another looks answers with what was known.
        if (Interlocked.CompareExchange(ref _asking, 1, 0) != 0)
            return last is { } earlier ? (earlier.Trusted, earlier.Description) : (false, "the register of ledger nodes is being asked");
        try
        {
            var key = network.Settings.NodeKey.PublicKey.Hex;
            var signers = await network.LedgerSignersAsync(token, AskBound);
            var (trusted, description) = signers.Configured.Contains(key) ? (true, $"this node's key {key} is configured as a ledger node")
                : signers.Admitted is null ? (false, $"the register of ledger nodes did not answer: whether blocks signed by {key} audit as trusted on other nodes is not known")
                : signers.Admitted.Contains(key) ? (true, $"this node's key {key} is admitted by the network authority as a ledger node")
                : (false, $"this node's key {key} is neither configured nor admitted: the blocks it signs will not audit as trusted on other nodes "
                    + "(the authority admits it with: energy authority admit-node)");
            var standingKnown = signers.Admitted is not null || signers.Configured.Contains(key);
            if (standingKnown && (last is null || last.Value.Trusted != trusted || !_logged))
            {
                _logged = true;
                if (trusted) LogTrusted(log, description);
                else LogNotTrusted(log, description);
            }
            // Only a known standing is kept: while the register does not answer, the next probe asks again.
            if (standingKnown) _last = (trusted, description, DateTime.UtcNow);
            return (trusted, description);
        }
        finally
        {
            Volatile.Write(ref _asking, 0);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ledger node: {Description}")]
    private static partial void LogTrusted(ILogger logger, string description);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger node: {Description}")]
    private static partial void LogNotTrusted(ILogger logger, string description);
}
