using Akka.Actor;
using Akka.Event;
using Energy.Channels.Primitives;
using Energy.Cluster.Ledger;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;

namespace Energy.Cluster.Channels;

/// <summary>
/// Keeps the watchtower awake. Entities start lazily and passivate when idle, and a timer dies with its
/// actor; yet a channel in its challenge window, or closed and waiting for the ledger, must go on
/// after a restart. Every interval, this asks each ledger shard (starting it, so that its undelivered
/// credits go out again) which channels still hold escrow, and wakes them: a woken channel recovers,
/// finalizes a window that has ended, and retries its settlement.
/// </summary>
public sealed class ChannelWatch : ReceiveActor, IWithTimers
{
    public const int MaxChannelsPerShard = 100_000;

    /// <summary>Watches the escrows of <paramref name="ledger"/>'s shards and wakes their channels in <paramref name="channels"/> and <paramref name="duplexChannels"/>.</summary>
    public ChannelWatch(IActorRef ledger, IActorRef channels, IActorRef duplexChannels, int ledgerShardCount, TimeSpan interval)
    {
        Receive<Tick>(_ =>
        {
            foreach (var shard in LedgerShards.All(ledgerShardCount))
                ledger.Tell(new GetEscrowedChannels(shard, MaxChannelsPerShard));
        });
        Receive<EscrowedChannels>(escrowed =>
        {
            // An escrow names its channel's kind, so only the channel that holds it is woken.
            foreach (var escrow in escrowed.Escrows)
            {
                if (escrow.Kind == ChannelKind.Streaming) channels.Tell(new WakeChannel(escrow.Channel));
                else duplexChannels.Tell(new WakeDuplexChannel(escrow.Channel));
            }
            if (escrowed.Escrows.Count >= MaxChannelsPerShard)
                Context.GetLogger().Warning("{0} holds escrow for more than {1} channels; only the first are watched", escrowed.Shard, MaxChannelsPerShard);
        });
        Self.Tell(Tick.Instance);
        Timers.StartPeriodicTimer("tick", Tick.Instance, interval);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef ledger, IActorRef channels, IActorRef duplexChannels, int ledgerShardCount, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new ChannelWatch(ledger, channels, duplexChannels, ledgerShardCount, interval));

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }
}
