using Akka.Actor;
using Akka.TestKit.Xunit2;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

/// <summary>
/// Model-based: random interleavings of streaming and duplex opens (funded, over the balance, refunded),
/// channel ids reused across kinds and after settlement, vouchers, co-signed states, closes by either
/// side, disputes inside the window, windows passing and node restarts, played on the real entities over
/// SQLite. Vouchers on one channel name two sessions, a toll pass or nothing. The model follows only what
/// the network acknowledged; after every step the ledger must agree with it account by account (so no
/// escrow is granted without funds and none is released twice), value is conserved, what each purpose
/// counts as paid is exactly the sum of the increments that named it, and every settlement pays exactly
/// the last acknowledged voucher or state.
/// </summary>
public sealed class MoneyModelTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly NetworkId Network = ClusterTestKit.Network;
    private static readonly OperatorId Grid = OperatorId.Of("grid-model");
    private static readonly string[] Ids = ["m0", "m1", "m2"];
    private static readonly long[] Funds = [2_000, 1_000, 500];
    private static readonly TimeSpan SettleWithin = TimeSpan.FromSeconds(20);
    private const long WindowMs = 1_000;

    public enum Act
    {
        OpenStreaming,
        OpenDuplex,
        Voucher,
        DuplexPay,
        PayeeClose,
        PayerClose,
        DuplexClose,
        PassWindow,
        Restart,
    }

    /// <summary>One step: what to do, on which id, between which of the three parties, with which amounts.</summary>
    public sealed record Step(Act Act, int Id, int From, int To, long Amount, long Other)
    {
        public override string ToString() => $"{Act} {Ids[Id]} {From}->{To} {Amount}/{Other}";
    }

    private static readonly Gen<Step> Steps =
        from act in Gen.Frequency(
            (4, Gen.Constant(Act.OpenStreaming)),
            (3, Gen.Constant(Act.OpenDuplex)),
            (8, Gen.Constant(Act.Voucher)),
            (5, Gen.Constant(Act.DuplexPay)),
            (2, Gen.Constant(Act.PayeeClose)),
            (2, Gen.Constant(Act.PayerClose)),
            (2, Gen.Constant(Act.DuplexClose)),
            (2, Gen.Constant(Act.PassWindow)),
            (1, Gen.Constant(Act.Restart)))
        from id in Gen.Choose(0, Ids.Length - 1)
        from payer in Gen.Choose(0, 2)
        from offset in Gen.Choose(1, 2)
        from amount in Gen.Frequency((4, Gen.Choose(1, 700)), (1, Gen.Choose(701, 2_600)))
        from other in Gen.Choose(0, 1_200)
        select new Step(act, id, payer, (payer + offset) % 3, amount, other);

    private static readonly Arbitrary<Step[]> Scripts = Gen.Choose(12, 32).SelectMany(n => Gen.ArrayOf(Steps, n)).ToArbitrary();

    [FsCheck.Xunit.Property(MaxTest = 12)]
    public Property Money_is_counted_once_whatever_the_interleaving() =>
        Prop.ForAll(Scripts, script => PlayAsync(script).GetAwaiter().GetResult());

    private sealed class StreamingModel(int payer, int payee, long deposit)
    {
        public int Payer { get; } = payer;
        public int Payee { get; } = payee;
        public long Deposit { get; } = deposit;
        public ulong Sequence { get; set; }
        public long Paid { get; set; }
        public bool Closing { get; set; }
        public bool Settled { get; set; }

        /// <summary>The acknowledged increments of the vouchers that named each purpose.</summary>
        public Dictionary<PaymentPurpose, long> PaidFor { get; } = [];
    }

    /// <summary>What a voucher pays for: two sessions and a toll pass, sharing one channel, or nothing.</summary>
    private static readonly PaymentPurpose[] Purposes =
    [
        PaymentPurpose.None, Signing.Session("s-a"), Signing.Session("s-b"), PaymentPurpose.ForTollPass(DeviceId.Of("gantry-model"), 7),
    ];

    private sealed class DuplexModel(int a, int b, long depositA, long depositB)
    {
        public int A { get; } = a;
        public int B { get; } = b;
        public long DepositA { get; } = depositA;
        public long DepositB { get; } = depositB;
        public ulong Version { get; set; }
        public long BalanceA { get; set; } = depositA;
        public long BalanceB { get; set; } = depositB;
        public bool Closing { get; set; }
        public bool Settled { get; set; }
    }

    /// <summary>What the network acknowledged, and what the ledger must therefore hold.</summary>
    private sealed class Model
    {
        public long[] Balances { get; } = [.. Funds];
        public long[] Escrowed { get; } = new long[3];
        public Dictionary<string, StreamingModel> Streaming { get; } = [];
        public Dictionary<string, DuplexModel> Duplex { get; } = [];

        public void Lock(int party, long amount)
        {
            Assert.True(Balances[party] >= amount, $"the network locked {amount} from party {party}, which holds {Balances[party]}");
            Balances[party] -= amount;
            Escrowed[party] += amount;
        }

        public void Release(int party, long deposit, params (int Party, long Amount)[] payouts)
        {
            Escrowed[party] -= deposit;
            foreach (var (to, amount) in payouts) Balances[to] += amount;
        }
    }

    private async Task<bool> PlayAsync(Step[] script)
    {
        var store = TestStores.Sqlite();
        var clock = new ManualClock(new Timestamp(1_800_000_000_000));
        using var nodeKey = DeviceKeyPair.Generate();
        using var gridKey = DeviceKeyPair.Generate();
        var keys = Enumerable.Range(0, 3).Select(_ => DeviceKeyPair.Generate()).ToArray();
        var parties = Enumerable.Range(0, 3).Select(i => PartyId.From(DeviceId.Of($"meter-model-{i}"))).ToArray();
        var settings = new EnergySettings(Network, Currency.Eur, 4, nodeKey, clock)
        {
            Authority = TestAuthority.Authority,
            AskTimeout = TimeSpan.FromSeconds(5),
            MinChallengeWindow = new DurationMs(WindowMs),
            ChannelSnapshotEveryEvents = 4,
            LedgerSnapshotEveryBlocks = 3,
        };
        var model = new Model();
        var node = await TestNode.StartAsync(store, settings);
        try
        {
            var r = node.Regions;
            Assert.IsType<OperatorView>(await AskAsync(r.Operators, TestAuthority.Admit(Grid, gridKey, OperatorRoles.GridOperator)));
            for (var i = 0; i < 3; i++)
            {
                var device = parties[i].AsDevice();
                Assert.IsType<DeviceView>(await AskAsync(r.Devices, new EndorseDevice(device,
                    DeviceIdentity.Endorse(Network, Grid, gridKey, device, DeviceRole.Meter, keys[i].PublicKey).Endorsement.ToArray())));
                Assert.IsType<LedgerCommitted>(await AskAsync(r.Ledger, new Mint(Shard(parties[i]), $"fund-{i}", parties[i], Eur(Funds[i]), TestAuthority.Bank)));
            }

            foreach (var (step, index) in script.Select((s, i) => (s, i)))
            {
                Output?.WriteLine($"step {index}: {step}");
                if (step.Act == Act.Restart)
                {
                    await node.DisposeAsync();
                    node = await TestNode.StartAsync(store, settings);
                    // Channels closing when the node stopped go on by themselves once woken.
                    foreach (var (id, _) in model.Streaming.Where(c => c.Value is { Closing: true, Settled: false })) node.Regions.Channels.Tell(new WakeChannel(ChannelId.Of(id)));
                    foreach (var (id, _) in model.Duplex.Where(c => c.Value is { Closing: true, Settled: false })) node.Regions.DuplexChannels.Tell(new WakeDuplexChannel(ChannelId.Of(id)));
                }
                else await PlayStepAsync(node.Regions, step, model, parties, keys, clock);
                await AgreeAsync(node.Regions, model, parties, clock);
            }
            Output?.WriteLine($"played {script.Length} steps: {model.Streaming.Count} streaming and {model.Duplex.Count} duplex channels opened, "
                + $"{model.Streaming.Values.Count(c => c.Settled) + model.Duplex.Values.Count(d => d.Settled)} settled, "
                + $"{model.Streaming.Values.Sum(c => (long)c.Sequence)} vouchers and {model.Duplex.Values.Sum(d => (long)d.Version)} states acknowledged, "
                + $"{script.Count(s => s.Act == Act.Restart)} restarts");
            return true;
        }
        finally
        {
            await node.DisposeAsync();
            foreach (var key in keys) key.Dispose();
        }
    }

    private async Task PlayStepAsync(EnergyRegions r, Step step, Model model, PartyId[] parties, DeviceKeyPair[] keys, ManualClock clock)
    {
        // Payments and closes go mostly to channels that are open (the script's id when it names one, else
        // the next open one), so that scripts spend their steps on money moving, not on unknown ids.
        var id = step.Act switch
        {
            Act.Voucher or Act.PayeeClose or Act.PayerClose => Target(step.Id, i => model.Streaming.GetValueOrDefault(Ids[i]) is { Settled: false }),
            Act.DuplexPay or Act.DuplexClose => Target(step.Id, i => model.Duplex.GetValueOrDefault(Ids[i]) is { Settled: false }),
            _ => Ids[step.Id],
        };
        var channel = ChannelId.Of(id);
        switch (step.Act)
        {
            case Act.OpenStreaming:
            {
                var answer = await AskAsync(r.Channels, new OpenChannel(channel, Signing.Opening(channel, parties[step.From], parties[step.To], step.Amount, keys[step.From], WindowMs)));
                if (answer is not ChannelOpened opened) break;
                Assert.Equal(step.Amount, opened.Deposit.MinorUnits);
                if (model.Streaming.GetValueOrDefault(id) is { } open && !open.Settled)
                {
                    // The same signed opening again is answered as before and locks nothing more.
                    Assert.Equal((open.Payer, open.Payee, open.Deposit), (step.From, step.To, step.Amount));
                    break;
                }
                model.Lock(step.From, step.Amount);
                model.Streaming[id] = new StreamingModel(step.From, step.To, step.Amount);
                break;
            }
            case Act.OpenDuplex:
            {
                var answer = await AskAsync(r.DuplexChannels, new OpenDuplexChannel(channel,
                    Signing.DuplexOpening(channel, parties[step.From], parties[step.To], step.Amount, step.Other, keys[step.From], keys[step.To], WindowMs)));
                if (answer is not DuplexChannelOpened) break;
                if (model.Duplex.GetValueOrDefault(id) is { } open && !open.Settled)
                {
                    Assert.Equal((open.A, open.B, open.DepositA, open.DepositB), (step.From, step.To, step.Amount, step.Other));
                    break;
                }
                model.Lock(step.From, step.Amount);
                model.Lock(step.To, step.Other);
                model.Duplex[id] = new DuplexModel(step.From, step.To, step.Amount, step.Other);
                break;
            }
            case Act.Voucher:
            {
                // The payer of the streaming channel of this id signs (a stranger's key when there is none).
                var c = model.Streaming.GetValueOrDefault(id);
                var payer = c?.Payer ?? step.From;
                var sequence = (c?.Sequence ?? 0) + 1;
                var increment = step.Amount % 80 + 1;
                var cumulative = (c?.Paid ?? 0) + increment;
                var purpose = Purposes[step.Other % Purposes.Length];
                var answer = await AskAsync(r.Channels, new SubmitVoucher(channel, Signing.Voucher(channel, sequence, cumulative, increment, keys[payer], purpose)));
                if (answer is not VoucherAcknowledged ack) break;
                Assert.NotNull(c);
                Assert.False(c!.Settled, $"a voucher was acknowledged on settled channel {id}");
                Assert.True(cumulative <= c.Deposit, $"a voucher of {cumulative} was acknowledged over a deposit of {c.Deposit}");
                Assert.Equal(increment, ack.Increment?.MinorUnits);
                (c.Sequence, c.Paid) = (sequence, cumulative);
                if (purpose != PaymentPurpose.None) c.PaidFor[purpose] = c.PaidFor.GetValueOrDefault(purpose) + increment;
                break;
            }
            case Act.DuplexPay:
            {
                if (model.Duplex.GetValueOrDefault(id) is not { } d)
                {
                    Assert.IsType<Refusal>(await AskAsync(r.DuplexChannels, new SubmitDuplexState(channel, Signing.DuplexState(channel, 1, step.Amount, 0, keys[step.From], keys[step.To]))));
                    break;
                }
                var moved = Math.Min(step.Amount % 80 + 1, d.BalanceA);
                var state = Signing.DuplexState(channel, d.Version + 1, d.BalanceA - moved, d.BalanceB + moved, keys[d.A], keys[d.B]);
                var answer = await AskAsync(r.DuplexChannels, new SubmitDuplexState(channel, state));
                if (answer is not DuplexStateAcknowledged) break;
                Assert.False(d.Settled, $"a state was acknowledged on settled duplex {id}");
                (d.Version, d.BalanceA, d.BalanceB) = (d.Version + 1, d.BalanceA - moved, d.BalanceB + moved);
                break;
            }
            case Act.PayeeClose:
            {
                var c = model.Streaming.GetValueOrDefault(id);
                var closer = c?.Payee ?? step.To;
                var answer = await AskAsync(r.Channels, new CloseChannel(channel, Signing.Close(channel, parties[closer], keys[closer], clock.Now)));
                if (answer is ChannelSettled settled) Settle(model, c, settled, parties);
                break;
            }
            case Act.PayerClose:
            {
                var c = model.Streaming.GetValueOrDefault(id);
                var closer = c?.Payer ?? step.From;
                var answer = await AskAsync(r.Channels, new CloseChannel(channel, Signing.Close(channel, parties[closer], keys[closer], clock.Now)));
                if (answer is ChannelClosing && c is not null) c.Closing = true;
                if (answer is ChannelSettled settled) Settle(model, c, settled, parties);
                break;
            }
            case Act.DuplexClose:
            {
                var d = model.Duplex.GetValueOrDefault(id);
                var closer = d?.A ?? step.From;
                var answer = await AskAsync(r.DuplexChannels, new CloseDuplexChannel(channel, Signing.DuplexClose(channel, parties[closer], keys[closer], clock.Now)));
                if (answer is not Refusal && d is not null && !d.Settled) d.Closing = true;
                break;
            }
            case Act.PassWindow:
                clock.Advance(new DurationMs(WindowMs + 1));
                break;
        }
    }

    private static string Target(int preferred, Func<int, bool> isOpen)
    {
        for (var k = 0; k < Ids.Length; k++)
        {
            var i = (preferred + k) % Ids.Length;
            if (isOpen(i)) return Ids[i];
        }
        return Ids[preferred];
    }

    /// <summary>Waits out what is settling, then holds the ledger to the model: every account, every escrow, conservation.</summary>
    private async Task AgreeAsync(EnergyRegions r, Model model, PartyId[] parties, ManualClock clock)
    {
        foreach (var (id, c) in model.Streaming.Where(c => c.Value is { Closing: true, Settled: false }))
        {
            var view = Assert.IsType<ChannelView>(await AskAsync(r.Channels, new GetChannel(ChannelId.Of(id))));
            if (view.ChallengeDeadline is { } deadline && deadline > clock.Now) continue;
            ChannelSettled? settlement = null;
            await AwaitAssertAsync(async () =>
                settlement = Assert.IsType<ChannelView>(await AskAsync(r.Channels, new GetChannel(ChannelId.Of(id)))).Settlement ?? throw new Xunit.Sdk.XunitException($"{id} not settled"),
                SettleWithin, TimeSpan.FromMilliseconds(50));
            Settle(model, c, settlement!, parties);
        }
        foreach (var (id, d) in model.Duplex.Where(c => c.Value is { Closing: true, Settled: false }))
        {
            var view = Assert.IsType<DuplexChannelView>(await AskAsync(r.DuplexChannels, new GetDuplexChannel(ChannelId.Of(id))));
            if (view.ChallengeDeadline is { } deadline && deadline > clock.Now) continue;
            ChannelSettled? settlement = null;
            await AwaitAssertAsync(async () =>
                settlement = Assert.IsType<DuplexChannelView>(await AskAsync(r.DuplexChannels, new GetDuplexChannel(ChannelId.Of(id)))).Settlement
                             ?? throw new Xunit.Sdk.XunitException($"duplex {id} not settled"),
                SettleWithin, TimeSpan.FromMilliseconds(50));
            var payouts = settlement!.Payouts.ToDictionary(p => p.Account, p => p.Amount.MinorUnits);
            Assert.Equal(d.BalanceA, payouts.GetValueOrDefault(parties[d.A]));
            Assert.Equal(d.BalanceB, payouts.GetValueOrDefault(parties[d.B]));
            model.Release(d.A, d.DepositA, (d.A, d.BalanceA));
            model.Release(d.B, d.DepositB, (d.B, d.BalanceB));
            d.Settled = true;
        }

        // What each purpose counts as paid on a channel is exactly the sum of the increments that named it: no voucher counts twice.
        foreach (var (id, c) in model.Streaming.Where(c => !c.Value.Settled))
            foreach (var purpose in Purposes.Where(p => p != PaymentPurpose.None))
            {
                var paid = Assert.IsType<PurposePaid>(await AskAsync(r.Channels, new GetPurposePaid(ChannelId.Of(id), purpose)));
                Assert.Equal(c.PaidFor.GetValueOrDefault(purpose), paid.Paid.MinorUnits);
            }

        await AwaitAssertAsync(async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                var account = Assert.IsType<AccountView>(await AskAsync(r.Ledger, new GetAccount(Shard(parties[i]), parties[i])));
                Assert.Equal((model.Balances[i], model.Escrowed[i]), (account.Balance.MinorUnits, account.Escrowed.MinorUnits));
            }
            var totals = LedgerTotals.From(await Task.WhenAll(LedgerShards.All(4).Select(async s => (ShardTotals)await AskAsync(r.Ledger, new GetShardTotals(s)))));
            Assert.True(totals.Conserved && totals.InTransitMinorUnits == 0, $"not conserved: {totals}");
            Assert.Equal(Funds.Sum(), (long)totals.MintedMinorUnits);
        }, SettleWithin, TimeSpan.FromMilliseconds(50));
    }

    private static void Settle(Model model, StreamingModel? c, ChannelSettled settled, PartyId[] parties)
    {
        Assert.NotNull(c);
        if (c!.Settled) return;
        var payouts = settled.Payouts.ToDictionary(p => p.Account, p => p.Amount.MinorUnits);
        Assert.Equal(c.Paid, payouts.GetValueOrDefault(parties[c.Payee]));
        Assert.Equal(c.Deposit - c.Paid, payouts.GetValueOrDefault(parties[c.Payer]));
        model.Release(c.Payer, c.Deposit, (c.Payee, c.Paid), (c.Payer, c.Deposit - c.Paid));
        c.Settled = true;
    }

    private static string Shard(PartyId party) => LedgerShards.For(party, 4);

    private static Money Eur(long units) => new(units, Currency.Eur);

    private async Task<object> AskAsync(IActorRef region, object message)
    {
        var answer = await region.Ask<object>(message, TimeSpan.FromSeconds(15));
        if (answer is Refusal refusal) Output?.WriteLine($"  refused {refusal.Code}: {refusal.Message}");
        return answer;
    }
}
