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

    private IActorRef Reached(GatewayConnection connection) => ((ExtendedActorSystem)Sys).Provider.ResolveActorRef(connection.Address);

    [Fact]
    public void Pushes_reach_the_socket_only_for_devices_authenticated_on_it()
    {
        var (connection, devices, outgoing, _) = Open();
        var mine = DeviceId.Of("vehicle-conn-1");
        var other = DeviceId.Of("vehicle-conn-2");
        connection.Authenticated(mine, 1_000);
        devices.ExpectMsg<DeviceConnected>(c => c.Device == mine && c.Connection == connection.Address && c.AuthenticatedAtMs == 1_000);

        // Another tenant's device, pushed to this connection's path: it goes nowhere.
        Reached(connection).Tell(new DeviceEvent(other, "session.reading", [1]));
        Reached(connection).Tell(new DeviceEvent(mine, "session.reading", [2]));

        AwaitAssert(() => Assert.True(outgoing.Reader.TryRead(out var frame) && frame.SequenceEqual(new byte[] { 2 })));
        Assert.False(outgoing.Reader.TryRead(out _));
    }

    [Fact]
    public void A_replacement_forgets_only_the_device_it_names()
    {
        var (connection, devices, outgoing, replaced) = Open();
        var mine = DeviceId.Of("vehicle-conn-3");
        var stranger = DeviceId.Of("vehicle-conn-4");
        connection.Authenticated(mine, 1_000);
        devices.ExpectMsg<DeviceConnected>();

        LiveConnections.TellReplaced(Sys, connection.Address, stranger.Value);
        LiveConnections.TellReplaced(Sys, connection.Address, "not a device id");
        Reached(connection).Tell(new DeviceEvent(mine, "session.reading", [3]));
        AwaitAssert(() => Assert.True(outgoing.Reader.TryRead(out _)));
        lock (replaced) Assert.Empty(replaced);

        LiveConnections.TellReplaced(Sys, connection.Address, mine.Value);
        AwaitAssert(() => { lock (replaced) Assert.Equal([mine], replaced); });
        // Replayed: the device is no longer here, so nothing happens twice.
        LiveConnections.TellReplaced(Sys, connection.Address, mine.Value);
        Reached(connection).Tell(new DeviceEvent(mine, "session.reading", [4]));
        Assert.False(outgoing.Reader.TryRead(out _));
        lock (replaced) Assert.Equal([mine], replaced);
    }

    [Fact]
    public void An_ended_connection_tells_its_devices_twins_and_takes_nothing_more()
    {
        var (connection, devices, outgoing, _) = Open();
        var mine = DeviceId.Of("vehicle-conn-5");
        connection.Authenticated(mine, 1_000);
        devices.ExpectMsg<DeviceConnected>();
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
