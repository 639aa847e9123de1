using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Ledger;

/// <summary>
/// The accounts of one ledger shard. A decision (<c>Decide*</c>) returns an entry or a named error and
/// changes nothing a reader or a later decision sees of the accounts; a release only numbers its payouts to
/// other shards in the order decided, so that the entries of one block, decided before any is applied, follow
/// each other without gaps. <see cref="Apply"/> is the only mutation and is used both live and in
/// recovery, so a recovered book equals the one that was running. The book is mutable for speed: a
/// shard applies tens of thousands of entries a second and owns its book alone.
/// </summary>
public sealed class LedgerBook(string shard, int shardCount, Currency currency)
{
    private readonly Dictionary<PartyId, long> _balances = [];
    private readonly Dictionary<(EscrowId, PartyId), long> _escrows = [];
    private readonly Dictionary<string, RecordedEntry> _requests = new(StringComparer.Ordinal);
    // Kept for good: an escrow once released is never locked again, and its release is answered the same way.
    private readonly Dictionary<(EscrowId, PartyId), RecordedEntry> _released = [];
    private readonly Dictionary<string, ulong> _nextOutboundSequence = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<ulong, OutboundCredit>> _outbox = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _appliedFrom = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _mintedByIssuer = new(StringComparer.Ordinal);

    public string Shard { get; } = shard;
    public Currency Currency { get; } = currency;
    public long Minted { get; private set; }
    public long Withdrawn { get; private set; }
    public ulong Height { get; private set; }

    /// <summary>The sum of every balance, kept as entries apply (the node's metrics read it after each block without summing the accounts).</summary>
    public Int128 BalancesTotal { get; private set; }

    /// <summary>The sum of every escrow, kept as entries apply.</summary>
    public Int128 EscrowsTotal { get; private set; }
    public string LastHash { get; private set; } = SettlementBlock.GenesisHash;

    /// <summary>Which block each entry was applied in; set by the shard before applying a block's entries.</summary>
    public ulong ApplyingHeight { get; set; }

    public long BalanceOf(PartyId account) => _balances.GetValueOrDefault(account);

    /// <summary>What an account has in escrow, saturating at <see cref="long.MaxValue"/>: many escrows of one account may together exceed 64 bits.</summary>
    public long EscrowedBy(PartyId account) => SaturatingInt64(Sum(_escrows.Where(e => e.Key.Item2 == account).Select(e => e.Value)));

    public IReadOnlyList<EscrowId> Escrows(int max) => _escrows.Keys.Select(k => k.Item1).Distinct().Take(max).ToList();

    public ulong AppliedFrom(string source) => _appliedFrom.GetValueOrDefault(source);

    public IEnumerable<OutboundCredit> Outbox => _outbox.Values.SelectMany(pending => pending.Values);

    /// <summary>
    /// The shard's sums, exact and never throwing: a shard's balances may together exceed 64 bits (credits
    /// from other shards come on top of what it minted), so they are summed in 128 bits.
    /// </summary>
    public ShardTotals Totals() => new(Shard, Sum(_balances.Values), Sum(_escrows.Values), Minted, Withdrawn,
        Outbox.ToList(), new Dictionary<string, ulong>(_appliedFrom), Height, _balances.Count)
    {
        MintedByIssuer = new Dictionary<string, long>(_mintedByIssuer, StringComparer.Ordinal),
    };

    /// <summary>An exact sum of 64-bit amounts: 2^64 of them cannot overflow 128 bits.</summary>
    public static Int128 Sum(IEnumerable<long> amounts)
    {
        Int128 sum = 0;
        foreach (var amount in amounts) sum += amount;
        return sum;
    }

    private static long SaturatingInt64(Int128 value) => value > long.MaxValue ? long.MaxValue : value < long.MinValue ? long.MinValue : (long)value;

    // Decisions

    public Result<LedgerEntry> DecideMint(Mint command)
    {
        var check = CheckAmount("mint", command.Account, command.Amount);
        if (check is not null) return check;
        if (_requests.TryGetValue(command.RequestId, out var earlier))
            return earlier.Entry is MintEntry m && m.Account == command.Account && m.Amount == command.Amount.MinorUnits && m.Issuer == command.Issuer
                ? earlier.Entry
                : new RequestIdReused(command.RequestId, $"was {earlier.Entry}");
        try { _ = checked(BalanceOf(command.Account) + command.Amount.MinorUnits + Minted); }
        catch (OverflowException) { return new AmountOverflow("mint", BalanceOf(command.Account), command.Amount.MinorUnits); }
        return new MintEntry(command.RequestId, command.Account, command.Amount.MinorUnits, command.Issuer);
    }

    public Result<LedgerEntry> DecideWithdraw(Withdraw command)
    {
        var check = CheckAmount("withdraw", command.Account, command.Amount);
        if (check is not null) return check;
        if (_requests.TryGetValue(command.RequestId, out var earlier))
            return earlier.Entry is WithdrawalEntry w && w.Account == command.Account && w.Amount == command.Amount.MinorUnits
                ? earlier.Entry
                : new RequestIdReused(command.RequestId, $"was {earlier.Entry}");
        var balance = BalanceOf(command.Account);
        if (balance < command.Amount.MinorUnits) return new InsufficientFunds(command.Account, balance, command.Amount.MinorUnits);
        return new WithdrawalEntry(command.RequestId, command.Account, command.Amount.MinorUnits);
    }

    /// <summary>
    /// Locks a deposit for one escrow. The balance is checked for every new lock; only a retry of the same
    /// lock (same escrow, account and amount, still locked) is answered with the entry it already made.
    /// An escrow that was released is spent: locking it again would pay its deposit out a second time.
    /// </summary>
    public Result<LedgerEntry> DecideLock(LockEscrow command)
    {
        var check = CheckAmount("lock escrow", command.Account, command.Amount);
        if (check is not null) return check;
        var key = (command.Escrow, command.Account);
        if (_released.TryGetValue(key, out var released)) return new EscrowAlreadyReleased(command.Escrow, command.Account, released.BlockHeight);
        if (_escrows.TryGetValue(key, out var locked))
            return locked == command.Amount.MinorUnits
                ? new EscrowLockEntry(command.Escrow, command.Account, locked)
                : new EscrowAlreadyLocked(command.Escrow, command.Account, locked, command.Amount.MinorUnits);
        var balance = BalanceOf(command.Account);
        if (balance < command.Amount.MinorUnits) return new InsufficientFunds(command.Account, balance, command.Amount.MinorUnits);
        return new EscrowLockEntry(command.Escrow, command.Account, command.Amount.MinorUnits);
    }

    /// <summary>True when the lock already took effect (a retry): nothing new to apply.</summary>
    public bool IsDuplicateLock(EscrowLockEntry entry) =>
        _escrows.TryGetValue((entry.Escrow, entry.Account), out var locked) && locked == entry.Amount;

    public bool IsDuplicateRequest(LedgerEntry entry) => entry switch
    {
        MintEntry m => _requests.ContainsKey(m.RequestId),
        WithdrawalEntry w => _requests.ContainsKey(w.RequestId),
        _ => false,
    };

    /// <summary>The release of exactly this escrow from this holder, if it was made: never another escrow's of the same channel.</summary>
    public RecordedEntry? ReleasedBefore(EscrowId escrow, PartyId holder) => _released.GetValueOrDefault((escrow, holder));

    public RecordedEntry? RequestBefore(string requestId) => _requests.GetValueOrDefault(requestId);

    public Result<LedgerEntry> DecideRelease(ReleaseEscrow command)
    {
        var wrongShard = CheckShard(command.Holder);
        if (wrongShard is not null) return wrongShard;
        var earlier = ReleasedBefore(command.Escrow, command.Holder);
        if (earlier is not null) return earlier.Entry;
        if (!_escrows.TryGetValue((command.Escrow, command.Holder), out var escrowed))
            return new EscrowNotFound(command.Escrow, command.Holder);
        long sum = 0;
        var lines = new List<PayoutLine>(command.Payouts.Count);
        foreach (var payout in command.Payouts)
        {
            if (payout.Amount.Currency != Currency) return new CurrencyMismatch(Currency, payout.Amount.Currency);
            if (payout.Amount.IsNegative) return new NegativeAmount(command.Escrow.Channel, "payout", payout.Amount.MinorUnits);
            try { sum = checked(sum + payout.Amount.MinorUnits); }
            catch (OverflowException) { return new AmountOverflow("sum payouts", sum, payout.Amount.MinorUnits); }
            var destination = LedgerShards.For(payout.Account, shardCount);
            lines.Add(destination == Shard
                ? new PayoutLine(payout.Account, payout.Amount.MinorUnits, null, 0)
                : new PayoutLine(payout.Account, payout.Amount.MinorUnits, destination, 0));
        }
        if (sum != escrowed) return new PayoutsDoNotMatchEscrow(command.Escrow, escrowed, sum);
        // Sequence numbers for remote payouts are assigned here, in decision order, so they are gap-free.
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.DestinationShard is null) continue;
            var next = _nextOutboundSequence.GetValueOrDefault(line.DestinationShard) + 1;
            _nextOutboundSequence[line.DestinationShard] = next;
            lines[i] = line with { Sequence = next };
        }
        return new EscrowReleaseEntry(command.Escrow, command.Holder, escrowed, lines);
    }

    /// <summary>A credit from another shard: apply it if it is the next in order, skip a duplicate, wait for a gap to fill.</summary>
    public CreditDecision DecideCredit(Credit command)
    {
        var applied = AppliedFrom(command.SourceShard);
        if (command.Sequence <= applied) return CreditDecision.Duplicate;
        if (command.Sequence > applied + 1) return CreditDecision.OutOfOrder;
        return CreditDecision.Apply;
    }

    public enum CreditDecision { Apply, Duplicate, OutOfOrder }

    // The only mutation.

    public void Apply(LedgerEntry entry)
    {
        switch (entry)
        {
            case MintEntry e:
                _requests[e.RequestId] = new RecordedEntry(e, ApplyingHeight);
                _balances[e.Account] = BalanceOf(e.Account) + e.Amount;
                BalancesTotal += e.Amount;
                Minted += e.Amount;
                _mintedByIssuer[e.Issuer.Value] = _mintedByIssuer.GetValueOrDefault(e.Issuer.Value) + e.Amount;
                break;
            case WithdrawalEntry e:
                _requests[e.RequestId] = new RecordedEntry(e, ApplyingHeight);
                _balances[e.Account] = BalanceOf(e.Account) - e.Amount;
                BalancesTotal -= e.Amount;
                Withdrawn += e.Amount;
                break;
            case EscrowLockEntry e:
                _balances[e.Account] = BalanceOf(e.Account) - e.Amount;
                BalancesTotal -= e.Amount;
                EscrowsTotal += e.Amount - _escrows.GetValueOrDefault((e.Escrow, e.Account));
                _escrows[(e.Escrow, e.Account)] = e.Amount;
                break;
            case EscrowReleaseEntry e:
                if (_escrows.Remove((e.Escrow, e.Holder), out var held)) EscrowsTotal -= held;
                _released[(e.Escrow, e.Holder)] = new RecordedEntry(e, ApplyingHeight);
                foreach (var line in e.Payouts)
                {
                    if (line.DestinationShard is null)
                    {
                        _balances[line.Account] = BalanceOf(line.Account) + line.Amount;
                        BalancesTotal += line.Amount;
                        continue;
                    }
                    if (!_outbox.TryGetValue(line.DestinationShard, out var pending))
                        _outbox[line.DestinationShard] = pending = [];
                    pending[line.Sequence] = new OutboundCredit(line.DestinationShard, line.Sequence, line.Account, line.Amount, e.Escrow.Channel, ApplyingHeight);
                    if (_nextOutboundSequence.GetValueOrDefault(line.DestinationShard) < line.Sequence)
                        _nextOutboundSequence[line.DestinationShard] = line.Sequence;
                }
                break;
            case CreditEntry e:
                _appliedFrom[e.SourceShard] = e.Sequence;
                _balances[e.Account] = BalanceOf(e.Account) + e.Amount;
                BalancesTotal += e.Amount;
                break;
            default:
                throw new InvalidOperationException($"unknown ledger entry {entry.GetType().Name}");
        }
    }

    public void ApplyBlock(SettlementBlock block)
    {
        if (block.Height != Height + 1)
            throw new InvalidOperationException($"{Shard}: block {block.Height} does not follow {Height}");
        if (block.PreviousHash != LastHash)
            throw new InvalidOperationException($"{Shard}: block {block.Height} does not link to the hash of block {Height}");
        // A row changed in the database must not become a balance: refuse to recover past it.
        if (Convert.ToHexStringLower(SettlementBlock.HashEntries(block.Currency, block.Entries)) != block.EntriesHash)
            throw new InvalidOperationException($"{Shard}: the entries of block {block.Height} do not match its hash; run the audit");
        ApplyingHeight = block.Height;
        foreach (var entry in block.Entries) Apply(entry);
        SetHead(block.Height, block.BlockHash());
    }

    public void SetHead(ulong height, string hash)
    {
        Height = height;
        LastHash = hash;
    }

    public void Acknowledge(string destination, ulong sequence)
    {
        if (_outbox.TryGetValue(destination, out var pending)) pending.Remove(sequence);
    }

    private ProtocolError? CheckAmount(string operation, PartyId account, Money amount)
    {
        if (amount.Currency != Currency) return new CurrencyMismatch(Currency, amount.Currency);
        if (amount.MinorUnits <= 0) return new NonPositiveAmount(operation, amount.MinorUnits);
        return CheckShard(account);
    }

    private WrongLedgerShard? CheckShard(PartyId account)
    {
        var expected = LedgerShards.For(account, shardCount);
        return expected == Shard ? null : new WrongLedgerShard(account, expected, Shard);
    }

    // Snapshots

    public LedgerSnapshot ToSnapshot() => new(Shard, Currency, Minted, Withdrawn, Height, LastHash,
        _balances.Select(b => new AccountBalance(b.Key, b.Value)).ToList(),
        _escrows.Select(e => new EscrowBalance(e.Key.Item1, e.Key.Item2, e.Value)).ToList(),
        _requests.Values.ToList(),
        _released.Values.ToList(),
        _nextOutboundSequence.Select(s => new ShardSequence(s.Key, s.Value)).ToList(),
        Outbox.ToList(),
        _appliedFrom.Select(s => new ShardSequence(s.Key, s.Value)).ToList());

    public static LedgerBook FromSnapshot(LedgerSnapshot snapshot, int shardCount)
    {
        var book = new LedgerBook(snapshot.Shard, shardCount, snapshot.Currency)
        {
            Minted = snapshot.Minted,
            Withdrawn = snapshot.Withdrawn,
            Height = snapshot.Height,
            LastHash = snapshot.LastHash,
        };
        foreach (var b in snapshot.Balances) book._balances[b.Account] = b.MinorUnits;
        foreach (var e in snapshot.Escrows) book._escrows[(e.Escrow, e.Account)] = e.MinorUnits;
        book.BalancesTotal = Sum(book._balances.Values);
        book.EscrowsTotal = Sum(book._escrows.Values);
        foreach (var r in snapshot.Requests)
        {
            var id = r.Entry switch { MintEntry m => m.RequestId, WithdrawalEntry w => w.RequestId, _ => throw new InvalidOperationException("bad request entry") };
            book._requests[id] = r;
        }
        foreach (var r in snapshot.Released)
        {
            var release = (EscrowReleaseEntry)r.Entry;
            book._released[(release.Escrow, release.Holder)] = r;
        }
        foreach (var s in snapshot.NextOutboundSequence) book._nextOutboundSequence[s.Shard] = s.Sequence;
        foreach (var o in snapshot.Outbox)
        {
            if (!book._outbox.TryGetValue(o.DestinationShard, out var pending)) book._outbox[o.DestinationShard] = pending = [];
            pending[o.Sequence] = o;
        }
        foreach (var s in snapshot.AppliedFrom) book._appliedFrom[s.Shard] = s.Sequence;
        return book;
    }
}

public sealed record AccountBalance(PartyId Account, long MinorUnits);
public sealed record EscrowBalance(EscrowId Escrow, PartyId Account, long MinorUnits);
public sealed record ShardSequence(string Shard, ulong Sequence);

/// <summary>An entry with the block it was committed in, kept to answer a repeated request the same way.</summary>
public sealed record RecordedEntry(LedgerEntry Entry, ulong BlockHeight);

[Manifest("ledger.snapshot.v2")]
public sealed record LedgerSnapshot(
    string Shard,
    Currency Currency,
    long Minted,
    long Withdrawn,
    ulong Height,
    string LastHash,
    IReadOnlyList<AccountBalance> Balances,
    IReadOnlyList<EscrowBalance> Escrows,
    IReadOnlyList<RecordedEntry> Requests,
    IReadOnlyList<RecordedEntry> Released,
    IReadOnlyList<ShardSequence> NextOutboundSequence,
    IReadOnlyList<OutboundCredit> Outbox,
    IReadOnlyList<ShardSequence> AppliedFrom) : IEnergyMessage;
