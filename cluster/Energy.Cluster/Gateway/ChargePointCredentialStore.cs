using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Gateway;

/// <summary>
/// One shard of the network's store of OCPP passwords (salted PBKDF2 hashes in operator-signed objects), a
/// charge point's shard fixed by its id. The shards are few and known by name, so a node can read them all
/// at start and an OCPP upgrade never needs an entity per charge point: an unknown id creates nothing. A
/// password is persisted, then written to every reachable node's table, then acknowledged.
/// </summary>
public sealed class ChargePointCredentialStore : ReceivePersistentActor
{
    public const int ShardCount = 32;
    public const string Prefix = "credentials-";
    public const int SnapshotEveryEvents = 500;

    private readonly string _shard;
    private ChargePointCredentials _state = ChargePointCredentials.Empty;
    private int _eventsSinceSnapshot;

    public ChargePointCredentialStore(string shard, EnergySettings settings)
    {
        _shard = shard;
        var table = ChargePointCredentialTable.Get(Context.System);
        var replicator = DistributedData.Get(Context.System).Replicator;
        var self = Akka.Cluster.Cluster.Get(Context.System).SelfUniqueAddress;

        Recover<SnapshotOffer>(offer =>
        {
            foreach (var recorded in ((ChargePointCredentialSnapshot)offer.Snapshot).Newest) _state = ChargePointCredentialRules.Evolve(_state, recorded);
        });
        Recover<ChargePointPasswordRecorded>(e => _state = ChargePointCredentialRules.Evolve(_state, e));
        Recover<RecoveryCompleted>(_ =>
        {
            EnergyMetrics.EntityActivated("ocpp-credentials");
            foreach (var stored in _state.ByChargePoint.Values) table.Merge(stored.Password);
        });

        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<RecordChargePointPassword>(command =>
        {
            var decoded = Signed<ChargePointPassword>.Decode(command.Password);
            if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
            var decided = ChargePointCredentialRules.DecideRecord(_state, _shard, command, decoded.Value.Payload, settings.Clock.Now, settings.MaxOrderAge);
            if (!decided.IsOk) { Sender.Tell(Refusal.From(decided.Error)); return; }
            var sender = Sender;
            Persist(decided.Value, e =>
            {
                _state = ChargePointCredentialRules.Evolve(_state, e);
                var password = decoded.Value.Payload;
                table.Merge(password);
                var view = _state.ByChargePoint[password.ChargePoint.Value].View();
                // Every reachable node takes the password before it is acknowledged; one that misses it gets it by gossip.
                replicator.Tell(Dsl.Update(ChargePointCredentialTable.KeyOf(_shard), LWWDictionary<string, string>.Empty, new WriteAll(settings.AskTimeout),
                    new Acknowledge(sender, view), passwords => passwords.SetItem(self, password.ChargePoint.Value, Convert.ToBase64String(e.Password))));
                if (++_eventsSinceSnapshot >= SnapshotEveryEvents)
                {
                    _eventsSinceSnapshot = 0;
                    SaveSnapshot(new ChargePointCredentialSnapshot(_state.ByChargePoint.Values.Select(s => s.Recorded).ToList()));
                }
            });
        });
        Command<IUpdateResponse>(response =>
        {
            if (response.Request is not Acknowledge acknowledge) return;
            if (!response.IsSuccessful) Context.GetLogger().Warning("{0}: a password has not reached every node yet; it spreads by gossip", _shard);
            acknowledge.To.Tell(acknowledge.View);
        });
        Command<GetChargePointCredentials>(_ =>
            Sender.Tell(new ChargePointCredentialList(_shard, _state.ByChargePoint.Values.Select(s => s.Recorded.Password).ToList())));
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(failure => Context.GetLogger().Warning(failure.Cause, "{0}: snapshot failed", _shard));
    }

    public override string PersistenceId => "ocpp-" + _shard;

    /// <summary>The store shard that holds a charge point's password (a stable hash of its id).</summary>
    public static string ShardOf(DeviceId chargePoint) => Prefix + LedgerShards.ShardIndex(chargePoint.Value, ShardCount);

    public static IEnumerable<string> Shards() => Enumerable.Range(0, ShardCount).Select(i => Prefix + i);

    public static Props Props(string shard, EnergySettings settings) => Akka.Actor.Props.Create(() => new ChargePointCredentialStore(shard, settings));

    private sealed record Acknowledge(IActorRef To, ChargePointPasswordView View);
}
