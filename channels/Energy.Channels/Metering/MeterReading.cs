using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Channels.Metering;

/// <summary>A meter's signed statement of its energy register at a moment. Sequence, time and register only go up.</summary>
public sealed record MeterReading(NetworkId Network, DeviceId Meter, ulong Sequence, Timestamp Time, EnergyWh Register) : ISignable<MeterReading>
{
    public static ObjectKind Kind => ObjectKind.MeterReading;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Meter.Value);
        writer.WriteUInt64(Sequence);
        writer.WriteInt64(Time.UnixMilliseconds);
        writer.WriteInt64(Register.WattHours);
    }

    public static MeterReading Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var meter = reader.ReadIdentifier("meter");
        var sequence = reader.ReadUInt64();
        var time = reader.ReadInt64();
        var register = reader.ReadInt64();
        return reader.Failed ? null! : new MeterReading(network, new DeviceId(meter), sequence, new Timestamp(time), new EnergyWh(register));
    }
}

/// <summary>How a reader (a vehicle, the network) checks each reading against the meter's key and the last reading it took.</summary>
public static class MeterReadings
{
    /// <summary>Accepts a reading that is signed by the expected meter and newer than <paramref name="last"/> in sequence, time and register.</summary>
    public static Result<MeterReading> Accept(Signed<MeterReading> signed, NetworkId network, DeviceId meter, DevicePublicKey meterKey, MeterReading? last)
    {
        var reading = signed.Payload;
        if (reading.Network != network) return new WrongNetwork(ChannelId.None, network, reading.Network);
        if (reading.Meter != meter) return new ReadingFromWrongMeter(meter, reading.Meter);
        if (reading.Register.WattHours < 0) return new NegativeAmount(ChannelId.None, "register", reading.Register.WattHours);
        if (last is not null)
        {
            if (reading.Sequence <= last.Sequence) return new ReadingNotNewer(meter, last.Sequence, reading.Sequence);
            if (reading.Time < last.Time) return new ReadingTimeWentBackwards(meter, last.Time, reading.Time);
            if (reading.Register < last.Register) return new RegisterWentBackwards(meter, last.Register.WattHours, reading.Register.WattHours);
        }
        if (!signed.IsSignedBy(meterKey)) return new InvalidSignature(ChannelId.None, ObjectKind.MeterReading, meter.Value);
        return reading;
    }
}
