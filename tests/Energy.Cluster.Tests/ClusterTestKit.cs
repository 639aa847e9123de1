using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Hosting;
using Xunit.Abstractions;
using Energy.Cluster.Network;

namespace Energy.Cluster.Tests;

/// <summary>A clock that tests move by hand.</summary>
public sealed class ManualClock(Timestamp start) : IClock
{
    private long _now = start.UnixMilliseconds;
    public Timestamp Now => new(Interlocked.Read(ref _now));
    public void Advance(DurationMs by) => Interlocked.Add(ref _now, by.Milliseconds);
}

/// <summary>Where a test's journal lives: a fresh SQLite file, or a fresh database on the test PostgreSQL server.</summary>
public static class TestStores
{
    public static NodeOptions Sqlite(string? directory = null) => new()
    {
        Store = JournalStore.Sqlite,
        DataDirectory = directory ?? Path.Combine(Path.GetTempPath(), "energy-tests", Guid.NewGuid().ToString("N")),
    };

    /// <summary>The server tests/setup/postgres.sh starts; ENERGY_TEST_POSTGRES overrides it.</summary>
    public static string PostgreSqlServer =>
        Environment.GetEnvironmentVariable("ENERGY_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=25432;Username=energy;Password=energy;Database=postgres";

    /// <summary>A fresh database on the test PostgreSQL server. Fails, never skips, when the server is not there.</summary>
    public static NodeOptions PostgreSql()
    {
        var database = "energy_test_" + Guid.NewGuid().ToString("N");
        try
        {
            using var connection = new Npgsql.NpgsqlConnection(PostgreSqlServer);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE {database}";
            command.ExecuteNonQuery();
        }
        catch (Exception exception) when (exception is Npgsql.NpgsqlException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"The test PostgreSQL server is not reachable ({exception.Message}); start it with tests/setup/postgres.sh", exception);
        }
        // Every test class has a database, so a pool of its own: idle connections close within seconds,
        // or the classes of one run would together hold more connections than the server allows.
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(PostgreSqlServer)
        {
            Database = database,
            ConnectionIdleLifetime = 5,
            ConnectionPruningInterval = 1,
        };
        return new NodeOptions
        {
            Store = JournalStore.PostgreSql,
            ConnectionString = builder.ConnectionString,
            DataDirectory = Path.Combine(Path.GetTempPath(), "energy-tests", database),
        };
    }
}

/// <summary>The network authority of the tests: one key, threshold 1. Tests act as the consortium's governance through it.</summary>
public static class TestAuthority
{
    public static readonly DeviceKeyPair Key = DeviceKeyPair.Generate();

    public static readonly NetworkAuthority Authority = NetworkAuthority.Create([Key.PublicKey], 1).Unwrap();

    /// <summary>The settlement bank that issues the tests' money.</summary>
    public static readonly OperatorId Bank = OperatorId.Of("test-bank");

    public static AuthorityApproved<Admission> Approve(OperatorId id, DevicePublicKey key, OperatorRoles roles, ulong version = 1, long issuanceLimit = 0,
        NetworkId? network = null) =>
        AuthorityApproved<Admission>.Sign(new Admission(network ?? ClusterTestKit.Network, id, roles, key, version, new Money(issuanceLimit, Currency.Eur),
            new Timestamp(1_800_000_000_000)), [(0, Key)]);

    public static Energy.Lifecycles.Registry.AdmitOperator Admit(OperatorId id, DeviceKeyPair key, OperatorRoles roles, ulong version = 1) =>
        new(id, Approve(id, key.PublicKey, roles, version).ToArray());
}

/// <summary>
/// A one-node cluster with every region started, over a real journal. Subclasses pick the store.
/// </summary>
public abstract class ClusterTestKit : TestKit
{
    public static readonly NetworkId Network = NetworkId.Of("energy-test");

    protected ClusterTestKit(NodeOptions node, ITestOutputHelper output, ManualClock? clock = null, Func<EnergySettings, EnergySettings>? configure = null)
        : base(EnergyConfig.Build(node).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.test.single-expect-default = 10s")), "energy", output)
    {
        Node = node;
        Clock = clock ?? new ManualClock(new Timestamp(1_800_000_000_000));
        Settings = new EnergySettings(Network, Currency.Eur, LedgerShardCount: 4, DeviceKeyPair.Generate(), Clock)
        {
            AskTimeout = TimeSpan.FromSeconds(3),
            Authority = TestAuthority.Authority,
            CreditRedeliveryInterval = TimeSpan.FromMilliseconds(200),
            // Below the network's default, so that tests may open channels with short windows; the clock is moved by hand.
            MinChallengeWindow = DurationMs.FromSeconds(10),
        };
        if (configure is not null) Settings = configure(Settings);
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.State.Members.Any(m => m.Status == Akka.Cluster.MemberStatus.Up), TimeSpan.FromSeconds(20));
        Regions = EnergyEntities.Start(Sys, Settings);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        // The actor system is down: the pool of this class's database has nothing left to serve.
        if (disposing && Node.Store == JournalStore.PostgreSql && Node.ConnectionString is { } connectionString)
            Npgsql.NpgsqlConnection.ClearPool(new Npgsql.NpgsqlConnection(connectionString));
    }

    protected NodeOptions Node { get; }
    protected ManualClock Clock { get; }
    protected EnergySettings Settings { get; }
    protected EnergyRegions Regions { get; }
}
