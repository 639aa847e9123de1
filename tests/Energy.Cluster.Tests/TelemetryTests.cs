using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Akka.Actor;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Kernel;
using Energy.Cluster.Ledger;
using Energy.Cluster.Registry;
using Energy.Cluster.Serialization;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

/// <summary>
/// The node's telemetry inside the cluster: a traceparent carried by a message between nodes makes the entity's span
/// its child; old messages read without one; a payment is counted once, when its acknowledgement goes out; the ledger's
/// running sums are its totals.
/// </summary>
public sealed class TelemetryTests(ITestOutputHelper output) : ClusterTestKit(TestStores.Sqlite(), output)
{
    private readonly DeviceKeyPair _cpoKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _vehicleKey = DeviceKeyPair.Generate();
    private static readonly OperatorId Cpo = OperatorId.Of("cpo-trace");

    private object Ask(object message, IActorRef region)
    {
        region.Tell(message, TestActor);
        return ExpectMsg<object>(TimeSpan.FromSeconds(10));
    }

    /// <summary>The message as another node receives it: written and read by the serializer that binds every message between nodes.</summary>
    private T OverTheWire<T>(T message) where T : notnull
    {
        var serializer = (EnergySerializer)Sys.Serialization.FindSerializerFor(message);
        return (T)serializer.FromBinary(serializer.ToBinary(message), serializer.Manifest(message));
    }

    private ChannelId OpenChannel(string name)
    {
        Assert.IsType<OperatorView>(Ask(TestAuthority.Admit(Cpo, _cpoKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner), Regions.Operators));
        var vehicle = DeviceId.Of("vehicle-" + name);
        Assert.IsType<DeviceView>(Ask(new EndorseDevice(vehicle,
            DeviceIdentity.Endorse(Network, Cpo, _cpoKey, vehicle, DeviceRole.Vehicle, _vehicleKey.PublicKey).Endorsement.ToArray()), Regions.Devices));
        var party = PartyId.From(vehicle);
        Assert.IsType<LedgerCommitted>(Ask(new Mint(LedgerShards.For(party, Settings.LedgerShardCount), "fund-" + name, party, new Money(5_000, Currency.Eur), TestAuthority.Bank),
            Regions.Ledger));
        var channel = ChannelId.Of("channel-" + name);
        Assert.IsType<ChannelOpened>(Ask(new OpenChannel(channel, Signing.Opening(channel, party, PartyId.From(Cpo), 1_000, _vehicleKey)), Regions.Channels));
        return channel;
    }

    /// <summary>Every span of the Energy source that ends while the listener lives, recorded.</summary>
    private sealed class Spans : IDisposable
    {
        private readonly ActivityListener _listener;

        public Spans()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == EnergyTracing.SourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = Ended.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ConcurrentQueue<System.Diagnostics.Activity> Ended { get; } = new();

        public System.Diagnostics.Activity One(string name, ActivityTraceId trace) => Assert.Single(Ended, span => span.OperationName == name && span.TraceId == trace);

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public void A_voucher_from_another_node_with_a_traceparent_is_handled_in_a_span_that_is_the_sender_s_child_and_ends_once_durable()
    {
        using var spans = new Spans();
        var channel = OpenChannel("traced");
        var (trace, sender) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());
        var traceParent = $"00-{trace.ToHexString()}-{sender.ToHexString()}-01";

        var submit = OverTheWire(new SubmitVoucher(channel, Signing.Voucher(channel, 1, 100, 100, _vehicleKey)) { TraceParent = traceParent });
        Assert.Equal(traceParent, submit.TraceParent);
        Assert.IsType<VoucherAcknowledged>(Ask(submit, Regions.Channels));

        // The span ends as the acknowledgement goes out: by the time the answer is here, it has ended.
        var span = spans.One("channel.voucher", trace);
        Assert.Equal((sender, ActivityStatusCode.Unset), (span.ParentSpanId, span.Status));
        Assert.Equal("streaming", span.GetTagItem("energy.payment.kind"));

        // A refused voucher ends its span at once, failed, with the refusal's code.
        Assert.IsType<Refusal>(Ask(OverTheWire(new SubmitVoucher(channel, Signing.Voucher(channel, 1, 100, 100, _vehicleKey)) { TraceParent = traceParent }), Regions.Channels));
        var refused = Assert.Single(spans.Ended, s => s.OperationName == "channel.voucher" && s.TraceId == trace && s.Status == ActivityStatusCode.Error);
        Assert.Equal(nameof(Energy.Channels.VoucherNotNewer), refused.StatusDescription);
    }

    [Fact]
    public void A_close_with_a_traceparent_settles_in_its_child_span_and_the_ledger_block_that_commits_it_links_to_that_span()
    {
        using var spans = new Spans();
        var channel = OpenChannel("settled");
        Assert.IsType<VoucherAcknowledged>(Ask(new SubmitVoucher(channel, Signing.Voucher(channel, 1, 300, 300, _vehicleKey)), Regions.Channels));
        var (trace, closer) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());

        var close = OverTheWire(new CloseChannel(channel, Signing.Close(channel, PartyId.From(Cpo), _cpoKey, Clock.Now)) { TraceParent = $"00-{trace.ToHexString()}-{closer.ToHexString()}-01" });
        Assert.IsType<ChannelSettled>(Ask(close, Regions.Channels));

        var settle = spans.One("channel.settle", trace);
        Assert.Equal(closer, settle.ParentSpanId);
        // The block serves many settlements: a trace of its own, linked to the settlement it committed.
        var block = Assert.Single(spans.Ended, s => s.OperationName == "ledger.block" && s.Links.Any(l => l.Context.SpanId == settle.SpanId));
        Assert.NotEqual(trace, block.TraceId);
        Assert.Equal(trace, block.Links.Single(l => l.Context.SpanId == settle.SpanId).Context.TraceId);
    }

    [Fact]
    public void A_traced_command_keeps_its_manifest_and_reads_as_before_without_a_traceparent()
    {
        var serializer = (EnergySerializer)Sys.Serialization.FindSerializerFor(new SubmitVoucher(ChannelId.Of("c"), [1]));
        var plain = new SubmitVoucher(ChannelId.Of("channel-old"), [1, 2, 3]);
        Assert.Equal("channel.submit-voucher.v1", serializer.Manifest(plain));
        // No traceparent, no field: the bytes are those of the message before the field existed.
        Assert.Equal("""{"channelId":"channel-old","voucher":"AQID"}""", Encoding.UTF8.GetString(serializer.ToBinary(plain)));
        var old = Assert.IsType<SubmitVoucher>(serializer.FromBinary(Encoding.UTF8.GetBytes("""{"channelId":"channel-old","voucher":"AQID"}"""), "channel.submit-voucher.v1"));
        Assert.Null(old.TraceParent);
        Assert.Equal(plain.Voucher, old.Voucher);
        // A field this node does not know is ignored, as an older node ignores the traceparent.
        var newer = Assert.IsType<ReleaseEscrow>(serializer.FromBinary(Encoding.UTF8.GetBytes(
            """{"shard":"ledger-1","escrow":"streaming/c/0000000000000000000000000000000000000000000000000000000000000000","holder":"device:v","payouts":[],"traceParent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","baggage":"x"}"""),
            "ledger.release-escrow.v2"));
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", newer.TraceParent);
    }

    [Fact]
    public void A_malformed_traceparent_starts_a_trace_of_its_own_instead_of_failing_the_payment()
    {
        using var spans = new Spans();
        var channel = OpenChannel("malformed");
        Assert.IsType<VoucherAcknowledged>(Ask(new SubmitVoucher(channel, Signing.Voucher(channel, 1, 100, 100, _vehicleKey)) { TraceParent = "00-not-a-trace-01" }, Regions.Channels));
        AwaitAssert(() => Assert.Contains(spans.Ended, s => s.OperationName == "channel.voucher" && s.ParentSpanId == default && s.GetTagItem("energy.payment.kind") is "streaming"),
            TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_payment_is_counted_once_by_its_kind_when_its_acknowledgement_goes_out_and_not_before()
    {
        // Measurements are taken on the thread that makes them: this test's only, whatever runs beside it.
        var thread = Environment.CurrentManagedThreadId;
        var counted = new List<(long Value, string? Kind)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == EnergyMetrics.MeterName && instrument.Name == "energy.payments") l.EnableMeasurementEvents(instrument); },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (Environment.CurrentManagedThreadId == thread) counted.Add((value, tags.Length == 1 && tags[0].Key == "kind" ? tags[0].Value as string : "tags: " + tags.Length));
        });
        listener.Start();
        var writes = new BatchedWrites("test", 10);
        var payer = CreateTestProbe();

        writes.Taken();
        writes.ReplyWhenDurable(payer.Ref, "charged", new PendingPayment(PaymentKind.Charging, Stopwatch.GetTimestamp(), null));
        writes.Taken();
        writes.ReplyWhenDurable(payer.Ref, "tolled", new PendingPayment(PaymentKind.Toll, Stopwatch.GetTimestamp(), null));
        writes.ReplyWhenDurable(payer.Ref, "not a payment");
        Assert.True(writes.TryStart(out var write));
        Assert.Empty(counted);

        writes.Written(write);
        payer.ExpectMsg("charged");
        payer.ExpectMsg("tolled");
        payer.ExpectMsg("not a payment");
        Assert.Equal([(1L, "charging"), (1L, "toll")], counted);
    }

    [Fact]
    public void A_voucher_s_kind_of_payment_is_the_purpose_it_names_and_every_kind_has_its_tag()
    {
        Assert.Equal(PaymentKind.Charging, EnergyMetrics.KindOf(Signing.Session("session-1")));
        Assert.Equal(PaymentKind.Toll, EnergyMetrics.KindOf(Signing.Pass("gantry-1.7")));
        Assert.Equal(PaymentKind.Streaming, EnergyMetrics.KindOf(Energy.Channels.Streaming.PaymentPurpose.None));
        Assert.Equal(["streaming", "charging", "toll", "duplex"], Enum.GetValues<PaymentKind>().Select(EnergyMetrics.NameOf));
    }

    [Fact]
    public void The_ledger_book_s_running_sums_are_its_totals_live_and_from_a_snapshot()
    {
        var book = new LedgerBook("ledger-0", 2, Currency.Eur);
        var here = Enumerable.Range(0, 100).Select(i => PartyId.From(DeviceId.Of($"v-{i}"))).First(p => LedgerShards.For(p, 2) == "ledger-0");
        var there = Enumerable.Range(0, 100).Select(i => PartyId.From(OperatorId.Of($"o-{i}"))).First(p => LedgerShards.For(p, 2) == "ledger-1");
        var escrow = new EscrowId(ChannelKind.Streaming, ChannelId.Of("c-1"), OpeningHash.Of([1]));
        void Apply(Energy.Channels.Result<LedgerEntry> decided) => book.Apply(decided.Value);
        Apply(book.DecideMint(new Mint("ledger-0", "m-1", here, new Money(1_000, Currency.Eur), TestAuthority.Bank)));
        Apply(book.DecideLock(new LockEscrow("ledger-0", escrow, here, new Money(600, Currency.Eur))));
        Apply(book.DecideRelease(new ReleaseEscrow("ledger-0", escrow, here, [new Payout(there, new Money(250, Currency.Eur)), new Payout(here, new Money(350, Currency.Eur))])));
        Apply(book.DecideWithdraw(new Withdraw("ledger-0", "w-1", here, new Money(100, Currency.Eur))));
        book.Apply(new CreditEntry("ledger-1", 1, here, 40, ChannelId.Of("c-2")));
        Apply(book.DecideLock(new LockEscrow("ledger-0", new EscrowId(ChannelKind.Streaming, ChannelId.Of("c-3"), OpeningHash.Of([3])), here, new Money(70, Currency.Eur))));

        var totals = book.Totals();
        Assert.Equal((totals.BalancesMinorUnits, totals.EscrowsMinorUnits), (book.BalancesTotal, book.EscrowsTotal));
        Assert.Equal(((Int128)620, (Int128)70), (book.BalancesTotal, book.EscrowsTotal));
        var recovered = LedgerBook.FromSnapshot(book.ToSnapshot(), 2);
        Assert.Equal((book.BalancesTotal, book.EscrowsTotal), (recovered.BalancesTotal, recovered.EscrowsTotal));
        Assert.Equal(new ShardFigures(1_000, 100, 620, 70), ShardFigures.Of(book));
    }
}
