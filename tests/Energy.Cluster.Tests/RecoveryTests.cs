using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Ledger;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

public sealed class RecoveryOnSqlite(ITestOutputHelper output) : RecoveryTests(TestStores.Sqlite(), output);

public sealed class RecoveryOnPostgreSql(ITestOutputHelper output) : RecoveryTests(TestStores.PostgreSql(), output);

/// <summary>Stop a node, start it again over the same journal: every entity comes back with the same state.</summary>
public abstract class RecoveryTests(NodeOptions store, ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly OperatorId Cpo = OperatorId.Of("cpo-r");
    private static readonly ChannelId Duplex = ChannelId.Of("duplex-r");
    private static readonly DeviceId Stolen = DeviceId.Of("vehicle-stolen");
    private static readonly PaymentPurpose Purpose = Signing.Session("session-r");

    private static async Task<object> AskAsync(IActorRef region, object message) => await region.Ask<object>(message, TimeSpan.FromSeconds(15));

    [Fact]
    public async Task A_restarted_node_reads_every_devices_registration_and_revocation_without_waking_a_twin()
    {
        using var nodeKey = DeviceKeyPair.Generate();
        using var cpoKey = DeviceKeyPair.Generate();
        using var vehicleKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var settings = new EnergySettings(ClusterTestKit.Network, Currency.Eur, 4, nodeKey, clock) { Authority = TestAuthority.Authority };
        var run = Guid.NewGuid().ToString("N")[..8];
        var vehicle = DeviceId.Of($"vehicle-d-{run}");
        var stolen = DeviceId.Of($"vehicle-s-{run}");
        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var r = node.Regions;
            Assert.IsType<OperatorView>(await AskAsync(r.Operators, TestAuthority.Admit(Cpo, cpoKey, OperatorRoles.FleetOwner)));
            foreach (var device in new[] { vehicle, stolen })
                Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(device,
                    DeviceIdentity.Endorse(ClusterTestKit.Network, Cpo, cpoKey, device, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray())));
            Assert.True(Assert.IsType<DeviceView>(await AskAsync(r.Devices, new RevokeDevice(stolen,
                Signed<Revocation>.Sign(new Revocation(ClusterTestKit.Network, Cpo, stolen, clock.Now), cpoKey).ToArray()))).Revoked);
        }

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var directory = DeviceDirectory.Get(node.System);
            await directory.Loaded.WaitAsync(TimeSpan.FromSeconds(30));
            var read = Assert.IsType<DeviceView>(directory.Find(vehicle));
            Assert.Equal((Cpo, DeviceRole.Vehicle, vehicleKey.PublicKey.Hex, false), (read.Operator, read.Role, read.PublicKeyHex, read.Revoked));
            Assert.True(directory.Find(stolen)?.Revoked);
            Assert.Null(directory.Find(DeviceId.Of($"vehicle-x-{run}")));
            // Read from the journal: no twin was woken for it.
            var devices = await node.Regions.Devices.Ask<Akka.Cluster.Sharding.CurrentShardRegionState>(Akka.Cluster.Sharding.GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
            Assert.All(devices.Shards, shard => Assert.Empty(shard.EntityIds));
        }
    }

    [Fact]
    public async Task A_duplex_state_from_a_party_quarantined_before_a_restart_is_refused_after_it()
    {
        using var nodeKey = DeviceKeyPair.Generate();
        using var cpoKey = DeviceKeyPair.Generate();
        using var meterKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var settings = new EnergySettings(ClusterTestKit.Network, Currency.Eur, 4, nodeKey, clock)
        {
            Authority = TestAuthority.Authority,
            MinChallengeWindow = DurationMs.FromSeconds(10),
        };
        var meter = DeviceId.Of("meter-q");
        var party = PartyId.From(meter);
        var channel = ChannelId.Of("duplex-q");
        byte[] State(ulong version, long a, long b)
        {
            var state = new DuplexState(ClusterTestKit.Network, channel, version, new Money(a, Currency.Eur), new Money(b, Currency.Eur), false);
            var body = Signed<DuplexState>.EncodeBody(state);
            return Signed<DuplexState>.Assemble(state, meterKey.Sign(body), cpoKey.Sign(body)).ToArray();
        }

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var r = node.Regions;
            Assert.IsType<OperatorView>(await AskAsync(r.Operators, TestAuthority.Admit(Cpo, cpoKey, OperatorRoles.GridOperator)));
            Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(meter,
                DeviceIdentity.Endorse(ClusterTestKit.Network, Cpo, cpoKey, meter, DeviceRole.Meter, meterKey.PublicKey).Endorsement.ToArray())));
            Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(LedgerShards.For(party, 4), "fund", party, new Money(500, Currency.Eur), TestAuthority.Bank)));
            var opening = new DuplexOpening(ClusterTestKit.Network, channel, party, PartyId.From(Cpo), new Money(500, Currency.Eur), new Money(0, Currency.Eur), DurationMs.FromSeconds(30));
            var openingBody = Signed<DuplexOpening>.EncodeBody(opening);
            Assert.IsType<DuplexChannelOpened>(await AskAsync(r.DuplexChannels, new OpenDuplexChannel(channel,
                Signed<DuplexOpening>.Assemble(opening, meterKey.Sign(openingBody), cpoKey.Sign(openingBody)).ToArray())));
            Assert.IsType<DuplexStateAcknowledged>(await AskAsync(r.DuplexChannels, new SubmitDuplexState(channel, State(1, 400, 100))));
            Assert.True(Assert.IsType<DeviceView>(await AskAsync(r.Devices, new QuarantineDevice(meter,
                Signed<Quarantine>.Sign(new Quarantine(ClusterTestKit.Network, Cpo, meter, true, 1, clock.Now), cpoKey).ToArray()))).Quarantined);
        }

        // The restarted node has heard of no quarantine yet: the channel asks the twins before it takes a state.
        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var refusal = Assert.IsType<Refusal>(await AskAsync(node.Regions.DuplexChannels, new SubmitDuplexState(channel, State(2, 0, 500))));
            Assert.Equal("PartyQuarantined", refusal.Code);
            Assert.Equal(1UL, Assert.IsType<DuplexChannelView>(await AskAsync(node.Regions.DuplexChannels, new GetDuplexChannel(channel))).Version);
        }
    }

    [Fact]
    public async Task Ledger_node_admissions_survive_a_restart_and_an_audit_takes_an_admitted_nodes_blocks()
    {
        using var firstNodeKey = DeviceKeyPair.Generate();
        using var secondNodeKey = DeviceKeyPair.Generate();
        using var withdrawnKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var first = new EnergySettings(ClusterTestKit.Network, Currency.Eur, 4, firstNodeKey, clock) { Authority = TestAuthority.Authority };
        byte[] Statement(DevicePublicKey key, bool admitted, ulong version) => AuthorityApproved<LedgerNodeAdmission>.Sign(
            new LedgerNodeAdmission(ClusterTestKit.Network, key, admitted, version, clock.Now), [(0, TestAuthority.Key)]).ToArray();
        var account = PartyId.Of("device:ledger-node-test");
        var shard = LedgerShards.For(account, 4);

        await using (var node = await TestNode.StartAsync(store, first))
        {
            var r = node.Regions;
            // The first node writes a block; then the authority admits the second node's key and admits and withdraws a third.
            Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(shard, "ln-1", account, new Money(5, Currency.Eur), TestAuthority.Bank)));
            Assert.True(Assert.IsType<LedgerNodeView>(await AskAsync(r.LedgerNodes, new AdmitLedgerNode(Statement(secondNodeKey.PublicKey, true, 1)))).Admitted);
            Assert.IsType<LedgerNodeView>(await AskAsync(r.LedgerNodes, new AdmitLedgerNode(Statement(withdrawnKey.PublicKey, true, 1))));
            Assert.False(Assert.IsType<LedgerNodeView>(await AskAsync(r.LedgerNodes, new AdmitLedgerNode(Statement(withdrawnKey.PublicKey, false, 2)))).Admitted);
        }

        // The same journal under the second node's key: its own blocks and the first node's, which it does not know by configuration.
        var second = first with { NodeKey = secondNodeKey };
        await using (var node = await TestNode.StartAsync(store, second))
        {
            var r = node.Regions;
            Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(shard, "ln-2", account, new Money(5, Currency.Eur), TestAuthority.Bank)));
            var nodes = Assert.IsType<LedgerNodeList>(await AskAsync(r.LedgerNodes, GetLedgerNodes.Instance));
            Assert.Equal(new[] { (secondNodeKey.PublicKey.Hex, true, 1UL), (withdrawnKey.PublicKey.Hex, false, 2UL) }.OrderBy(n => n.Item1, StringComparer.Ordinal),
                nodes.Nodes.Select(n => (n.Key, n.Admitted, n.Version)));
            var admitted = nodes.Nodes.Where(n => n.Admitted).Select(n => n.Key).ToHashSet(StringComparer.Ordinal);

            // Without the first node's key (neither configured nor admitted) its block does not audit as intact here...
            var untrusted = await LedgerAudit.RunAsync(node.System, shard, LedgerSigners.Of(second, admitted));
            Assert.False(untrusted.Intact);
            Assert.Contains(firstNodeKey.PublicKey.Hex, untrusted.Reason, StringComparison.Ordinal);
            // ...and once configured, or admitted, the whole chain does.
            Assert.True((await LedgerAudit.RunAsync(node.System, shard, LedgerSigners.Of(second with { TrustedNodeKeys = new HashSet<string> { firstNodeKey.PublicKey.Hex } }, admitted))).Intact);
            Assert.IsType<LedgerNodeView>(await AskAsync(r.LedgerNodes, new AdmitLedgerNode(Statement(firstNodeKey.PublicKey, true, 1))));
            admitted.Add(firstNodeKey.PublicKey.Hex);
            var audit = await LedgerAudit.RunAsync(node.System, shard, LedgerSigners.Of(second, admitted));
            Assert.True(audit.Intact, audit.Reason);
            // A replay of the withdrawn key's admission is refused by name.
            Assert.Equal("StaleOrder", Assert.IsType<Refusal>(await AskAsync(r.LedgerNodes, new AdmitLedgerNode(Statement(withdrawnKey.PublicKey, true, 1)))).Code);
        }
    }

    [Fact]
    public async Task Every_entity_recovers_its_state_after_a_restart()
    {
        using var nodeKey = DeviceKeyPair.Generate();
        using var cpoKey = DeviceKeyPair.Generate();
        using var vehicleKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var settings = new EnergySettings(ClusterTestKit.Network, Currency.Eur, 4, nodeKey, clock)
        {
            Authority = TestAuthority.Authority,
            ChannelSnapshotEveryEvents = 5,
            LedgerSnapshotEveryBlocks = 3,
            MinChallengeWindow = DurationMs.FromSeconds(10),
        };
        var vehicle = DeviceId.Of("vehicle-r");
        var payer = PartyId.From(vehicle);
        var open = ChannelId.Of("channel-open");
        var settled = ChannelId.Of("channel-settled");
        object[] before;

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var r = node.Regions;
            Assert.IsType<OperatorView>(await AskAsync(r.Operators, TestAuthority.Admit(Cpo, cpoKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner)));
            Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(vehicle,
                DeviceIdentity.Endorse(ClusterTestKit.Network, Cpo, cpoKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray())));
            Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(LedgerShards.For(payer, 4), "fund", payer, new Money(10_000, Currency.Eur), TestAuthority.Bank)));
            Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(Stolen,
                DeviceIdentity.Endorse(ClusterTestKit.Network, Cpo, cpoKey, Stolen, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray())));
            Assert.True(Assert.IsType<DeviceView>(await AskAsync(r.Devices, new RevokeDevice(Stolen,
                Signed<Revocation>.Sign(new Revocation(ClusterTestKit.Network, Cpo, Stolen, clock.Now), cpoKey).ToArray()))).Revoked);
            foreach (var channel in new[] { open, settled })
            {
                Assert.IsType<ChannelOpened>(await AskAsync(r.Channels, new OpenChannel(channel, Signing.Opening(channel, payer, PartyId.From(Cpo), 2_000, vehicleKey))));
                for (ulong i = 1; i <= 12; i++)
                    Assert.IsType<VoucherAcknowledged>(await AskAsync(r.Channels, new SubmitVoucher(channel, Signing.Voucher(channel, i, (long)i * 10, 10, vehicleKey, i % 2 == 0 ? Purpose : PaymentPurpose.None))));
            }
            Assert.IsType<ChannelSettled>(await AskAsync(r.Channels, new CloseChannel(settled, Signing.Close(settled, PartyId.From(Cpo), cpoKey, clock.Now))));
            // A duplex channel between the vehicle and the operator, with co-signed states.
            var opening = new DuplexOpening(ClusterTestKit.Network, Duplex, payer, PartyId.From(Cpo), new Money(300, Currency.Eur), new Money(0, Currency.Eur), DurationMs.FromSeconds(30));
            var openingBody = Signed<DuplexOpening>.EncodeBody(opening);
            Assert.IsType<DuplexChannelOpened>(await AskAsync(r.DuplexChannels, new OpenDuplexChannel(Duplex,
                Signed<DuplexOpening>.Assemble(opening, vehicleKey.Sign(openingBody), cpoKey.Sign(openingBody)).ToArray())));
            for (ulong v = 1; v <= 7; v++)
            {
                var state = new DuplexState(ClusterTestKit.Network, Duplex, v, new Money(300 - (long)v * 10, Currency.Eur), new Money((long)v * 10, Currency.Eur), false);
                var body = Signed<DuplexState>.EncodeBody(state);
                Assert.IsType<DuplexStateAcknowledged>(await AskAsync(r.DuplexChannels, new SubmitDuplexState(Duplex,
                    Signed<DuplexState>.Assemble(state, vehicleKey.Sign(body), cpoKey.Sign(body)).ToArray())));
            }
            await WaitConservedAsync(r);
            before = await SnapshotAsync(r, vehicle, payer, open, settled);
        }

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var after = await SnapshotAsync(node.Regions, vehicle, payer, open, settled);
            Assert.Equal(Describe(before), Describe(after));
            // Work goes on where it stopped: the next voucher, and a ledger chain that keeps growing and stays intact.
            Assert.IsType<VoucherAcknowledged>(await AskAsync(node.Regions.Channels, new SubmitVoucher(open, Signing.Voucher(open, 13, 130, 10, vehicleKey, Purpose))));
            Assert.Equal("VoucherNotNewer", Assert.IsType<Refusal>(await AskAsync(node.Regions.Channels, new SubmitVoucher(open, Signing.Voucher(open, 12, 120, 10, vehicleKey, Purpose)))).Code);
            var shard = LedgerShards.For(payer, 4);
            var height = ((ShardTotals)await AskAsync(node.Regions.Ledger, new GetShardTotals(shard))).Height;
            Assert.IsType<LedgerCommitted>(await AskAsync(node.Regions.Ledger, new Mint(shard, "fund-2", payer, new Money(1, Currency.Eur), TestAuthority.Bank)));
            Assert.Equal(height + 1, ((ShardTotals)await AskAsync(node.Regions.Ledger, new GetShardTotals(shard))).Height);
            var audit = await LedgerAudit.RunAsync(node.System, shard, settings);
            Assert.True(audit.Intact, audit.Reason);
        }
    }

    /// <summary>
    /// A restart wakes many entities at once and the journal reads them together: channels with no events past their
    /// opening, a few, more than the batched read brings (read one by one), and events after a snapshot, all asked for
    /// in the same moment, each recover exactly their own vouchers and take the next one.
    /// </summary>
    [Fact]
    public async Task Channels_woken_together_after_a_restart_recover_exactly_their_own_vouchers()
    {
        using var nodeKey = DeviceKeyPair.Generate();
        using var cpoKey = DeviceKeyPair.Generate();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        var settings = new EnergySettings(ClusterTestKit.Network, Currency.Eur, 4, nodeKey, clock)
        {
            Authority = TestAuthority.Authority,
            ChannelSnapshotEveryEvents = 100,
        };
        // 0 to 145 vouchers: none, up to the 64 a batched read brings, past it without a snapshot, and after a snapshot.
        var counts = Enumerable.Range(0, 30).Select(i => (ulong)(i * 5)).ToArray();
        var channels = counts.Select((_, i) => ChannelId.Of($"channel-w{i}")).ToArray();
        var keys = counts.Select(_ => DeviceKeyPair.Generate()).ToArray();
        try
        {
            await using (var node = await TestNode.StartAsync(store, settings))
            {
                var r = node.Regions;
                Assert.IsType<OperatorView>(await AskAsync(r.Operators, TestAuthority.Admit(Cpo, cpoKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner)));
                await Task.WhenAll(channels.Select(async (channel, i) =>
                {
                    var vehicle = DeviceId.Of($"vehicle-w{i}");
                    var payer = PartyId.From(vehicle);
                    Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(vehicle,
                        DeviceIdentity.Endorse(ClusterTestKit.Network, Cpo, cpoKey, vehicle, DeviceRole.Vehicle, keys[i].PublicKey).Endorsement.ToArray())));
                    Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(LedgerShards.For(payer, 4), "fund-" + i, payer, new Money(10_000, Currency.Eur), TestAuthority.Bank)));
                    Assert.IsType<ChannelOpened>(await AskAsync(r.Channels, new OpenChannel(channel, Signing.Opening(channel, payer, PartyId.From(Cpo), 9_000, keys[i]))));
                    for (ulong v = 1; v <= counts[i]; v++)
                    {
                        var answer = await AskAsync(r.Channels, new SubmitVoucher(channel, Signing.Voucher(channel, v, (long)v * (10 + i), 10 + i, keys[i], Purpose)));
                        Assert.True(answer is VoucherAcknowledged, $"{channel} voucher {v}: {answer}");
                    }
                }));
            }

            await using (var node = await TestNode.StartAsync(store, settings))
            {
                var views = await Task.WhenAll(channels.Select(c => AskAsync(node.Regions.Channels, new GetChannel(c))));
                for (var i = 0; i < channels.Length; i++)
                {
                    var view = Assert.IsType<ChannelView>(views[i]);
                    Assert.Equal(counts[i], view.LastSequence);
                    Assert.Equal((long)counts[i] * (10 + i), view.Paid?.MinorUnits ?? 0);
                }
                var next = await Task.WhenAll(channels.Select((c, i) =>
                    AskAsync(node.Regions.Channels, new SubmitVoucher(c, Signing.Voucher(c, counts[i] + 1, (long)(counts[i] + 1) * (10 + i), 10 + i, keys[i], Purpose)))));
                Assert.All(next, answer => Assert.IsType<VoucherAcknowledged>(answer));
            }
        }
        finally
        {
            foreach (var key in keys) key.Dispose();
        }
    }

    private static async Task WaitConservedAsync(EnergyRegions regions)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            var totals = LedgerTotals.From(await Task.WhenAll(LedgerShards.All(4).Select(async s => (ShardTotals)await AskAsync(regions.Ledger, new GetShardTotals(s)))));
            if (totals.Conserved && totals.InTransitMinorUnits == 0) return;
            await Task.Yield();
        }
        Assert.Fail("the ledger did not settle its credits in transit");
    }

    private static async Task<object[]> SnapshotAsync(EnergyRegions r, DeviceId vehicle, PartyId payer, ChannelId open, ChannelId settled) =>
    [
        await AskAsync(r.Operators, new GetOperator(Cpo)),
        await AskAsync(r.Devices, new GetDevice(vehicle)),
        await AskAsync(r.Devices, new GetDevice(Stolen)),
        await AskAsync(r.Ledger, new GetAccount(LedgerShards.For(payer, 4), payer)),
        await AskAsync(r.Ledger, new GetAccount(LedgerShards.For(PartyId.From(Cpo), 4), PartyId.From(Cpo))),
        await AskAsync(r.Channels, new GetChannel(open)),
        await AskAsync(r.Channels, new GetChannel(settled)),
        // What the vouchers naming a session paid survives snapshots and the batches of which only the newest was written.
        await AskAsync(r.Channels, new GetPurposePaid(open, Purpose)),
        await AskAsync(r.DuplexChannels, new GetDuplexChannel(Duplex)),
    ];

    private static string Describe(object[] views) =>
        string.Join("\n", views.Select(v => System.Text.Json.JsonSerializer.Serialize(v, v.GetType(), Serialization.EnergyJson.Options)));
}
