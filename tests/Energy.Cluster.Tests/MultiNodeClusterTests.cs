using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Registry;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

/// <summary>Two nodes on loopback form one cluster over one journal; entities answer from either node.</summary>
public class MultiNodeClusterTests(ITestOutputHelper output) : ClusterTestKit(TestStores.Sqlite(), output)
{
    [Fact]
    public async Task A_node_reads_publish_subscribe_messages_from_its_start_before_its_own_mediator_runs()
    {
        // Another node's mediator gossips as soon as the cluster forms; this node must read it even if it has
        // not used publish/subscribe yet.
        var fresh = ActorSystem.Create("energy-fresh", EnergyConfig.Build(TestStores.Sqlite()));
        try
        {
            // Publish/subscribe's own serializer (identifier 9), not the default one that cannot read its messages.
            Assert.Equal(9, fresh.Serialization.FindSerializerForType(typeof(Publish)).Identifier);
        }
        finally
        {
            await fresh.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    /// <summary>Runs <paramref name="body"/> with a second node joined to this node's cluster and up, then stops that node.</summary>
    private async Task WithSecondNodeAsync(Func<ActorSystem, Task> body)
    {
        var second = ActorSystem.Create("energy", EnergyConfig.Build(Node));
        try
        {
            Akka.Cluster.Cluster.Get(second).Join(Akka.Cluster.Cluster.Get(Sys).SelfAddress);
            AwaitCondition(() => Akka.Cluster.Cluster.Get(Sys).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) == 2,
                TimeSpan.FromSeconds(30));
            await body(second);
        }
        finally
        {
            await second.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task What_one_node_publishes_reaches_a_subscriber_on_the_other()
    {
        await WithSecondNodeAsync(async second =>
        {
            // The subscriber's node starts its mediator first; the publisher's mediator gossips to it.
            var subscriber = CreateTestProbe(second);
            DistributedPubSub.Get(second).Mediator.Tell(new Subscribe("energy-test-topic", subscriber.Ref), subscriber.Ref);
            subscriber.ExpectMsg<SubscribeAck>(TimeSpan.FromSeconds(10));
            var sent = Refusal.From(new Energy.Channels.NotAnsweredInTime("registry"));
            var mediator = DistributedPubSub.Get(Sys).Mediator;
            // The publisher learns of the remote subscriber by gossip: publish until it has.
            await AwaitAssertAsync(() =>
            {
                mediator.Tell(new Publish("energy-test-topic", sent));
                Assert.Equal(sent, subscriber.ExpectMsg<Refusal>(TimeSpan.FromMilliseconds(500)));
            }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
        });
    }

    [Fact]
    public async Task An_answer_from_another_node_reaches_its_call_s_reply_address_and_only_that_call()
    {
        await WithSecondNodeAsync(async second =>
        {
            // An entity on the second node, as this node reaches it.
            var entity = CreateTestProbe(second);
            var remote = ((ExtendedActorSystem)Sys).Provider.ResolveActorRef(
                entity.Ref.Path.ToSerializationFormatWithAddress(Akka.Cluster.Cluster.Get(second).SelfAddress));
            using var replies = new Energy.Cluster.Kernel.ReplyAddresses(Sys, TimeSpan.FromSeconds(20));
            Refusal Named(string what) => Refusal.From(new Energy.Channels.NotAnsweredInTime(what));

            var first = replies.AskAsync(remote, Named("first")).AsTask();
            var later = replies.AskAsync(remote, Named("second")).AsTask();
            entity.ExpectMsg<Refusal>(TimeSpan.FromSeconds(10));
            var firstAddress = entity.LastSender;
            entity.ExpectMsg<Refusal>(TimeSpan.FromSeconds(10));
            var secondAddress = entity.LastSender;
            Assert.False(firstAddress.Path.Address.HasLocalScope);

            secondAddress.Tell(Named("answer to second"));
            Assert.Equal(Named("answer to second"), await later.WaitAsync(TimeSpan.FromSeconds(10)));
            // Replayed from the other node, an answer to an ended call reaches no call.
            secondAddress.Tell(Named("replayed"));
            firstAddress.Tell(Named("answer to first"));
            Assert.Equal(Named("answer to first"), await first.WaitAsync(TimeSpan.FromSeconds(10)));
        });
    }

    [Fact]
    public async Task Two_nodes_form_one_cluster_and_a_channel_settles_through_either_node()
    {
        var second = ActorSystem.Create("energy", EnergyConfig.Build(Node));
        try
        {
            var secondCluster = Akka.Cluster.Cluster.Get(second);
            secondCluster.Join(Akka.Cluster.Cluster.Get(Sys).SelfAddress);
            AwaitCondition(() => Akka.Cluster.Cluster.Get(Sys).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) == 2,
                TimeSpan.FromSeconds(30));
            var remote = EnergyEntities.Start(second, Settings);
            // A probe that lives on the second node: replies to it cross the cluster like any device's would.
            var probe = CreateTestProbe(second);

            using var cpoKey = DeviceKeyPair.Generate();
            using var vehicleKey = DeviceKeyPair.Generate();
            var cpo = OperatorId.Of("cpo-multi");
            var vehicle = DeviceId.Of("vehicle-multi");
            var payer = PartyId.From(vehicle);
            remote.Operators.Tell(TestAuthority.Admit(cpo, cpoKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner), probe.Ref);
            probe.ExpectMsg<OperatorView>(TimeSpan.FromSeconds(10));
            Regions.Devices.Tell(new EndorseDevice(vehicle, DeviceIdentity.Endorse(Network, cpo, cpoKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray()), TestActor);
            ExpectMsg<DeviceView>(TimeSpan.FromSeconds(10));
            remote.Ledger.Tell(new Mint(LedgerShards.For(payer, Settings.LedgerShardCount), "mint-multi", payer, new Money(1_000, Currency.Eur), TestAuthority.Bank), probe.Ref);
            probe.ExpectMsg<LedgerCommitted>(TimeSpan.FromSeconds(10));

            var channel = ChannelId.Of("channel-multi");
            remote.Channels.Tell(new OpenChannel(channel, Signed<StreamingOpening>.Sign(new StreamingOpening(Network, channel, payer,
                PartyId.From(cpo), new Money(600, Currency.Eur), DurationMs.FromSeconds(10)), vehicleKey).ToArray()), probe.Ref);
            probe.ExpectMsg<ChannelOpened>(TimeSpan.FromSeconds(10));
            Regions.Channels.Tell(new SubmitVoucher(channel, Signed<Voucher>.Sign(new Voucher(Network, channel, 1, new Money(250, Currency.Eur), new Money(250, Currency.Eur), PaymentPurpose.None), vehicleKey).ToArray()), TestActor);
            ExpectMsg<VoucherAcknowledged>(TimeSpan.FromSeconds(10));
            remote.Channels.Tell(new CloseChannel(channel, Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, channel, PartyId.From(cpo), Clock.Now), cpoKey).ToArray()), probe.Ref);
            var settled = probe.ExpectMsg<ChannelSettled>(TimeSpan.FromSeconds(10));

            Assert.Contains(settled.Payouts, p => p.Account == PartyId.From(cpo) && p.Amount.MinorUnits == 250);
            Assert.Contains(settled.Payouts, p => p.Account == payer && p.Amount.MinorUnits == 350);
            Regions.Channels.Tell(new GetChannel(channel), TestActor);
            Assert.Equal("settled", ExpectMsg<ChannelView>(TimeSpan.FromSeconds(10)).Status);
        }
        finally
        {
            await second.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }
}
