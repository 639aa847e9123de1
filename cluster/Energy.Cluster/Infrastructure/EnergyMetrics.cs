using System.Diagnostics;
using System.Diagnostics.Metrics;
using Energy.Channels.Streaming;

namespace Energy.Cluster;

/// <summary>The kinds of payment the network counts: a voucher for a charging session, for a toll pass or for nothing named, and a duplex channel's co-signed state.</summary>
public enum PaymentKind
{
    Streaming,
    Charging,
    Toll,
    Duplex,
}

/// <summary>
/// Every instrument of the node, on the one meter named <see cref="MeterName"/>. Instruments are created once;
/// a measurement on a hot path takes one prepared tag and allocates nothing, and costs a flag test while no
/// exporter listens. Tags name kinds only (a payment's kind, an entity's kind, a ledger total): never a device,
/// a party, an amount or an address, so that the series stay few and say nothing about anyone.
/// </summary>
public static class EnergyMetrics
{
    public const string MeterName = "Energy";

    /// <summary>The tag keys the node's own instruments use; nothing else is ever attached.</summary>
    public static readonly IReadOnlySet<string> TagKeys = new HashSet<string>(StringComparer.Ordinal) { "kind", "entity", "total" };

    public static readonly Meter Meter = new(MeterName);

    // Seconds from half a millisecond (a voucher on an idle node) to half a minute (a toll answer's bound many times over).
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    // Events per journal write: one entity alone up to the group commit's bound of 500 writes, each with a few events.
    private static readonly long[] EventBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000];

    public static readonly Counter<long> Payments = Meter.CreateCounter<long>("energy.payments", "{payment}",
        "Payments accepted and durable, by kind (charging, toll, duplex, streaming)");

    public static readonly Histogram<double> VoucherAcceptDuration = Meter.CreateHistogram("energy.voucher.accept.duration", "s",
        "From a payment's arrival at its channel's entity to its durable acceptance, by kind", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    public static readonly Histogram<long> JournalBatchSize = Meter.CreateHistogram("energy.journal.batch.size", "{event}",
        "Events in one journal write (one transaction gathering the writes of many entities)", tags: null,
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = EventBuckets });

    public static readonly Histogram<double> JournalWriteDuration = Meter.CreateHistogram("energy.journal.write.duration", "s",
        "How long one journal write takes, from its start to its transaction's end", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    public static readonly Counter<long> EntityActivations = Meter.CreateCounter<long>("energy.entity.activations", "{activation}",
        "Entities started on this node (recovered from the journal), by kind of entity");

    public static readonly UpDownCounter<long> ChannelsOpen = Meter.CreateUpDownCounter<long>("energy.channels.open", "{channel}",
        "Channels open and not yet settled whose entity runs on this node, by kind (streaming, duplex)");

    public static readonly UpDownCounter<long> OcppConnections = Meter.CreateUpDownCounter<long>("energy.ocpp.connections", "{connection}",
        "OCPP charge points connected to this node");

    public static readonly UpDownCounter<long> GatewayConnections = Meter.CreateUpDownCounter<long>("energy.gateway.connections", "{connection}",
        "Device gateway WebSocket connections to this node");

    public static readonly Histogram<double> TollPaymentLatency = Meter.CreateHistogram("energy.toll.payment.latency", "s",
        "From a gantry's detection of a vehicle (the time in its signed toll request) to the toll paid and durable", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    private static readonly KeyValuePair<string, object?>[] KindTags =
        [Tag("kind", "streaming"), Tag("kind", "charging"), Tag("kind", "toll"), Tag("kind", "duplex")];

    private static readonly KeyValuePair<string, object?> StreamingChannel = Tag("kind", "streaming");
    private static readonly KeyValuePair<string, object?> DuplexChannel = Tag("kind", "duplex");

    private static Func<IEnumerable<Measurement<long>>> _ledgerTotals = () => [];

    static EnergyMetrics()
    {
        Meter.CreateObservableGauge("energy.ledger.totals", () => _ledgerTotals(), "{minor_unit}",
            "The ledger's totals in minor units (minted, withdrawn, balances, escrows), over the ledger shards this node holds");
    }

    /// <summary>The kind of a voucher's payment, from the purpose it names.</summary>
    public static PaymentKind KindOf(PaymentPurpose purpose) => purpose.Kind switch
    {
        PurposeKind.Session => PaymentKind.Charging,
        PurposeKind.TollPass => PaymentKind.Toll,
        _ => PaymentKind.Streaming,
    };

    /// <summary>The kind's name, as its tag says it.</summary>
    public static string NameOf(PaymentKind kind) => (string)KindTags[(int)kind].Value!;

    /// <summary>A payment is accepted and durable: counted once, and timed from <paramref name="arrivedAt"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public static void PaymentDurable(PaymentKind kind, long arrivedAt)
    {
        var tag = KindTags[(int)kind];
        Payments.Add(1, tag);
        if (VoucherAcceptDuration.Enabled) VoucherAcceptDuration.Record(Stopwatch.GetElapsedTime(arrivedAt).TotalSeconds, tag);
    }

    /// <summary>An entity of this kind recovered and runs on this node (the kind is its shard region's type name).</summary>
    public static void EntityActivated(string entity) => EntityActivations.Add(1, Tag("entity", entity));

    /// <summary>A channel whose entity runs here became open (+1), or was settled or stopped while open (-1).</summary>
    public static void ChannelOpen(bool duplex, int change) => ChannelsOpen.Add(change, duplex ? DuplexChannel : StreamingChannel);

    public static void TollPaid(TimeSpan sinceDetection) => TollPaymentLatency.Record(Math.Max(0, sinceDetection.TotalSeconds));

    /// <summary>Where the ledger totals gauge reads from: the node's own figures, kept by the ledger shards it holds (read without asking any entity).</summary>
    public static void ObserveLedgerTotals(Func<IEnumerable<Measurement<long>>> totals) => _ledgerTotals = totals;

    public static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
