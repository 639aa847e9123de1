using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Properties;

/// <summary>
/// No sequence of operations, valid or hostile, creates or loses value: every settlement splits exactly
/// the deposits, no payout is negative, and what the payee is paid is exactly the sum of the increments
/// it was told about.
/// </summary>
public class ConservationProperties
{
    [Property(MaxTest = 100)]
    public Property Streaming_settlements_always_split_exactly_the_deposit() =>
        Prop.ForAll(ChannelScripts.StreamingScripts, script =>
        {
            var trace = ChannelScripts.Play(script);
            var deposit = script.Deposit;
            long increments = 0;
            foreach (var t in trace)
            {
                if (t.Increment is { } increment)
                {
                    Assert.False(increment.IsNegative, $"negative increment {increment}");
                    increments += increment.MinorUnits;
                }
                Assert.Equal(increments, t.After.Paid.MinorUnits);
                Assert.InRange(t.After.Paid.MinorUnits, 0, deposit);
                if (t.After.Settlement is { } settlement)
                {
                    Assert.False(settlement.PayoutA.IsNegative || settlement.PayoutB.IsNegative, settlement.ToString());
                    Assert.Equal(deposit, settlement.PayoutA.MinorUnits + settlement.PayoutB.MinorUnits);
                    Assert.Equal(t.After.Paid, settlement.PayoutB);
                    Assert.Equal((TestParties.PayerId, TestParties.PayeeId), (settlement.PartyA, settlement.PartyB));
                }
            }
            var end = trace[^1].After;
            Assert.Equal(ChannelStatus.Closed, end.Status);
            Assert.NotNull(end.Settlement);
        });

    [Property(MaxTest = 100)]
    public Property Duplex_balances_and_settlements_always_sum_to_the_deposits() =>
        Prop.ForAll(ChannelScripts.DuplexScripts, script =>
        {
            var trace = ChannelScripts.Play(script);
            foreach (var t in trace)
            {
                var channel = t.After;
                Assert.False(channel.BalanceA.IsNegative || channel.BalanceB.IsNegative, $"{channel.BalanceA} / {channel.BalanceB}");
                Assert.Equal(script.Total, channel.BalanceA.MinorUnits + channel.BalanceB.MinorUnits);
                if (channel.Settlement is { } settlement)
                {
                    Assert.False(settlement.PayoutA.IsNegative || settlement.PayoutB.IsNegative, settlement.ToString());
                    Assert.Equal(script.Total, settlement.PayoutA.MinorUnits + settlement.PayoutB.MinorUnits);
                    Assert.Equal((channel.BalanceA, channel.BalanceB), (settlement.PayoutA, settlement.PayoutB));
                    Assert.Equal(channel.Version, settlement.FinalVersion);
                }
            }
            Assert.Equal(ChannelStatus.Closed, trace[^1].After.Status);
        });
}
