using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Ledger;

[Manifest("ledger.audit-result.v1")]
public sealed record AuditResult(string Shard, bool Intact, ulong BlocksChecked, ulong? FirstBadHeight, string? Reason) : IEnergyMessage;

/// <summary>How a node stands towards a ledger node key: whether its audit takes the blocks that key signs, and why.</summary>
public enum LedgerSignerStanding
{
    /// <summary>This node's own key.</summary>
    Own,

    /// <summary>Named in this node's configuration (Energy:TrustedNodeKeys) or published in the cluster's shared folder of node keys (Energy:NodeKeysDirectory).</summary>
    Configured,

    /// <summary>Admitted by the network authority.</summary>
    Admitted,

    /// <summary>Neither: its blocks do not audit as intact here.</summary>
    NotTrusted,

    /// <summary>Not configured, and the authority's admissions could not be read.</summary>
    Unknown,
}

/// <summary>
/// Whose block signatures an audit on this node takes: its own key, the keys configured on it, and the keys the
/// network authority admitted (null when the register could not be read).
/// </summary>
public sealed record LedgerSigners(string OwnKey, IReadOnlySet<string> Configured, IReadOnlySet<string>? Admitted)
{
    public static LedgerSigners Of(EnergySettings settings, IReadOnlySet<string>? admitted) =>
        new(settings.NodeKey.PublicKey.Hex, settings.ConfiguredNodeKeys(), admitted);

    public LedgerSignerStanding StandingOf(string key) => key == OwnKey ? LedgerSignerStanding.Own : NetworkStandingOf(key);

    /// <summary>How the key stands apart from being this node's own: configured here, admitted by the authority, or neither.</summary>
    public LedgerSignerStanding NetworkStandingOf(string key) =>
        Configured.Contains(key) ? LedgerSignerStanding.Configured
        : Admitted is null ? LedgerSignerStanding.Unknown
        : Admitted.Contains(key) ? LedgerSignerStanding.Admitted
        : LedgerSignerStanding.NotTrusted;

    /// <summary>Null when blocks of this signer are taken; otherwise why not.</summary>
    public string? Distrust(string signer) => StandingOf(signer) switch
    {
        LedgerSignerStanding.NotTrusted => $"signer {signer} is not a trusted ledger node (neither this node, nor configured, nor admitted by the authority)",
        LedgerSignerStanding.Unknown => $"signer {signer} is not configured here and the authority's admissions of ledger nodes could not be read",
        _ => null,
    };
}

/// <summary>
/// Recomputes a shard's chain from the rows in the database, not from any actor's memory: each block's
/// entries hash, its link to the block before, and its node signature. Names the first block that
/// does not match.
/// </summary>
public static class LedgerAudit
{
    public static AuditResult Verify(string shard, IEnumerable<SettlementBlock> blocks, Func<string, bool> isTrustedSigner) =>
        Verify(shard, blocks, signer => isTrustedSigner(signer) ? null : $"signer {signer} is not a trusted ledger node", 1, SettlementBlock.GenesisHash);

    /// <summary>
    /// Verifies blocks from <paramref name="fromHeight"/> on, chained to the hash of the block before it;
    /// <paramref name="distrust"/> says why a signer's blocks are not taken (null: they are).
    /// </summary>
    public static AuditResult Verify(string shard, IEnumerable<SettlementBlock> blocks, Func<string, string?> distrust, ulong fromHeight, string previousBlockHash)
    {
        var previousHash = previousBlockHash;
        ulong expectedHeight = fromHeight;
        ulong checkedCount = 0;
        foreach (var block in blocks)
        {
            var problem = Check(block, shard, expectedHeight, previousHash, distrust);
            if (problem is not null) return new AuditResult(shard, false, checkedCount, expectedHeight, problem);
            previousHash = block.BlockHash();
            expectedHeight++;
            checkedCount++;
        }
        return new AuditResult(shard, true, checkedCount, null, null);
    }

    private static string? Check(SettlementBlock block, string shard, ulong expectedHeight, string previousHash, Func<string, string?> distrust)
    {
        if (block.Shard != shard) return $"block names shard {block.Shard}";
        if (block.Height != expectedHeight) return $"block height {block.Height} where {expectedHeight} was expected";
        if (block.PreviousHash != previousHash) return "previous-hash does not match the hash of the block before";
        var entriesHash = Convert.ToHexStringLower(SettlementBlock.HashEntries(block.Currency, block.Entries));
        if (entriesHash != block.EntriesHash) return "entries do not match the entries hash";
        if (distrust(block.Signer) is { } untrusted) return untrusted;
        var key = DevicePublicKey.FromHex(block.Signer);
        if (!key.IsOk) return $"signer key is malformed: {key.Error.Describe()}";
        byte[] signature;
        try { signature = Convert.FromHexString(block.Signature); }
        catch (FormatException) { return "signature is not hexadecimal"; }
        if (!key.Value.Verifies(Signed<SettlementBlockHeader>.EncodeBody(block.Header()), signature)) return "node signature does not verify";
        return null;
    }

    /// <summary>Reads the shard's blocks from the journal in order and verifies the chain, taking this node's own and configured signers.</summary>
    public static Task<AuditResult> RunAsync(ActorSystem system, string shard, EnergySettings settings, CancellationToken cancellationToken = default) =>
        RunAsync(system, shard, LedgerSigners.Of(settings, new HashSet<string>()), cancellationToken);

    /// <summary>Reads the shard's blocks from the journal in order and verifies the chain.</summary>
    public static async Task<AuditResult> RunAsync(ActorSystem system, string shard, LedgerSigners signers, CancellationToken cancellationToken = default)
    {
        var blocks = new List<SettlementBlock>();
        try
        {
            await ReadBlocks(system, shard, 1, int.MaxValue).RunForeach(blocks.Add, system.Materializer()).WaitAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var next = (ulong)blocks.Count + 1;
            return new AuditResult(shard, false, (ulong)blocks.Count, next, $"block {next} cannot be read: {exception.GetBaseException().Message}");
        }
        return Verify(shard, blocks, signers.Distrust, 1, SettlementBlock.GenesisHash);
    }

    /// <summary>The most blocks one audit page reads.</summary>
    public const int MaxPageBlocks = 1_000;

    /// <summary>
    /// Audits one page of a shard's chain: blocks <paramref name="fromHeight"/> to at most <see cref="MaxPageBlocks"/>
    /// further, each checked against the one before it (the block before the page is read as the anchor; it is
    /// audited by the page that holds it).
    /// </summary>
    public static async Task<AuditResult> RunPageAsync(ActorSystem system, string shard, LedgerSigners signers, ulong fromHeight, int count,
        CancellationToken cancellationToken = default)
    {
        fromHeight = Math.Max(1, fromHeight);
        count = Math.Clamp(count, 1, MaxPageBlocks);
        var blocks = new List<SettlementBlock>();
        var anchorHeight = fromHeight - 1;
        try
        {
            await ReadBlocks(system, shard, Math.Max(1, anchorHeight), count + (anchorHeight >= 1 ? 1 : 0))
                .RunForeach(blocks.Add, system.Materializer()).WaitAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return new AuditResult(shard, false, 0, fromHeight, $"blocks from {fromHeight} cannot be read: {exception.GetBaseException().Message}");
        }
        var previousHash = SettlementBlock.GenesisHash;
        if (anchorHeight >= 1)
        {
            if (blocks.Count == 0 || blocks[0].Height != anchorHeight) return new AuditResult(shard, false, 0, anchorHeight, $"block {anchorHeight} is missing");
            previousHash = blocks[0].BlockHash();
            blocks.RemoveAt(0);
        }
        return Verify(shard, blocks, signers.Distrust, fromHeight, previousHash);
    }

    /// <summary>The shard's blocks as stored, from a height on (block N is journal event N).</summary>
    public static Source<SettlementBlock, Akka.NotUsed> ReadBlocks(ActorSystem system, string shard, ulong fromHeight, int maxCount)
    {
        var journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        return journal.CurrentEventsByPersistenceId(shard, (long)fromHeight, long.MaxValue)
            .Select(envelope => (SettlementBlock)envelope.Event)
            .Take(maxCount);
    }
}
