using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Channels;

/// <summary>
/// What a network asks of every channel, the same on every node: its network and currency, the shortest challenge window
/// an opening may ask for (what protects the party that does not sign alone), and how many shards the ledger that holds
/// the escrows has.
/// </summary>
public sealed record ChannelRules(NetworkId Network, Currency Currency, DurationMs MinimumChallengeWindow, int LedgerShardCount);
