using System.Threading.Channels;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels.Primitives;
using Energy.Cluster.Gateway;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Registry;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// A gateway connection as the cluster reaches it, by its registered path: it queues pushes only for devices that
/// authenticated on it, forgets a device replaced elsewhere and no other, and once it ended its path leads nowhere and
/// the twins of its devices were told.
/// </summary>
public sealed class GatewayConnectionTests(ITestOutputHelper output) : TestKit(output: output)
{
    private sealed record Connection(GatewayConnection Ref, Akka.TestKit.TestProbe Devices, Channel<byte[]> Outgoing, List<DeviceId> Replaced);

    private Connection Open(int capacity = 8)
    {
        var devices = CreateTestProbe();
        var outgoing = Channel.CreateBounded<byte[]>(capacity);
        var replaced = new List<DeviceId>();
        var connection = new GatewayConnection(Sys, devices.Ref, outgoing.Writer, () => { }, device => { lock (replaced) replaced.Add(device); });
        return new Connection(connection, devices, outgoing, replaced);
    }

    /// <summary>A connection with <paramref name="device"/> authenticated on it, its twin told so.</summary>
    private Connection OpenWith(DeviceId device)
    {
        var opened = Open();
        opened.Ref.Authenticated(device, 1_000);
        opened.Devices.ExpectMsg<DeviceConnected>(c => c.Device == device && c.Connection == opened.Ref.Address && c.AuthenticatedAtMs == 1_000);
        return opened;
    }

    private IActorRef Reached(GatewayConnection connection) => ((ExtendedActorSystem)Sys).Provider.ResolveActorRef(connection.Address);

    [Fact]
    public void Pushes_reach_the_socket_only_for_devices_authenticated_on_it()
    {
        var mine = DeviceId.Of("vehicle-conn-1");
        var other = DeviceId.Of("vehicle-conn-2");
        var (connection, _, outgoing, _) = OpenWith(mine);

        // Another tenant's device, pushed to this connection's path: it goes nowhere.
        Reached(connection).Tell(new DeviceEvent(other, "session.reading", [1]));
        Reached(connection).Tell(new DeviceEvent(mine, "session.reading", [2]));

        // The path resolves to the connection on this node: a push is queued, or not, before Tell returns.
        Assert.True(outgoing.Reader.TryRead(out var frame));
        Assert.Equal([2], frame);
        Assert.False(outgoing.Reader.TryRead(out _));
    }

    [Fact]
    public void A_replacement_forgets_only_the_device_it_names()
    {
        var mine = DeviceId.Of("vehicle-conn-3");
        var stranger = DeviceId.Of("vehicle-conn-4");
        var (connection, _, outgoing, replaced) = OpenWith(mine);

        LiveConnections.TellReplaced(Sys, connection.Address, stranger.Value);
        LiveConnections.TellReplaced(Sys, connection.Address, "not a device id");
        Reached(connection).Tell(new DeviceEvent(mine, "session.reading", [3]));
        Assert.True(outgoing.Reader.TryRead(out _));
        lock (replaced) Assert.Empty(replaced);

        LiveConnections.TellReplaced(Sys, connection.Address, mine.Value);
        lock (replaced) Assert.Equal([mine], replaced);
        // Replayed: the device is no longer here, so nothing happens twice.
        LiveConnections.TellReplaced(Sys, connection.Address, mine.Value);
        Reached(connection).Tell(new DeviceEvent(mine, "session.reading", [4]));
        Assert.False(outgoing.Reader.TryRead(out _));
        lock (replaced) Assert.Equal([mine], replaced);
    }

    [Fact]
    public void An_ended_connection_tells_its_devices_twins_and_takes_nothing_more()
    {
        var mine = DeviceId.Of("vehicle-conn-5");
        var (connection, devices, outgoing, _) = OpenWith(mine);
        var address = connection.Address;

        connection.Dispose();
        devices.ExpectMsg<DeviceDisconnected>(d => d.Device == mine && d.Connection == address);
        connection.Dispose();
        connection.Authenticated(mine, 2_000);
        ((ExtendedActorSystem)Sys).Provider.ResolveActorRef(address).Tell(new DeviceEvent(mine, "session.reading", [5]));

        devices.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.False(outgoing.Reader.TryRead(out _));
    }
}
