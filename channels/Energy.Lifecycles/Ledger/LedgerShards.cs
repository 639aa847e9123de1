using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Ledger;

/// <summary>Which ledger shard holds an account. The mapping is fixed for a network: the shard count never changes.</summary>
public static class LedgerShards
{
    public const string Prefix = "ledger-";

    public static string For(PartyId account, int shardCount) => Prefix + ShardIndex(account.Value, shardCount);

    public static IEnumerable<string> All(int shardCount) => Enumerable.Range(0, shardCount).Select(i => Prefix + i);

    /// <summary>FNV-1a: stable across processes and runtimes, unlike string.GetHashCode.</summary>
    public static int ShardIndex(string key, int shardCount)
    {
        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash ^= c;
            hash *= 16777619u;
        }
        return (int)(hash % (uint)shardCount);
    }
}
