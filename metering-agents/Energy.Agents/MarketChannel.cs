using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Agents;

/// <summary>
/// A participant's streaming channel with its zone's market operator, as its payer keeps it: a buyer home paying the grid
/// operator, or the grid operator paying a seller home. The payer signs each voucher on its own side (the key never leaves
/// it); every voucher names the market interval it pays, and the channel remembers what it paid each interval.
/// </summary>
public sealed class MarketChannel(NetworkId network, ChannelId id, PartyId payer, PartyId payee, Money deposit, Func<byte[], byte[]> sign) : IDisposable
{
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly Dictionary<PaymentPurpose, Money> _paid = [];
    private ulong _sequence;
    private Money _cumulative = Money.Zero(deposit.Currency);

    public ChannelId Id { get; } = id;
    public PartyId Payer { get; } = payer;
    public PartyId Payee { get; } = payee;

    /// <summary>What this channel's vouchers paid for <paramref name="purpose"/> in all.</summary>
    public Money PaidFor(PaymentPurpose purpose)
    {
        lock (_paid) return _paid.GetValueOrDefault(purpose, Money.Zero(deposit.Currency));
    }

    /// <summary>Locks the payer's deposit for the payee: the channel is open once the ledger holds it.</summary>
    public Task OpenAsync(NodeClient node)
    {
        var opening = new StreamingOpening(network, Id, Payer, Payee, deposit, DurationMs.FromSeconds(60));
        return node.OpenChannelAsync(Id.Value, Signed<StreamingOpening>.Assemble(opening, sign(Signed<StreamingOpening>.EncodeBody(opening))).ToArray());
    }

    /// <summary>Pays <paramref name="amount"/> more for <paramref name="purpose"/>; one voucher at a time, acknowledged once durable.</summary>
    public async Task PayAsync(NodeClient node, PaymentPurpose purpose, Money amount)
    {
        if (amount.MinorUnits <= 0) return;
        await _one.WaitAsync();
        try
        {
            var cumulative = _cumulative.Add(amount).Unwrap();
            var voucher = new Voucher(network, Id, _sequence + 1, cumulative, amount, purpose);
            await node.SubmitVoucherAsync(Id.Value, Signed<Voucher>.Assemble(voucher, sign(Signed<Voucher>.EncodeBody(voucher))).ToArray());
            _sequence++;
            _cumulative = cumulative;
            lock (_paid) _paid[purpose] = _paid.GetValueOrDefault(purpose, Money.Zero(deposit.Currency)).Add(amount).Unwrap();
        }
        finally { _one.Release(); }
    }

    public void Dispose() => _one.Dispose();
}
