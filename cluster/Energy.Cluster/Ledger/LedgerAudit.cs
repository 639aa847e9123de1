using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;

namespace Energy.Cluster.Ledger;

[Manifest("ledger.audit-result.v1")]
public sealed record AuditResult(string Shard, bool Intact, ulong BlocksChecked, ulong? FirstBadHeight, string? Reason) : IEnergyMessage;

/// <summary>
/// Recomputes a shard's chain from the rows in the database, not from any actor's memory: each block's
/// entries hash, its link to the block before, and its node signature. Names the first block that
/// does not match.
/// </summary>
public static class LedgerAudit
{
    public static AuditResult Verify(string shard, IEnumerable<SettlementBlock> blocks, Func<string, bool> isTrustedSigner) =>
        Verify(shard, blocks, isTrustedSigner, 1, SettlementBlock.GenesisHash);

    /// <summary>Verifies blocks from <paramref name="fromHeight"/> on, chained to the hash of the block before it.</summary>
    public static AuditResult Verify(string shard, IEnumerable<SettlementBlock> blocks, Func<string, bool> isTrustedSigner, ulong fromHeight, string previousBlockHash)
    {
        var previousHash = previousBlockHash;
        ulong expectedHeight = fromHeight;
        ulong checkedCount = 0;
        foreach (var block in blocks)
        {
            var problem = Check(block, shard, expectedHeight, previousHash, isTrustedSigner);
            if (problem is not null) return new AuditResult(shard, false, checkedCount, expectedHeight, problem);
            previousHash = block.BlockHash();
            expectedHeight++;
            checkedCount++;
        }
        return new AuditResult(shard, true, checkedCount, null, null);
    }

    private static string? Check(SettlementBlock block, string shard, ulong expectedHeight, string previousHash, Func<string, bool> isTrustedSigner)
    {
        if (block.Shard != shard) return $"block names shard {block.Shard}";
        if (block.Height != expectedHeight) return $"block height {block.Height} where {expectedHeight} was expected";
        if (block.PreviousHash != previousHash) return "previous-hash does not match the hash of the block before";
        var entriesHash = Convert.ToHexStringLower(SettlementBlock.HashEntries(block.Currency, block.Entries));
        if (entriesHash != block.EntriesHash) return "entries do not match the entries hash";
        if (!isTrustedSigner(block.Signer)) return $"signer {block.Signer} is not a trusted ledger node";
        var key = DevicePublicKey.FromHex(block.Signer);
        if (!key.IsOk) return $"signer key is malformed: {key.Error.Describe()}";
        byte[] signature;
        try { signature = Convert.FromHexString(block.Signature); }
        catch (FormatException) { return "signature is not hexadecimal"; }
        if (!key.Value.Verifies(Signed<SettlementBlockHeader>.EncodeBody(block.Header()), signature)) return "node signature does not verify";
        return null;
    }

    /// <summary>Reads the shard's blocks from the journal in order and verifies the chain.</summary>
    public static async Task<AuditResult> RunAsync(ActorSystem system, string shard, EnergySettings settings, CancellationToken cancellationToken = default)
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
        var trusted = settings.NodeKeysTrustedNow();
        return Verify(shard, blocks, trusted.Contains);
    }

    /// <summary>The most blocks one audit page reads.</summary>
    public const int MaxPageBlocks = 1_000;

    /// <summary>
    /// Audits one page of a shard's chain: blocks <paramref name="fromHeight"/> to at most <see cref="MaxPageBlocks"/>
    /// further, each checked against the one before it (the block before the page is read as the anchor; it is
    /// audited by the page that holds it).
    /// </summary>
    public static async Task<AuditResult> RunPageAsync(ActorSystem system, string shard, EnergySettings settings, ulong fromHeight, int count,
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
        var trusted = settings.NodeKeysTrustedNow();
        return Verify(shard, blocks, trusted.Contains, fromHeight, previousHash);
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
