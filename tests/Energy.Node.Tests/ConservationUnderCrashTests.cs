using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Xunit.Abstractions;
using Energy.Lifecycles.Ledger;

namespace Energy.Node.Tests;

/// <summary>
/// A random workload of opens, payments, closes, disputes and withdrawals over HTTP, with the node
/// process killed mid-way and started again: value is conserved and nothing acknowledged is lost.
/// </summary>
public sealed class ConservationUnderCrashTests(ITestOutputHelper output)
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");

    private sealed class Vehicle(int index)
    {
        public DeviceKeyPair Key { get; } = DeviceKeyPair.Generate();
        public DeviceId Id { get; } = DeviceId.Of($"vehicle-{index}");
        public int Channels { get; set; }
        public ChannelId? Open { get; set; }
        public ulong Sequence { get; set; }
        public long Paid { get; set; }
        public long Deposit { get; set; }
    }

    private sealed record Acked(ChannelId Channel, ulong Sequence, long Cumulative);

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Value_is_conserved_and_acknowledged_payments_survive_a_killed_node(string store)
    {
        var seed = Environment.TickCount;
        output.WriteLine($"store {store}, seed {seed}");
        var random = new Random(seed);
        using var node = store == "postgresql"
            ? new NodeProcess(null, "--Energy:Store=postgresql", $"--Energy:ConnectionString={FreshPostgreSqlDatabase()}")
            : new NodeProcess();
        await node.StartAsync();
        using var api = new ApiClient(node);
        using var cpoKey = DeviceKeyPair.Generate();
        var cpo = OperatorId.Of("cpo-1");
        Assert.True((await api.PostSignedAsync($"/api/operators/{cpo}/admission", Governance.Admission(node, cpo, cpoKey.PublicKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner | OperatorRoles.SettlementBank, 1_000_000_000_000))).Ok);
        api.Caller = (PartyId.From(cpo), cpoKey);

        var vehicles = Enumerable.Range(0, 24).Select(i => new Vehicle(i)).ToArray();
        foreach (var v in vehicles)
        {
            var endorsement = DeviceIdentity.Endorse(Network, cpo, cpoKey, v.Id, DeviceRole.Vehicle, v.Key.PublicKey).Endorsement.ToArray();
            Assert.True((await api.PostSignedAsync($"/api/devices/{v.Id}/endorsement", endorsement)).Ok);
            Assert.True((await api.PostSignedAsync($"/api/accounts/{PartyId.From(v.Id)}/mint", Signed<FundingOrder>.Sign(
                new FundingOrder(Network, cpo, PartyId.From(v.Id), new Money(100_000, Currency.Eur), $"fund-{v.Id}"), cpoKey).ToArray())).Ok);
        }

        const int Operations = 2_400;
        var acked = new System.Collections.Concurrent.ConcurrentBag<Acked>();
        var payeeClosed = new System.Collections.Concurrent.ConcurrentBag<Acked>();
        var done = 0;
        var killed = 0;
        var seeds = vehicles.Select(_ => random.Next()).ToArray();

        async Task Worker(int worker)
        {
            var mine = vehicles.Where((_, i) => i % 12 == worker).ToArray();
            var rng = new Random(seeds[worker]);
            while (Interlocked.Increment(ref done) <= Operations)
            {
                if (Volatile.Read(ref done) > Operations * 2 / 5 && Interlocked.Exchange(ref killed, 1) == 0)
                {
                    output.WriteLine($"killing the node after {Volatile.Read(ref done)} operations");
                    node.Kill();
                    await node.StartAsync();
                }
                var v = mine[rng.Next(mine.Length)];
                await StepAsync(api, v, rng, cpo, cpoKey, acked, payeeClosed);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 12).Select(Worker));
        Assert.Equal(1, killed);

        // Every channel left open is closed by its payee, then everything must settle.
        foreach (var v in vehicles.Where(v => v.Open is not null))
        {
            var close = Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, v.Open!.Value, PartyId.From(cpo), Now()), cpoKey).ToArray();
            var closed = await api.PostSignedAsync($"/api/channels/{v.Open}/close", close);
            Assert.True(closed.Ok, closed.Body.ToString());
        }

        var totals = await WaitAsync(async () =>
        {
            var t = (await api.GetAsync("/api/ledger/totals")).Body;
            return t.GetProperty("inTransitMinorUnits").GetInt64() == 0 && t.GetProperty("escrowsMinorUnits").GetInt64() == 0 ? t : (JsonElement?)null;
        });
        output.WriteLine(totals.ToString());
        Assert.True(totals.GetProperty("conserved").GetBoolean());
        Assert.Equal(totals.GetProperty("mintedMinorUnits").GetInt64() - totals.GetProperty("withdrawnMinorUnits").GetInt64(),
            totals.GetProperty("balancesMinorUnits").GetInt64());
        Assert.Equal(24 * 100_000, totals.GetProperty("mintedMinorUnits").GetInt64());

        // Nothing acknowledged was lost: each channel's state is at or past every voucher it acknowledged.
        foreach (var group in acked.GroupBy(a => a.Channel))
        {
            // The ledger releases the escrow first; the channel records its settlement when the release's answer reaches it.
            var channel = default(JsonElement);
            await Eventually.Holds(async () =>
            {
                channel = (await api.GetAsync($"/api/channels/{group.Key}")).Body;
                return channel.GetProperty("status").GetString() == "settled";
            });
            var best = group.MaxBy(a => a.Sequence)!;
            Assert.True(channel.GetProperty("lastSequence").GetUInt64() >= best.Sequence, $"{group.Key} lost voucher {best.Sequence}");
            Assert.True(channel.GetProperty("paid").GetProperty("minorUnits").GetInt64() >= best.Cumulative);
            Assert.Equal("settled", channel.GetProperty("status").GetString());
        }
        output.WriteLine($"{acked.Count} vouchers acknowledged on {acked.Select(a => a.Channel).Distinct().Count()} channels");
        Assert.True(acked.Count > 500, $"only {acked.Count} vouchers were acknowledged");
        foreach (var v in vehicles) v.Key.Dispose();
    }

    private static async Task StepAsync(ApiClient api, Vehicle v, Random rng, OperatorId cpo, DeviceKeyPair cpoKey,
        System.Collections.Concurrent.ConcurrentBag<Acked> acked, System.Collections.Concurrent.ConcurrentBag<Acked> payeeClosed)
    {
        var roll = rng.Next(100);
        if (v.Open is null)
        {
            if (roll < 10)
            {
                var withdraw = await api.PostSignedAsync($"/api/accounts/{PartyId.From(v.Id)}/withdraw", Signed<WithdrawalOrder>.Sign(new WithdrawalOrder(
                    Network, PartyId.From(v.Id), new Money(1 + rng.Next(500), Currency.Eur), $"w-{v.Channels}-{roll}"), v.Key).ToArray());
                Assert.True(withdraw.Ok || withdraw.Code is "InsufficientFunds" or "RequestIdReused", withdraw.Body.ToString());
                return;
            }
            var channel = ChannelId.Of($"{v.Id}-c{++v.Channels}");
            var deposit = 1_000 + rng.Next(4_000);
            var window = rng.Next(2) == 0 ? 1_000 : 600_000;
            var opening = Signed<StreamingOpening>.Sign(new StreamingOpening(Network, channel, PartyId.From(v.Id), PartyId.From(cpo),
                new Money(deposit, Currency.Eur), new DurationMs(window)), v.Key).ToArray();
            var opened = await api.PostSignedAsync($"/api/channels/{channel}/open", opening);
            if (opened.Ok) { v.Open = channel; v.Sequence = 0; v.Paid = 0; v.Deposit = deposit; }
            else Assert.Equal("InsufficientFunds", opened.Code);
            return;
        }
        var id = v.Open.Value;
        if (roll < 80)
        {
            var amount = Math.Min(v.Deposit, v.Paid + rng.Next(200));
            var sequence = v.Sequence + 1;
            var voucher = Signed<Voucher>.Sign(new Voucher(Network, id, sequence, new Money(amount, Currency.Eur), new Money(amount - v.Paid, Currency.Eur), PaymentPurpose.None), v.Key).ToArray();
            var answer = await api.PostSignedAsync($"/api/channels/{id}/vouchers", voucher);
            v.Sequence = sequence;
            v.Paid = amount;
            if (answer.Ok) acked.Add(new Acked(id, sequence, amount));
            else if (answer.Code is "ChallengeWindowOver" or "ChannelNotOpen") v.Open = null;
            else Assert.Equal("VoucherNotNewer", answer.Code); // a retry after the kill, of a voucher that was already durable
            return;
        }
        var payee = roll < 90;
        var close = payee
            ? Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, id, PartyId.From(cpo), Now()), cpoKey).ToArray()
            : Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, id, PartyId.From(v.Id), Now()), v.Key).ToArray();
        var closed = await api.PostSignedAsync($"/api/channels/{id}/close", close);
        Assert.True(closed.Ok, closed.Body.ToString());
        if (payee || closed.Body.TryGetProperty("payouts", out _))
        {
            if (payee) payeeClosed.Add(new Acked(id, v.Sequence, v.Paid));
            v.Open = null;
        }
        // A payer's close leaves the channel open to vouchers until its window ends (the dispute).
    }

    /// <summary>A new database on the server tests/setup/postgres.sh starts. Fails, never skips, when it is not there.</summary>
    private static string FreshPostgreSqlDatabase()
    {
        var server = Environment.GetEnvironmentVariable("ENERGY_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=25432;Username=energy;Password=energy;Database=postgres";
        var database = "energy_node_test_" + Guid.NewGuid().ToString("N");
        using (var connection = new Npgsql.NpgsqlConnection(server))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE {database}";
            command.ExecuteNonQuery();
        }
        return new Npgsql.NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
    }

    private static Timestamp Now() => Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);

    private static async Task<JsonElement> WaitAsync(Func<Task<JsonElement?>> probe)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } value) return value;
            await Task.Delay(50); // poll interval of a bounded wait on another process
        }
        throw new TimeoutException("the ledger did not settle within 120 s");
    }
}
