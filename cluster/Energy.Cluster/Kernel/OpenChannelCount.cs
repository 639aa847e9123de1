using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Kernel;

/// <summary>
/// A channel entity's part of <c>energy.channels.open</c>: the channel counts on its node while its entity runs and
/// it is open (its escrow locked and not yet released). The channel watch wakes every channel that holds escrow, so
/// every open channel runs on some node, and the sum over the nodes is the network's open channels.
/// </summary>
public sealed class OpenChannelCount(bool duplex)
{
    private bool _counted;

    /// <summary>The channel's phase now (after recovery, or after an event became durable).</summary>
    public void Update(ChannelPhase phase) => Set(phase is ChannelPhase.Open or ChannelPhase.Closing or ChannelPhase.Closed);

    /// <summary>The entity stops (passivated, moved to another node, or the node stops): it counts here no more.</summary>
    public void Stopped() => Set(false);

    private void Set(bool open)
    {
        if (open == _counted) return;
        _counted = open;
        EnergyMetrics.ChannelOpen(duplex, open ? 1 : -1);
    }
}
