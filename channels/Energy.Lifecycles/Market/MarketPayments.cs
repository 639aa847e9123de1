using Energy.Channels;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Lifecycles.Channels;

namespace Energy.Lifecycles.Market;

/// <summary>What one participant owes the market's operator for a settled interval, or is owed by it, and over which channel.</summary>
public sealed record MarketPaymentDue(DeviceId Participant, MarketSide Side, ChannelId? Channel, bool ToOperator, Money Due)
{
    /// <summary>Who pays whom on the channel that carries this payment.</summary>
    public (PartyId Payer, PartyId Payee) Direction(OperatorId marketOperator) => ToOperator
        ? (PartyId.From(Participant), PartyId.From(marketOperator))
        : (PartyId.From(marketOperator), PartyId.From(Participant));
}

/// <summary>
/// How a settled interval is paid, as pure functions: over each participant's streaming channel with the market's operator
/// (its central counterparty), counting only the vouchers whose purpose names the zone and the interval. A buyer pays its
/// energy and imbalance charge to the operator; a seller is paid its energy less its charge by the operator (or pays the
/// difference when the charge is larger). The market reads what each channel holds as paid for the interval; it never moves
/// money itself: the channels settle on the ledger when they close.
/// </summary>
public static class MarketPaymentRules
{
    /// <summary>The purpose every voucher paying this interval names.</summary>
    public static PaymentPurpose PurposeOf(MarketInterval interval) =>
        PaymentPurpose.ForMarketInterval(interval.Zone.Value, interval.Start.UnixMilliseconds).Unwrap();

    /// <summary>Each participant's payment of the settled interval; a participant whose energy and charge net to nothing has none.</summary>
    public static List<MarketPaymentDue> Due(MarketIntervalSettled settled)
    {
        var due = new List<MarketPaymentDue>();
        foreach (var line in settled.Lines)
        {
            var net = line.Side == MarketSide.Bid
                ? -(line.EnergyAmount.MinorUnits + line.ImbalanceCharge.MinorUnits)
                : line.EnergyAmount.MinorUnits - line.ImbalanceCharge.MinorUnits;
            if (net == 0) continue;
            due.Add(new MarketPaymentDue(line.Participant, line.Side, line.Channel, net < 0, new Money(Math.Abs(net), settled.BuyersPay.Currency)));
        }
        return due;
    }

    /// <summary>
    /// What a channel's answer counts as paid for the due: what its vouchers naming the interval added, only on a channel
    /// between the participant and the market's operator in the direction the money is due; otherwise the named reason.
    /// </summary>
    public static Result<Money> Counted(ZoneId zone, long interval, PaymentPurpose purpose, OperatorId marketOperator, MarketPaymentDue due, object? answer)
    {
        var (payer, payee) = due.Direction(marketOperator);
        return answer switch
        {
            PurposePaid paid when paid.Purpose != purpose => new MalformedValue("purpose", paid.Purpose.ToString(), purpose.ToString()),
            PurposePaid paid when paid.Payer != payer || paid.Payee != payee =>
                new MarketPaymentChannelOfOthers(zone, interval, due.Participant, paid.ChannelId, paid.Payer, paid.Payee, payer, payee),
            PurposePaid paid when paid.Paid.Currency != due.Due.Currency => new CurrencyMismatch(due.Due.Currency, paid.Paid.Currency),
            PurposePaid paid => paid.Paid,
            Refusal refusal => refusal.Error,
            _ => new NotAnsweredInTime($"channel {due.Channel}, for {due.Participant}'s payment of interval {interval}"),
        };
    }

    /// <summary>
    /// The payment line of a due once the payments close: what was counted as paid, and when it falls short why (the
    /// channel's refusal, or the shortfall itself).
    /// </summary>
    public static MarketPaymentLine Line(ZoneId zone, long interval, MarketPaymentDue due, Result<Money>? counted)
    {
        var zero = Money.Zero(due.Due.Currency);
        ProtocolError? reason = due.Channel is null ? new MarketPaymentChannelMissing(zone, interval, due.Participant)
            : counted is { IsOk: false } failed ? failed.Error
            : null;
        var paid = counted is { IsOk: true } ok ? ok.Value : zero;
        if (reason is null && paid < due.Due) reason = new MarketPaymentShort(zone, interval, due.Participant, due.ToOperator, due.Due, paid);
        return new MarketPaymentLine(due.Participant, due.Side, due.Channel, due.ToOperator, due.Due, paid, reason?.Code, reason?.Describe());
    }

    /// <summary>The event that closes the payments: every line, and each one short named by participant and reason.</summary>
    public static MarketIntervalPaid Close(long interval, IReadOnlyList<MarketPaymentLine> lines) =>
        new(interval, lines.Where(l => l.RefusalCode is not null).Select(l => $"{l.Participant}: {l.RefusalCode}: {l.RefusalMessage}").ToList())
        {
            Payments = lines,
        };
}

/// <summary>
/// The payments of one settled interval while the market reads them: the latest count of each participant's channel. They
/// close once every due is covered, or after one last round of reads that starts once the payment window has passed (what
/// is short then is named).
/// </summary>
public sealed class MarketPayments(MarketInterval interval, OperatorId marketOperator, IReadOnlyList<MarketPaymentDue> due, Timestamp windowEnds)
{
    /// <summary>The shortest payment window, for markets of intervals shorter than a minute.</summary>
    public static readonly DurationMs WindowMin = DurationMs.FromSeconds(60);

    private readonly Dictionary<(DeviceId Participant, MarketSide Side), Result<Money>> _counted = [];

    /// <summary>
    /// The payments of a settled interval: a participant has an interval's length after the settlement (a minute at
    /// least) to pay what it owes, and the operator as long to pay the sellers.
    /// </summary>
    public static MarketPayments Of(ClearedInterval cleared, MarketIntervalSettled settled)
    {
        var windowEnds = settled.SettledAt.Plus(new DurationMs(Math.Max(cleared.Interval.Length.Milliseconds, WindowMin.Milliseconds)));
        return new MarketPayments(cleared.Interval, settled.MarketOperator, MarketPaymentRules.Due(settled), windowEnds.IsOk ? windowEnds.Value : settled.SettledAt);
    }
    private int _finalAnswersAwaited = -1;
    private int _inFlight;

    public long Interval => interval.Number;
    public PaymentPurpose Purpose { get; } = MarketPaymentRules.PurposeOf(interval);
    public Timestamp WindowEnds => windowEnds;

    /// <summary>The round of reads answers belong to; the last one is the final round.</summary>
    public int Round { get; private set; }

    /// <summary>Whether the final round of reads is under way.</summary>
    public bool Closing => _finalAnswersAwaited >= 0;

    /// <summary>Whether reads of an earlier round are still unanswered (a new round waits for them, except the final one).</summary>
    public bool Reading => _inFlight > 0;

    /// <summary>A round was asked for while another was in flight: it starts once that one's answers are in.</summary>
    public bool ReadWanted { get; set; }

    /// <summary>A round was asked for meanwhile and the reads it waited for are all answered: it is to start now.</summary>
    public bool RoundDue => ReadWanted && !Reading;

    /// <summary>
    /// What the market does next at <paramref name="now"/>: close the payments once every due is covered (or the window
    /// has passed with nothing left to read); else start a round of reads of the dues not yet covered, at most one in
    /// flight except the final one, which starts once the window has passed and closes the payments when its answers are
    /// all in; else nothing (a round asked for while another is in flight starts once that one's answers are in).
    /// </summary>
    public PaymentRound Next(Timestamp now)
    {
        if (Covered) return PaymentRound.CloseNow;
        if (Closing) return PaymentRound.Nothing;
        var unsettled = Unsettled();
        var final = now >= WindowEnds;
        if (final && unsettled.Count == 0) return PaymentRound.CloseNow;
        if (!final && Reading)
        {
            ReadWanted = true;
            return PaymentRound.Nothing;
        }
        ReadWanted = false;
        return new PaymentRound(false, StartRound(final, unsettled.Count), unsettled);
    }

    /// <summary>The dues still to read: those not yet covered, with a channel to read.</summary>
    public List<MarketPaymentDue> Unsettled() =>
        due.Where(d => d.Channel is not null && !(_counted.TryGetValue((d.Participant, d.Side), out var c) && c.IsOk && c.Value >= d.Due)).ToList();

    /// <summary>Whether every due is covered (a due without a channel never is).</summary>
    public bool Covered => !due.Any(d => d.Channel is null) && Unsettled().Count == 0;

    /// <summary>Starts a round of reads of <paramref name="reads"/> channels; the final one closes the payments once all its answers are in.</summary>
    public int StartRound(bool final, int reads)
    {
        if (final) _finalAnswersAwaited = reads;
        _inFlight += reads;
        return ++Round;
    }

    /// <summary>
    /// Takes a channel's answer for a participant; a count never goes down (an older answer arriving late changes nothing).
    /// True when the payments may close: every due is covered, or the final round's answers are all in.
    /// </summary>
    public bool Answer(DeviceId participant, MarketSide side, object? answer, int round)
    {
        var d = due.FirstOrDefault(x => x.Participant == participant && x.Side == side);
        if (d is not null)
        {
            var counted = MarketPaymentRules.Counted(interval.Zone, interval.Number, Purpose, marketOperator, d, answer);
            if (!(_counted.TryGetValue((participant, side), out var before) && before.IsOk && (!counted.IsOk || counted.Value < before.Value)))
                _counted[(participant, side)] = counted;
        }
        if (_inFlight > 0) _inFlight--;
        if (Closing && round == Round) _finalAnswersAwaited--;
        return Covered || _finalAnswersAwaited == 0;
    }

    public MarketIntervalPaid Close() =>
        MarketPaymentRules.Close(interval.Number, due.Select(d => MarketPaymentRules.Line(interval.Zone, interval.Number, d, _counted.GetValueOrDefault((d.Participant, d.Side)))).ToList());
}

/// <summary>
/// What a market does next with an interval's payments: close them (<see cref="Close"/>), or read <see cref="Reads"/> as
/// round <see cref="Round"/> (none when <see cref="Round"/> is 0: nothing to do now).
/// </summary>
public sealed record PaymentRound(bool Close, int Round, IReadOnlyList<MarketPaymentDue> Reads)
{
    public static readonly PaymentRound CloseNow = new(true, 0, []);
    public static readonly PaymentRound Nothing = new(false, 0, []);
}
