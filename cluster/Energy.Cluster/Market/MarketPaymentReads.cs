using Akka.Actor;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Market;

namespace Energy.Cluster.Market;

/// <summary>A channel's answer about a participant's payment of an interval, piped back to the market (null when it did not answer in time).</summary>
public sealed record PaymentRead(long Interval, DeviceId Participant, MarketSide Side, object? Answer, int Round);

/// <summary>The market's timer to read the payments again.</summary>
public sealed record ReadPaymentsDue
{
    public static readonly ReadPaymentsDue Instance = new();
}

/// <summary>
/// A market's reads of the payments under way: for each settled interval, the channels whose payments are not yet covered
/// are asked (the answers piped back as <see cref="PaymentRead"/>, never awaited) as its <see cref="MarketPayments"/> says,
/// until they close; <paramref name="paid"/> is told the event that closes them, to be written. The timer is the
/// <paramref name="owner"/>'s (given to it only once it is constructed).
/// </summary>
public sealed class MarketPaymentReads(IActorContext context, IWithTimers owner, IActorRef channels, EnergySettings settings, Action<MarketIntervalPaid> paid)
{
    private const string Timer = "payments";

    private readonly Dictionary<long, MarketPayments> _payments = [];

    /// <summary>Payments are under way: the market has work of its own.</summary>
    public bool Any => _payments.Count > 0;

    /// <summary>Starts reading the payments of a settled interval (once: an interval already read is left as it is).</summary>
    public void Start(ClearedInterval cleared, MarketIntervalSettled settled)
    {
        if (_payments.ContainsKey(settled.Interval)) return;
        var payments = MarketPayments.Of(cleared, settled);
        _payments[settled.Interval] = payments;
        Read(payments);
    }

    public void ReadAll()
    {
        foreach (var payments in _payments.Values.ToList()) Read(payments);
    }

    public void Answered(PaymentRead read)
    {
        if (!_payments.TryGetValue(read.Interval, out var payments)) return;
        if (payments.Answer(read.Participant, read.Side, read.Answer, read.Round)) Close(payments);
        else if (payments.RoundDue) Read(payments);
    }

    /// <summary>Asks each channel the next round names; every ask is answered or fails within the ask timeout.</summary>
    private void Read(MarketPayments payments)
    {
        var next = payments.Next(settings.Clock.Now);
        if (next.Close) { Close(payments); return; }
        if (next.Round == 0) return;
        var self = context.Self;
        foreach (var due in next.Reads)
        {
            var (participant, side, round) = (due.Participant, due.Side, next.Round);
            channels.Ask<object>(new GetPurposePaid(due.Channel!.Value, payments.Purpose), settings.AskTimeout)
                .PipeTo(self, success: answer => new PaymentRead(payments.Interval, participant, side, answer, round),
                    failure: _ => new PaymentRead(payments.Interval, participant, side, null, round));
        }
        owner.Timers.StartSingleTimer(Timer, ReadPaymentsDue.Instance, settings.AskTimeout + settings.AskTimeout);
    }

    private void Close(MarketPayments payments)
    {
        if (!_payments.Remove(payments.Interval)) return;
        if (_payments.Count == 0) owner.Timers.Cancel(Timer);
        paid(payments.Close());
    }
}
