using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests.Properties;

/// <summary>Accepted state only moves forward: sequences, cumulative amounts, versions, statuses and meter registers never go back.</summary>
public class MonotonicityProperties
{
    [Property(MaxTest = 100)]
    public Property Streaming_sequence_amount_and_status_never_go_back() =>
        Prop.ForAll(ChannelScripts.StreamingScripts, script =>
        {
            foreach (var t in ChannelScripts.Play(script))
            {
                Assert.True(t.After.LastSequence >= t.Before.LastSequence, $"sequence {t.Before.LastSequence} -> {t.After.LastSequence}");
                Assert.True(t.After.Paid >= t.Before.Paid, $"paid {t.Before.Paid} -> {t.After.Paid}");
                Assert.True(t.After.Status >= t.Before.Status, $"status {t.Before.Status} -> {t.After.Status}");
                if (t.Before.Status == ChannelStatus.Closing && t.After.Status == ChannelStatus.Closing)
                    Assert.Equal(t.Before.ChallengeDeadline, t.After.ChallengeDeadline);
                if (t.Before.Status == ChannelStatus.Closed)
                    Assert.Same(t.Before, t.After);
                if (t.Error is not null)
                    Assert.Same(t.Before, t.After);
            }
        });

    [Property(MaxTest = 100)]
    public Property Duplex_version_and_status_never_go_back() =>
        Prop.ForAll(ChannelScripts.DuplexScripts, script =>
        {
            foreach (var t in ChannelScripts.Play(script))
            {
                Assert.True(t.After.Version >= t.Before.Version, $"version {t.Before.Version} -> {t.After.Version}");
                Assert.True(t.After.Status >= t.Before.Status, $"status {t.Before.Status} -> {t.After.Status}");
                if (t.After.Version > t.Before.Version)
                    Assert.True(t.Offered is not null && t.After.Latest!.Equals(t.Offered), "the version moved without the offered state");
                if (t.Before.Status == ChannelStatus.Closing && t.After.Status == ChannelStatus.Closing)
                    Assert.Equal(t.Before.ChallengeDeadline, t.After.ChallengeDeadline);
                if (t.Before.Status == ChannelStatus.Closed)
                    Assert.Same(t.Before, t.After);
            }
        });

    public sealed record ReadingStep(int SequenceDelta, int TimeDelta, int RegisterDelta, bool Forged);

    private static readonly Gen<ReadingStep> ReadingSteps =
        from sequence in Gen.Frequency((1, Gen.Choose(-2, 0)), (4, Gen.Choose(1, 3)))
        from time in Gen.Frequency((1, Gen.Choose(-5_000, -1)), (6, Gen.Choose(0, 60_000)))
        from register in Gen.Frequency((1, Gen.Choose(-500, -1)), (6, Gen.Choose(0, 2_000)))
        from forged in Gen.Frequency((8, Gen.Constant(false)), (1, Gen.Constant(true)))
        select new ReadingStep(sequence, time, register, forged);

    [Property(MaxTest = 100)]
    public Property Accepted_meter_readings_never_go_back_in_sequence_time_or_register() =>
        Prop.ForAll(Gen.ListOf(ReadingSteps).ToArbitrary(), steps =>
        {
            MeterReading? last = null;
            long sequence = 0, time = 0, register = 0;
            foreach (var step in steps)
            {
                sequence = Math.Max(0, sequence + step.SequenceDelta);
                time += step.TimeDelta;
                register += step.RegisterDelta;
                var reading = Reading((ulong)sequence, register, offsetMs: Math.Max(0, time), signer: step.Forged ? Keys.OtherMeter : Keys.Meter);
                var result = MeterReadings.Accept(reading, Network, MeterId, Keys.Meter.PublicKey, last);

                var newer = last is null || (reading.Payload.Sequence > last.Sequence && reading.Payload.Time >= last.Time && reading.Payload.Register >= last.Register);
                var expected = newer && !step.Forged && register >= 0;
                Assert.Equal(expected, result.IsOk);
                if (result.IsOk)
                {
                    Assert.Equal(reading.Payload, result.Value);
                    last = result.Value;
                }
                else
                {
                    sequence = (long)(last?.Sequence ?? 0);
                    time = last is null ? 0 : last.Time.UnixMilliseconds - Now.UnixMilliseconds;
                    register = last?.Register.WattHours ?? 0;
                }
            }
        });
}
