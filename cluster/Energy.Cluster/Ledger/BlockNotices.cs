using Akka.Actor;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Ledger;

/// <summary>
/// What a ledger shard tells others once a block is durable: the activity feed what the block settled and to whom, and
/// each shard it owes a payout to, a credit through the ledger's region. A credit not yet acknowledged is sent again on
/// a timer, only once its block is durable, and at most <see cref="MaxPerDestination"/> to one shard at a time.
/// </summary>
public sealed class BlockNotices(string shard, Currency currency, IActorRef ledger, Activity.ActivityFeed feed)
{
    private const int MaxPerDestination = 1_000;

    /// <summary>Tells whoever watches the network what <paramref name="block"/> settled, and to whom.</summary>
    public void Publish(SettlementBlock block)
    {
        // Settled to each operator's account; devices' accounts are counted in the total only.
        var settledTo = new Dictionary<OperatorId, long>();
        long settled = 0;
        foreach (var line in block.Entries.OfType<EscrowReleaseEntry>().SelectMany(release => release.Payouts))
        {
            settled += line.Amount;
            if (line.Account.IsOperator) settledTo[line.Account.AsOperator()] = settledTo.GetValueOrDefault(line.Account.AsOperator()) + line.Amount;
        }
        feed.Publish(new Activity.SettlementBlockCommitted(block.Shard, block.Height, block.Entries.Count, new Money(settled, block.Currency),
            settledTo.Select(s => new Activity.OperatorSettlement(s.Key, new Money(s.Value, block.Currency))).ToList(), block.CommittedAt));
    }

    /// <summary>Sends the credits <paramref name="block"/> owes other shards.</summary>
    public void SendCredits(SettlementBlock block)
    {
        foreach (var release in block.Entries.OfType<EscrowReleaseEntry>())
            foreach (var line in release.Payouts.Where(line => line.DestinationShard is not null))
                Send(line.DestinationShard!, line.Sequence, line.Account, line.Amount, release.Escrow.Channel);
    }

    /// <summary>Sends again the credits of <paramref name="outbox"/> not yet acknowledged whose block is durable (up to <paramref name="durable"/>).</summary>
    public void Redeliver(IEnumerable<OutboundCredit> outbox, ulong durable)
    {
        foreach (var destination in outbox.GroupBy(o => o.DestinationShard))
            foreach (var credit in destination.Where(o => o.BlockHeight <= durable).Take(MaxPerDestination))
                Send(credit.DestinationShard, credit.Sequence, credit.Account, credit.AmountMinorUnits, credit.ChannelId);
    }

    private void Send(string destination, ulong sequence, PartyId account, long amount, ChannelId channel) =>
        ledger.Tell(new Credit(destination, shard, sequence, account, new(amount, currency), channel));
}
