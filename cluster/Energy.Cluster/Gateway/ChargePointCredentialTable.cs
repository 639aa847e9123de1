using System.Collections.Concurrent;
using Akka.Actor;
using Akka.DistributedData;
using Akka.Event;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;

namespace Energy.Cluster.Gateway;

/// <summary>
/// This node's copy of every charge point's password object (salt and hash only), read on every OCPP upgrade
/// without a message to any entity: an id that is not here is unknown, and is refused without waking or
/// creating anything. It is filled once at start from every shard of the credential store (persisted), then
/// kept current through distributed data; it only ever takes a higher version.
/// </summary>
public sealed class ChargePointCredentialTable : IExtension
{
    private readonly ConcurrentDictionary<string, ChargePointPassword> _passwords = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The replicated set of one store shard: charge point id to the base64 of its signed password object.</summary>
    public static LWWDictionaryKey<string, string> KeyOf(string shard) => new("charge-point-credentials-" + shard);

    public static ChargePointCredentialTable Get(ActorSystem system) => system.WithExtension<ChargePointCredentialTable, ChargePointCredentialTableProvider>();

    /// <summary>Whether every shard of the store has been read since this node started: only then is a missing id unknown.</summary>
    public bool IsLoaded => _loaded.Task.IsCompleted;

    public int Count => _passwords.Count;

    public ChargePointPassword? Find(string chargePoint) => _passwords.GetValueOrDefault(chargePoint);

    /// <summary>Waits, within the timeout, until the table is loaded; returns whether it is.</summary>
    public async Task<bool> WhenLoadedAsync(TimeSpan timeout, CancellationToken token)
    {
        if (IsLoaded) return true;
        try { await _loaded.Task.WaitAsync(timeout, token); }
        catch (TimeoutException) { return false; }
        return true;
    }

    public void MarkLoaded() => _loaded.TrySetResult();

    public void Merge(ChargePointPassword password) =>
        _passwords.AddOrUpdate(password.ChargePoint.Value, password, (_, held) => password.Version > held.Version ? password : held);

    /// <summary>Takes a signed password object in its wire form (from the store or distributed data; checked when it was recorded).</summary>
    public void Merge(ReadOnlySpan<byte> wire)
    {
        var decoded = Signed<ChargePointPassword>.Decode(wire);
        if (decoded.IsOk) Merge(decoded.Value.Payload);
    }
}

public sealed class ChargePointCredentialTableProvider : ExtensionIdProvider<ChargePointCredentialTable>
{
    public override ChargePointCredentialTable CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>
/// Fills this node's <see cref="ChargePointCredentialTable"/>: it subscribes to every shard's replicated set,
/// then asks every shard of the store for all it holds (which wakes the shards after a full restart: they
/// recover from the journal), a few at a time so that a starting node does not open a connection per shard,
/// and again every few seconds for the shards that have not answered yet.
/// </summary>
public sealed class ChargePointCredentialWatcher : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(3);
    private const int MaxAsked = 4;
    private readonly HashSet<string> _missing;
    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);
    private readonly IActorRef _store;

    public ChargePointCredentialWatcher(IActorRef store)
    {
        _store = store;
        var table = ChargePointCredentialTable.Get(Context.System);
        var replicator = DistributedData.Get(Context.System).Replicator;
        _missing = ChargePointCredentialStore.Shards().ToHashSet(StringComparer.Ordinal);
        foreach (var shard in _missing) replicator.Tell(Dsl.Subscribe(ChargePointCredentialTable.KeyOf(shard), Self));

        Receive<Changed>(changed =>
        {
            if (changed.Data is not LWWDictionary<string, string> passwords) return;
            foreach (var (_, base64) in passwords.Entries) table.Merge(Convert.FromBase64String(base64));
        });
        Receive<ChargePointCredentialList>(list =>
        {
            foreach (var wire in list.Passwords) table.Merge(wire);
            _asked.Remove(list.Shard);
            if (!_missing.Remove(list.Shard)) return;
            AskMore();
            if (_missing.Count > 0) return;
            table.MarkLoaded();
            Timers.Cancel(LoadMissing.Instance);
            Context.GetLogger().Info("read the OCPP credentials of {0} charge points from every store shard", table.Count);
        });
        Receive<LoadMissing>(_ =>
        {
            // Unanswered questions are asked again.
            _asked.Clear();
            AskMore();
        });
    }

    private void AskMore()
    {
        foreach (var shard in _missing)
        {
            if (_asked.Count >= MaxAsked) return;
            if (_asked.Add(shard)) _store.Tell(new GetChargePointCredentials(shard), Self);
        }
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Self.Tell(LoadMissing.Instance);
        Timers.StartPeriodicTimer(LoadMissing.Instance, LoadMissing.Instance, RetryInterval);
    }

    public static Props Props(IActorRef store) => Akka.Actor.Props.Create(() => new ChargePointCredentialWatcher(store));

    private sealed class LoadMissing
    {
        public static readonly LoadMissing Instance = new();
    }
}
