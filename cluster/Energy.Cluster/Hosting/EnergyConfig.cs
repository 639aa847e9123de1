using Akka.Configuration;
using LinqToDB;
using Microsoft.Data.Sqlite;

namespace Energy.Cluster.Hosting;

public enum JournalStore
{
    Sqlite,
    PostgreSql,
}

/// <summary>Where events go and how the node joins its cluster.</summary>
public sealed record NodeOptions
{
    public JournalStore Store { get; init; } = JournalStore.Sqlite;

    /// <summary>For SQLite: the database file's folder. For PostgreSQL: ignored.</summary>
    public string DataDirectory { get; init; } = ".data/node";

    /// <summary>PostgreSQL connection string (required when <see cref="Store"/> is PostgreSql).</summary>
    public string? ConnectionString { get; init; }

    /// <summary>The name other nodes reach this one by (its address in the cluster).</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>
    /// Where remoting listens when that is not <see cref="Hostname"/>: 0.0.0.0 for a container on several networks,
    /// whose name resolves to one address per network. Null: it listens on <see cref="Hostname"/>.
    /// </summary>
    public string? BindHostname { get; init; }

    /// <summary>Akka.Remote port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// Seed nodes as akka.tcp://energy@host:port (akka.ssl.tcp://energy@host:port with <see cref="RemoteTls"/>); empty
    /// means this node forms a cluster of its own.
    /// </summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>TLS between nodes; off unless a certificate is configured.</summary>
    public RemoteTlsConfiguration RemoteTls { get; init; } = new();

    public TimeSpan PassivateIdleAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a busy node's journal waits to gather writes from many entities into one transaction (zero: it never waits).</summary>
    public TimeSpan GroupCommitWindow { get; init; } = TimeSpan.FromMilliseconds(1);

    public string SqliteConnectionString => new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(Path.GetFullPath(DataDirectory), "energy.db"),
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();
}

/// <summary>Builds the node's HOCON: cluster, sharding, split-brain resolver, serializer, journal and snapshot store.</summary>
public static class EnergyConfig
{
    public const string SystemName = "energy";

    public static Config Build(NodeOptions options)
    {
        var (provider, mapping, connection) = options.Store switch
        {
            JournalStore.Sqlite => ("SQLite.MS", "sqlite", PrepareSqlite(options)),
            JournalStore.PostgreSql => ("PostgreSQL.15", "postgresql",
                options.ConnectionString ?? throw new InvalidOperationException("PostgreSQL needs a connection string")),
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };
        CheckSeedSchemes(options);
        var seeds = string.Join(", ", options.SeedNodes.Select(s => $"\"{s}\""));
        var hocon = $$"""
            # The mailbox of every sharded entity (see EntityMailbox): small while it waits, grown by what waits.
            {{Kernel.EntityMailbox.Id}}.mailbox-type = "{{typeof(Kernel.EntityMailbox).FullName}}, {{typeof(Kernel.EntityMailbox).Assembly.GetName().Name}}"
            akka {
              loglevel = INFO
              actor {
                provider = cluster
                serializers { energy = "Energy.Cluster.Serialization.EnergySerializer, Energy.Cluster" }
                serialization-bindings { "Energy.Lifecycles.IEnergyMessage, Energy.Lifecycles" = energy }
                serialization-identifiers { "Energy.Cluster.Serialization.EnergySerializer, Energy.Cluster" = 7311 }
              }
              remote.dot-netty.tcp {
                hostname = "{{options.BindHostname ?? options.Hostname}}"
                public-hostname = "{{options.Hostname}}"
                port = {{options.Port}}
                maximum-frame-size = 4 MiB
                # With TLS the certificate and the peer check come from the setup (see Setups), never from here.
                enable-ssl = {{(options.RemoteTls.Enabled ? "on" : "off")}}
                ssl {
                  suppress-validation = {{(options.RemoteTls.SuppressValidation ? "on" : "off")}}
                  require-mutual-authentication = on
                }
              }
              cluster {
                seed-nodes = [{{seeds}}]
                # Failover of a crashed node's entities: unreachable after a heartbeat pause of about 2 s, downed by
                # the split-brain resolver once membership has been stable for 3 s, its shards handed to the survivors
                # after a removal margin of 1 s. The README's "The cluster" says what each value trades.
                failure-detector {
                  heartbeat-interval = 500ms
                  acceptable-heartbeat-pause = 2s
                }
                unreachable-nodes-reaper-interval = 250ms
                gossip-interval = 500ms
                leader-actions-interval = 500ms
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver {
                  active-strategy = keep-majority
                  stable-after = 3s
                  down-all-when-unstable = 3s
                }
                down-removal-margin = 1s
                sharding {
                  state-store-mode = ddata
                  remember-entities = off
                  passivate-idle-entity-after = {{(int)options.PassivateIdleAfter.TotalSeconds}}s
                  least-shard-allocation-strategy.rebalance-absolute-limit = 20
                  # The coordinator's state goes to a majority of the nodes, not to all of them: with one node
                  # unreachable it still allocates shards and takes the dead node's regions off.
                  coordinator-state {
                    write-majority-plus = 0
                    read-majority-plus = 0
                  }
                  distributed-data.majority-min-cap = 2
                  retry-interval = 500ms
                  # A rebalance that waits on a node that died in the middle of it gives up after this long (the shard
                  # stays where it was) instead of holding the shard for a minute.
                  handoff-timeout = 4s
                }
              }
              persistence {
                # Entities recovering at once: the journal reads their highest numbers and events together (up to 500
                # in one statement, four statements at a time), so after a restart they wake in thousands per second.
                max-concurrent-recoveries = 2000
                journal {
                  plugin = "akka.persistence.journal.sql"
                  sql {
                    class = "Energy.Cluster.Hosting.GroupCommitSqlJournal, Energy.Cluster"
                    connection-string = "{{connection}}"
                    provider-name = "{{provider}}"
                    table-mapping = {{mapping}}
                    auto-initialize = on
                    # Group commit: the writes of many entities waiting together go in one transaction; a
                    # node with a backlog of work also waits the window for more.
                    group-commit-window = {{(int)options.GroupCommitWindow.TotalMilliseconds}}ms
                    group-commit-busy-backlog = 16
                    group-commit-max-writes = 500
                    batch-size = 1000
                    buffer-size = 20000
                    db-round-trip-max-batch-size = 1000
                    # Over 100 rows the plugin writes one multi-row insert; with literals that statement spells every
                    # event's bytes in hex, a string of hundreds of kilobytes that lands on the large object heap and
                    # brings a full collection (a pause of tens of milliseconds) every few seconds under load.
                    prefer-parameters-on-multirow-insert = on
                    parallelism = {{(options.Store == JournalStore.Sqlite ? 1 : 4)}}
                    # Akka starts a filter actor for every recovery, to drop the events of an older writer that wrote
                    # the same sequence numbers as a newer one. The journal's unique index on (persistence_id,
                    # sequence_nr) refuses such a write, so a replay never holds two events at one number: the filter
                    # has nothing to drop, and creating ten thousand actors after a restart is a cost of the storm.
                    replay-filter.mode = off
                  }
                }
                snapshot-store {
                  plugin = "akka.persistence.snapshot-store.sql"
                  sql {
                    class = "Energy.Cluster.Hosting.BatchedSqlSnapshotStore, Energy.Cluster"
                    connection-string = "{{connection}}"
                    provider-name = "{{provider}}"
                    table-mapping = {{mapping}}
                    auto-initialize = on
                  }
                }
                query.journal.sql {
                  connection-string = "{{connection}}"
                  provider-name = "{{provider}}"
                  table-mapping = {{mapping}}
                }
              }
            }
            """;
        return ConfigurationFactory.ParseString(hocon)
            .WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration)
            .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig())
            .WithFallback(Akka.DistributedData.DistributedData.DefaultConfig())
            // Publish/subscribe's serializer must be known before the first message from another node arrives,
            // not only once this node first uses the mediator.
            .WithFallback(Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.DefaultConfig());
    }

    /// <summary>
    /// The actor-system setups a node needs beside its HOCON. With remote TLS: the node's certificate and the
    /// check of every peer's (<see cref="Hosting.RemoteTls.Setup"/>). For SQLite: every connection the journal,
    /// the snapshot store and the read journal open runs the node's pragma (synchronous is
    /// per connection in SQLite, so it cannot be set once in the file). With synchronous=NORMAL in
    /// WAL mode a committed event survives a crash of the process; a power cut may lose the last commits,
    /// never the database. PostgreSQL needs nothing here.
    /// </summary>
    public static Akka.Actor.Setup.Setup[] Setups(NodeOptions options)
    {
        var setups = new List<Akka.Actor.Setup.Setup>();
        if (options.RemoteTls.Enabled) setups.Add(Hosting.RemoteTls.Setup(options.RemoteTls));
        if (options.Store != JournalStore.Sqlite) return [.. setups];
        var data = new LinqToDB.DataOptions()
            .UseConnectionString(LinqToDB.ProviderName.SQLiteMS, options.SqliteConnectionString)
            .UseAfterConnectionOpened(ApplyPragmas, async (connection, token) => await ApplyPragmasAsync(connection, token));
        setups.Add(new Akka.Persistence.Sql.Config.DataOptionsSetup(data));
        return [.. setups];
    }

    /// <summary>
    /// A seed of the wrong scheme would never answer (a TLS node cannot reach a plain one, nor the reverse): refused
    /// at start with the scheme to use.
    /// </summary>
    private static void CheckSeedSchemes(NodeOptions options)
    {
        var scheme = options.RemoteTls.Enabled ? Hosting.RemoteTls.Scheme : "akka.tcp";
        var wrong = options.SeedNodes.FirstOrDefault(seed => !seed.StartsWith(scheme + "://", StringComparison.Ordinal));
        if (wrong is not null)
            throw new InvalidOperationException($"Energy:SeedNodes holds {wrong}; with remote TLS {(options.RemoteTls.Enabled ? "on" : "off")} every seed is {scheme}://{SystemName}@host:port");
    }

    // wal_autocheckpoint=0: no commit runs a checkpoint; the journal's SqliteCheckpointer does, off the write path.
    // busy_timeout: a statement that meets a lock held for a moment (the checkpointer starting the log over) is retried
    // by SQLite within a few milliseconds; left to Microsoft.Data.Sqlite, each retry sleeps 150 ms, and a toll waited that.
    internal static readonly string SqlitePragmas = $"PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA busy_timeout={SqliteBusyTimeoutMs};";

    /// <summary>The busy timeout of <see cref="SqlitePragmas"/>, in milliseconds.</summary>
    internal const int SqliteBusyTimeoutMs = 1000;

    // A pooled connection opens many times over one SQLite handle, which keeps its pragmas: each handle
    // is set up once.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> PreparedHandles = [];

    private static bool NeedsPragmas(System.Data.Common.DbConnection connection) =>
        connection is not SqliteConnection { Handle: { } handle } || PreparedHandles.TryAdd(handle, handle);

    private static void ApplyPragmas(System.Data.Common.DbConnection connection)
    {
        if (!NeedsPragmas(connection)) return;
        using var command = connection.CreateCommand();
        command.CommandText = SqlitePragmas;
        command.ExecuteNonQuery();
    }

    private static async Task ApplyPragmasAsync(System.Data.Common.DbConnection connection, CancellationToken token)
    {
        if (!NeedsPragmas(connection)) return;
        await using var command = connection.CreateCommand();
        command.CommandText = SqlitePragmas;
        await command.ExecuteNonQueryAsync(token);
    }

    /// <summary>Creates the data folder and turns on write-ahead logging, which SQLite keeps in the file.</summary>
    private static string PrepareSqlite(NodeOptions options)
    {
        Directory.CreateDirectory(Path.GetFullPath(options.DataDirectory));
        var connectionString = options.SqliteConnectionString;
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
        command.ExecuteNonQuery();
        return connectionString.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
    }
}
