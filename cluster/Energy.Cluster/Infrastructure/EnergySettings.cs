using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cluster;

/// <summary>What every entity of a node needs to know about the network it serves.</summary>
public sealed record EnergySettings(
    NetworkId Network,
    Currency Currency,
    int LedgerShardCount,
    DeviceKeyPair NodeKey,
    IClock Clock)
{
    /// <summary>The authority that admits operators (k of n keys); without one no operator can be admitted.</summary>
    public NetworkAuthority? Authority { get; init; }

    /// <summary>How far from this node's clock the time of a signed order (quarantine, release) may be.</summary>
    public TimeSpan MaxOrderAge { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Entries in one settlement block, at most.</summary>
    public int MaxEntriesPerBlock { get; init; } = 4_000;

    /// <summary>Commands a ledger shard holds waiting for a block, at most; past this it refuses with LedgerOverloaded.</summary>
    public int MaxPendingLedgerEntries { get; init; } = 50_000;

    /// <summary>
    /// Answers a ledger shard holds until their block is durable, at most (commands, duplicates and reads
    /// together); past this it refuses with TooManyWaiting. Room for every pending entry and as many reads.
    /// </summary>
    public int MaxWaitingLedgerReplies { get; init; } = 100_000;

    /// <summary>Acknowledgements a channel holds until its voucher batch is durable, at most; past this it refuses with TooManyWaiting.</summary>
    public int MaxWaitingVoucherReplies { get; init; } = 10_000;

    /// <summary>Answers to readings a charging session holds until its progress is durable, at most; past this it refuses with TooManyWaiting.</summary>
    public int MaxWaitingSessionReplies { get; init; } = 10_000;

    /// <summary>
    /// Times in a row a channel sends its escrow requests (each after <see cref="AskTimeout"/>) before it stops
    /// and raises an alert; it sends again when it is woken. An hour at the default timeout.
    /// </summary>
    public int MaxEscrowAttempts { get; init; } = 360;

    /// <summary>Requests a channel holds waiting for its opening or its settlement, at most; past this it refuses with TooManyWaiting.</summary>
    public int MaxChannelWaiters { get; init; } = 1_000;

    /// <summary>A ledger shard saves a snapshot every this many blocks.</summary>
    public int LedgerSnapshotEveryBlocks { get; init; } = 200;

    /// <summary>A channel saves a snapshot every this many events.</summary>
    public int ChannelSnapshotEveryEvents { get; init; } = 100;

    /// <summary>Cross-shard credits not yet acknowledged are sent again after this long.</summary>
    public TimeSpan CreditRedeliveryInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often channels holding escrow are woken, so that deadlines and settlements go on after restarts and passivation.</summary>
    public TimeSpan ChannelWatchInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The rules every zone's market runs under (interval length, gate closure, bounds, imbalance penalty).</summary>
    public Energy.Channels.Market.MarketRules MarketRules { get; init; } = Energy.Channels.Market.MarketRules.Default;

    /// <summary>How often a running market looks for intervals whose gate has closed.</summary>
    public TimeSpan MarketClearCheckInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often each node wakes the markets the index lists, so that they clear on time after restarts and failovers.</summary>
    public TimeSpan MarketWatchInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A market snapshots its state after this many events, so recovery replays at most that many.</summary>
    public int MarketSnapshotEveryEvents { get; init; } = 500;

    /// <summary>
    /// The shortest challenge window a channel may open with. The payer of a streaming channel chooses its
    /// window alone; without a floor it could choose none and close on an old voucher before the payee can answer.
    /// </summary>
    public DurationMs MinChallengeWindow { get; init; } = DurationMs.FromSeconds(60);

    /// <summary>How long an entity waits for another entity's answer.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the node holds a charge point's or a device's call for the entity that answers it (waking after a
    /// restart, say) before it answers that the network timed out: below the 30 s OCPP chargers and the agents wait.
    /// </summary>
    public TimeSpan DeviceCallHold { get; init; } = TimeSpan.FromSeconds(25);

    /// <summary>Calls from charge points a node holds at most before it is busy (see <see cref="Gateway.HeldCalls"/>).</summary>
    public int OcppMaxHeldCalls { get; init; } = 2_000;

    /// <summary>How long a backlog of held charge point calls may have waited before the node is busy (see <see cref="Gateway.HeldCalls"/>).</summary>
    public TimeSpan OcppLongestHold { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Public keys (hex) of ledger nodes whose block signatures an audit accepts, besides this node's own.</summary>
    public IReadOnlySet<string> TrustedNodeKeys { get; init; } = new HashSet<string>();

    /// <summary>A folder where the cluster's nodes publish their public keys (<see cref="NodeKeyDirectory"/>), if any.</summary>
    public string? NodeKeysDirectory { get; init; }

    /// <summary>The node keys an audit accepts now: this node's, the configured ones, and those published in <see cref="NodeKeysDirectory"/>.</summary>
    public IReadOnlySet<string> NodeKeysTrustedNow()
    {
        var trusted = new HashSet<string>(ConfiguredNodeKeys(), StringComparer.Ordinal) { NodeKey.PublicKey.Hex };
        return trusted;
    }

    /// <summary>
    /// The node keys this node is configured to accept, apart from its own and apart from the ones the authority
    /// admitted: those of <see cref="TrustedNodeKeys"/> and those published in <see cref="NodeKeysDirectory"/>.
    /// </summary>
    public IReadOnlySet<string> ConfiguredNodeKeys()
    {
        var configured = new HashSet<string>(TrustedNodeKeys, StringComparer.Ordinal);
        if (NodeKeysDirectory is { } directory) configured.UnionWith(NodeKeyDirectory.Read(directory));
        return configured;
    }

    /// <summary>How long a stopped session waits for the vehicle to pay its final reading before it closes with what is outstanding.</summary>
    public TimeSpan SessionSettleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a session on an OCPP charge point waits for the vehicle's consent before the charger is told to stop, unbilled.</summary>
    public TimeSpan SessionConsentTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The highest price per kWh, in minor units, a charger may ask.</summary>
    public long MaxPricePerKwh { get; init; } = 10_000;

    /// <summary>The most a charger may deliver unpaid before it must suspend, in minor units.</summary>
    public long MaxSessionCredit { get; init; } = 10_000;

    /// <summary>Price per kWh (minor units) of sessions on OCPP charge points, whose meter the network witnesses.</summary>
    public long WitnessedPricePerKwh { get; init; } = 35;

    /// <summary>Credit (minor units) of sessions on OCPP charge points.</summary>
    public long WitnessedCredit { get; init; } = 50;

    /// <summary>How long a gantry waits for a vehicle's valid payment before the pass becomes a late-answer violation.</summary>
    public TimeSpan TollAnswerTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A gateway connection on which no device has authenticated within this time is closed (AuthenticationTimeout).</summary>
    public TimeSpan GatewayAuthenticationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Gateway challenges outstanding on this node at once, over every connection; past this a hello is refused (GatewayBusy).</summary>
    public int MaxGatewayChallenges { get; init; } = 50_000;

    /// <summary>Registry lookups and calls of gateway devices a node holds at most before it is busy (see <see cref="Gateway.HeldCalls"/>).</summary>
    public int GatewayMaxHeldCalls { get; init; } = 10_000;

    /// <summary>How long a backlog of the gateway's held lookups and calls may have waited before the node is busy (see <see cref="Gateway.HeldCalls"/>).</summary>
    public TimeSpan GatewayLongestHold { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Whether a member whose remoting port refuses connections is downed at once, by a majority (the node's <c>CrashedNodeDowning</c>).</summary>
    public bool DownCrashedNodes { get; init; } = true;

    /// <summary>The speed above which two passes of one identity cannot be one vehicle (a clone or a hijacked identity).</summary>
    public double MaxPlausibleSpeedKmh { get; init; } = 250;
}
