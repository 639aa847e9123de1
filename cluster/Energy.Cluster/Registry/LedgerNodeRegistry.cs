using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Registry;

/// <summary>The newest statement of the authority about one ledger node key.</summary>
public sealed record LedgerNodeRecord(string KeyHex, bool Admitted, ulong Version, Timestamp SignedAt, Timestamp RecordedAt);

/// <summary>Every ledger node key the authority has spoken about, by key (hex).</summary>
public sealed record LedgerNodesState(ImmutableDictionary<string, LedgerNodeRecord> Keys)
{
    /// <summary>Keys the network holds statements about, at most: a consortium runs a few ledger nodes, not thousands.</summary>
    public const int MaxKeys = 64;

    public static readonly LedgerNodesState Empty = new(ImmutableDictionary<string, LedgerNodeRecord>.Empty.WithComparers(StringComparer.Ordinal));

    public IReadOnlySet<string> AdmittedKeys() => Keys.Values.Where(k => k.Admitted).Select(k => k.KeyHex).ToHashSet(StringComparer.Ordinal);

    /// <summary>Whether this statement is already held as it stands: taking it again changes nothing.</summary>
    public bool Holds(LedgerNodeAdmission admission) =>
        Keys.TryGetValue(admission.NodeKey.Hex, out var held) && held.Version == admission.Version && held.Admitted == admission.Admitted
        && held.SignedAt == admission.At;

    public LedgerNodeList View() => new(Keys.Values.OrderBy(k => k.KeyHex, StringComparer.Ordinal)
        .Select(k => new LedgerNodeView(k.KeyHex, k.Admitted, k.Version, k.SignedAt, k.RecordedAt)).ToList());
}

/// <summary>
/// The rules of ledger node admissions, pure: the authority's signed statement and the held state in, the
/// statement to record or a named error out.
/// </summary>
public static class LedgerNodeRules
{
    public static Result<LedgerNodeAdmission> Decide(LedgerNodesState state, AuthorityApproved<LedgerNodeAdmission> approved, NetworkAuthority? authority,
        NetworkId network, Timestamp now, TimeSpan maxOrderAge)
    {
        if (authority is null) return new NotPermitted("this node", "admit ledger nodes", "it has no network authority configured");
        var verified = authority.Verify(approved, network);
        if (!verified.IsOk) return verified.Error;
        var admission = verified.Value;
        // The same statement again (a retry) is answered as it was, however old it now is.
        if (state.Holds(admission)) return admission;
        var key = admission.NodeKey.Hex;
        var last = state.Keys.TryGetValue(key, out var held) ? held.Version : 0;
        if (admission.Version <= last || Math.Abs(now.UnixMilliseconds - admission.At.UnixMilliseconds) > maxOrderAge.TotalMilliseconds)
            return new StaleOrder($"ledger node {key}", admission.Version, last, admission.At, now);
        if (held is null && state.Keys.Count >= LedgerNodesState.MaxKeys) return new TooManyLedgerNodes(LedgerNodesState.MaxKeys);
        return admission;
    }

    public static LedgerNodesState Evolve(LedgerNodesState state, LedgerNodeAdmissionRecorded recorded)
    {
        var admission = AuthorityApproved<LedgerNodeAdmission>.Decode(recorded.Admission).Unwrap().Payload;
        var next = state.Keys.SetItem(admission.NodeKey.Hex,
            new LedgerNodeRecord(admission.NodeKey.Hex, admission.Admitted, admission.Version, admission.At, recorded.At));
        // The decision bounds the keys; a journal that breaks the bound is not replayed as if it did not.
        if (next.Count > LedgerNodesState.MaxKeys)
            throw new InvalidOperationException($"the ledger node registry holds {next.Count} keys, over the bound of {LedgerNodesState.MaxKeys}");
        return state with { Keys = next };
    }
}

/// <summary>
/// The network's register of ledger node keys, one persisted entity: the authority's statements that a node's
/// key signs ledger blocks (or no longer does). Every node's audit reads it, so a block signed by any admitted
/// node audits as intact everywhere.
/// </summary>
public sealed class LedgerNodeRegistry : ReceivePersistentActor
{
    public const string EntityName = RegistryEntities.LedgerNodes;

    private LedgerNodesState _state = LedgerNodesState.Empty;

    public LedgerNodeRegistry(EnergySettings settings)
    {
        Recover<LedgerNodeAdmissionRecorded>(e => _state = LedgerNodeRules.Evolve(_state, e));
        Command<StopEntity>(_ => StopEntity.BehindWrites(DeferAsync, () => Context.Stop(Self)));
        Command<AdmitLedgerNode>(command =>
        {
            var decoded = AuthorityApproved<LedgerNodeAdmission>.Decode(command.Admission);
            if (!decoded.IsOk) { Sender.Tell(Refusal.From(decoded.Error)); return; }
            var decided = LedgerNodeRules.Decide(_state, decoded.Value, settings.Authority, settings.Network, settings.Clock.Now, settings.MaxOrderAge);
            if (!decided.IsOk) { Sender.Tell(Refusal.From(decided.Error)); return; }
            var key = decided.Value.NodeKey.Hex;
            if (_state.Holds(decided.Value)) { Sender.Tell(ViewOf(key)); return; }
            var sender = Sender;
            Persist(new LedgerNodeAdmissionRecorded(command.Admission, settings.Clock.Now), e =>
            {
                _state = LedgerNodeRules.Evolve(_state, e);
                Context.GetLogger().Info("ledger node {0} {1} by the authority (version {2})", key, decided.Value.Admitted ? "admitted" : "withdrawn",
                    decided.Value.Version);
                sender.Tell(ViewOf(key));
            });
        });
        Command<GetLedgerNodes>(_ => Sender.Tell(_state.View()));
    }

    public override string PersistenceId => EntityName;

    private LedgerNodeView ViewOf(string key)
    {
        var record = _state.Keys[key];
        return new LedgerNodeView(record.KeyHex, record.Admitted, record.Version, record.SignedAt, record.RecordedAt);
    }

    public static Props Props(EnergySettings settings) => Akka.Actor.Props.Create(() => new LedgerNodeRegistry(settings));
}
