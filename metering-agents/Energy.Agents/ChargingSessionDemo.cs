using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Agents;

/// <summary>
/// One charging session played by three devices in one process: the charger's meter signs readings,
/// the vehicle verifies each and pays the increment with a cumulative voucher, and the charge point
/// operator accepts the vouchers and closes the channel. Everything goes through the wire form.
/// </summary>
public sealed class ChargingSessionDemo
{
    public sealed record Step(ulong Sequence, long RegisterWh, long PaidMinorUnits);

    public sealed record Outcome(long EnergyWh, long PaidMinorUnits, long RefundMinorUnits, int Vouchers);

    public static Outcome Run(int readings, long whPerReading, Tariff tariff, Money deposit, Action<Step> onStep)
    {
        var network = NetworkId.Of("energy-demo");
        var channelId = ChannelId.Of("demo-channel-1");
        using var vehicleKey = DeviceKeyPair.Generate();
        using var meterKey = DeviceKeyPair.Generate();
        using var operatorKey = DeviceKeyPair.Generate();
        var meter = DeviceId.Of("meter-1");
        var terms = new StreamingChannelTerms(network, channelId,
            new ChannelParty(PartyId.From(DeviceId.Of("vehicle-1")), vehicleKey.PublicKey),
            new ChannelParty(PartyId.From(OperatorId.Of("cpo-1")), operatorKey.PublicKey),
            deposit, DurationMs.FromSeconds(60));
        var channel = StreamingChannels.Open(terms).Unwrap();
        var now = new Timestamp(1_800_000_000_000);

        MeterReading? first = null;
        MeterReading? last = null;
        var paid = Money.Zero(deposit.Currency);
        // Every voucher names the session it pays for.
        var session = PaymentPurpose.ForSession("demo-session").Unwrap();
        for (ulong sequence = 1; sequence <= (ulong)readings; sequence++)
        {
            now = new Timestamp(now.UnixMilliseconds + 1_000);
            var reading = Signed<MeterReading>.Sign(
                new MeterReading(network, meter, sequence, now, new EnergyWh((long)sequence * whPerReading)), meterKey);
            var wire = reading.ToArray();

            // The vehicle: decode, verify against the meter's key, pay for the energy so far.
            var received = MeterReadings.Accept(Signed<MeterReading>.Decode(wire).Unwrap(), network, meter, meterKey.PublicKey, last).Unwrap();
            first ??= received;
            last = received;
            var owed = received.Register.Subtract(first.Register).Unwrap().PriceAt(tariff).Unwrap();
            if (owed == paid) continue;
            var voucher = Signed<Voucher>.Sign(new Voucher(network, channelId, sequence, owed, owed.Subtract(paid).Unwrap(), session), vehicleKey).ToArray();

            // The operator: decode and accept the voucher.
            channel = StreamingChannels.AcceptVoucher(channel, Signed<Voucher>.Decode(voucher).Unwrap(), now).Unwrap().Channel;
            paid = owed;
            onStep(new Step(sequence, received.Register.WattHours, paid.MinorUnits));
        }

        var close = Signed<CloseRequest>.Sign(new CloseRequest(network, ChannelKind.Streaming, channelId, terms.Payee.Id, now), operatorKey);
        var closed = StreamingChannels.RequestClose(channel, close, now).Unwrap();
        var settlement = closed.Settlement!;
        var energy = last!.Register.WattHours - first!.Register.WattHours;
        return new Outcome(energy, settlement.PayoutB.MinorUnits, settlement.PayoutA.MinorUnits, (int)closed.LastSequence);
    }
}
