using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Properties;

/// <summary>
/// Random scripts checked against the rules written out plainly: each operation succeeds exactly when
/// the rules allow it, a refusal names a rule that was broken, and a refusal changes nothing.
/// </summary>
public class ChannelRuleProperties
{
    private static bool AcceptsUpdates(ChannelStatus status, Timestamp? deadline, Timestamp now) =>
        status == ChannelStatus.Open || (status == ChannelStatus.Closing && now < deadline!.Value);

    [Property(MaxTest = 100)]
    public Property Streaming_channels_accept_exactly_what_the_rules_allow() =>
        Prop.ForAll(ChannelScripts.StreamingScripts, script =>
        {
            foreach (var t in ChannelScripts.Play(script)[..^1])
            {
                var before = t.Before;
                var status = before.Status;
                var broken = new List<Type>();
                switch (t.Step.Action)
                {
                    case StreamingAction.Voucher:
                        var voucher = t.Offered!.Payload;
                        var flaw = t.Step.Flaw;
                        if (flaw == Flaw.OtherNetwork) broken.Add(typeof(WrongNetwork));
                        if (flaw == Flaw.OtherChannel) broken.Add(typeof(WrongChannel));
                        if (flaw == Flaw.OtherCurrency) broken.Add(typeof(CurrencyMismatch));
                        if (flaw is Flaw.ForgedSignature or Flaw.SwappedSignatures) broken.Add(typeof(InvalidSignature));
                        if (status == ChannelStatus.Closed) broken.Add(typeof(ChannelNotOpen));
                        else if (!AcceptsUpdates(status, before.ChallengeDeadline, t.Now)) broken.Add(typeof(ChallengeWindowOver));
                        var amount = voucher.Cumulative.MinorUnits;
                        if (amount < 0) broken.Add(typeof(NegativeAmount));
                        if (voucher.Sequence <= before.LastSequence) broken.Add(typeof(VoucherNotNewer));
                        if (amount < before.Paid.MinorUnits) broken.Add(typeof(CumulativeAmountDecreased));
                        if (amount > script.Deposit) broken.Add(typeof(AmountExceedsDeposit));
                        if (broken.Count == 0)
                        {
                            Assert.Equal(t.Offered, t.After.Best);
                            Assert.Equal(amount - before.Paid.MinorUnits, t.Increment!.Value.MinorUnits);
                            Assert.Equal(status, t.After.Status);
                        }
                        break;
                    case StreamingAction.PayerClose:
                        if (status == ChannelStatus.Closed) broken.Add(typeof(ChannelNotOpen));
                        else if (status == ChannelStatus.Open)
                            Assert.Equal((ChannelStatus.Closing, t.Now.Plus(new DurationMs(script.WindowMs)).Value), (t.After.Status, t.After.ChallengeDeadline!.Value));
                        else Assert.Same(before, t.After);
                        break;
                    case StreamingAction.PayeeClose:
                        if (status == ChannelStatus.Closed) broken.Add(typeof(ChannelNotOpen));
                        else Assert.Equal((ChannelStatus.Closed, before.Paid, t.Now), (t.After.Status, t.After.Settlement!.PayoutB, t.After.Settlement.ClosedAt));
                        break;
                    case StreamingAction.StrangerClose:
                        broken.Add(status == ChannelStatus.Closed ? typeof(ChannelNotOpen) : typeof(NotAParty));
                        break;
                    case StreamingAction.ForgedPayerClose:
                        broken.Add(status == ChannelStatus.Closed ? typeof(ChannelNotOpen) : typeof(InvalidSignature));
                        break;
                    default:
                        if (status != ChannelStatus.Closing) broken.Add(typeof(ChannelNotOpen));
                        else if (t.Now < before.ChallengeDeadline!.Value) broken.Add(typeof(ChallengeWindowStillOpen));
                        else Assert.Equal((ChannelStatus.Closed, before.Paid), (t.After.Status, t.After.Settlement!.PayoutB));
                        break;
                }

                if (broken.Count == 0)
                {
                    Assert.True(t.Error is null, $"{t.Step} on {status} was refused with {t.Error}");
                }
                else
                {
                    Assert.True(t.Error is not null, $"{t.Step} on {status} was accepted though it breaks {string.Join(", ", broken.Select(b => b.Name))}");
                    Assert.Contains(t.Error.GetType(), broken);
                    Assert.Same(before, t.After);
                }
            }
        });

    [Property(MaxTest = 100)]
    public Property Duplex_channels_accept_exactly_what_the_rules_allow() =>
        Prop.ForAll(ChannelScripts.DuplexScripts, script =>
        {
            foreach (var t in ChannelScripts.Play(script)[..^1])
            {
                var before = t.Before;
                var status = before.Status;
                var broken = new List<Type>();
                switch (t.Step.Action)
                {
                    case DuplexAction.Update:
                    case DuplexAction.CooperativeClose:
                        var cooperative = t.Step.Action == DuplexAction.CooperativeClose;
                        var state = t.Offered!.Payload;
                        var flaw = t.Step.Flaw;
                        if (flaw == Flaw.OtherNetwork) broken.Add(typeof(WrongNetwork));
                        if (flaw == Flaw.OtherChannel) broken.Add(typeof(WrongChannel));
                        if (flaw == Flaw.OtherCurrency) broken.Add(typeof(CurrencyMismatch));
                        if (flaw is Flaw.ForgedSignature or Flaw.SwappedSignatures) broken.Add(typeof(InvalidSignature));
                        if (status == ChannelStatus.Closed) broken.Add(typeof(ChannelNotOpen));
                        else if (!AcceptsUpdates(status, before.ChallengeDeadline, t.Now)) broken.Add(typeof(ChallengeWindowOver));
                        if (state.Version <= before.Version) broken.Add(typeof(StateNotNewer));
                        if (state.BalanceA.IsNegative || state.BalanceB.IsNegative) broken.Add(typeof(NegativeAmount));
                        var sum = (Int128)state.BalanceA.MinorUnits + state.BalanceB.MinorUnits;
                        if (sum > long.MaxValue) broken.Add(typeof(AmountOverflow));
                        if (sum != script.Total) broken.Add(typeof(BalancesDoNotMatchDeposits));
                        if (cooperative && !state.IsFinal) broken.Add(typeof(FinalStateRequired));
                        if (!cooperative && state.IsFinal) broken.Add(typeof(FinalStateNotUpdatable));
                        if (broken.Count == 0)
                        {
                            Assert.Equal(t.Offered, t.After.Latest);
                            Assert.Equal(cooperative ? ChannelStatus.Closed : status, t.After.Status);
                        }
                        break;
                    case DuplexAction.CloseByA:
                    case DuplexAction.CloseByB:
                        if (status == ChannelStatus.Closed) broken.Add(typeof(ChannelNotOpen));
                        else if (t.Step.Action == DuplexAction.CloseByA && t.Step.Flaw == Flaw.ForgedSignature) broken.Add(typeof(InvalidSignature));
                        else if (status == ChannelStatus.Open) Assert.Equal(ChannelStatus.Closing, t.After.Status);
                        else Assert.Same(before, t.After);
                        break;
                    case DuplexAction.StrangerClose:
                        broken.Add(status == ChannelStatus.Closed ? typeof(ChannelNotOpen) : typeof(NotAParty));
                        break;
                    default:
                        if (status != ChannelStatus.Closing) broken.Add(typeof(ChannelNotOpen));
                        else if (t.Now < before.ChallengeDeadline!.Value) broken.Add(typeof(ChallengeWindowStillOpen));
                        else Assert.Equal((before.BalanceA, before.BalanceB), (t.After.Settlement!.PayoutA, t.After.Settlement.PayoutB));
                        break;
                }

                if (broken.Count == 0)
                {
                    Assert.True(t.Error is null, $"{t.Step} on {status} v{before.Version} was refused with {t.Error}");
                }
                else
                {
                    Assert.True(t.Error is not null, $"{t.Step} on {status} v{before.Version} was accepted though it breaks {string.Join(", ", broken.Select(b => b.Name))}");
                    Assert.Contains(t.Error.GetType(), broken);
                    Assert.Same(before, t.After);
                }
            }
        });
}
