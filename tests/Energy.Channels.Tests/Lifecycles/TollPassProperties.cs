using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles;
using Energy.Lifecycles.Tolls;

namespace Energy.Channels.Tests.Lifecycles;

/// <summary>
/// A gantry's pass book and the rules of a toll pass, called directly: random scripts of toll requests (at the
/// price, at the price before a change, stale, off the clock, forged), vouchers naming the pass or something
/// else, channel answers that cover the toll or not, declines and deadlines.
/// </summary>
public class TollPassProperties
{
    private static readonly DeviceId Gantry = DeviceId.Of("gantry-p");
    private static readonly DeviceId Vehicle = DeviceId.Of("vehicle-p");
    private static readonly OperatorId Operator = OperatorId.Of("tolls-p");
    private static readonly SegmentId Segment = SegmentId.Of("segment-p");
    private static readonly ChannelId Channel = ChannelId.Of("channel-p");
    private static readonly DeviceKeyPair GantryKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair ForgedKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair OperatorKey = DeviceKeyPair.Generate();
    private static readonly DeviceKeyPair VehicleKey = DeviceKeyPair.Generate();
    private static readonly Timestamp Start = new(1_800_000_000_000);
    private const long Price = 120;
    private const long AnswerTimeoutMs = 2_000;

    public enum StepKind { Request, RequestAtOldPrice, RequestStale, RequestOffClock, RequestForged, RequestAgain, PayPass, PayOtherPass, PaySession, PayUnreadable, Decline, Wait }

    public sealed record Step(StepKind Kind, int Pass, int Amount, int WaitMs, bool WrongPayee);

    private static readonly Gen<Step> Steps =
        from kind in Gen.Frequency(
            (5, Gen.Constant(StepKind.Request)), (1, Gen.Constant(StepKind.RequestAtOldPrice)), (1, Gen.Constant(StepKind.RequestStale)),
            (1, Gen.Constant(StepKind.RequestOffClock)), (1, Gen.Constant(StepKind.RequestForged)), (1, Gen.Constant(StepKind.RequestAgain)),
            (5, Gen.Constant(StepKind.PayPass)), (1, Gen.Constant(StepKind.PayOtherPass)), (1, Gen.Constant(StepKind.PaySession)),
            (1, Gen.Constant(StepKind.PayUnreadable)), (1, Gen.Constant(StepKind.Decline)), (2, Gen.Constant(StepKind.Wait)))
        from pass in Gen.Choose(0, 20)
        from amount in Gen.Frequency((4, Gen.Constant((int)Price)), (1, Gen.Choose(0, 200)))
        from wait in Gen.Choose(0, 4_000)
        from wrongPayee in Gen.Frequency((8, Gen.Constant(false)), (1, Gen.Constant(true)))
        select new Step(kind, pass, amount, wait, wrongPayee);

    private static readonly Arbitrary<IReadOnlyList<Step>> Scripts = Gen.ListOf(Steps).Select(steps => (IReadOnlyList<Step>)steps.ToList()).ToArbitrary();

    /// <summary>
    /// What a voucher decided to pay a pass named, the pass's toll (the price its request was signed at: the
    /// price before a change is taken within its grace), and what the channel said the vouchers naming that purpose paid.
    /// </summary>
    public sealed record Payment(PassId Pass, Money Toll, PaymentPurpose Named, Money PaidForPurpose, bool WrongPayee, IEnergyMessage Outcome);

    public sealed record Played(TollPassBook Book, IReadOnlyList<IEnergyMessage> Journal, IReadOnlyList<Payment> Payments, IReadOnlyList<(Step Step, ProtocolError Error)> Refusals)
    {
        /// <summary>Each resolved pass as it was when it resolved, whole (the book keeps less of it).</summary>
        public Dictionary<PassId, TollPassState> Resolved { get; } = new();
    }

    private static byte[] SignedTariff() =>
        Signed<GantryTariff>.Sign(new GantryTariff(TestParties.Network, Operator, Gantry, Segment, SegmentId.Of("zone-p"), 0, 0, 1, Currency.Eur,
            [new TollBand(0, Price)], 0, 0, 100), OperatorKey).ToArray();

    private static byte[] Request(Timestamp at, long price, DeviceKeyPair key) =>
        Signed<TollRequest>.Sign(new TollRequest(TestParties.Network, Gantry, Vehicle, Segment, at, new Money(price, Currency.Eur)), key).ToArray();

    /// <summary>
    /// Plays a script as the gantry does: an event is applied to the book once decided (the gantry applies it at
    /// once and answers once it is durable). The price changes from one band price to it once, at the start, so
    /// that a request at the price before is within its grace only for a while.
    /// </summary>
    public static Played Play(IReadOnlyList<Step> steps)
    {
        var book = new TollPassBook(Gantry);
        var journal = new List<IEnergyMessage>();
        var payments = new List<Payment>();
        var refusals = new List<(Step, ProtocolError)>();
        var now = Start;
        var pricing = new TollPricing(new Money(Price, Currency.Eur), new Money(Price - 20, Currency.Eur), Start);
        var sequence = 0;
        byte[]? lastRequest = null;
        var played = new Played(book, journal, payments, refusals);

        void Record(IEnergyMessage e)
        {
            journal.Add(e);
            if (e is not (PassPaid or ViolationRecorded)) { book.Apply(e); return; }
            // A resolution is taken at once, as the gantry does; the pass it gives is the pass as it resolved.
            var resolved = book.Resolve(e);
            Assert.Equal((TollPasses.PassOf(e), false), (resolved.Id, resolved.IsOpen));
            played.Resolved[resolved.Id] = resolved;
        }

        Record(new GantryConfigured(SignedTariff(), GantryKey.PublicKey.Hex));
        foreach (var step in steps)
        {
            now = new Timestamp(now.UnixMilliseconds + 50);
            var open = book.Open.ToList();
            var pass = open.Count == 0 ? null : open[step.Pass % open.Count];
            switch (step.Kind)
            {
                case StepKind.Request or StepKind.RequestAtOldPrice or StepKind.RequestStale or StepKind.RequestOffClock or StepKind.RequestForged or StepKind.RequestAgain:
                    var wire = step.Kind switch
                    {
                        StepKind.RequestAtOldPrice => Request(new Timestamp(now.UnixMilliseconds + ++sequence), Price - 20, GantryKey),
                        StepKind.RequestStale => Request(new Timestamp(now.UnixMilliseconds + ++sequence), Price + 1, GantryKey),
                        StepKind.RequestOffClock => Request(new Timestamp(now.UnixMilliseconds + TollPassBook.RequestClockSkewMs + 1 + ++sequence), Price, GantryKey),
                        StepKind.RequestForged => Request(new Timestamp(now.UnixMilliseconds + ++sequence), Price, ForgedKey),
                        StepKind.RequestAgain when lastRequest is not null => lastRequest,
                        _ => Request(new Timestamp(now.UnixMilliseconds + ++sequence), Price, GantryKey),
                    };
                    var decided = book.DecidePass(wire, TestParties.Network, gantryRevoked: false, pricing, now);
                    if (!decided.IsOk) { refusals.Add((step, decided.Error)); break; }
                    lastRequest = wire;
                    if (decided.Value.Recorded is { } recorded)
                    {
                        journal.Add(recorded);
                        // The gantry takes the pass at once; replaying the journal must give the same book.
                        Assert.Equal(recorded.Pass, book.Take(decided.Value).Id);
                    }
                    break;
                case StepKind.PayPass or StepKind.PayOtherPass or StepKind.PaySession or StepKind.PayUnreadable when pass is not null:
                    var named = step.Kind switch
                    {
                        StepKind.PayOtherPass => PaymentPurpose.ForTollPass(Gantry, (ulong)book.PassCount + 1),
                        StepKind.PaySession => PaymentPurpose.ForSession("session-p").Value,
                        _ => pass.Purpose,
                    };
                    var voucher = step.Kind == StepKind.PayUnreadable
                        ? Signed<Voucher>.Decode([1, 2, 3])
                        : Signed<Voucher>.Decode(Signing.Voucher(Channel, (ulong)journal.Count + 1, step.Amount, step.Amount, VehicleKey, named));
                    var payment = TollPasses.DecidePayment(pass, Operator, voucher, now);
                    if (payment is PassPaymentSubmitted submitted)
                    {
                        Record(submitted);
                        var paidForPurpose = new Money(step.Amount, Currency.Eur);
                        var ack = new VoucherAcknowledged(Channel, 1, paidForPurpose)
                        {
                            Purpose = named, PaidForPurpose = paidForPurpose, Payer = PartyId.From(Vehicle),
                            Payee = step.WrongPayee ? PartyId.From(OperatorId.Of("rival-p")) : PartyId.From(Operator),
                        };
                        payment = TollPasses.DecideAnswer(book.FindOpen(pass.Id)!, Operator, voucher.Value, ack, now);
                        payments.Add(new Payment(pass.Id, pass.Payload.Price, named, paidForPurpose, step.WrongPayee, payment));
                    }
                    Record(payment);
                    break;
                case StepKind.Decline when pass is not null:
                    Record(TollPasses.DecideDecline(pass, Operator, "NoChannel", now));
                    break;
                case StepKind.Wait:
                    now = new Timestamp(now.UnixMilliseconds + step.WaitMs);
                    foreach (var late in book.Open.Select(p => TollPasses.DecideLate(p, Operator, AnswerTimeoutMs, now)).OfType<ViolationRecorded>().ToList())
                        Record(late);
                    break;
            }
        }
        return played;
    }

    private static TollPassBook Replay(IEnumerable<IEnergyMessage> journal)
    {
        var book = new TollPassBook(Gantry);
        foreach (var e in journal) book.Apply(e);
        return book;
    }

    [Property(MaxTest = 60)]
    public Property Replaying_the_journal_gives_the_live_book() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            var replayed = Replay(played.Journal);
            Assert.Equal((played.Book.PassCount, played.Book.PaidCount, played.Book.ViolationCount, played.Book.PaidMinorUnits),
                (replayed.PassCount, replayed.PaidCount, replayed.ViolationCount, replayed.PaidMinorUnits));
            Assert.Equal(played.Book.Open.Select(p => p.Id).OrderBy(p => p.Number), replayed.Open.Select(p => p.Id).OrderBy(p => p.Number));
            Assert.Equal(played.Book.Unfiled.Select(v => v.Id).Order(), replayed.Unfiled.Select(v => v.Id).Order());
            for (var n = 1; n <= played.Book.PassCount; n++)
            {
                var id = new PassId(Gantry, (ulong)n);
                Assert.Equal((played.Book.FindOpen(id), played.Book.ViewOf(id)), (replayed.FindOpen(id), replayed.ViewOf(id)));
            }
        });

    [Property(MaxTest = 60)]
    public Property A_pass_is_paid_only_by_vouchers_naming_it_that_cover_its_toll() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            foreach (var payment in played.Payments.Where(p => p.Outcome is PassPaid))
            {
                Assert.Equal(PaymentPurpose.ForTollPass(payment.Pass.Value).Value, payment.Named);
                Assert.True(payment.PaidForPurpose >= payment.Toll, $"paid {payment.PaidForPurpose} for a toll of {payment.Toll}");
                Assert.False(payment.WrongPayee);
            }
            foreach (var e in played.Journal.OfType<PassPaid>())
                Assert.Contains(played.Payments, p => p.Pass == e.Pass && Equals(p.Outcome, e));
        });

    [Property(MaxTest = 60)]
    public Property Each_pass_resolves_once_and_every_violation_is_filed_until_acknowledged() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            var book = played.Book;
            Assert.Equal(book.PassCount, book.PaidCount + book.ViolationCount + book.OpenCount);
            var resolvedTwice = played.Journal.OfType<PassPaid>().Select(p => p.Pass).Concat(played.Journal.OfType<ViolationRecorded>().Select(v => v.Violation.Pass))
                .GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.Empty(resolvedTwice);
            Assert.Equal(book.ViolationCount, book.Unfiled.Count());
        });

    [Property(MaxTest = 60)]
    public Property A_request_is_refused_off_the_clock_at_a_stale_price_or_unsigned_by_the_gantry() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            foreach (var (step, error) in played.Refusals)
            {
                switch (step.Kind)
                {
                    case StepKind.RequestForged: Assert.IsType<InvalidSignature>(error); break;
                    case StepKind.RequestStale: Assert.IsType<TollPriceChanged>(error); break;
                    case StepKind.RequestOffClock: Assert.Equal("time", Assert.IsType<TollRequestRefused>(error).Field); break;
                    case StepKind.RequestAtOldPrice: Assert.True(error is TollPriceChanged { } changed && changed.Current != changed.Asked, $"{error}"); break;
                    // The same request again may have fallen out of the clock's or the price's bounds meanwhile.
                    case StepKind.RequestAgain: Assert.True(error is TollRequestRefused or TollPriceChanged, $"{error}"); break;
                    default: Assert.Fail($"{step.Kind} was refused: {error}"); break;
                }
            }
        });

    [Property(MaxTest = 60)]
    public Property A_sweep_finds_late_exactly_the_open_passes_past_their_answer_time_that_are_not_being_paid() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 10_000).ToArbitrary(), (steps, laterMs) =>
        {
            var book = Play(steps).Book;
            var open = book.Open.ToList();
            var beingPaid = open.Where((_, i) => i % 3 == 0).Select(p => p.Id).ToHashSet();
            foreach (var pass in beingPaid) book.PaymentStarted(pass);
            // A payment that ended (the channel answered, or did not in time) leaves the pass to its deadline again.
            foreach (var pass in open.Where((_, i) => i % 3 == 1)) { book.PaymentStarted(pass.Id); book.PaymentEnded(pass.Id); }
            Assert.All(open, p => Assert.Equal(beingPaid.Contains(p.Id), book.IsBeingPaid(p.Id)));
            var now = new Timestamp(open.Select(p => p.RecordedAt.UnixMilliseconds).DefaultIfEmpty(Start.UnixMilliseconds).Max() - 5_000 + laterMs);
            var late = book.DecideLate(AnswerTimeoutMs, now);
            var expected = open.Where(p => !beingPaid.Contains(p.Id) && now.UnixMilliseconds - p.RecordedAt.UnixMilliseconds > AnswerTimeoutMs).Select(p => p.Id);
            Assert.Equal(expected.OrderBy(p => p.Number), late.Select(v => v.Violation.Pass).OrderBy(p => p.Number));
            Assert.All(late, v => Assert.Equal(ViolationCause.Late, v.Violation.Cause));
            // A resolved pass is no longer being paid, and a pass the book does not hold open never starts.
            foreach (var resolved in late) book.Apply(resolved);
            book.PaymentStarted(PassId.Of("gantry-p.999999"));
            Assert.False(book.IsBeingPaid(PassId.Of("gantry-p.999999")));
            Assert.All(late, v => Assert.False(book.IsBeingPaid(v.Violation.Pass)));
        });

    [Fact]
    public void A_vehicle_answers_only_its_own_open_pass_and_a_pass_being_paid_is_not_paid_twice()
    {
        var book = new TollPassBook(Gantry);
        book.Apply(new GantryConfigured(SignedTariff(), GantryKey.PublicKey.Hex));
        var decided = book.DecidePass(Request(Start, Price, GantryKey), TestParties.Network, gantryRevoked: false,
            new TollPricing(new Money(Price, Currency.Eur), null, Start), Start).Value;
        book.Apply(decided.Recorded!, decided.Request);
        var pass = book.FindOpen(decided.Recorded!.Pass)!;
        Assert.Equal(pass, TollPasses.CheckAnswer(pass, pass.Id, Vehicle, beingPaid: false, refuseWhileBeingPaid: true).Pass);
        Assert.Equal(new PassNotFound(PassId.Of("gantry-p.9")), TollPasses.CheckAnswer(null, PassId.Of("gantry-p.9"), Vehicle, false, true).Refused);
        Assert.Equal(new NotPassVehicle(pass.Id, DeviceId.Of("other-p")), TollPasses.CheckAnswer(pass, pass.Id, DeviceId.Of("other-p"), false, true).Refused);
        Assert.Equal(new PassBeingPaid(pass.Id), TollPasses.CheckAnswer(pass, pass.Id, Vehicle, beingPaid: true, refuseWhileBeingPaid: true).Refused);
        Assert.Equal(pass.View(), TollPasses.CheckAnswer(pass, pass.Id, Vehicle, beingPaid: true, refuseWhileBeingPaid: false).Standing);
        var resolved = TollPasses.Evolve(pass, TollPasses.DecideDecline(pass, Operator, "NoChannel", Start));
        var answer = TollPasses.CheckAnswer(resolved, pass.Id, Vehicle, beingPaid: false, refuseWhileBeingPaid: true);
        Assert.Null(answer.Pass);
        Assert.Null(answer.Refused);
        Assert.Equal(resolved.View(), answer.Standing);
    }

    [Fact]
    public void A_channel_refusal_is_read_by_its_error_type_into_the_violation_s_cause()
    {
        var book = new TollPassBook(Gantry);
        book.Apply(new GantryConfigured(SignedTariff(), GantryKey.PublicKey.Hex));
        var decided = book.DecidePass(Request(Start, Price, GantryKey), TestParties.Network, false, new TollPricing(new Money(Price, Currency.Eur), null, Start), Start).Value;
        book.Apply(decided.Recorded!, decided.Request);
        var pass = book.FindOpen(decided.Recorded!.Pass)!;
        var voucher = Signed<Voucher>.Decode(Signing.Voucher(Channel, 1, Price, Price, VehicleKey, pass.Purpose)).Value;
        ViolationCause CauseOf(ProtocolError error) =>
            Assert.IsType<ViolationRecorded>(TollPasses.DecideAnswer(pass, Operator, voucher, Refusal.From(error), Start)).Violation.Cause;
        Assert.Equal(ViolationCause.NoChannel, CauseOf(new ChannelNotFound(Channel)));
        Assert.Equal(ViolationCause.DepositExhausted, CauseOf(new AmountExceedsDeposit(Channel, 1, Price)));
        Assert.Equal(ViolationCause.InvalidAnswer, CauseOf(new ChannelBusy(Channel, "starting")));
    }

    [Property(MaxTest = 60)]
    public Property The_gantry_is_told_how_each_pass_resolved_and_of_nothing_else() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            var passes = new Dictionary<PassId, TollPassState>();
            foreach (var e in played.Journal)
            {
                if (e is PassRecorded recorded) passes[recorded.Pass] = TollPasses.Recorded(recorded, Signed<TollRequest>.Decode(recorded.Request).Value);
                var pass = e switch { PassPaid p => passes[p.Pass], ViolationRecorded v => passes[v.Violation.Pass], PassRecorded r => passes[r.Pass], _ => null };
                if (pass is null) continue;
                var notice = TollPasses.Notice(pass, e);
                switch (e)
                {
                    case PassPaid:
                        Assert.Equal((Gantry, "toll.confirmed"), (notice!.Device, notice.Event));
                        break;
                    case ViolationRecorded v:
                        Assert.Equal((Gantry, "toll.violation"), (notice!.Device, notice.Event));
                        Assert.Contains($"\"{v.Violation.Cause.ToWire()}\"", System.Text.Encoding.UTF8.GetString(notice.Frame));
                        break;
                    default:
                        Assert.Null(notice);
                        break;
                }
            }
        });

    [Fact]
    public void A_violation_s_cause_keeps_its_wire_name_and_a_stale_price_asks_for_the_current_one()
    {
        foreach (var cause in Enum.GetValues<ViolationCause>())
            Assert.Equal(System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(cause.ToString()), cause.ToWire());
        Assert.True(TollPassBook.AsksCurrentPrice(new TollPriceChanged(Gantry, new Money(120, Currency.Eur), new Money(121, Currency.Eur))));
        Assert.False(TollPassBook.AsksCurrentPrice(new TollRequestRefused(Gantry, "time", "within 30 s", "40000 ms off")));
    }

    [Fact]
    public void The_price_before_a_change_is_taken_only_within_its_grace()
    {
        var pricing = new TollPricing(new Money(120, Currency.Eur), new Money(100, Currency.Eur), Start);
        Assert.True(pricing.Accepts(new Money(120, Currency.Eur), new Timestamp(Start.UnixMilliseconds + 60_000)));
        Assert.True(pricing.Accepts(new Money(100, Currency.Eur), new Timestamp(Start.UnixMilliseconds + TollPricing.PriceChangeGraceMs)));
        Assert.False(pricing.Accepts(new Money(100, Currency.Eur), new Timestamp(Start.UnixMilliseconds + TollPricing.PriceChangeGraceMs + 1)));
        Assert.False(pricing.Accepts(new Money(90, Currency.Eur), Start));
    }

    [Fact]
    public void A_pass_status_keeps_its_wire_name()
    {
        Assert.Equal(new[] { "awaiting-payment", "paid", "violation" }, Enum.GetValues<PassStatus>().Select(s => s.ToWire()));
    }

    // The book's answers, its price and its restart

    private static (long Passes, long Paid, long Violations, long PaidMinorUnits, int Open, int Unfiled) Counts(TollPassBook book) =>
        (book.PassCount, book.PaidCount, book.ViolationCount, book.PaidMinorUnits, book.OpenCount, book.Unfiled.Count());

    private static Signed<Voucher> VoucherFor(PassId pass) => Signed<Voucher>.Decode(Signing.Voucher(Channel, 1, Price, Price, VehicleKey, pass.Purpose)).Value;

    private static VoucherAcknowledged Covering(PassId pass) => new(Channel, 1, new Money(Price, Currency.Eur))
    {
        Purpose = pass.Purpose, PaidForPurpose = new Money(Price, Currency.Eur), Payer = PartyId.From(Vehicle), Payee = PartyId.From(Operator),
    };

    private static TollPassBook Rebuilt(IEnumerable<IEnergyMessage> journal)
    {
        var book = new TollPassBook(Gantry);
        foreach (var e in journal) book.Apply(e);
        return book;
    }

    [Property(MaxTest = 60)]
    public Property A_resolved_pass_is_remembered_as_it_resolved_for_its_request_again_and_its_vehicle_s_answers() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            var book = played.Book;
            var pricing = new TollPricing(new Money(Price, Currency.Eur), new Money(Price - 20, Currency.Eur), Start);
            var now = new Timestamp(Start.UnixMilliseconds + 50L * steps.Count);
            var requests = played.Journal.OfType<PassRecorded>().ToDictionary(r => r.Pass, r => r.Request);
            foreach (var (id, resolved) in played.Resolved)
            {
                var before = Counts(book);
                Assert.Null(book.FindOpen(id));
                Assert.Equal(resolved.View(), book.ViewOf(id));
                // The same request again is the same pass, as it stands; another vehicle hears it is not its pass.
                var again = book.DecidePass(requests[id], TestParties.Network, false, pricing, now);
                if (again.IsOk) Assert.Equal((resolved.View(), (PassRecorded?)null), (again.Value.Known, again.Value.Recorded));
                Assert.Equal(resolved.View(), book.CheckAnswer(id, Vehicle, refuseWhileBeingPaid: true).Standing);
                Assert.Equal(new NotPassVehicle(id, DeviceId.Of("other-p")), book.CheckAnswer(id, DeviceId.Of("other-p"), refuseWhileBeingPaid: true).Refused);
                Assert.Equal(new PassAlreadyResolved(id, resolved.Status), book.DecideAnswer(id, VoucherFor(id), Covering(id), now).Refused);
                Assert.Equal(before, Counts(book));
            }
            // A pass of another gantry with a number this one used is not this gantry's.
            foreach (var id in played.Resolved.Keys)
                Assert.Null(book.ViewOf(new PassId(DeviceId.Of("gantry-elsewhere"), id.Number)));
        });

    [Property(MaxTest = 60)]
    public Property A_channel_answer_for_a_pass_no_longer_open_is_refused_by_name_and_changes_nothing() =>
        Prop.ForAll(Scripts, steps =>
        {
            var book = Play(steps).Book;
            var now = new Timestamp(Start.UnixMilliseconds + 1_000_000);
            for (var n = 1UL; n <= (ulong)book.PassCount + 1; n++)
            {
                var id = new PassId(Gantry, n);
                var (open, known) = (book.FindOpen(id), book.ViewOf(id));
                var before = Counts(book);
                var decided = book.DecideAnswer(id, VoucherFor(id), Covering(id), now);
                Assert.Equal(before, Counts(book));
                Assert.Equal((open, known), (book.FindOpen(id), book.ViewOf(id)));
                if (open is not null)
                {
                    Assert.Equal((open, (ProtocolError?)null), (decided.Pass, decided.Refused));
                    Assert.Equal(id, Assert.IsType<PassPaid>(decided.Resolution).Pass);
                    continue;
                }
                Assert.Null(decided.Pass);
                Assert.Null(decided.Resolution);
                Assert.Equal(known is null ? new PassNotFound(id) : new PassAlreadyResolved(id, known.Status), decided.Refused);
            }
        });

    [Property(MaxTest = 60)]
    public Property A_pass_is_paid_once_however_often_its_channel_answers_or_its_payment_is_replayed() =>
        Prop.ForAll(Scripts, Gen.Choose(2, 4).ToArbitrary(), (steps, times) =>
        {
            var played = Play(steps);
            var book = played.Book;
            var (passes, paid, violations, paidMinorUnits, open, unfiled) = Counts(book);
            var resolutions = new List<IEnergyMessage>();
            foreach (var pass in book.Open.ToList())
            {
                for (var i = 0; i < times; i++)
                {
                    var decided = book.DecideAnswer(pass.Id, VoucherFor(pass.Id), Covering(pass.Id), Start);
                    if (decided.Resolution is not { } resolution) continue;
                    resolutions.Add(resolution);
                    book.Apply(resolution);
                }
            }
            // The journal holding a resolution twice (a write retried) counts it once too.
            foreach (var resolution in resolutions.Concat(played.Journal.Where(e => e is PassPaid or ViolationRecorded))) book.Apply(resolution);
            Assert.Equal(open, resolutions.Count);
            Assert.Equal((passes, paid + open, violations, paidMinorUnits + open * Price, 0, unfiled), Counts(book));
        });

    [Property(MaxTest = 60)]
    public Property A_decision_on_a_toll_request_changes_nothing_until_its_event_is_applied() =>
        Prop.ForAll(Scripts, steps =>
        {
            var book = Play(steps).Book;
            var pricing = new TollPricing(new Money(Price, Currency.Eur), null, Start);
            var now = new Timestamp(Start.UnixMilliseconds + 60_000);
            var before = Counts(book);
            var fresh = Request(now, Price, GantryKey);
            var first = book.DecidePass(fresh, TestParties.Network, false, pricing, now).Value;
            foreach (var hostile in new[] { Request(now, Price, ForgedKey), Request(now, Price + 1, GantryKey), Request(Start, Price, GantryKey), new byte[] { 1, 2, 3 } })
                Assert.False(book.DecidePass(hostile, TestParties.Network, false, pricing, now).IsOk);
            Assert.IsType<Energy.Lifecycles.Registry.DeviceIsRevoked>(book.DecidePass(fresh, TestParties.Network, gantryRevoked: true, pricing, now).Error);
            var again = book.DecidePass(fresh, TestParties.Network, false, pricing, now).Value;
            Assert.Equal(before, Counts(book));
            Assert.Equal(new PassId(Gantry, (ulong)before.Passes + 1), first.Recorded!.Pass);
            Assert.Equal((first.Recorded.Pass, first.Recorded.At), (again.Recorded!.Pass, again.Recorded.At));
            Assert.Equal(first.Recorded.Request, again.Recorded.Request);
        });

    [Property(MaxTest = 60)]
    public Property A_book_rebuilt_from_its_journal_decides_every_request_and_deadline_alike() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 6_000).ToArbitrary(), (steps, laterMs) =>
        {
            var played = Play(steps);
            var rebuilt = Rebuilt(played.Journal);
            var pricing = new TollPricing(new Money(Price, Currency.Eur), new Money(Price - 20, Currency.Eur), Start);
            var now = new Timestamp(Start.UnixMilliseconds + 50L * steps.Count + laterMs);
            foreach (var recorded in played.Journal.OfType<PassRecorded>().Select(r => r.Request).Append(Request(now, Price, GantryKey)))
            {
                var live = played.Book.DecidePass(recorded, TestParties.Network, false, pricing, now);
                var again = rebuilt.DecidePass(recorded, TestParties.Network, false, pricing, now);
                Assert.Equal(live.IsOk ? (object?)(live.Value.Known, live.Value.Recorded?.Pass) : live.Error,
                    again.IsOk ? (object?)(again.Value.Known, again.Value.Recorded?.Pass) : again.Error);
            }
            Assert.Equal(played.Book.DecideLate(AnswerTimeoutMs, now).OrderBy(v => v.Violation.Pass.Number), rebuilt.DecideLate(AnswerTimeoutMs, now).OrderBy(v => v.Violation.Pass.Number));
            Assert.Equal(played.Book.ToFile(int.MaxValue).OrderBy(f => f.Violation.Id), rebuilt.ToFile(int.MaxValue).OrderBy(f => f.Violation.Id));
        });

    [Property(MaxTest = 60)]
    public Property After_a_restart_only_the_passes_handed_to_a_channel_wait_for_it_and_then_their_deadline_decides() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            var handed = played.Book.Open.Where((_, i) => i % 2 == 0).Select(p => new PassPaymentSubmitted(p.Id, Channel)).ToList();
            var book = Rebuilt(played.Journal.Concat(handed));
            var resumed = book.ResumePayments();
            Assert.Equal(handed.Select(h => h.Pass).OrderBy(p => p.Number), resumed.Select(p => p.Id).OrderBy(p => p.Number));
            Assert.All(resumed, p => Assert.Equal(Channel, p.Channel));
            Assert.All(resumed, p => Assert.Equal(new GetPurposePaid(Channel, p.Purpose), TollPasses.PaidToAsk(p)));
            var muchLater = new Timestamp(Start.UnixMilliseconds + 3_600_000);
            var late = book.DecideLate(AnswerTimeoutMs, muchLater).Select(v => v.Violation.Pass).ToHashSet();
            Assert.Equal(book.Open.Where(p => p.Channel is null).Select(p => p.Id).ToHashSet(), late);
            // The channel found nothing paid (or did not answer): the deadline decides those passes too.
            foreach (var pass in resumed) Assert.Null(book.DecideFound(pass.Id, null, muchLater));
            Assert.Equal(book.OpenCount, book.DecideLate(AnswerTimeoutMs, muchLater).Count);
        });

    [Property(MaxTest = 60)]
    public Property The_violations_filed_at_once_are_bounded_and_each_is_one_not_yet_acknowledged() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 5).ToArbitrary(), (steps, max) =>
        {
            var book = Play(steps).Book;
            var filings = book.ToFile(max);
            Assert.Equal(Math.Min(max, book.Unfiled.Count()), filings.Count);
            Assert.All(filings, f => Assert.True(book.IsUnfiled(f.Violation.Id) && f.Operator == f.Violation.Operator, $"{f}"));
            Assert.Equal(filings.Count, filings.Select(f => f.Violation.Id).Distinct().Count());
            foreach (var filing in filings) book.Apply(new ViolationFiledRecorded(filing.Violation.Id));
            Assert.DoesNotContain(book.ToFile(int.MaxValue), f => filings.Any(done => done.Violation.Id == f.Violation.Id));
        });

    [Property(MaxTest = 100)]
    public Property A_declined_pass_records_the_cause_the_vehicle_gave_only_when_it_is_one_of_the_wire_contract() =>
        Prop.ForAll(Gen.Elements("NoChannel", "DepositExhausted", "nochannel", "Late", "InvalidAnswer", "", "NoChannel ", "deposit").ToArbitrary(), reason =>
        {
            var expected = reason switch
            {
                Energy.Wire.TollDeclineReasons.NoChannel => ViolationCause.NoChannel,
                Energy.Wire.TollDeclineReasons.DepositExhausted => ViolationCause.DepositExhausted,
                _ => ViolationCause.InvalidAnswer,
            };
            Assert.Equal(expected, TollPasses.DeclinedFor(reason));
            var book = Play([new Step(StepKind.Request, 0, (int)Price, 0, false)]).Book;
            var pass = book.Open.Single();
            var declined = TollPasses.DecideDecline(pass, Operator, reason, Start).Violation;
            Assert.Equal((expected, pass.Id), (declined.Cause, declined.Pass));
            Assert.Contains(reason, declined.Detail, StringComparison.Ordinal);
            Assert.Equal(new FileViolation(Operator, declined), TollPasses.ToFile(new ViolationRecorded(declined)));
            Assert.Null(TollPasses.ToFile(new PassPaid(pass.Id, null, new Money(Price, Currency.Eur), Start)));
        });

    [Property(MaxTest = 60)]
    public Property The_gantry_is_told_its_price_exactly_when_it_changes_and_its_requests_are_taken_at_that_price() =>
        Prop.ForAll(Gen.ListOf(Gen.Choose(0, 40)).ToArbitrary(), traffic =>
        {
            var book = new TollPassBook(Gantry);
            Assert.Empty(book.Repriced(Start, 50));
            Assert.Empty(book.Priced(Start));
            Assert.Null(book.PriceNotice());
            var tariff = new GantryTariff(TestParties.Network, Operator, Gantry, Segment, SegmentId.Of("zone-p"), 0, 0, 1, Currency.Eur, [new TollBand(0, Price)], 10, 10, 200);
            book.Apply(new GantryConfigured(Signed<GantryTariff>.Sign(tariff, OperatorKey).ToArray(), GantryKey.PublicKey.Hex));
            var now = Start;
            Money? told = null;
            foreach (var vehicles in traffic.Prepend(0))
            {
                now = new Timestamp(now.UnixMilliseconds + 1_000);
                var was = book.Pricing.Current;
                var effects = book.Repriced(now, vehicles);
                var changed = was != book.Pricing.Current;
                Assert.Equal(GantryTariffs.PriceAt(tariff, now, vehicles), book.Pricing.Current);
                // The gantry is told its price exactly when it changed, and told nothing else.
                Assert.Equal(changed ? [Pushed(book.PriceNotice()!)] : Array.Empty<string>(), effects.Select(Described));
                if (changed) told = book.Pricing.Current;
                Assert.Equal(told, book.Pricing.Current);
                Assert.Equal(vehicles, book.VehiclesInZone);
                var request = Request(now, book.Pricing.Current!.Value.MinorUnits, GantryKey);
                Assert.Equal(book.DecidePass(request, TestParties.Network, false, book.Pricing, now).Value.Recorded!.Pass,
                    book.DecidePass(request, TestParties.Network, false, now).Value.Recorded!.Pass);
            }
            var notice = book.PriceNotice()!;
            Assert.Equal((Gantry, "toll.price"), (notice.Device, notice.Event));
            // Only a tariff that prices congestion asks its zone for the traffic.
            Assert.Equal(new GetZone(SegmentId.Of("zone-p")), book.ZoneToAsk());
            Assert.Null(Play([]).Book.ZoneToAsk());
        });

    // The gantry's periodic work, its price and its answers, as the effects its shell carries out

    private static string Pushed(Energy.Lifecycles.Registry.DeviceEvent notice) => $"push {notice.Device} {notice.Event} {Convert.ToBase64String(notice.Frame)}";

    private static string Described(Effect effect) => effect.Kind switch
    {
        EffectKind.Push => Pushed((Energy.Lifecycles.Registry.DeviceEvent)effect.Message!),
        EffectKind.StartTimer => $"timer {effect.Key} {effect.After.TotalMilliseconds}",
        EffectKind.Then => $"then {effect.Key}",
        EffectKind.Tell => $"tell {effect.To} {effect.Message}",
        _ => $"{effect.Kind} {effect.Message}",
    };

    private static string Timer(GantryTick tick) => Described(Effect.StartTimer(tick, tick switch
    {
        GantryTick.Sweep => TollPassBook.SweepEvery,
        GantryTick.File => TollPassBook.FileEvery,
        _ => TollPassBook.ZoneEvery,
    }));

    private static readonly GantryTariff CongestionTariff =
        new(TestParties.Network, Operator, Gantry, Segment, SegmentId.Of("zone-p"), 0, 0, 2, Currency.Eur, [new TollBand(0, Price)], 10, 10, 200);

    [Property(MaxTest = 60)]
    public Property Each_periodic_turn_does_its_own_work_changes_nothing_and_comes_again() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 10_000).ToArbitrary(), Gen.Elements(false, true).ToArbitrary(), (steps, laterMs, congestion) =>
        {
            var played = Play(steps);
            var book = congestion ? Rebuilt(played.Journal.Append(new GantryConfigured(Signed<GantryTariff>.Sign(CongestionTariff, OperatorKey).ToArray(), GantryKey.PublicKey.Hex)))
                : played.Book;
            var now = new Timestamp(Start.UnixMilliseconds + 50L * steps.Count + laterMs);
            var before = Counts(book);
            var answerTimeout = TimeSpan.FromMilliseconds(AnswerTimeoutMs);
            // A sweep resolves exactly the passes late now, each by its violation, which the shell writes.
            Assert.Equal(book.DecideLate(AnswerTimeoutMs, now).Select(v => $"then {v}").Append(Timer(GantryTick.Sweep)),
                book.Tick(GantryTick.Sweep, answerTimeout, now).Select(Described));
            // A filing gives the operator's toll office the violations it has not acknowledged, bounded.
            Assert.Equal(book.ToFile(TollPassBook.MaxFiledAtOnce).Select(f => Described(Effect.Tell(Peer.TollOffices, f))).Append(Timer(GantryTick.File)),
                book.Tick(GantryTick.File, answerTimeout, now).Select(Described));
            // The zone is asked for its traffic only when the tariff prices congestion.
            var zone = congestion ? [Described(Effect.Tell(Peer.Zones, new GetZone(SegmentId.Of("zone-p"))))] : Array.Empty<string>();
            Assert.Equal(zone.Append(Timer(GantryTick.Zone)), book.Tick(GantryTick.Zone, answerTimeout, now).Select(Described));
            Assert.Equal(before, Counts(book));
        });

    [Property(MaxTest = 60)]
    public Property A_gantry_resumes_its_work_and_one_with_a_tariff_prices_itself_and_asks_its_zone() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 40).ToArbitrary(), (steps, vehicles) =>
        {
            var now = new Timestamp(Start.UnixMilliseconds + 50L * steps.Count);
            var unconfigured = new TollPassBook(Gantry);
            Assert.Equal(new[] { Timer(GantryTick.Sweep), Timer(GantryTick.File) }, unconfigured.Resumed(now).Select(Described));
            var book = Rebuilt(Play(steps).Journal);
            var filings = book.ToFile(TollPassBook.MaxFiledAtOnce).Select(f => Described(Effect.Tell(Peer.TollOffices, f)));
            var resumed = book.Resumed(now).Select(Described).ToList();
            // The first price a recovered gantry works out is always new: the gantry is told it.
            Assert.Equal(filings.Prepend(Timer(GantryTick.Sweep)).Append(Timer(GantryTick.File)).Append(Pushed(book.PriceNotice()!)).Append(Timer(GantryTick.Zone)), resumed);
            // A tariff made durable is answered with the gantry at the price it works out then.
            book.Apply(new GantryConfigured(Signed<GantryTariff>.Sign(CongestionTariff, OperatorKey).ToArray(), GantryKey.PublicKey.Hex));
            book.Repriced(now, vehicles);
            var later = new Timestamp(now.UnixMilliseconds + 1_000);
            var was = book.Pricing.Current;
            var configured = book.Configured(later);
            var price = GantryTariffs.PriceAt(CongestionTariff, later, vehicles);
            Assert.Equal(price, book.Pricing.Current);
            var told = was == price ? Array.Empty<string>() : [Pushed(book.PriceNotice()!)];
            Assert.Equal(told.Append(Timer(GantryTick.Zone)), configured.SkipLast(1).Select(Described));
            Assert.Equal(EffectKind.Reply, configured[^1].Kind);
            Assert.Equal(book.View(), configured[^1].Message);
            Assert.Equal(price, book.View().Price);
        });

    [Property(MaxTest = 60)]
    public Property A_refused_request_is_answered_by_name_and_one_at_a_stale_price_tells_the_gantry_its_price_first() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            var book = played.Book;
            book.Reprice(Start);
            foreach (var (_, error) in played.Refusals.Append(((Step)null!, (ProtocolError)new GantryNotConfigured(Gantry))))
            {
                var told = error is TollPriceChanged ? [Pushed(book.PriceNotice()!)] : Array.Empty<string>();
                var refused = book.Refused(error);
                Assert.Equal(told, refused.SkipLast(1).Select(Described));
                Assert.Equal(Effect.Reply(Refusal.From(error)), refused[^1]);
            }
        });

    [Property(MaxTest = 60)]
    public Property A_vehicle_s_payment_or_decline_is_decided_on_its_own_open_pass_or_answered_at_once_by_name() =>
        Prop.ForAll(Scripts, Gen.Elements(false, true).ToArbitrary(), (steps, otherVehicle) =>
        {
            var book = Play(steps).Book;
            var vehicle = otherVehicle ? DeviceId.Of("other-p") : Vehicle;
            var beingPaid = book.Open.Where((_, i) => i % 2 == 0).Select(p => p.Id).ToList();
            foreach (var id in beingPaid) book.PaymentStarted(id);
            var before = Counts(book);
            for (var n = 1UL; n <= (ulong)book.PassCount + 1; n++)
            {
                var id = new PassId(Gantry, n);
                var voucher = Signed<Voucher>.Decode(Signing.Voucher(Channel, 1, Price, Price, VehicleKey, id.Purpose));
                var (pay, decline) = (book.DecidePay(id, vehicle, voucher, Start), book.DecideDecline(id, vehicle, "NoChannel", Start));
                var (payCheck, declineCheck) = (book.CheckAnswer(id, vehicle, refuseWhileBeingPaid: true), book.CheckAnswer(id, vehicle, refuseWhileBeingPaid: false));
                Assert.Equal(payCheck.Pass, pay.Pass);
                Assert.Equal(payCheck.Pass is { } payable ? TollPasses.DecidePayment(payable, Operator, voucher, Start) : null, pay.Decided);
                Assert.Equal(payCheck.Refused is { } refused ? Refusal.From(refused) : payCheck.Standing, pay.Answer);
                Assert.Equal(declineCheck.Pass, decline.Pass);
                Assert.Equal(declineCheck.Pass is { } declinable ? TollPasses.DecideDecline(declinable, Operator, "NoChannel", Start) : null, decline.Decided);
                Assert.Equal(declineCheck.Refused is { } declineRefused ? Refusal.From(declineRefused) : declineCheck.Standing, decline.Answer);
                // Something is decided, or answered, never both; a second voucher for a pass being paid is refused by name.
                Assert.True((pay.Decided is null) != (pay.Answer is null) && (decline.Decided is null) != (decline.Answer is null), $"{pay} {decline}");
                if (!otherVehicle && beingPaid.Contains(id)) Assert.Equal(Refusal.From(new PassBeingPaid(id)), pay.Answer);
            }
            Assert.Equal(before, Counts(book));
        });

    [Property(MaxTest = 60)]
    public Property The_vehicle_is_owed_its_toll_request_only_while_its_pass_is_open() =>
        Prop.ForAll(Scripts, steps =>
        {
            var book = Play(steps).Book;
            for (var n = 1UL; n <= (ulong)book.PassCount + 1; n++)
            {
                var id = new PassId(Gantry, n);
                var owed = book.AwaitedNotice(id.Value);
                if (book.FindOpen(id) is { } pass) Assert.Equal(Pushed(book.RequestNotice(pass)), Pushed(owed!));
                else Assert.Null(owed);
            }
            foreach (var key in new[] { "", "gantry-p", "gantry-p.0", "other-p.1", "gantry-p.x" }) Assert.Null(book.AwaitedNotice(key));
        });

    [Property(MaxTest = 60)]
    public Property A_tariff_is_read_from_its_wire_form_and_a_registry_that_did_not_answer_configures_nothing() =>
        Prop.ForAll(Gen.Elements(false, true).ToArbitrary(), Gen.Elements(false, true).ToArbitrary(), Gen.Choose(0, 200).ToArbitrary(), (deviceAnswered, operatorAnswered, cut) =>
        {
            var book = new TollPassBook(Gantry);
            var wire = SignedTariff();
            Assert.Equal(Signed<GantryTariff>.Decode(wire).Value, book.CheckTariff(wire, Gantry, TestParties.Network, Currency.Eur).Value);
            var truncated = wire[..Math.Min(cut, wire.Length - 1)];
            Assert.False(book.CheckTariff(truncated, Gantry, TestParties.Network, Currency.Eur).IsOk);
            book.Apply(new GantryConfigured(wire, GantryKey.PublicKey.Hex));
            Assert.True(book.CheckTariff(wire, Gantry, TestParties.Network, Currency.Eur) is { IsOk: true, Value: null });
            // An answer that is not the registry's view refuses by name; no answer in time refuses as such.
            var answer = new Refusal(new GantryNotConfigured(Gantry));
            var decided = TollPassBook.DecideConfigure(Signed<GantryTariff>.Decode(wire).Value, wire, Gantry, deviceAnswered ? answer : null, operatorAnswered ? answer : null, Start);
            Assert.Equal(deviceAnswered && operatorAnswered ? new Energy.Lifecycles.Registry.DeviceNotFound(Gantry) : (ProtocolError)new NotAnsweredInTime("registry"), decided.Error);
        });

    [Fact]
    public void A_tariff_configures_a_gantry_only_for_the_operator_that_endorsed_it_and_only_signed_by_that_operators_key()
    {
        var rival = OperatorId.Of("rival-p");
        var rivalKey = DeviceKeyPair.Generate();
        byte[] Wire(OperatorId by, DeviceKeyPair key) => Signed<GantryTariff>.Sign(new GantryTariff(TestParties.Network, by, Gantry, Segment, SegmentId.Of("zone-p"), 0, 0, 1,
            Currency.Eur, [new TollBand(0, Price)], 0, 0, 100), key).ToArray();
        ProtocolError? Decide(byte[] wire, object? device, object? tollOperator)
        {
            var decided = TollPassBook.DecideConfigure(Signed<GantryTariff>.Decode(wire).Value, wire, Gantry, device, tollOperator, Start);
            return decided.IsOk ? null : decided.Error;
        }
        var gantry = new Energy.Lifecycles.Registry.DeviceView(Gantry, Operator, DeviceRole.Gantry, GantryKey.PublicKey.Hex, false, Start, null);
        Energy.Lifecycles.Registry.OperatorView Admitted(OperatorId id, DeviceKeyPair key) => new(id, OperatorRoles.TollOperator, key.PublicKey.Hex, 1, new Money(0, Currency.Eur), 0, Start);
        var own = Wire(Operator, OperatorKey);

        // Its own operator's tariff configures the gantry with the gantry's key.
        var configured = TollPassBook.DecideConfigure(Signed<GantryTariff>.Decode(own).Value, own, Gantry, gantry, Admitted(Operator, OperatorKey), Start);
        Assert.Equal(GantryKey.PublicKey.Hex, configured.Value.GantryKeyHex);
        // Another operator, admitted and signing with its own key, may not price a gantry it did not endorse.
        var mismatch = Assert.IsType<EndorsementMismatch>(Decide(Wire(rival, rivalKey), gantry, Admitted(rival, rivalKey)));
        Assert.Equal((Operator.Value, rival.Value), (mismatch.Expected, mismatch.Actual));
        // A stranger's tariff naming the gantry's operator but signed by another key is forged.
        Assert.IsType<InvalidSignature>(Decide(Wire(Operator, ForgedKey), gantry, Admitted(Operator, OperatorKey)));
        // A revoked gantry, a device that is not a gantry, an unknown device or operator configure nothing either.
        Assert.IsType<Energy.Lifecycles.Registry.DeviceIsRevoked>(Decide(own, gantry with { Revoked = true, RevokedAt = Start }, Admitted(Operator, OperatorKey)));
        Assert.IsType<Energy.Lifecycles.Charging.DeviceRoleRefused>(Decide(own, gantry with { Role = DeviceRole.Vehicle }, Admitted(Operator, OperatorKey)));
        Assert.IsType<Energy.Lifecycles.Registry.DeviceNotFound>(Decide(own, new Refusal(new Energy.Lifecycles.Registry.DeviceNotFound(Gantry)), Admitted(Operator, OperatorKey)));
        Assert.IsType<Energy.Lifecycles.Registry.OperatorNotFound>(Decide(own, gantry, new Refusal(new Energy.Lifecycles.Registry.OperatorNotFound(Operator))));
    }

    // What the gantry's shell asks its book before it looks anything up, when its gantry calls from a new connection, and when a filing is acknowledged

    public enum TariffKind { Newer, Same, Older, SameVersionOtherwise, OtherNetwork, OtherGantry, OtherCurrency, Truncated, Garbage }

    private static byte[] TariffWire(ulong version, NetworkId network, DeviceId gantry, Currency currency, long price) =>
        Signed<GantryTariff>.Sign(new GantryTariff(network, Operator, gantry, Segment, SegmentId.Of("zone-p"), 0, 0, version, currency,
            [new TollBand(0, price)], 0, 0, 100), OperatorKey).ToArray();

    [Property(MaxTest = 100)]
    public Property A_tariff_is_looked_up_only_when_it_is_new_and_otherwise_answered_at_once_by_name_or_with_the_gantry_as_it_stands() =>
        Prop.ForAll(Gen.Elements(Enum.GetValues<TariffKind>()).ToArbitrary(), Gen.Elements(false, true).ToArbitrary(), Gen.Choose(2, 5).ToArbitrary(),
            (kind, configured, version) =>
            {
                var book = new TollPassBook(Gantry);
                var current = TariffWire((ulong)version, TestParties.Network, Gantry, Currency.Eur, Price);
                if (configured) book.Apply(new GantryConfigured(current, GantryKey.PublicKey.Hex));
                var (before, view) = (Counts(book), book.View());
                var wire = kind switch
                {
                    TariffKind.Same => current,
                    TariffKind.Older => TariffWire((ulong)version - 1, TestParties.Network, Gantry, Currency.Eur, Price),
                    TariffKind.SameVersionOtherwise => TariffWire((ulong)version, TestParties.Network, Gantry, Currency.Eur, Price + 1),
                    TariffKind.OtherNetwork => TariffWire((ulong)version + 1, NetworkId.Of("other-network-p"), Gantry, Currency.Eur, Price),
                    TariffKind.OtherGantry => TariffWire((ulong)version + 1, TestParties.Network, DeviceId.Of("other-gantry-p"), Currency.Eur, Price),
                    TariffKind.OtherCurrency => TariffWire((ulong)version + 1, TestParties.Network, Gantry, Currency.Usd, Price),
                    TariffKind.Truncated => current[..^1],
                    TariffKind.Garbage => [1, 2, 3],
                    _ => TariffWire((ulong)version + 1, TestParties.Network, Gantry, Currency.Eur, Price),
                };
                var decided = book.DecideTariff(wire, Gantry, TestParties.Network, Currency.Eur);
                // A tariff is looked up, or answered at once, never both, and deciding changes nothing.
                Assert.True((decided.ToLookUp is null) != (decided.Answer is null), $"{decided}");
                Assert.Equal((before, view), (Counts(book), book.View()));
                // Of the tariffs for this network, gantry and currency, a gantry without one looks up any; one with a tariff only a newer version.
                switch (kind)
                {
                    case TariffKind.Newer or TariffKind.Same or TariffKind.Older or TariffKind.SameVersionOtherwise when !configured:
                        Assert.Equal(Signed<GantryTariff>.Decode(wire).Value, decided.ToLookUp);
                        break;
                    case TariffKind.Newer:
                        Assert.Equal(Signed<GantryTariff>.Decode(wire).Value, decided.ToLookUp);
                        break;
                    case TariffKind.Same:
                        Assert.Equal(view, decided.Answer);
                        break;
                    case TariffKind.Older or TariffKind.SameVersionOtherwise:
                        Assert.IsType<TariffNotNewer>(Assert.IsType<Refusal>(decided.Answer).Error);
                        break;
                    case TariffKind.OtherNetwork:
                        Assert.IsType<WrongNetwork>(Assert.IsType<Refusal>(decided.Answer).Error);
                        break;
                    case TariffKind.OtherGantry:
                        Assert.IsType<Energy.Lifecycles.Registry.DeviceIdMismatch>(Assert.IsType<Refusal>(decided.Answer).Error);
                        break;
                    case TariffKind.OtherCurrency:
                        Assert.IsType<CurrencyMismatch>(Assert.IsType<Refusal>(decided.Answer).Error);
                        break;
                    default:
                        Assert.IsType<Refusal>(decided.Answer);
                        break;
                }
            });

    [Property(MaxTest = 60)]
    public Property A_gantry_on_a_new_connection_is_told_its_price_again_and_one_without_a_price_is_told_nothing() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 3).ToArbitrary(), Gen.Choose(0, 40).ToArbitrary(), (steps, stage, vehicles) =>
        {
            // Stages: never configured; configured but not priced yet; priced; priced and the zone's traffic changed the price.
            var book = stage == 0 ? new TollPassBook(Gantry) : Rebuilt(Play(steps).Journal.Append(
                new GantryConfigured(Signed<GantryTariff>.Sign(CongestionTariff, OperatorKey).ToArray(), GantryKey.PublicKey.Hex)));
            var now = new Timestamp(Start.UnixMilliseconds + 50L * steps.Count);
            if (stage >= 2) book.Reprice(now);
            if (stage == 3) book.Reprice(now, vehicles);
            var (before, pricing) = (Counts(book), book.Pricing);
            var told = book.Reconnected().Select(Described).ToList();
            Assert.Equal(stage >= 2 ? [Pushed(book.PriceNotice()!)] : Array.Empty<string>(), told);
            if (stage >= 2) Assert.Equal((Gantry, "toll.price"), (book.PriceNotice()!.Device, book.PriceNotice()!.Event));
            // Telling it again changes nothing: the same connection again is told the same.
            Assert.Equal((before, pricing), (Counts(book), book.Pricing));
            Assert.Equal(told, book.Reconnected().Select(Described));
        });

    [Property(MaxTest = 60)]
    public Property An_acknowledgement_is_recorded_only_for_a_violation_filed_and_not_yet_acknowledged() =>
        Prop.ForAll(Scripts, steps =>
        {
            var played = Play(steps);
            var book = played.Book;
            var unfiled = book.Unfiled.Select(v => v.Id).ToList();
            var paid = played.Journal.OfType<PassPaid>().Select(p => $"{p.Pass}.v");
            var hostile = new[] { "", "gantry-p", "gantry-p.999999.v", "other-gantry-p.1.v", "GANTRY-P.1.V" }.Concat(paid).ToList();
            var before = Counts(book);
            foreach (var id in hostile) Assert.Null(book.DecideFiled(id));
            foreach (var id in unfiled) Assert.Equal(new ViolationFiledRecorded(id), book.DecideFiled(id));
            // Deciding changes nothing until the acknowledgement is applied; once it is, the same acknowledgement again writes nothing.
            Assert.Equal(before, Counts(book));
            foreach (var id in unfiled)
            {
                book.Apply(book.DecideFiled(id)!);
                Assert.Null(book.DecideFiled(id));
            }
            Assert.Empty(book.Unfiled);
            Assert.Equal((before.Passes, before.Paid, before.Violations), (book.PassCount, book.PaidCount, book.ViolationCount));
        });
}
