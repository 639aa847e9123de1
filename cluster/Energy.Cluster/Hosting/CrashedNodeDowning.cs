using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Remote;

namespace Energy.Cluster.Hosting;

/// <summary>
/// Finds a crashed node in a second instead of waiting for the failure detector and the split-brain resolver. When a
/// node's process dies, its operating system closes its sockets: the other nodes' connections to it are reset at once,
/// and a new connection to its remoting port is refused. A node that is only slow, or cut off by the network, does
/// not refuse: its port still accepts, or the attempt times out. So when the connection to a member drops (or the
/// failure detector finds it unreachable), this actor tries its port a few times; only when every try is refused, and the members left (this node included, none of them
/// unreachable) are still a majority of the cluster, does it down the member. A minority never downs anyone this way,
/// so two sides of a partition never both go on: what the resolver's keep-majority would decide, decided sooner. The
/// member's incarnation is quarantined too (it is gone: nothing it could still say is taken) and downed, so the leader
/// removes it at once and its shards and singletons start on the survivors after the removal margin.
/// Anything else (a try that connects or times out, a member already down, this node leaving) leaves the member to
/// the failure detector and the resolver, as before.
/// </summary>
public sealed class CrashedNodeDowning : ReceiveActor
{
    /// <summary>Tries of the port, each refused, before a member counts as crashed.</summary>
    public const int Tries = 3;

    public static readonly TimeSpan BetweenTries = TimeSpan.FromMilliseconds(150);
    public static readonly TimeSpan TryTimeout = TimeSpan.FromMilliseconds(500);

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<Address> _trying = [];

    public CrashedNodeDowning()
    {
        Receive<DisassociatedEvent>(disassociated => Disassociated(disassociated.RemoteAddress));
        // A member can also fall silent without a connection of this node's dropping first (none was open just then):
        // once the failure detector finds it unreachable, its port is tried as well, before the resolver's wait.
        Receive<ClusterEvent.UnreachableMember>(unreachable => Disassociated(unreachable.Member.Address));
        Receive<PortTried>(OnTried);
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new CrashedNodeDowning());

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DisassociatedEvent));
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.UnreachableMember));
    }

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _cluster.Unsubscribe(Self);
    }

    private void Disassociated(Address address)
    {
        if (!MayDown(address) || !_trying.Add(address)) return;
        TryPortAsync(address).PipeTo(Self);
    }

    private void OnTried(PortTried tried)
    {
        _trying.Remove(tried.Address);
        if (!tried.Refused) return;
        // The cluster may have changed while the port was tried: decide again on what it is now.
        if (!MayDown(tried.Address)) return;
        _log.Warning("Member {0} refused {1} connections to its remoting port in a row: its process is gone; downing it now", tried.Address, Tries);
        // Down alone leaves the member in the cluster until the failure detector also finds it unreachable: the leader
        // removes only members that are both. Quarantining its incarnation (never the next one, which has another uid)
        // marks it terminated, so it is removed at the leader's next round.
        if (_cluster.State.Members.FirstOrDefault(m => m.Address == tried.Address) is { } member)
            ((IRemoteActorRefProvider)((ExtendedActorSystem)Context.System).Provider).Quarantine(member.Address, member.UniqueAddress.Uid);
        _cluster.Down(tried.Address);
    }

    private bool MayDown(Address address)
    {
        var state = _cluster.State;
        return CrashedMembers.MayDown(address, _cluster.SelfAddress, state.Members.Select(m => (m.Address, m.Status)), state.Unreachable.Select(m => m.Address));
    }

    /// <summary>Refused when every try is refused; a try that connects, times out or fails otherwise ends it.</summary>
    private static async Task<PortTried> TryPortAsync(Address address)
    {
        if (address.Host is not { Length: > 0 } host || address.Port is not { } port) return new PortTried(address, Refused: false);
        for (var attempt = 1; attempt <= Tries; attempt++)
        {
            if (attempt > 1) await Task.Delay(BetweenTries);
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TryTimeout);
            try
            {
                await client.ConnectAsync(host, port, timeout.Token);
                return new PortTried(address, Refused: false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                return new PortTried(address, Refused: false);
            }
        }
        return new PortTried(address, Refused: true);
    }

    private sealed record PortTried(Address Address, bool Refused);
}

/// <summary>Whether a member whose port refuses connections may be downed by this node: the rule of keep-majority, without waiting.</summary>
public static class CrashedMembers
{
    /// <summary>
    /// True when <paramref name="target"/> is another member, not already down or on its way out, this node is up, and
    /// the members left without it and without the unreachable ones are more than half of the members.
    /// </summary>
    public static bool MayDown(Address target, Address self, IEnumerable<(Address Address, MemberStatus Status)> members, IEnumerable<Address> unreachable)
    {
        if (target == self) return false;
        var all = members.Where(m => m.Status is not (MemberStatus.Removed or MemberStatus.Down or MemberStatus.Exiting)).ToList();
        if (!all.Any(m => m.Address == self && m.Status is (MemberStatus.Up or MemberStatus.WeaklyUp))) return false;
        if (!all.Any(m => m.Address == target)) return false;
        var unreachableAddresses = unreachable.ToHashSet();
        var left = all.Count(m => m.Address != target && !unreachableAddresses.Contains(m.Address));
        return left * 2 > all.Count;
    }
}
