using Akka.Actor;
using Akka.Hosting;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Api;
using Energy.Cluster.Channels;
using Energy.Cluster.ChargePoints;
using Energy.Cluster.Ledger;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Hosting;

/// <summary>The "Energy" configuration section of a node.</summary>
public sealed class NodeConfiguration
{
    public string Network { get; set; } = "energy-local";
    public string Currency { get; set; } = "EUR";
    public int LedgerShards { get; set; } = 8;
    public string Store { get; set; } = "sqlite";
    public string DataDirectory { get; set; } = ".data/node";
    public string? ConnectionString { get; set; }
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>Where remoting listens when that is not <see cref="Hostname"/> (0.0.0.0 in a container on several networks).</summary>
    public string? BindHostname { get; set; }

    public int Port { get; set; }
    public string[] SeedNodes { get; set; } = [];
    public string[] TrustedNodeKeys { get; set; } = [];

    /// <summary>A folder the cluster's nodes share: each publishes its key there and trusts the keys found there (<see cref="NodeKeyDirectory"/>).</summary>
    public string? NodeKeysDirectory { get; set; }

    /// <summary>The network authority: its public keys (hex) and how many of them must sign (k of n). Every node of a network has the same.</summary>
    public AuthorityConfiguration Authority { get; set; } = new();

    /// <summary>How long a stopped charging session waits for the vehicle's final payment.</summary>
    public int SessionSettleSeconds { get; set; } = 30;

    /// <summary>How long a session on an OCPP charge point waits for the vehicle's consent.</summary>
    public int SessionConsentSeconds { get; set; } = 60;

    /// <summary>Price per kWh and credit, in minor units, of sessions on OCPP charge points.</summary>
    public long OcppPricePerKwh { get; set; } = 35;

    public long OcppCredit { get; set; } = 50;

    /// <summary>How long a gantry waits for a vehicle's payment, in milliseconds.</summary>
    public int TollAnswerMs { get; set; } = 2_000;

    /// <summary>The shortest challenge window a channel may open with (Energy:MinChallengeWindowMs); 0 only when set so on purpose.</summary>
    public long MinChallengeWindowMs { get; set; } = 60_000;

    /// <summary>Above this speed between two gantries, one identity is taken for two vehicles (a clone).</summary>
    public double MaxPlausibleSpeedKmh { get; set; } = 250;

    /// <summary>How long a gateway connection may stay without an authenticated device before it is closed, in milliseconds (100 ms to 5 minutes).</summary>
    public int GatewayAuthenticationMs { get; set; } = 10_000;

    /// <summary>
    /// Whether a member whose remoting port refuses connections (its process is gone) is downed at once by a majority
    /// of the others, instead of after the failure detector and the split-brain resolver.
    /// </summary>
    public bool DownCrashedNodes { get; set; } = true;

    /// <summary>Calls from charge points the node holds at most before it answers boots Pending and new connections 503.</summary>
    public int OcppMaxHeldCalls { get; set; } = 2_000;

    /// <summary>
    /// How long a backlog of the charge point calls the node holds (its 32 oldest) may have waited, in milliseconds (50 ms to 25 s), before
    /// it answers boots Pending and new connections 503: past it the node wakes entities more slowly than chargers arrive.
    /// </summary>
    public int OcppLongestHoldMs { get; set; } = 500;

    /// <summary>Registry lookups and calls of gateway devices the node holds at most before it refuses new connections (503) and new hellos (GatewayBusy).</summary>
    public int GatewayMaxHeldCalls { get; set; } = 10_000;

    /// <summary>
    /// How long a backlog of the gateway's held lookups and calls (its 32 oldest) may have waited, in milliseconds (50 ms to 25 s), before
    /// the node refuses new connections (503) and new hellos (GatewayBusy), each saying when to come back.
    /// </summary>
    public int GatewayLongestHoldMs { get; set; } = 3_000;

    /// <summary>Gateway challenges the node holds unanswered at most, over every connection: past it a hello is refused GatewayBusy.</summary>
    public int GatewayMaxChallenges { get; set; } = 50_000;

    /// <summary>
    /// Connections the kernel queues for the node before it accepts them (64 to 65,535; the kernel caps it at its
    /// net.core.somaxconn). When every device reconnects at once, a short queue overflows while the node is busy, and a
    /// client whose connection was dropped tries again only after a second.
    /// </summary>
    public int ListenBacklog { get; set; } = 4_096;

    /// <summary>
    /// How long an OCPP upgrade may wait for its turn to have its password checked (PBKDF2, one check per core at a
    /// time), in milliseconds; past it the upgrade is answered 503 with Retry-After.
    /// </summary>
    public int OcppPasswordCheckWaitMs { get; set; } = 2_000;

    /// <summary>HTTPS beside plain HTTP, for OCPP security profile 2.</summary>
    public TlsConfiguration Tls { get; set; } = new();

    /// <summary>TLS between the nodes of the cluster (Akka.Remote); off unless a certificate is configured.</summary>
    public RemoteTlsConfiguration RemoteTls { get; set; } = new();

    /// <summary>Metrics at /metrics and, when configured, metrics and traces over OTLP.</summary>
    public TelemetryConfiguration Telemetry { get; set; } = new();
}

public sealed class AuthorityConfiguration
{
    public string[] Keys { get; set; } = [];

    /// <summary>A file of the authority's public keys (hex, one a line), read when <see cref="Keys"/> is empty: a provisioned cluster's nodes read it.</summary>
    public string? KeysFile { get; set; }

    public int Threshold { get; set; } = 1;
}

/// <summary>
/// A part of a node that brings its own services and endpoints, such as the dashboard. The node's program adds
/// it; the node knows it only through this interface, so the cluster references no such part.
/// </summary>
public interface INodeModule
{
    /// <summary>Adds the module's services, after the node's own.</summary>
    void AddServices(WebApplicationBuilder builder);

    /// <summary>Maps the module's endpoints, once authentication and authorization are in the pipeline.</summary>
    void Map(WebApplication app);
}

public static class NodeHost
{
    public const string AuthorityKeyFile = "authority.key";

    /// <summary>Where a node listens when neither --urls, ASPNETCORE_URLS nor a Urls setting says: this machine only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// Listens on <see cref="DefaultUrl"/> only when nothing configures the addresses; a container's
    /// ASPNETCORE_URLS or a --urls argument always wins.
    /// </summary>
    public static WebApplicationBuilder UseDefaultUrlsUnlessConfigured(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["urls"]) && string.IsNullOrWhiteSpace(builder.Configuration["http_ports"]))
            builder.WebHost.UseUrls(DefaultUrl);
        return builder;
    }

    /// <summary>Adds the actor system, the cluster and every sharded entity of a node to the web host, then the modules' services.</summary>
    public static WebApplicationBuilder AddEnergyNode(this WebApplicationBuilder builder, params INodeModule[] modules)
    {
        var configuration = builder.Configuration.GetSection("Energy").Get<NodeConfiguration>() ?? new NodeConfiguration();
        var node = new NodeOptions
        {
            Store = configuration.Store.Equals("postgresql", StringComparison.OrdinalIgnoreCase) ? JournalStore.PostgreSql : JournalStore.Sqlite,
            DataDirectory = configuration.DataDirectory,
            ConnectionString = configuration.ConnectionString,
            Hostname = configuration.Hostname,
            BindHostname = string.IsNullOrWhiteSpace(configuration.BindHostname) ? null : configuration.BindHostname,
            Port = configuration.Port,
            SeedNodes = configuration.SeedNodes,
            RemoteTls = configuration.RemoteTls,
        };
        CheckDataFormat(configuration.DataDirectory);
        var settings = new EnergySettings(
            NetworkId.Of(configuration.Network),
            Currency.Of(configuration.Currency),
            configuration.LedgerShards,
            LoadOrCreateNodeKey(configuration.DataDirectory),
            SystemClock.Instance)
        {
            TrustedNodeKeys = configuration.TrustedNodeKeys.ToHashSet(StringComparer.Ordinal),
            NodeKeysDirectory = configuration.NodeKeysDirectory,
            Authority = LoadAuthority(configuration),
            SessionSettleTimeout = TimeSpan.FromSeconds(Math.Clamp(configuration.SessionSettleSeconds, 1, 3_600)),
            SessionConsentTimeout = TimeSpan.FromSeconds(Math.Clamp(configuration.SessionConsentSeconds, 1, 600)),
            WitnessedPricePerKwh = configuration.OcppPricePerKwh,
            WitnessedCredit = configuration.OcppCredit,
            TollAnswerTimeout = TimeSpan.FromMilliseconds(Math.Clamp(configuration.TollAnswerMs, 50, 60_000)),
            MinChallengeWindow = new DurationMs(Math.Clamp(configuration.MinChallengeWindowMs, 0, StreamingChannels.MaxChallengeWindow.Milliseconds)),
            MaxPlausibleSpeedKmh = Math.Clamp(configuration.MaxPlausibleSpeedKmh, 10, 2_000),
            GatewayAuthenticationTimeout = TimeSpan.FromMilliseconds(Math.Clamp(configuration.GatewayAuthenticationMs, 100, 300_000)),
            OcppMaxHeldCalls = Math.Clamp(configuration.OcppMaxHeldCalls, 0, 1_000_000),
            OcppLongestHold = TimeSpan.FromMilliseconds(Math.Clamp(configuration.OcppLongestHoldMs, 50, 25_000)),
            GatewayMaxHeldCalls = Math.Clamp(configuration.GatewayMaxHeldCalls, 0, 1_000_000),
            GatewayLongestHold = TimeSpan.FromMilliseconds(Math.Clamp(configuration.GatewayLongestHoldMs, 50, 25_000)),
            MaxGatewayChallenges = Math.Clamp(configuration.GatewayMaxChallenges, 0, 1_000_000),
            DownCrashedNodes = configuration.DownCrashedNodes,
        };

        settings = Market.MarketConfiguration.Apply(settings, builder.Configuration);
        if (settings.NodeKeysDirectory is { } nodeKeys) NodeKeyDirectory.Publish(nodeKeys, settings.NodeKey.PublicKey.Hex);
        builder.WebHost.UseSockets(sockets => sockets.Backlog = Math.Clamp(configuration.ListenBacklog, 64, 65_535));
        builder.AddNodeTls(configuration);
        builder.AddNodeTelemetry(configuration.Telemetry);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(configuration);
        builder.Services.AddSingleton<ApiAuthenticator>();
        builder.Services.AddNodeHealth(node);
        builder.Services.AddSingleton(new Gateway.GatewayChallengeBudget(settings.MaxGatewayChallenges));
        builder.Services.AddAuthentication();
        builder.Services.AddAuthorization();
        builder.Services.ConfigureHttpJsonOptions(options => Serialization.EnergyJson.AddConverters(options.SerializerOptions));
        builder.Services.AddOpenApi();
        // The calls from charge points and from the device gateway the node holds until their entities answer; while
        // either holds a backlog, the node's own background wakes (the channel watch) make way for the devices.
        var ocppHeld = new Gateway.HeldCalls(settings.OcppMaxHeldCalls, settings.OcppLongestHold);
        var gatewayHeld = new Gateway.HeldCalls(settings.GatewayMaxHeldCalls, settings.GatewayLongestHold);
        builder.Services.AddAkka(EnergyConfig.SystemName, akka =>
        {
            akka.AddHocon(EnergyConfig.Build(node), HoconAddMode.Prepend);
            // Akka's log goes where the host's goes (levels, sinks and filters of Microsoft.Extensions.Logging).
            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            foreach (var setup in EnergyConfig.Setups(node)) akka.AddSetup(setup);
            akka.AddStartup((system, registry) =>
            {
                var cluster = Akka.Cluster.Cluster.Get(system);
                if (node.SeedNodes.Count == 0) cluster.Join(cluster.SelfAddress);
                var regions = EnergyEntities.Start(system, settings, () => ocppHeld.HoldsBacklog || gatewayHeld.HoldsBacklog);
                registry.Register<OperatorEntity>(regions.Operators);
                registry.Register<DeviceTwin>(regions.Devices);
                registry.Register<LedgerShard>(regions.Ledger);
                registry.Register<ChannelEntity>(regions.Channels);
                registry.Register<DuplexChannelEntity>(regions.DuplexChannels);
                registry.Register<ChargePoints.ChargePointEntity>(regions.ChargePoints);
                registry.Register<Charging.ChargingSessionEntity>(regions.Sessions);
                registry.Register<Tolls.GantryEntity>(regions.Gantries);
                registry.Register<Tolls.TollOffice>(regions.TollOffices);
                registry.Register<Tolls.ZoneEntity>(regions.Zones);
                registry.Register<AlertLog>(regions.Alerts);
                registry.Register<Gateway.ChargePointCredentialStore>(regions.ChargePointCredentials);
                registry.Register<LedgerNodeRegistry>(regions.LedgerNodes);
                registry.Register<Market.MarketEntity>(regions.Markets);
                registry.Register<Channels.ChannelWatchListEntity>(regions.ChannelWatchList);
            });
        });
        builder.Services.AddSingleton(sp =>
        {
            var system = sp.GetRequiredService<ActorSystem>();
            var registry = ActorRegistry.For(system);
            var regions = new EnergyRegions(registry.Get<OperatorEntity>(), registry.Get<DeviceTwin>(), registry.Get<LedgerShard>(), registry.Get<ChannelEntity>(),
                registry.Get<DuplexChannelEntity>(), registry.Get<ChargePoints.ChargePointEntity>(), registry.Get<Charging.ChargingSessionEntity>(),
                registry.Get<Tolls.GantryEntity>(), registry.Get<Tolls.TollOffice>(), registry.Get<Tolls.ZoneEntity>(), registry.Get<AlertLog>(),
                registry.Get<Gateway.ChargePointCredentialStore>(), registry.Get<LedgerNodeRegistry>()) { Markets = registry.Get<Market.MarketEntity>(), ChannelWatchList = registry.Get<Channels.ChannelWatchListEntity>() };
            return new EnergyNetwork(system, regions, settings);
        });
        builder.Services.AddSingleton(sp =>
        {
            var system = sp.GetRequiredService<ActorSystem>();
            return new Gateway.OcppAuthenticator(Gateway.ChargePointCredentialTable.Get(system), RevocationList.Get(system), settings.Clock,
                sp.GetRequiredService<Gateway.PasswordChecks>(), sp.GetRequiredService<Gateway.AdmittedPasswords>());
        });
        builder.Services.AddSingleton(new Gateway.PasswordChecks(Environment.ProcessorCount,
            TimeSpan.FromMilliseconds(Math.Clamp(configuration.OcppPasswordCheckWaitMs, 0, 30_000))));
        builder.Services.AddSingleton(Gateway.AdmittedPasswords.Open(configuration.DataDirectory));
        builder.Services.AddHostedService(sp => new Gateway.AdmittedPasswordsKeeper(sp.GetRequiredService<Gateway.AdmittedPasswords>(), configuration.DataDirectory));
        builder.Services.AddSingleton(ocppHeld);
        builder.Services.AddKeyedSingleton(Gateway.DeviceGateway.HeldCallsKey, gatewayHeld);
        builder.Services.AddSingleton(_ => new SchedulingDelay());
        foreach (var module in modules)
        {
            builder.Services.AddSingleton(module);
            module.AddServices(builder);
        }
        return builder;
    }

    public static WebApplication MapEnergyNode(this WebApplication app)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseAuthentication();
        app.UseAuthorization();
        foreach (var module in app.Services.GetServices<INodeModule>()) module.Map(app);
        app.MapOpenApi();
        Gateway.OcppEndpoint.MapOcpp(app);
        Gateway.DeviceGateway.MapDeviceGateway(app);
        app.MapEnergyApi();
        app.MapNodeHealth();
        app.MapNodeTelemetry(app.Services.GetRequiredService<NodeConfiguration>().Telemetry);
        app.MapGet("/health", (EnergySettings settings) => Results.Ok(new
        {
            network = settings.Network.Value,
            node = settings.NodeKey.PublicKey.Hex,
            authority = settings.Authority is { } authority ? new { keys = authority.Keys.Select(k => k.Hex), threshold = authority.Threshold } : null,
        }));
        return app;
    }

    /// <summary>
    /// The configured authority; a node with none configured makes its own on first start: one key, threshold
    /// 1, kept in its data folder (mode 0600) so that whoever runs this single node governs it.
    /// </summary>
    public static NetworkAuthority LoadAuthority(NodeConfiguration configuration)
    {
        var configured = configuration.Authority.Keys;
        if (configured.Length == 0 && !string.IsNullOrWhiteSpace(configuration.Authority.KeysFile))
        {
            configured = File.ReadAllLines(configuration.Authority.KeysFile).Where(line => !string.IsNullOrWhiteSpace(line)).ToArray();
            if (configured.Length == 0) throw new InvalidOperationException($"Energy:Authority:KeysFile {configuration.Authority.KeysFile} holds no key");
        }
        if (configured.Length > 0)
        {
            var keys = configured.Select(hex => DevicePublicKey.FromHex(hex.Trim().ToLowerInvariant())).ToList();
            var bad = keys.FirstOrDefault(k => !k.IsOk);
            if (!bad.IsOk) throw new InvalidOperationException($"Energy:Authority:Keys (or KeysFile) holds a key that is not an Ed25519 public key: {bad.Error.Describe()}");
            return NetworkAuthority.Create(keys.Select(k => k.Value).ToList(), configuration.Authority.Threshold).Unwrap();
        }
        var directory = Path.GetFullPath(configuration.DataDirectory);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, AuthorityKeyFile);
        var created = !File.Exists(path);
        var key = LoadOrCreateKey(path);
        Console.WriteLine(created
            ? $"No network authority is configured: made one, its key is {path} (keep it; it admits operators)"
            : $"No network authority is configured: this node's own authority key is {path}");
        return NetworkAuthority.Create([key.PublicKey], 1).Unwrap();
    }

    /// <summary>
    /// The format of what a node keeps in its data folder: 2 since parties name their kind, 3 since escrows
    /// are named by channel kind, id and opening hash and vouchers name their increment and purpose (the
    /// journal's vouchers and escrows of format 2 no longer decode).
    /// </summary>
    public const int DataFormat = 3;

    /// <summary>
    /// Refuses, with a clear message, a data folder written in an earlier format (its journal holds parties
    /// without their kind, operators without admissions, or vouchers without a purpose), instead of failing
    /// later in recovery.
    /// </summary>
    public static void CheckDataFormat(string dataDirectory)
    {
        var directory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(directory);
        var marker = Path.Combine(directory, "data-format");
        if (File.Exists(marker))
        {
            var found = File.ReadAllText(marker).Trim();
            if (found != DataFormat.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw new InvalidOperationException($"{directory} holds data of format {found}; this node reads format {DataFormat}. Move the folder away to start afresh.");
            return;
        }
        if (File.Exists(Path.Combine(directory, "energy.db")))
            throw new InvalidOperationException($"{directory} holds data of an earlier format; this node reads format {DataFormat}. Move the folder away to start afresh.");
        File.WriteAllText(marker, DataFormat.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
    }

    /// <summary>A key kept as its 32-byte seed in a file only its owner may read.</summary>
    public static DeviceKeyPair LoadOrCreateKey(string path)
    {
        if (File.Exists(path)) return DeviceKeyPair.FromSeed(File.ReadAllBytes(path)).Unwrap();
        var key = DeviceKeyPair.Generate();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        // Created readable by its owner only, never for a moment by others.
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(path, options)) file.Write(key.ExportSeed());
        return key;
    }

    /// <summary>The node's signing key for settlement blocks: kept in its data folder, created on first start.</summary>
    public static DeviceKeyPair LoadOrCreateNodeKey(string dataDirectory)
    {
        var directory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(directory);
        return LoadOrCreateKey(Path.Combine(directory, "node.key"));
    }
}
