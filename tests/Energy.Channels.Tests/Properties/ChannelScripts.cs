using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using FsCheck;
using FsCheck.Fluent;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests.Properties;

public enum StreamingAction { Voucher, PayerClose, PayeeClose, StrangerClose, ForgedPayerClose, Finalize }

/// <summary>What is wrong with an offered object, if anything.</summary>
public enum Flaw { None, ForgedSignature, OtherCurrency, OtherChannel, OtherNetwork, SwappedSignatures }

/// <summary>
/// One step of a streaming script. Time moves forward by <paramref name="AdvanceMs"/>; a voucher's
/// sequence and amount are relative to the channel's current ones, so scripts mix newer, replayed and
/// older vouchers, raises and cuts.
/// </summary>
public sealed record StreamingStep(StreamingAction Action, long AdvanceMs, int SequenceDelta, long AmountDelta, Flaw Flaw);

public sealed record StreamingScript(long Deposit, long WindowMs, IReadOnlyList<StreamingStep> Steps)
{
    public override string ToString() => $"deposit {Deposit}, window {WindowMs} ms: [{string.Join(", ", Steps)}]";
}

/// <summary>One executed step: the state before, the result, and the state after (unchanged when refused).</summary>
public sealed record StreamingTrace(StreamingStep Step, Timestamp Now, StreamingChannel Before, ProtocolError? Error, StreamingChannel After, Money? Increment,
    Signed<Voucher>? Offered);

public enum DuplexAction { Update, CooperativeClose, CloseByA, CloseByB, StrangerClose, Finalize }

/// <summary>One step of a duplex script: a state of version current + delta that gives A the balance <paramref name="BalanceA"/> (B the rest, plus <paramref name="Imbalance"/>).</summary>
public sealed record DuplexStep(DuplexAction Action, long AdvanceMs, int VersionDelta, long BalanceA, long Imbalance, bool MarkFinal, Flaw Flaw);

public sealed record DuplexScript(long DepositA, long DepositB, IReadOnlyList<DuplexStep> Steps)
{
    public long Total => DepositA + DepositB;

    public override string ToString() => $"deposits {DepositA} + {DepositB}: [{string.Join(", ", Steps)}]";
}

public sealed record DuplexTrace(DuplexStep Step, Timestamp Now, DuplexChannel Before, ProtocolError? Error, DuplexChannel After, Signed<DuplexState>? Offered);

/// <summary>Random scripts of channel operations, valid and hostile, and the code that plays them.</summary>
public static class ChannelScripts
{
    private static readonly Gen<Flaw> SometimesFlawed = Gen.Frequency(
        (12, Gen.Constant(Flaw.None)),
        (1, Gen.Constant(Flaw.ForgedSignature)),
        (1, Gen.Constant(Flaw.OtherCurrency)),
        (1, Gen.Constant(Flaw.OtherChannel)),
        (1, Gen.Constant(Flaw.OtherNetwork)),
        (1, Gen.Constant(Flaw.SwappedSignatures)));

    private static readonly Gen<long> Advance = Gen.Frequency(
        (3, Gen.Constant(0L)),
        (6, Gen.Choose(1, 20_000).Select(i => (long)i)),
        (1, Gen.Choose(20_000, 200_000).Select(i => (long)i)));

    private static Gen<StreamingStep> StreamingStepFor(long deposit) =>
        from action in Gen.Frequency(
            (30, Gen.Constant(StreamingAction.Voucher)),
            (1, Gen.Constant(StreamingAction.PayerClose)),
            (1, Gen.Constant(StreamingAction.PayeeClose)),
            (1, Gen.Constant(StreamingAction.StrangerClose)),
            (1, Gen.Constant(StreamingAction.ForgedPayerClose)),
            (2, Gen.Constant(StreamingAction.Finalize)))
        from advance in Advance
        from sequenceDelta in Gen.Frequency((1, Gen.Choose(-3, 0)), (4, Gen.Choose(1, 3)))
        from amountDelta in Gen.Frequency(
            (1, Gen.Choose(-100, -1).Select(i => i * Math.Max(1, deposit / 100))),
            (6, Gen.Choose(0, 100).Select(i => i * Math.Max(1, deposit / 200))),
            (1, Gen.Elements(long.MaxValue, long.MinValue, deposit, deposit + 1, -deposit - 1)))
        from flaw in SometimesFlawed
        select new StreamingStep(action, advance, sequenceDelta, amountDelta, flaw);

    public static readonly Gen<StreamingScript> Streaming =
        from deposit in Gen.Frequency((4, Gen.Choose(1, 100_000).Select(i => (long)i)), (1, Gen.Elements(1L, 2L, long.MaxValue)))
        from window in Gen.Elements(0L, 1L, 1_000L, WindowMs, 90_000L)
        from length in Gen.Choose(0, 30)
        from steps in Gen.ArrayOf(StreamingStepFor(deposit), length)
        select new StreamingScript(deposit, window, steps);

    private static Gen<DuplexStep> DuplexStepFor(long total) =>
        from action in Gen.Frequency(
            (30, Gen.Constant(DuplexAction.Update)),
            (2, Gen.Constant(DuplexAction.CooperativeClose)),
            (1, Gen.Constant(DuplexAction.CloseByA)),
            (1, Gen.Constant(DuplexAction.CloseByB)),
            (1, Gen.Constant(DuplexAction.StrangerClose)),
            (2, Gen.Constant(DuplexAction.Finalize)))
        from advance in Advance
        from versionDelta in Gen.Frequency((1, Gen.Choose(-3, 0)), (4, Gen.Choose(1, 3)))
        from balanceA in Gen.Frequency(
            (8, Gen.Choose(0, 1_000).Select(i => (long)(total / 1_000.0 * i))),
            (1, Gen.Elements(0L, total, -1L, total + 1, long.MaxValue, long.MinValue)))
        from imbalance in Gen.Frequency((8, Gen.Constant(0L)), (1, Gen.Elements(-1L, 1L, 1_000L, long.MaxValue)))
        from markFinal in Gen.Frequency((8, Gen.Constant(false)), (1, Gen.Constant(true)))
        from flaw in SometimesFlawed
        select new DuplexStep(action, advance, versionDelta, balanceA, imbalance, markFinal, flaw);

    public static readonly Gen<DuplexScript> Duplex =
        from depositA in Gen.Frequency((6, Gen.Choose(0, 50_000).Select(i => (long)i)), (1, Gen.Elements(0L, 1L, long.MaxValue / 2)))
        from depositB in Gen.Frequency((6, Gen.Choose(1, 50_000).Select(i => (long)i)), (1, Gen.Elements(1L, long.MaxValue / 2)))
        from length in Gen.Choose(0, 25)
        from steps in Gen.ArrayOf(DuplexStepFor(depositA + depositB), length)
        select new DuplexScript(depositA, depositB, steps);

    public static Arbitrary<StreamingScript> StreamingScripts => Streaming.ToArbitrary();

    public static Arbitrary<DuplexScript> DuplexScripts => Duplex.ToArbitrary();

    private static ulong Offset(ulong current, int delta) =>
        delta >= 0 ? current + (ulong)delta : current >= (ulong)-delta ? current - (ulong)-delta : 0;

    private static long Saturating(long value, long delta)
    {
        try { return checked(value + delta); }
        catch (OverflowException) { return delta > 0 ? long.MaxValue : long.MinValue; }
    }

    public static StreamingTrace[] Play(StreamingScript script)
    {
        var channel = StreamingChannels.Open(new StreamingChannelTerms(Network, Channel, Payer, Payee, Eur(script.Deposit), new DurationMs(script.WindowMs))).Value;
        var time = Now.UnixMilliseconds;
        var trace = new List<StreamingTrace>();
        foreach (var step in script.Steps)
        {
            time += step.AdvanceMs;
            var now = new Timestamp(time);
            var before = channel;
            Money? increment = null;
            Signed<Voucher>? offered = null;
            Result<StreamingChannel> result;
            switch (step.Action)
            {
                case StreamingAction.Voucher:
                    var cumulative = Saturating(channel.Paid.MinorUnits, step.AmountDelta);
                    offered = Voucher(
                        Offset(channel.LastSequence, step.SequenceDelta),
                        cumulative,
                        increment: unchecked(cumulative - channel.Paid.MinorUnits),
                        signer: step.Flaw is Flaw.ForgedSignature or Flaw.SwappedSignatures ? Keys.Payee : Keys.Payer,
                        channel: step.Flaw == Flaw.OtherChannel ? OtherChannel : Channel,
                        network: step.Flaw == Flaw.OtherNetwork ? OtherNetwork : Network,
                        currency: step.Flaw == Flaw.OtherCurrency ? Currency.Usd : Currency.Eur);
                    var accepted = StreamingChannels.AcceptVoucher(channel, offered, now);
                    if (accepted.IsOk) increment = accepted.Value.Increment;
                    result = accepted.Then<StreamingChannel>(a => a.Channel);
                    break;
                case StreamingAction.PayerClose:
                    result = StreamingChannels.RequestClose(channel, Close(PayerId, Keys.Payer), now);
                    break;
                case StreamingAction.PayeeClose:
                    result = StreamingChannels.RequestClose(channel, Close(PayeeId, Keys.Payee), now);
                    break;
                case StreamingAction.StrangerClose:
                    result = StreamingChannels.RequestClose(channel, Close(StrangerId, Keys.Stranger), now);
                    break;
                case StreamingAction.ForgedPayerClose:
                    result = StreamingChannels.RequestClose(channel, Close(PayerId, Keys.Stranger), now);
                    break;
                default:
                    result = StreamingChannels.FinalizeClose(channel, now);
                    break;
            }
            if (result.IsOk) channel = result.Value;
            trace.Add(new StreamingTrace(step, now, before, result.Error, channel, increment, offered));
        }

        // Whatever the script did, end it: the payee closes an open channel, a closing one is finalized after its deadline.
        var end = new Timestamp(time + script.WindowMs + 1);
        var last = channel;
        var closed = channel.Status switch
        {
            ChannelStatus.Open => StreamingChannels.RequestClose(channel, Close(PayeeId, Keys.Payee), end).Value,
            ChannelStatus.Closing => StreamingChannels.FinalizeClose(channel, end).Value,
            _ => channel,
        };
        trace.Add(new StreamingTrace(new StreamingStep(StreamingAction.Finalize, 0, 0, 0, Flaw.None), end, last, null, closed, null, null));
        return [.. trace];
    }

    public static DuplexTrace[] Play(DuplexScript script)
    {
        var channel = DuplexChannels.Open(DuplexTerms(script.DepositA, script.DepositB)).Value;
        var time = Now.UnixMilliseconds;
        var trace = new List<DuplexTrace>();
        foreach (var step in script.Steps)
        {
            time += step.AdvanceMs;
            var now = new Timestamp(time);
            var before = channel;
            Signed<DuplexState>? offered = null;
            Result<DuplexChannel> result;
            switch (step.Action)
            {
                case DuplexAction.Update:
                case DuplexAction.CooperativeClose:
                    var cooperative = step.Action == DuplexAction.CooperativeClose;
                    var balanceB = Saturating(Saturating(script.Total, step.BalanceA == long.MinValue ? long.MaxValue : -step.BalanceA), step.Imbalance);
                    offered = State(
                        Offset(channel.Version, step.VersionDelta), step.BalanceA, balanceB,
                        isFinal: cooperative != step.MarkFinal,
                        signerA: step.Flaw switch { Flaw.SwappedSignatures => Keys.Payee, _ => Keys.Payer },
                        signerB: step.Flaw switch { Flaw.SwappedSignatures => Keys.Payer, Flaw.ForgedSignature => Keys.Stranger, _ => Keys.Payee },
                        channel: step.Flaw == Flaw.OtherChannel ? OtherChannel : Channel,
                        network: step.Flaw == Flaw.OtherNetwork ? OtherNetwork : Network,
                        currency: step.Flaw == Flaw.OtherCurrency ? Currency.Usd : Currency.Eur);
                    result = cooperative
                        ? DuplexChannels.CloseCooperatively(channel, offered, now)
                        : DuplexChannels.Update(channel, offered, now);
                    break;
                case DuplexAction.CloseByA:
                    result = DuplexChannels.RequestClose(channel, DuplexClose(PayerId, step.Flaw == Flaw.ForgedSignature ? Keys.Stranger : Keys.Payer), now);
                    break;
                case DuplexAction.CloseByB:
                    result = DuplexChannels.RequestClose(channel, DuplexClose(PayeeId, Keys.Payee), now);
                    break;
                case DuplexAction.StrangerClose:
                    result = DuplexChannels.RequestClose(channel, DuplexClose(StrangerId, Keys.Stranger), now);
                    break;
                default:
                    result = DuplexChannels.FinalizeClose(channel, now);
                    break;
            }
            if (result.IsOk) channel = result.Value;
            trace.Add(new DuplexTrace(step, now, before, result.Error, channel, offered));
        }

        var end = new Timestamp(time + WindowMs + 1);
        var last = channel;
        var closed = channel.Status switch
        {
            ChannelStatus.Open => DuplexChannels.FinalizeClose(DuplexChannels.RequestClose(channel, DuplexClose(PayeeId, Keys.Payee), new Timestamp(time)).Value, end).Value,
            ChannelStatus.Closing => DuplexChannels.FinalizeClose(channel, end).Value,
            _ => channel,
        };
        trace.Add(new DuplexTrace(new DuplexStep(DuplexAction.Finalize, 0, 0, 0, 0, false, Flaw.None), end, last, null, closed, null));
        return [.. trace];
    }
}
