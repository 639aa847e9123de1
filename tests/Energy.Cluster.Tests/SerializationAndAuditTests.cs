using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Hosting;
using Energy.Cluster.Ledger;
using Energy.Cluster.Registry;
using Energy.Cluster.Serialization;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using Energy.Lifecycles;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

/// <summary>A type of the same shape as IssuanceRecorded under another name, as after a rename.</summary>
public sealed record RenamedIssuanceRecorded(string RequestId, long AmountMinorUnits) : IEnergyMessage;

public sealed class SerializationAndAuditTests(ITestOutputHelper output) : TestKit(output: output)
{
    [Fact]
    public void Every_manifest_names_one_type_and_no_manifest_is_a_CLR_name()
    {
        var table = EnergySerializer.ScanManifests(EnergySerializer.MessageAssemblies);
        Assert.True(table.Count > 30, $"only {table.Count} manifests");
        Assert.All(table.Keys, manifest => Assert.Matches("^[a-z][a-z0-9.-]*\\.v[0-9]+$", manifest));
        var persisted = EnergySerializer.MessageAssemblies.SelectMany(a => a.GetTypes())
            .Where(t => typeof(IEnergyMessage).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false } && !t.IsNestedPrivate)
            .Where(t => t != typeof(RedeliverCredits));
        Assert.All(persisted, type => Assert.Contains(type, table.Values));
    }

    [Fact]
    public void An_event_written_before_its_type_was_renamed_still_reads_back()
    {
        var written = new IssuanceRecorded("fund-1", 1_000);
        var current = new EnergySerializer((ExtendedActorSystem)Sys);
        var bytes = current.ToBinary(written);
        var manifest = current.Manifest(written);

        var table = EnergySerializer.ScanManifests(EnergySerializer.MessageAssemblies);
        table[manifest] = typeof(RenamedIssuanceRecorded);
        var renamed = (RenamedIssuanceRecorded)new EnergySerializer((ExtendedActorSystem)Sys, table).FromBinary(bytes, manifest);

        Assert.Equal("registry.issuance-recorded.v1", manifest);
        Assert.Equal((written.RequestId, written.AmountMinorUnits), (renamed.RequestId, renamed.AmountMinorUnits));
    }

    [Fact]
    public void Session_and_pass_ids_are_stored_as_the_strings_they_were_before_they_had_types()
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        var recorded = new Energy.Lifecycles.Tolls.PassRecorded(PassId.Of("gantry-1.17"), [1, 2], new Timestamp(5));
        var json = System.Text.Encoding.UTF8.GetString(serializer.ToBinary(recorded));
        Assert.Contains("\"pass\":\"gantry-1.17\"", json, StringComparison.Ordinal);
        Assert.Equal(recorded.Pass, Assert.IsType<Energy.Lifecycles.Tolls.PassRecorded>(serializer.FromBinary(serializer.ToBinary(recorded), serializer.Manifest(recorded))).Pass);

        var progress = new Energy.Lifecycles.Charging.SessionProgress(SessionId.Of("charger-1.7"), Energy.Lifecycles.Charging.SessionStatus.AwaitingVehicle, 5, new Money(1, Currency.Eur), new Money(0, Currency.Eur));
        json = System.Text.Encoding.UTF8.GetString(serializer.ToBinary(progress));
        Assert.Contains("\"session\":\"charger-1.7\"", json, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"awaiting-vehicle\"", json, StringComparison.Ordinal);
        Assert.Equal(progress, serializer.FromBinary(serializer.ToBinary(progress), serializer.Manifest(progress)));
    }

    [Fact]
    public void Messages_and_events_that_moved_beside_the_protocol_keep_their_manifests_and_read_back_what_was_written_before()
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        var escrow = TestEscrows.Streaming("c-1");
        foreach (var (message, manifest) in new (object, string)[]
                 {
                     (new ChannelOpeningStarted([1, 2], "aa", "bb"), "channel.event.opening-started.v1"),
                     (new VoucherRecorded([3], []), "channel.event.voucher-recorded.v2"),
                     (new ChallengeWindowEnded(new Timestamp(5)), "channel.event.challenge-ended.v1"),
                     (new DuplexStateRecorded([4], new Timestamp(6)), "duplex.event.state-recorded.v1"),
                     (new LockEscrow("ledger-0", escrow, PartyId.Of("device:a"), new Money(5, Currency.Eur)), "ledger.lock-escrow.v2"),
                     (new EscrowLocked(escrow, PartyId.Of("device:a"), new Money(5, Currency.Eur), "ledger-0", 7), "ledger.escrow-locked.v1"),
                     (Refusal.From(new ChannelNotFound(ChannelId.Of("c-1"))), "error.v1"),
                 })
        {
            Assert.Equal(manifest, serializer.Manifest(message));
            var back = serializer.FromBinary(serializer.ToBinary(message), manifest);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType(), EnergyJson.Options),
                System.Text.Json.JsonSerializer.Serialize(back, back.GetType(), EnergyJson.Options));
        }

        // As a node wrote them before the types moved: the journal holds the manifest and the JSON, never a CLR name.
        var ended = Assert.IsType<ChallengeWindowEnded>(serializer.FromBinary("""{"at":5}"""u8.ToArray(), "channel.event.challenge-ended.v1"));
        Assert.Equal(new Timestamp(5), ended.At);
        var code = new ChannelNotFound(ChannelId.Of("c-1")).Code;
        var refusal = Assert.IsType<Refusal>(serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(
            $$$"""{"code":"{{{code}}}","message":"channel c-1 is not open","type":"ChannelNotFound","error":{"channelId":"c-1"}}"""), "error.v1"));
        Assert.Equal(new ChannelNotFound(ChannelId.Of("c-1")), refusal.Error);
    }

    [Fact]
    public void An_abandoned_streaming_opening_keeps_the_ledger_s_named_error_and_one_written_before_reads_back_with_its_code_and_sentence()
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        var ledgerSaid = Refusal.From(new InsufficientFunds(PartyId.Of("device:payer"), 3, 5));
        var abandoned = new ChannelOpeningAbandoned(ledgerSaid.Code, ledgerSaid.Message) { Refusal = ledgerSaid };
        var back = Assert.IsType<ChannelOpeningAbandoned>(serializer.FromBinary(serializer.ToBinary(abandoned), "channel.event.opening-abandoned.v1"));
        Assert.Equal(ledgerSaid.Error, Assert.IsType<InsufficientFunds>(back.ToRefusal().Error));

        // As a node wrote it before the refusal was kept whole: the code and the sentence, under the same manifest.
        var before = Assert.IsType<ChannelOpeningAbandoned>(serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(
            $$$"""{"code":"{{{ledgerSaid.Code}}}","message":"{{{ledgerSaid.Message}}}"}"""), "channel.event.opening-abandoned.v1"));
        Assert.Equal((ledgerSaid.Code, ledgerSaid.Message, (Refusal?)null), (before.Code, before.Message, before.Refusal));
        Assert.Equal(new Energy.Channels.RecordedError(ledgerSaid.Code, ledgerSaid.Message), before.ToRefusal().Error);
    }

    [Fact]
    public void A_charge_point_s_events_and_the_order_to_stop_an_unconsented_transaction_keep_their_manifests_beside_the_protocol()
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        foreach (var (message, manifest) in new (object, string)[]
                 {
                     (new Energy.Lifecycles.ChargePoints.ChargePointBooted("Energy", "Wallbox", new Timestamp(5)), "ocpp.event.boot.v1"),
                     (new Energy.Lifecycles.ChargePoints.TransactionStarted(1, 2, "vehicle-1", "Accepted", 100, new Timestamp(5)), "ocpp.event.transaction-started.v1"),
                     (new Energy.Lifecycles.ChargePoints.TransactionMeterValue(1, 150, new Timestamp(6)), "ocpp.event.meter-value.v1"),
                     (new Energy.Lifecycles.ChargePoints.TransactionStopped(1, 200, "Local", new Timestamp(7)), "ocpp.event.transaction-stopped.v1"),
                     (new Energy.Lifecycles.Charging.StopUnconsentedTransaction("cp-1", 1), "ocpp.stop-unconsented.v1"),
                 })
        {
            Assert.Equal(manifest, serializer.Manifest(message));
            var back = serializer.FromBinary(serializer.ToBinary(message), manifest);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType(), EnergyJson.Options),
                System.Text.Json.JsonSerializer.Serialize(back, back.GetType(), EnergyJson.Options));
        }

        // As a node wrote it before the type moved: the journal holds the manifest and the JSON, never a CLR name.
        var started = Assert.IsType<Energy.Lifecycles.ChargePoints.TransactionStarted>(serializer.FromBinary(
            """{"transactionId":1,"connectorId":2,"idTag":"vehicle-1","authorization":"Accepted","meterStartWh":100,"at":5}"""u8.ToArray(),
            "ocpp.event.transaction-started.v1"));
        Assert.Equal(new Energy.Lifecycles.ChargePoints.TransactionStarted(1, 2, "vehicle-1", "Accepted", 100, new Timestamp(5)), started);
    }

    [Fact]
    public void A_refused_duplex_opening_keeps_the_ledger_s_named_error_and_one_written_before_reads_back_with_its_code_and_sentence()
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        var ledgerSaid = Refusal.From(new InsufficientFunds(PartyId.Of("device:a"), 3, 5));
        var refused = new DuplexOpeningRefused(ledgerSaid.Code, ledgerSaid.Message) { Refusal = ledgerSaid };
        var back = Assert.IsType<DuplexOpeningRefused>(serializer.FromBinary(serializer.ToBinary(refused), "duplex.event.opening-refused.v1"));
        Assert.Equal(ledgerSaid.Error, back.Refusal!.Error);

        var before = Assert.IsType<DuplexOpeningRefused>(serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(
            $$$"""{"code":"{{{ledgerSaid.Code}}}","message":"{{{ledgerSaid.Message}}}"}"""), "duplex.event.opening-refused.v1"));
        Assert.Equal((ledgerSaid.Code, ledgerSaid.Message, (Refusal?)null), (before.Code, before.Message, before.Refusal));
    }

    [Fact]
    public void Every_energy_message_round_trips_through_the_serializer()
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        var block = SettlementBlock.Commit(ClusterTestKit.Network, "ledger-0", 1, SettlementBlock.GenesisHash, new Timestamp(1), Currency.Eur,
            [new MintEntry("r", PartyId.Of("device:a"), 5, TestAuthority.Bank), new EscrowReleaseEntry(TestEscrows.Streaming("c"), PartyId.Of("device:a"), 5, [new PayoutLine(PartyId.Of("device:b"), 5, "ledger-1", 1)])],
            DeviceKeyPair.Generate());
        foreach (var message in new object[] { block, new Mint("ledger-0", "r", PartyId.Of("device:a"), new Money(5, Currency.Eur), TestAuthority.Bank), Refusal.From(new InsufficientFunds(PartyId.Of("device:a"), 3, 5)) })
        {
            var back = serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType(), EnergyJson.Options),
                System.Text.Json.JsonSerializer.Serialize(back, back.GetType(), EnergyJson.Options));
        }
    }

    [Fact]
    public void A_refusal_crosses_nodes_as_its_typed_error_with_its_values()
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        foreach (var error in new ProtocolError[]
                 {
                     new InsufficientFunds(PartyId.Of("device:a"), 3, 5),
                     new Energy.Channels.Tolls.TollPriceChanged(DeviceId.Of("gantry-1"), new Money(120, Currency.Eur), new Money(119, Currency.Eur)),
                     new NotAnsweredInTime("registry"),
                     new MalformedValue("shard", "x", "a shard"),
                 })
        {
            var refusal = Refusal.From(error);
            var back = Assert.IsType<Refusal>(serializer.FromBinary(serializer.ToBinary(refusal), serializer.Manifest(refusal)));
            Assert.Equal(error, back.Error);
            Assert.Equal((error.Code, error.Describe()), (back.Code, back.Message));
        }
    }

    [Theory]
    [InlineData("""{"code":"NewerError","message":"a node of a newer version refused","type":"NewerError","error":{"x":1}}""", "NewerError")]
    [InlineData("""{"code":"InsufficientFunds","message":"values this node cannot read","type":"InsufficientFunds","error":{"account":"not a party"}}""", "InsufficientFunds")]
    [InlineData("""{"code":"Timeout","message":"the registry did not answer in time"}""", "Timeout")]
    public void A_refusal_whose_error_this_node_cannot_read_keeps_its_code_and_sentence(string json, string code)
    {
        var serializer = new EnergySerializer((ExtendedActorSystem)Sys);
        var back = Assert.IsType<Refusal>(serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(json), "error.v1"));
        var recorded = Assert.IsType<RecordedError>(back.Error);
        Assert.Equal(code, recorded.Code);
        Assert.Equal(System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("message").GetString(), back.Message);
    }

    [Fact]
    public void Every_error_of_the_network_has_a_name_of_its_own()
    {
        // The catalog refuses two error types of one name: a refusal names its error's type.
        Assert.True(ErrorCatalog.ByName.Count > 100);
        Assert.Contains(nameof(InsufficientFunds), ErrorCatalog.ByName.Keys);
        Assert.Contains(nameof(Energy.Lifecycles.Tolls.PassNotFound), ErrorCatalog.ByName.Keys);
        Assert.Throws<InvalidOperationException>(() => ErrorCatalog.Scan(typeof(ProtocolError).Assembly, typeof(Refusal).Assembly, typeof(ErrorCatalog).Assembly, typeof(SecondErrorNamed.InsufficientFunds).Assembly));
    }

    [Fact]
    public async Task The_journal_holds_stable_manifests_and_an_audit_names_the_first_tampered_block()
    {
        var store = TestStores.Sqlite();
        using var nodeKey = DeviceKeyPair.Generate();
        var settings = new EnergySettings(ClusterTestKit.Network, Currency.Eur, 2, nodeKey, new ManualClock(new Timestamp(1_800_000_000_000))) { Authority = TestAuthority.Authority };
        var account = PartyId.Of("device:alice");
        var shard = LedgerShards.For(account, 2);
        await using (var node = await TestNode.StartAsync(store, settings))
        {
            for (var i = 1; i <= 4; i++)
                Assert.IsType<LedgerCommitted>(await node.Regions.Ledger.Ask<object>(new Mint(shard, $"mint-{i}", account, new Money(100 * i, Currency.Eur), TestAuthority.Bank), TimeSpan.FromSeconds(10)));
            Assert.True((await LedgerAudit.RunAsync(node.System, shard, settings)).Intact);
        }

        var database = new SqliteConnectionStringBuilder(store.SqliteConnectionString) { Pooling = false }.ToString();
        await using (var connection = new SqliteConnection(database))
        {
            await connection.OpenAsync();
            var manifests = new List<string>();
            await using (var read = connection.CreateCommand())
            {
                read.CommandText = "SELECT DISTINCT manifest FROM event_journal";
                await using var reader = await read.ExecuteReaderAsync();
                while (await reader.ReadAsync()) manifests.Add(reader.GetString(0));
            }
            Assert.Contains("ledger.block.v2", manifests);
            Assert.All(manifests, m => Assert.DoesNotContain("Energy.", m, StringComparison.Ordinal));

            // Someone edits block 3 of the shard: 300 becomes 301.
            await using var tamper = connection.CreateCommand();
            tamper.CommandText = "SELECT payload FROM event_journal WHERE persistence_id = $id AND sequence_nr = 3";
            tamper.Parameters.AddWithValue("$id", shard);
            var json = System.Text.Encoding.UTF8.GetString((byte[])(await tamper.ExecuteScalarAsync())!);
            Assert.Contains("\"amount\":300", json, StringComparison.Ordinal);
            tamper.CommandText = "UPDATE event_journal SET payload = $payload WHERE persistence_id = $id AND sequence_nr = 3";
            tamper.Parameters.AddWithValue("$payload", System.Text.Encoding.UTF8.GetBytes(json.Replace("\"amount\":300", "\"amount\":301", StringComparison.Ordinal)));
            Assert.Equal(1, await tamper.ExecuteNonQueryAsync());
        }

        await using (var node = await TestNode.StartAsync(store, settings))
        {
            var audit = await LedgerAudit.RunAsync(node.System, shard, settings);
            Assert.False(audit.Intact);
            Assert.Equal(3UL, audit.FirstBadHeight);
            Assert.Equal(2UL, audit.BlocksChecked);
            Assert.Contains("entries", audit.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void An_audit_refuses_a_block_signed_by_an_untrusted_key_and_a_broken_link()
    {
        using var node = DeviceKeyPair.Generate();
        using var intruder = DeviceKeyPair.Generate();
        var first = SettlementBlock.Commit(ClusterTestKit.Network, "ledger-0", 1, SettlementBlock.GenesisHash, new Timestamp(1), Currency.Eur, [new MintEntry("a", PartyId.Of("device:a"), 1, TestAuthority.Bank)], node);
        var second = SettlementBlock.Commit(ClusterTestKit.Network, "ledger-0", 2, first.BlockHash(), new Timestamp(2), Currency.Eur, [new MintEntry("b", PartyId.Of("device:a"), 1, TestAuthority.Bank)], intruder);
        var unlinked = SettlementBlock.Commit(ClusterTestKit.Network, "ledger-0", 2, SettlementBlock.GenesisHash, new Timestamp(2), Currency.Eur, [new MintEntry("b", PartyId.Of("device:a"), 1, TestAuthority.Bank)], node);
        bool Trusted(string key) => key == node.PublicKey.Hex;

        Assert.True(LedgerAudit.Verify("ledger-0", [first], Trusted).Intact);
        Assert.Equal(2UL, LedgerAudit.Verify("ledger-0", [first, second], Trusted).FirstBadHeight);
        var broken = LedgerAudit.Verify("ledger-0", [first, unlinked], Trusted);
        Assert.Equal(2UL, broken.FirstBadHeight);
        Assert.Contains("previous-hash", broken.Reason, StringComparison.Ordinal);
        var forgedSignature = first with { Signature = second.Signature };
        Assert.Contains("signature", LedgerAudit.Verify("ledger-0", [forgedSignature], Trusted).Reason, StringComparison.Ordinal);
    }
}

/// <summary>An error type named like one of the network's, for the catalog to refuse.</summary>
public static class SecondErrorNamed
{
    public sealed record InsufficientFunds : ProtocolError
    {
        public override string Describe() => "a second error of this name";
    }
}
