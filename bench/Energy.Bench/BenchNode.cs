using Akka.Actor;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Bench;

/// <summary>A one-node cluster in this process over a fresh SQLite journal.</summary>
public sealed class BenchNode : IAsyncDisposable
{
    public static readonly NetworkId Network = NetworkId.Of("energy-bench");

    private BenchNode(ActorSystem system, EnergyRegions regions, EnergySettings settings, NodeOptions options)
    {
        System = system;
        Regions = regions;
        Settings = settings;
        Options = options;
    }

    public ActorSystem System { get; }
    public EnergyRegions Regions { get; }
    public EnergySettings Settings { get; }
    public NodeOptions Options { get; }

    public static NodeOptions FreshSqlite() => new()
    {
        Store = JournalStore.Sqlite,
        DataDirectory = Path.Combine(Path.GetTempPath(), "energy-bench", Guid.NewGuid().ToString("N")),
    };

    /// <summary>The benchmarks' network authority: they act as its governance.</summary>
    public static readonly DeviceKeyPair AuthorityKey = DeviceKeyPair.Generate();

    /// <summary>The settlement bank that issues the benchmarks' money.</summary>
    public static readonly OperatorId Bank = OperatorId.Of("bench-bank");

    public static AdmitOperator Admit(OperatorId id, DevicePublicKey key, OperatorRoles roles) =>
        new(id, AuthorityApproved<Admission>.Sign(new Admission(Network, id, roles, key, 1, new Money(0, Currency.Eur),
            Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), [(0, AuthorityKey)]).ToArray());

    public static async Task<BenchNode> StartAsync(NodeOptions options, DeviceKeyPair nodeKey, int ledgerShards = 8)
    {
        var settings = new EnergySettings(Network, Currency.Eur, ledgerShards, nodeKey, SystemClock.Instance)
        {
            AskTimeout = TimeSpan.FromSeconds(30),
            Authority = NetworkAuthority.Create([AuthorityKey.PublicKey], 1).Unwrap(),
        };
        var (system, regions) = await LocalNode.StartAsync(options, settings);
        return new BenchNode(system, regions, settings, options);
    }

    public async ValueTask DisposeAsync() => await System.Terminate().WaitAsync(TimeSpan.FromSeconds(60));

    /// <summary>Sends every message with at most <paramref name="window"/> unanswered; returns the answers in completion order.</summary>
    public Task<IReadOnlyList<object>> PipelineAsync(IActorRef region, IReadOnlyList<object> messages, int window)
    {
        var done = new TaskCompletionSource<IReadOnlyList<object>>(TaskCreationOptions.RunContinuationsAsynchronously);
        System.ActorOf(Props.Create(() => new Pipeline(region, messages, window, done)));
        return done.Task;
    }

    /// <summary>An operator and vehicles, each endorsed, funded and with an open channel to the operator.</summary>
    public async Task<(DeviceKeyPair[] VehicleKeys, ChannelId[] Channels)> OpenChannelsAsync(int count, long deposit, Progress progress)
    {
        using var operatorKey = DeviceKeyPair.Generate();
        var cpo = OperatorId.Of("cpo-bench");
        await Regions.Operators.Ask<object>(Admit(cpo, operatorKey.PublicKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner), TimeSpan.FromSeconds(30));
        var keys = Enumerable.Range(0, count).Select(_ => DeviceKeyPair.Generate()).ToArray();
        var vehicles = Enumerable.Range(0, count).Select(i => DeviceId.Of($"vehicle-{i}")).ToArray();
        var channels = Enumerable.Range(0, count).Select(i => ChannelId.Of($"channel-{i}")).ToArray();
        await Expect<DeviceView>(Regions.Devices, Enumerable.Range(0, count).Select(i => (object)new EndorseDevice(vehicles[i],
            DeviceIdentity.Endorse(Network, cpo, operatorKey, vehicles[i], DeviceRole.Vehicle, keys[i].PublicKey).Endorsement.ToArray())).ToList());
        await Expect<LedgerCommitted>(Regions.Ledger, vehicles.Select(v => (object)new Mint(LedgerShards.For(PartyId.From(v), Settings.LedgerShardCount),
            "fund-" + v, PartyId.From(v), new Money(deposit, Currency.Eur), Bank)).ToList());
        await Expect<ChannelOpened>(Regions.Channels, Enumerable.Range(0, count).Select(i => (object)new OpenChannel(channels[i],
            Signed<StreamingOpening>.Sign(new StreamingOpening(Network, channels[i], PartyId.From(vehicles[i]), PartyId.From(cpo),
                new Money(deposit, Currency.Eur), DurationMs.FromMinutes(10)), keys[i]).ToArray())).ToList());
        progress.Report($"{count} vehicles endorsed, funded, with open channels");
        return (keys, channels);
    }

    public async Task Expect<T>(IActorRef region, IReadOnlyList<object> messages, int window = 500)
    {
        var answers = await PipelineAsync(region, messages, window);
        var wrong = answers.FirstOrDefault(a => a is not T);
        if (wrong is not null) throw new InvalidOperationException($"expected {typeof(T).Name}, got {wrong}");
    }

    private sealed class Pipeline : ReceiveActor
    {
        public Pipeline(IActorRef region, IReadOnlyList<object> messages, int window, TaskCompletionSource<IReadOnlyList<object>> done)
        {
            var answers = new List<object>(messages.Count);
            var next = 0;
            void SendOne() => region.Tell(messages[next++], Self);
            ReceiveAny(answer =>
            {
                answers.Add(answer);
                if (next < messages.Count) SendOne();
                if (answers.Count == messages.Count)
                {
                    done.TrySetResult(answers);
                    Context.Stop(Self);
                }
            });
            if (messages.Count == 0) { done.TrySetResult(answers); return; }
            while (next < Math.Min(window, messages.Count)) SendOne();
        }
    }
}
