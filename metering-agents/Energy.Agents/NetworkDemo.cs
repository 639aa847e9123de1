using System.Diagnostics;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Agents;

/// <summary>
/// Charging sessions against a running node: a charge point operator and its vehicles register, the
/// vehicles are funded and open streaming channels, pay per signed meter reading, and the operator
/// closes and is settled on the ledger. Keys stay in this process: the node only sees signed objects.
/// </summary>
public sealed class NetworkDemo(NodeClient node, NetworkId network, Action<string> report)
{
    public sealed record Summary(int Sessions, long EnergyWh, int Payments, long SettledMinorUnits, int Errors, TimeSpan Elapsed);

    public async Task<Summary> RunAsync(int vehicles, int readingsPerSession, Tariff tariff, CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        var run = Guid.NewGuid().ToString("N")[..8];
        using var operatorKey = DeviceKeyPair.Generate();
        var cpo = OperatorId.Of($"cpo-{run}");
        await node.RegisterOperatorAsync(cpo.Value, "City Charging", "chargePointOperator", operatorKey.PublicKey.Hex);
        report($"operator {cpo} registered");

        var payments = 0;
        var errors = 0;
        long energy = 0;
        long settled = 0;
        using var progress = new Timer(_ => report($"  {Volatile.Read(ref payments),6} payments acknowledged, {Interlocked.Read(ref settled) / 100.0,9:0.00} {tariff.MinorUnitsPerKwh.Currency} settled"),
            null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        async Task Session(int index)
        {
            using var vehicleKey = DeviceKeyPair.Generate();
            using var meterKey = DeviceKeyPair.Generate();
            var vehicle = DeviceId.Of($"vehicle-{run}-{index}");
            var meter = DeviceId.Of($"meter-{run}-{index}");
            try
            {
                await node.EndorseAsync(vehicle.Value, DeviceIdentity.Endorse(network, cpo, operatorKey, vehicle, DeviceRole.Vehicle, vehicleKey.PublicKey).Endorsement.ToArray());
                await node.FundAsync(vehicle.Value, Signed<FundingOrder>.Sign(new FundingOrder(network, cpo, PartyId.From(vehicle),
                    new Money(20_000, tariff.MinorUnitsPerKwh.Currency), $"fund-{vehicle}"), operatorKey).ToArray());
                var channel = ChannelId.Of($"ch-{run}-{index}");
                var deposit = new Money(10_000, tariff.MinorUnitsPerKwh.Currency);
                await node.OpenChannelAsync(channel.Value, Signed<StreamingOpening>.Sign(
                    new StreamingOpening(network, channel, PartyId.From(vehicle), PartyId.From(cpo), deposit, DurationMs.FromSeconds(30)), vehicleKey).ToArray());

                MeterReading? first = null;
                MeterReading? last = null;
                var now = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
                for (ulong sequence = 1; sequence <= (ulong)readingsPerSession; sequence++)
                {
                    token.ThrowIfCancellationRequested();
                    var reading = Signed<MeterReading>.Sign(new MeterReading(network, meter, sequence,
                        new Timestamp(now.UnixMilliseconds + (long)sequence * 1_000), new EnergyWh((long)sequence * 700)), meterKey);
                    var accepted = MeterReadings.Accept(reading, network, meter, meterKey.PublicKey, last).Unwrap();
                    first ??= accepted;
                    last = accepted;
                    var owed = accepted.Register.Subtract(first.Register).Unwrap().PriceAt(tariff).Unwrap();
                    if (owed.MinorUnits == 0) continue;
                    await node.SubmitVoucherAsync(channel.Value, Signed<Voucher>.Sign(new Voucher(network, channel, sequence, owed), vehicleKey).ToArray());
                    Interlocked.Increment(ref payments);
                }
                var close = Signed<CloseRequest>.Sign(new CloseRequest(network, channel, PartyId.From(cpo), now), operatorKey);
                var result = await node.CloseChannelAsync(channel.Value, close.ToArray());
                foreach (var payout in result.GetProperty("payouts").EnumerateArray())
                {
                    if (payout.GetProperty("account").GetString() == cpo.Value)
                        Interlocked.Add(ref settled, payout.GetProperty("amount").GetProperty("minorUnits").GetInt64());
                }
                Interlocked.Add(ref energy, last!.Register.WattHours - first!.Register.WattHours);
            }
            catch (NodeClient.NodeRefusedException refused)
            {
                Interlocked.Increment(ref errors);
                report($"  session {index}: refused {refused.Message}");
            }
        }

        await Task.WhenAll(Enumerable.Range(1, vehicles).Select(Session));
        return new Summary(vehicles, energy, payments, settled, errors, clock.Elapsed);
    }
}
