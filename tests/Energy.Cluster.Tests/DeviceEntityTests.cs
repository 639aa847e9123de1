using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Registry;
using Xunit.Abstractions;

namespace Energy.Cluster.Tests;

/// <summary>
/// A device's entity keeps where the device is connected without its twin: telling it and asking it wake no twin, the
/// newer connection replaces the older, and a revoked device is reached nowhere. Everything else goes to the twin,
/// started once, and its answer reaches the one who asked.
/// </summary>
public sealed class DeviceEntityTests(ITestOutputHelper output) : TestKit(output: output)
{
    private sealed class StandIn(IActorRef probe) : ReceiveActor
    {
        protected override void PreStart() => probe.Tell("started");

        protected override void Unhandled(object message) => probe.Forward(message);
    }

    private (IActorRef Entity, Akka.TestKit.TestProbe Twin, Func<int> Started) Start(string device)
    {
        var twin = CreateTestProbe();
        var started = 0;
        var entity = Sys.ActorOf(DeviceEntity.Props(device, () =>
        {
            Interlocked.Increment(ref started);
            return Props.Create(() => new StandIn(twin.Ref));
        }));
        return (entity, twin, () => Volatile.Read(ref started));
    }

    [Fact]
    public void Where_a_device_is_connected_is_told_and_answered_without_starting_its_twin()
    {
        var device = DeviceId.Of("vehicle-presence-1");
        var (entity, twin, started) = Start(device.Value);
        var connection = CreateTestProbe();

        entity.Tell(new GetDeviceConnection(device));
        ExpectMsg(new DeviceConnection(device, null));
        entity.Tell(new DeviceConnected(device, connection.Ref.Path.ToString(), 1_000));
        entity.Tell(new GetDeviceConnection(device));
        ExpectMsg(new DeviceConnection(device, connection.Ref.Path.ToString()));
        entity.Tell(new DeviceDisconnected(device, connection.Ref.Path.ToString()));
        entity.Tell(new GetDeviceConnection(device));
        ExpectMsg(new DeviceConnection(device, null));

        twin.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, started());
    }

    [Fact]
    public void A_newer_connection_replaces_the_older_which_is_told_and_a_stale_announcement_does_not_take_the_device_back()
    {
        var device = DeviceId.Of("vehicle-presence-2");
        var (entity, _, _) = Start(device.Value);
        var older = CreateTestProbe();
        var newer = CreateTestProbe();

        entity.Tell(new DeviceConnected(device, older.Ref.Path.ToString(), 1_000));
        entity.Tell(new DeviceConnected(device, newer.Ref.Path.ToString(), 2_000));
        older.ExpectMsg(new ConnectionReplaced(device.Value));
        // The older connection announces itself again late: it is told again, and the newer stays.
        entity.Tell(new DeviceConnected(device, older.Ref.Path.ToString(), 1_000));
        older.ExpectMsg(new ConnectionReplaced(device.Value));
        entity.Tell(new GetDeviceConnection(device));
        ExpectMsg(new DeviceConnection(device, newer.Ref.Path.ToString()));
        newer.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_revoked_device_is_reached_nowhere_whatever_socket_it_still_holds()
    {
        var device = DeviceId.Of("vehicle-presence-3");
        var (entity, _, _) = Start(device.Value);
        var connection = CreateTestProbe();
        entity.Tell(new DeviceConnected(device, connection.Ref.Path.ToString(), 1_000));
        entity.Tell(new GetDeviceConnection(device));
        ExpectMsg(new DeviceConnection(device, connection.Ref.Path.ToString()));

        RevocationList.Get(Sys).MarkRevoked(device.Value);
        entity.Tell(new GetDeviceConnection(device));
        ExpectMsg(new DeviceConnection(device, null));
        // Its socket announcing itself again does not bring it back.
        entity.Tell(new DeviceConnected(device, connection.Ref.Path.ToString(), 3_000));
        entity.Tell(new GetDeviceConnection(device));
        ExpectMsg(new DeviceConnection(device, null));
    }

    [Fact]
    public void A_device_revoked_before_the_node_started_is_reached_nowhere_though_the_revocation_list_has_not_heard_of_it()
    {
        var device = DeviceId.Of("vehicle-presence-4");
        DeviceDirectory.Get(Sys).Remember(new DeviceView(device, OperatorId.Of("fleet-p"), Energy.Channels.Identity.DeviceRole.Vehicle, "00",
            true, new Timestamp(1_800_000_000_000), new Timestamp(1_800_000_001_000)));
        var (entity, _, _) = Start(device.Value);
        var connection = CreateTestProbe();
        entity.Tell(new DeviceConnected(device, connection.Ref.Path.ToString(), 1_000));
        entity.Tell(new GetDeviceConnection(device));
        ExpectMsg(new DeviceConnection(device, null));
    }

    [Fact]
    public void Every_other_message_goes_to_the_twin_started_once_and_its_answer_reaches_the_asker()
    {
        var device = DeviceId.Of("vehicle-presence-5");
        var (entity, twin, started) = Start(device.Value);
        var asker = CreateTestProbe();

        entity.Tell(new GetDevice(device), asker.Ref);
        twin.ExpectMsg("started");
        twin.ExpectMsg(new GetDevice(device));
        twin.Reply("the twin's answer");
        asker.ExpectMsg("the twin's answer");
        entity.Tell(new GetDevice(device), asker.Ref);
        twin.ExpectMsg(new GetDevice(device));
        Assert.Equal(1, started());
    }
}
