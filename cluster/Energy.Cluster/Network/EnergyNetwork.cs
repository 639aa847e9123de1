using Akka.Streams;
using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Lifecycles.ChargePoints;
using Energy.Cluster.Ledger;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Network;

/// <summary>
/// How the web side reaches the entities: a few asks, each bounded by a timeout. Pages and endpoints
/// never hold actor references.
/// </summary>
public sealed class EnergyNetwork(ActorSystem system, EnergyRegions regions, EnergySettings settings)
{
    public EnergySettings Settings => settings;
    public ActorSystem System => system;
    public EnergyRegions Regions => regions;

    public Task<object> Ask(IOperatorCommand command, CancellationToken token) => AskAsync(regions.Operators, command, token);
    public Task<object> Ask(IDeviceCommand command, CancellationToken token) => AskAsync(regions.Devices, command, token);
    public Task<object> Ask(ILedgerCommand command, CancellationToken token) => AskAsync(regions.Ledger, command, token);
    public Task<object> Ask(IChannelCommand command, CancellationToken token) => AskAsync(regions.Channels, command, token);
    public Task<object> Ask(IDuplexChannelCommand command, CancellationToken token) => AskAsync(regions.DuplexChannels, command, token);

    /// <summary>
    /// A settlement bank's signed funding order: only an admitted settlement bank issues money, signed with its
    /// current key, within the issuance limit of its admission (counted once per request by the bank's entity);
    /// the mint names the bank.
    /// </summary>
    public async Task<object> FundAsync(PartyId account, byte[] wire, CancellationToken token)
    {
        var decoded = Signed<FundingOrder>.Decode(wire);
        if (!decoded.IsOk) return Refusal.From(decoded.Error);
        var order = decoded.Value.Payload;
        var refusal = CheckOrder(order.Network, order.Account, account);
        if (refusal is not null) return refusal;
        if (await Ask(new GetOperator(order.Operator), token) is not OperatorView bank) return Refusal.From(new OperatorNotFound(order.Operator));
        var key = DevicePublicKey.FromHex(bank.PublicKeyHex);
        if (!key.IsOk || !decoded.Value.IsSignedBy(key.Value))
            return Refusal.From(new InvalidSignature(ChannelId.None, ObjectKind.FundingOrder, order.Operator.Value));
        if (!bank.Has(OperatorRoles.SettlementBank)) return Refusal.From(new NotASettlementBank(order.Operator));
        if (order.Amount.Currency != settings.Currency) return Refusal.From(new CurrencyMismatch(settings.Currency, order.Amount.Currency));
        var reservation = await Ask(new ReserveIssuance(order.Operator, order.RequestId, order.Amount), token);
        if (reservation is not IssuanceReserved reserved) return reservation;
        return await Ask(new Mint(ShardOf(account), $"{order.Operator}/{order.RequestId}", account, reserved.Amount, order.Operator), token);
    }

    /// <summary>An account owner's signed withdrawal: verified against the owner's registered, unrevoked key.</summary>
    public async Task<object> WithdrawAsync(PartyId account, byte[] wire, CancellationToken token)
    {
        var decoded = Signed<WithdrawalOrder>.Decode(wire);
        if (!decoded.IsOk) return Refusal.From(decoded.Error);
        var order = decoded.Value.Payload;
        var refusal = CheckOrder(order.Network, order.Account, account);
        if (refusal is not null) return refusal;
        var (standing, key) = await PartyKeys.ResolveAsync(regions.Devices, regions.Operators, account, settings.AskTimeout);
        if (standing == PartyKeys.Standing.Revoked) return Refusal.From(new PartyRevoked(ChannelId.None, account));
        if (standing == PartyKeys.Standing.Unknown) return Refusal.From(new PartyUnknown(ChannelId.None, account));
        if (!decoded.Value.IsSignedBy(key!)) return Refusal.From(new InvalidSignature(ChannelId.None, ObjectKind.WithdrawalOrder, account.Value));
        return await Ask(new Withdraw(ShardOf(account), $"{account}/{order.RequestId}", account, order.Amount), token);
    }

    private Refusal? CheckOrder(NetworkId network, PartyId signedAccount, PartyId account)
    {
        if (network != settings.Network) return Refusal.From(new WrongNetwork(ChannelId.None, settings.Network, network));
        if (signedAccount != account) return Refusal.From(new MalformedValue("account", signedAccount.Value, $"the account in the path, {account}"));
        return null;
    }

    public Task<object> Ask(GetChargingTransaction query, CancellationToken token) => AskAsync(regions.ChargePoints, query, token);

    public Task<object> Ask(Energy.Lifecycles.Charging.ISessionCommand command, CancellationToken token) => AskAsync(regions.Sessions, command, token);

    public Task<object> Ask(Energy.Lifecycles.Tolls.IGantryCommand command, CancellationToken token) => AskAsync(regions.Gantries, command, token);
    public Task<object> Ask(Energy.Lifecycles.Tolls.ITollOfficeCommand command, CancellationToken token) => AskAsync(regions.TollOffices, command, token);
    public Task<object> Ask(Energy.Lifecycles.Tolls.IZoneCommand command, CancellationToken token) => AskAsync(regions.Zones, command, token);
    public Task<object> Ask(Energy.Lifecycles.Market.IMarketCommand command, CancellationToken token) => AskAsync(regions.Markets, command, token);
    public Task<object> AlertsAsync(CancellationToken token) => AskAsync(regions.Alerts, new GetAlerts(), token);

    public Task<object> Ask(IDeviceCommand command, TimeSpan timeout) => regions.Devices.Ask<object>(command, timeout);

    public void Tell(IDeviceCommand command) => regions.Devices.Tell(command);

    public async Task<IReadOnlyList<SettlementBlock>> BlocksAsync(string shard, ulong from, int count, CancellationToken token)
    {
        var blocks = new List<SettlementBlock>();
        await LedgerAudit.ReadBlocks(system, shard, Math.Max(1, from), Math.Clamp(count, 1, 200))
            .RunForeach(blocks.Add, system.Materializer()).WaitAsync(token);
        return blocks;
    }

    public string ShardOf(PartyId account) => LedgerShards.For(account, settings.LedgerShardCount);

    /// <summary>Totals of every ledger shard and whether value is conserved across them.</summary>
    public async Task<LedgerTotals> TotalsAsync(CancellationToken token)
    {
        var shards = await Task.WhenAll(LedgerShards.All(settings.LedgerShardCount)
            .Select(async shard => (ShardTotals)await AskAsync(regions.Ledger, new GetShardTotals(shard), token)));
        return LedgerTotals.From(shards);
    }

    public async Task<AuditResult> AuditAsync(string shard, CancellationToken token) =>
        await LedgerAudit.RunAsync(system, shard, await LedgerSignersAsync(token), token);

    public async Task<AuditResult> AuditPageAsync(string shard, ulong from, int count, CancellationToken token) =>
        await LedgerAudit.RunPageAsync(system, shard, await LedgerSignersAsync(token), from, count, token);

    /// <summary>
    /// The authority's signed statement about a ledger node key, taken by the network's register of ledger nodes
    /// when it names the key in the path.
    /// </summary>
    public async Task<object> AdmitLedgerNodeAsync(DevicePublicKey key, byte[] wire, CancellationToken token)
    {
        var decoded = AuthorityApproved<LedgerNodeAdmission>.Decode(wire);
        if (!decoded.IsOk) return Refusal.From(decoded.Error);
        if (!decoded.Value.Payload.NodeKey.Equals(key)) return Refusal.From(new LedgerNodeKeyMismatch(key.Hex, decoded.Value.Payload.NodeKey.Hex));
        return await AskAsync(regions.LedgerNodes, new AdmitLedgerNode(wire), token);
    }

    public Task<object> LedgerNodesAsync(CancellationToken token) => AskAsync(regions.LedgerNodes, GetLedgerNodes.Instance, token);

    /// <summary>
    /// Whose blocks this node's audit takes: its own key, the configured keys and the keys the authority admitted.
    /// When the register does not answer in time the admitted keys are unknown, and an audit says so at the first
    /// block of another signer instead of calling it untrusted.
    /// </summary>
    public async Task<LedgerSigners> LedgerSignersAsync(CancellationToken token, TimeSpan? within = null)
    {
        try
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(token);
            bound.CancelAfter(within ?? settings.AskTimeout);
            return await LedgerNodesAsync(bound.Token) is LedgerNodeList list
                ? LedgerSigners.Of(settings, list.Nodes.Where(n => n.Admitted).Select(n => n.Key).ToHashSet(StringComparer.Ordinal))
                : LedgerSigners.Of(settings, null);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            return LedgerSigners.Of(settings, null);
        }
    }

    /// <summary>The region whose entity takes a device's call through the gateway.</summary>
    public IActorRef RegionForDevice(object command) => command switch
    {
        Energy.Lifecycles.Charging.ISessionCommand => regions.Sessions,
        IChannelCommand => regions.Channels,
        Energy.Lifecycles.Tolls.IGantryCommand => regions.Gantries,
        IDeviceCommand => regions.Devices,
        _ => throw new InvalidOperationException($"no entity takes a device's {command.GetType().Name}"),
    };

    /// <summary>An ask of a region whose messages are declared above this folder (the charge point credential store), bounded the same way.</summary>
    public Task<object> AskRegionAsync(IActorRef region, object message, CancellationToken token) => AskAsync(region, message, token);

    private async Task<object> AskAsync(IActorRef region, object message, CancellationToken token)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(settings.AskTimeout);
        // A traced command carries the caller's span (a request, a gateway call) to the entity, on whichever node it runs.
        return await region.Ask<object>(EnergyTracing.Stamp(message), timeout.Token);
    }
}

/// <summary>
/// The ledger as a whole: minted minus withdrawn must equal balances, escrows and credits in transit.
/// Money sums are 128-bit, exact and never throwing however much the shards hold; the counts saturate.
/// </summary>
public sealed record LedgerTotals(
    Int128 BalancesMinorUnits,
    Int128 EscrowsMinorUnits,
    Int128 InTransitMinorUnits,
    Int128 MintedMinorUnits,
    Int128 WithdrawnMinorUnits,
    ulong Blocks,
    long Accounts,
    bool Conserved)
{
    /// <summary>What each settlement bank has minted, in minor units.</summary>
    public IReadOnlyDictionary<string, Int128> MintedByBank { get; init; } = new Dictionary<string, Int128>();

    public static LedgerTotals From(IReadOnlyList<ShardTotals> shards)
    {
        var applied = shards.ToDictionary(s => s.Shard, s => s.AppliedFrom);
        // A credit is in transit until its destination has applied it (acknowledged or not).
        var inTransit = LedgerBook.Sum(shards.SelectMany(s => s.Outbox.Select(o => (Source: s.Shard, Credit: o)))
            .Where(x => x.Credit.Sequence > AppliedAt(applied, x.Credit.DestinationShard, x.Source))
            .Select(x => x.Credit.AmountMinorUnits));
        Int128 balances = 0, escrows = 0;
        foreach (var shard in shards)
        {
            // Each shard's sum is at most 2^64 times 2^63; a handful of them stays far inside 128 bits.
            balances += shard.BalancesMinorUnits;
            escrows += shard.EscrowsMinorUnits;
        }
        var minted = LedgerBook.Sum(shards.Select(s => s.MintedMinorUnits));
        var withdrawn = LedgerBook.Sum(shards.Select(s => s.WithdrawnMinorUnits));
        var blocks = shards.Aggregate(0UL, (sum, s) => sum > ulong.MaxValue - s.Height ? ulong.MaxValue : sum + s.Height);
        return new LedgerTotals(balances, escrows, inTransit, minted, withdrawn, blocks, shards.Sum(s => (long)s.Accounts),
            balances + escrows + inTransit == minted - withdrawn)
        {
            MintedByBank = shards.SelectMany(s => s.MintedByIssuer).GroupBy(p => p.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => LedgerBook.Sum(g.Select(p => p.Value)), StringComparer.Ordinal),
        };
    }

    private static ulong AppliedAt(Dictionary<string, IReadOnlyDictionary<string, ulong>> applied, string destination, string source) =>
        applied.TryGetValue(destination, out var from) ? from.GetValueOrDefault(source) : 0;
}
