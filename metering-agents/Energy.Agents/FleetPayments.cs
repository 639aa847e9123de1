using System.Diagnostics;
using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Agents;

/// <summary>
/// A fleet paying a charge point operator over streaming channels through whichever of several nodes answers:
/// each payment is one voucher, a minor unit more than the last, acknowledged by the network once durable. A
/// voucher whose answer did not come (a node gone, a timeout) is sent again, to the next node, until the network
/// either acknowledges it or says it already holds it. The fleet keeps what each channel was acknowledged, so
/// that after a crash one can check that nothing acknowledged was lost.
/// </summary>
public sealed class FleetPayments : IDisposable
{
    /// <summary>How long one payment is tried, over every node, before it is given up as not answered.</summary>
    public static readonly TimeSpan PaymentBound = TimeSpan.FromSeconds(90);

    /// <summary>
    /// How long one try waits for its answer before the voucher goes to the next node. Shorter than the node's own
    /// bound on an entity's answer (10 s): a payment to an entity whose node just died is sent again as soon as the
    /// survivors may serve it, not ten seconds later.
    /// </summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A node that failed to answer is passed over for this long.</summary>
    private static readonly TimeSpan NodeBackoff = TimeSpan.FromMilliseconds(500);

    private readonly HttpClient[] _http;
    private readonly HttpClient[] _paymentHttp;
    private readonly NodeClient[] _nodes;
    private readonly NodeClient[] _paymentNodes;
    private readonly long[] _nodeDownUntil;
    private readonly Vehicle[] _vehicles;
    private readonly DeviceKeyPair _ownerKey;
    private readonly DeviceKeyPair _payeeKey;
    private readonly byte[] _payeeSeed;

    private FleetPayments(HttpClient[] http, NodeClient[] nodes, byte[] ownerSeed, byte[] payeeSeed, OperatorAgent owner, OperatorAgent payee, Vehicle[] vehicles)
    {
        _http = http;
        _nodes = nodes;
        _paymentHttp = http.Select(h => new HttpClient { BaseAddress = h.BaseAddress, Timeout = AnswerTimeout }).ToArray();
        _paymentNodes = _paymentHttp.Select(h => new NodeClient(h)).ToArray();
        _nodeDownUntil = new long[nodes.Length];
        Owner = owner;
        Payee = payee;
        _vehicles = vehicles;
        _ownerKey = DeviceKeyPair.FromSeed(ownerSeed).Unwrap();
        _payeeKey = DeviceKeyPair.FromSeed(payeeSeed).Unwrap();
        _payeeSeed = payeeSeed;
    }

    /// <summary>The fleet owner, which is also the settlement bank that funded the vehicles (it reads the ledger's totals).</summary>
    public OperatorAgent Owner { get; }

    /// <summary>The charge point operator every channel pays.</summary>
    public OperatorAgent Payee { get; }

    public int Vehicles => _vehicles.Length;

    public IEnumerable<ChannelId> Channels => _vehicles.Select(v => v.Channel);

    /// <summary>Vouchers the network acknowledged.</summary>
    public long Acknowledged => _vehicles.Sum(v => Volatile.Read(ref v.AcknowledgedCount));

    /// <summary>Vouchers sent again after an answer did not come, that the network said it already held.</summary>
    public long HeldAlready => _vehicles.Sum(v => Volatile.Read(ref v.HeldAlreadyCount));

    /// <summary>When the vehicle's last acknowledgement came, on the <see cref="Stopwatch"/> clock.</summary>
    public long LastAcknowledgedAt(int vehicle) => Volatile.Read(ref _vehicles[vehicle].LastAcknowledgedAt);

    /// <summary>
    /// When the try that the network last acknowledged was sent, on the <see cref="Stopwatch"/> clock: an
    /// acknowledgement of a try sent after a moment proves the channel served after that moment (an answer that
    /// was already on its way when a node died proves nothing).
    /// </summary>
    public long LastAcknowledgedSentAt(int vehicle) => Volatile.Read(ref _vehicles[vehicle].LastAcknowledgedSentAt);

    private sealed class Vehicle(VehicleAgent agent, ChannelId channel, Money deposit) : IDisposable
    {
        public VehicleAgent Agent { get; } = agent;
        public ChannelId Channel { get; } = channel;
        public Money Deposit { get; } = deposit;
        public SemaphoreSlim OneAtATime { get; } = new(1, 1);
        public ulong Sequence;
        public ulong AcknowledgedSequence;
        public long AcknowledgedCumulative;
        public long AcknowledgedCount;
        public long HeldAlreadyCount;
        public long LastAcknowledgedAt;
        public long LastAcknowledgedSentAt;

        public void Dispose()
        {
            Agent.Dispose();
            OneAtATime.Dispose();
        }
    }

    /// <summary>
    /// Admits the fleet owner (also the settlement bank) and a charge point operator, endorses and funds the
    /// vehicles, and opens one channel per vehicle, spreading the calls over the nodes.
    /// </summary>
    public static async Task<FleetPayments> StartAsync(IReadOnlyList<Uri> nodes, NetworkAuthorityAgent authority, NetworkId network, Currency currency,
        int vehicles, string run, long depositMinorUnits = 1_000_000)
    {
        var http = nodes.Select(url => new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) }).ToArray();
        var clients = http.Select(h => new NodeClient(h)).ToArray();
        // The operators' keys are kept as seeds here, so that each node's client can sign as them.
        byte[] ownerSeed, payeeSeed;
        using (var ownerKey = DeviceKeyPair.Generate()) ownerSeed = ownerKey.ExportSeed();
        using (var payeeKey = DeviceKeyPair.Generate()) payeeSeed = payeeKey.ExportSeed();
        var owner = new OperatorAgent(clients[0], network, OperatorId.Of($"fleet-{run}"), DeviceKeyPair.FromSeed(ownerSeed).Unwrap());
        var payee = new OperatorAgent(clients[0], network, OperatorId.Of($"cpo-{run}"), DeviceKeyPair.FromSeed(payeeSeed).Unwrap());
        var deposit = new Money(depositMinorUnits, currency);
        var fleet = Enumerable.Range(0, vehicles)
            .Select(i => new Vehicle(new VehicleAgent(network, DeviceId.Of($"vehicle-{run}-{i}")), ChannelId.Of($"pay-{run}-{i}"), deposit)).ToArray();
        var payments = new FleetPayments(http, clients, ownerSeed, payeeSeed, owner, payee, fleet);
        await owner.AdmitAsync(authority, OperatorRoles.FleetOwner | OperatorRoles.SettlementBank, new Money(long.MaxValue / 4, currency));
        await payee.AdmitAsync(authority, OperatorRoles.ChargePointOperator);
        await Parallel.ForEachAsync(Enumerable.Range(0, vehicles), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var vehicle = fleet[i];
            var node = clients[i % clients.Length];
            var endorsing = new OperatorAgent(node, network, owner.Id, DeviceKeyPair.FromSeed(ownerSeed).Unwrap());
            using (endorsing)
            {
                await UntilAnsweredAsync(() => endorsing.EndorseAsync(vehicle.Agent.Id, DeviceRole.Vehicle, vehicle.Agent.PublicKey), ErrorCodes.Of<DeviceAlreadyEndorsed>());
                // Funding is idempotent by its request id: a second try of a funding that landed is answered as the first.
                await UntilAnsweredAsync(() => endorsing.FundAsync(vehicle.Agent.Party, deposit, $"fund-{vehicle.Agent.Id}"));
            }
            await UntilAnsweredAsync(() => vehicle.Agent.OpenChannelAsync(node, vehicle.Channel, payee.Party, deposit, DurationMs.FromSeconds(60)), ErrorCodes.Of<ChannelAlreadyExists>());
        });
        return payments;
    }

    /// <summary>Tries of one step (a set-up step, a read, a close) that the network did not answer.</summary>
    private const int StepTries = 5;

    /// <summary>
    /// A step, sent again when the network gave no answer (a shard handed from one node to another, as the cluster
    /// forms or a restarted node rejoins, may drop the messages it held for it, and their asks time out). A retry
    /// refused with one of <paramref name="landed"/> (the device already endorsed, the channel already open or
    /// closed) means an earlier try landed.
    /// </summary>
    private static async Task UntilAnsweredAsync(Func<Task> step, params string[] landed) =>
        await UntilAnsweredAsync(async () => { await step(); return true; }, landed);

    private static async Task<T?> UntilAnsweredAsync<T>(Func<Task<T>> step, params string[] landed)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await step();
            }
            catch (Exception exception) when (IsNoAnswer(exception) && attempt < StepTries)
            {
                await Task.Delay(NodeBackoff);
            }
            catch (NodeClient.NodeRefusedException refused) when (attempt > 1 && landed.Contains(refused.Code))
            {
                return default;
            }
        }
    }

    /// <summary>What became of one payment.</summary>
    public enum Outcome
    {
        /// <summary>The network acknowledged the voucher: it is durable.</summary>
        Acknowledged,

        /// <summary>An earlier try of the same voucher, whose answer did not come, had made it durable.</summary>
        HeldAlready,
    }

    /// <summary>
    /// The vehicle pays one more minor unit: the next voucher, sent to the nodes in turn (starting with the
    /// vehicle's own) until the network acknowledges it or says it already holds it, within <see cref="PaymentBound"/>.
    /// One payment of a vehicle at a time: the next waits for the one before.
    /// </summary>
    public async Task<Outcome> PayAsync(int index, CancellationToken token)
    {
        var vehicle = _vehicles[index];
        await vehicle.OneAtATime.WaitAsync(token);
        try
        {
            var sequence = vehicle.Sequence + 1;
            var cumulative = new Money((long)sequence, vehicle.Deposit.Currency);
            if (cumulative.MinorUnits > vehicle.Deposit.MinorUnits) throw new InvalidOperationException($"{vehicle.Channel} has paid its whole deposit");
            var voucher = vehicle.Agent.SignVoucher(vehicle.Channel, sequence, cumulative, new Money(1, vehicle.Deposit.Currency), PaymentPurpose.None);
            var deadline = Stopwatch.GetTimestamp() + (long)(PaymentBound.TotalSeconds * Stopwatch.Frequency);
            for (var attempt = 0; ; attempt++)
            {
                var node = PickNode(index + attempt);
                var sentAt = Stopwatch.GetTimestamp();
                try
                {
                    await _paymentNodes[node].SubmitVoucherAsync(vehicle.Channel.Value, voucher);
                    vehicle.Sequence = sequence;
                    vehicle.AcknowledgedSequence = sequence;
                    vehicle.AcknowledgedCumulative = cumulative.MinorUnits;
                    Interlocked.Increment(ref vehicle.AcknowledgedCount);
                    Volatile.Write(ref vehicle.LastAcknowledgedSentAt, sentAt);
                    Volatile.Write(ref vehicle.LastAcknowledgedAt, Stopwatch.GetTimestamp());
                    return Outcome.Acknowledged;
                }
                catch (NodeClient.NodeRefusedException refused) when (ErrorCodes.Is<VoucherNotNewer>(refused.Code))
                {
                    vehicle.Sequence = sequence;
                    Interlocked.Increment(ref vehicle.HeldAlreadyCount);
                    return Outcome.HeldAlready;
                }
                catch (Exception exception) when (IsNoAnswer(exception) && !token.IsCancellationRequested)
                {
                    if (Stopwatch.GetTimestamp() > deadline)
                        throw new TimeoutException($"payment {sequence} on {vehicle.Channel} was not answered within {PaymentBound.TotalSeconds:0} s", exception);
                    Volatile.Write(ref _nodeDownUntil[node], Stopwatch.GetTimestamp() + (long)(NodeBackoff.TotalSeconds * Stopwatch.Frequency));
                    await Task.Delay(TimeSpan.FromMilliseconds(50), token);
                }
            }
        }
        finally
        {
            vehicle.OneAtATime.Release();
        }
    }

    /// <summary>Whether the network gave no answer about the voucher: a node unreachable or gone, a timeout, an overload.</summary>
    private static bool IsNoAnswer(Exception exception) => exception switch
    {
        HttpRequestException or TaskCanceledException or IOException => true,
        NodeClient.NodeRefusedException refused => ErrorCodes.Is<NotAnsweredInTime>(refused.Code) || ErrorCodes.Is<ChannelBusy>(refused.Code)
            || refused.Code is "NotAnsweredInTime" or "Http502" or "Http503" or "Http504",
        _ => false,
    };

    /// <summary>The node for this try: the next one that has not failed in the last moment, or the next one anyway.</summary>
    private int PickNode(int start)
    {
        var now = Stopwatch.GetTimestamp();
        for (var i = 0; i < _nodes.Length; i++)
        {
            var node = (start + i) % _nodes.Length;
            if (Volatile.Read(ref _nodeDownUntil[node]) <= now) return node;
        }
        return start % _nodes.Length;
    }

    /// <summary>
    /// Reads every channel back through <paramref name="reader"/> (signed as the payee) and names each one whose
    /// durable state is behind what it acknowledged: empty when no acknowledged payment was lost.
    /// </summary>
    public async Task<IReadOnlyList<string>> LostAcknowledgedAsync(int reader)
    {
        var payee = new NodeClient(_http[reader]).SignedBy(Payee.Party, _payeeKey, Payee.Network);
        var lost = new List<string>();
        foreach (var vehicle in _vehicles)
        {
            var channel = await UntilAnsweredAsync(() => payee.ChannelAsync(vehicle.Channel.Value));
            var sequence = channel.GetProperty("lastSequence").GetUInt64();
            var paid = channel.GetProperty("paid").GetProperty("minorUnits").GetInt64();
            if (sequence < vehicle.AcknowledgedSequence || paid < vehicle.AcknowledgedCumulative)
                lost.Add($"{vehicle.Channel}: acknowledged {vehicle.AcknowledgedSequence} ({vehicle.AcknowledgedCumulative}), holds {sequence} ({paid})");
        }
        return lost;
    }

    /// <summary>The payee closes every channel through <paramref name="node"/>: each settles on the ledger at once.</summary>
    public async Task CloseAllAsync(int node)
    {
        using var closing = new OperatorAgent(_nodes[node], Payee.Network, Payee.Id, DeviceKeyPair.FromSeed(_payeeSeed).Unwrap());
        foreach (var vehicle in _vehicles) await UntilAnsweredAsync(() => closing.CloseChannelAsync(vehicle.Channel), ErrorCodes.Of<ChannelNotOpen>());
    }

    /// <summary>The ledger's totals read through <paramref name="node"/> as the fleet's settlement bank.</summary>
    public async Task<System.Text.Json.JsonElement> TotalsAsync(int node)
    {
        var bank = new NodeClient(_http[node]).SignedBy(Owner.Party, _ownerKey, Owner.Network);
        return await UntilAnsweredAsync(bank.TotalsAsync);
    }

    public void Dispose()
    {
        foreach (var vehicle in _vehicles) vehicle.Dispose();
        Owner.Dispose();
        Payee.Dispose();
        _ownerKey.Dispose();
        _payeeKey.Dispose();
        foreach (var http in _http.Concat(_paymentHttp)) http.Dispose();
    }
}
