using Energy.Channels.Encoding;
using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Energy.Lifecycles;
using Energy.Lifecycles.Market;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Market;

/// <summary>
/// The market's one evolve function and what its core says follows each durable event, called on the pure functions
/// the way the entity calls them, over the same scripts as the rest of the market's properties: the journal replays
/// to the same market by each event's own Apply and anything else changes nothing; an order is published and
/// acknowledged only through the index, never answered before; a clearing is answered once, after its last interval,
/// with each interval published with the outcome decided for it; a settlement is published, answered and its payments
/// read; a restarted market reads again the payments of exactly its settled intervals not yet paid.
/// </summary>
public partial class ZoneMarketProperties
{
    /// <summary>Things a market never journals: a reply, a query, a snapshot, nothing at all.</summary>
    private static readonly object[] NotMarketEvents =
    [
        new MarketCleared(Zone, [1, 2], 2), new GetMarketInterval(Zone, 1), new MarketSnapshot(99, 7, []), "market.event.order-recorded.v1", new object(),
    ];

    [Property(MaxTest = Runs)]
    public Property Evolve_by_each_journaled_event_is_its_Apply_and_anything_else_leaves_the_market_as_it_was() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 3).ToArbitrary(), (steps, paidEvery) =>
        {
            var journal = WithPayments(Play(steps), paidEvery).Journal;
            var empty = new ZoneMarket(MarketTestKit.EmptyBook());
            var evolved = journal.Aggregate(empty, (market, e) => ZoneMarkets.Evolve(market, e));
            var applied = journal.Aggregate(empty, Evolve);
            // A snapshot's description holds every interval's payments too: a paid interval replays as paid.
            Assert.Equal(Describe(applied), Describe(evolved));
            foreach (var stranger in NotMarketEvents)
                Assert.Same(evolved, ZoneMarkets.Evolve(evolved, stranger));
        });

    [Property(MaxTest = Runs)]
    public Property An_order_once_durable_is_published_and_acknowledged_through_the_index_and_never_answered_before() =>
        Prop.ForAll(Scripts, steps =>
        {
            var market = new ZoneMarket(MarketTestKit.EmptyBook());
            foreach (var e in Play(steps).Journal)
            {
                market = ZoneMarkets.Evolve(market, e);
                if (e is not MarketOrderRecorded recorded) continue;
                var order = Signed<MarketOrder>.Decode(recorded.Order).Unwrap().Payload;
                var follows = ZoneMarkets.Durable(market, recorded, order);
                Assert.DoesNotContain(follows, f => f.Kind == EffectKind.Reply);
                Assert.Equal(Effect.Publish(recorded, order), follows[0]);
                var acknowledgement = Assert.IsType<AcknowledgeOnceIndexed>(Assert.Single(follows, f => f.Kind == EffectKind.Then).Key).Answer;
                Assert.Equal(new MarketOrderAccepted(Zone, order.Interval.Number, order.Device, order.OrderNumber, recorded.Sequence, recorded.AcceptedAt),
                    acknowledgement);
            }
        });

    [Property(MaxTest = Runs)]
    public Property A_clearing_is_answered_once_after_its_last_interval_and_each_interval_is_published_with_its_outcome() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 4).ToArbitrary(), Gen.Frequency((1, Gen.Choose(1, 2)), (3, Gen.Constant(64))).ToArbitrary(),
            (steps, intervalsLater, max) =>
            {
                var played = Play(steps);
                var at = new Timestamp(played.Now.UnixMilliseconds + intervalsLater * Length.Milliseconds);
                var clearings = ZoneMarkets.DecideClearings(played.Market, at, max);
                Assert.InRange(clearings.Decided.Count, 0, max);
                var (market, recomputed, follows) = (played.Market, played.Market, new List<Effect[]>());
                foreach (var e in clearings.Events)
                {
                    market = ZoneMarkets.Evolve(market, e, clearings.ResultOf(e.Interval));
                    recomputed = ZoneMarkets.Evolve(recomputed, e);
                    follows.Add(ZoneMarkets.Durable(market, e, clearings));
                }
                // The outcome handed to Evolve is the interval's own: the market is as if each interval were cleared again.
                Assert.Equal(Describe(recomputed), Describe(market));
                for (var i = 0; i < follows.Count; i++)
                {
                    var (decided, effects) = (clearings.Decided[i], follows[i]);
                    Assert.Equal(Effect.Publish(new MarketIntervalCleared(decided.Interval.Number, decided.ClearedAt), decided.Result), effects[0]);
                    Assert.Same(decided.Result, effects[0].Key);
                    Assert.Equal(i == follows.Count - 1 ? 2 : 1, effects.Length);
                }
                var answer = clearings.IsEmpty ? clearings.Answer(market) : (MarketCleared)follows[^1][^1].Message!;
                Assert.Equal(clearings.Decided.Select(d => d.Interval.Number), answer.Intervals);
                Assert.Equal((Zone, market.Book.LastCleared), (answer.Zone, answer.LastCleared));
                if (!clearings.IsEmpty) Assert.Equal(clearings.Decided[^1].Interval.Number, answer.LastCleared);
                Assert.False(clearings.IsLast(new MarketIntervalCleared(market.Book.LastCleared + 1, at)));
            });

    [Property(MaxTest = Runs)]
    public Property A_settlement_once_durable_is_published_answered_and_its_payments_read_from_the_interval_as_kept() =>
        Prop.ForAll(Scripts, steps =>
        {
            var market = new ZoneMarket(MarketTestKit.EmptyBook());
            foreach (var e in Play(steps).Journal)
            {
                market = ZoneMarkets.Evolve(market, e);
                if (e is not MarketIntervalSettled settled) continue;
                var follows = ZoneMarkets.Durable(market, settled);
                Assert.Equal(new[] { Effect.Publish(settled), Effect.Reply(settled) }, follows[..2]);
                var read = Assert.IsType<ReadPayments>(Assert.Single(follows, f => f.Kind == EffectKind.Then).Key);
                Assert.Same(settled, read.Settled);
                Assert.Same(market.Cleared[settled.Interval], read.Cleared);
                Assert.Same(settled, read.Cleared.Settlement);
            }
        });

    [Property(MaxTest = Runs)]
    public Property A_restarted_market_reads_again_the_payments_of_exactly_its_settled_intervals_not_yet_paid() =>
        Prop.ForAll(Scripts, Gen.Choose(0, 3).ToArbitrary(), (steps, paidEvery) =>
        {
            var market = WithPayments(Play(steps), paidEvery).Market;
            var awaiting = market.Cleared.Values.Where(c => c.Settlement is not null && !c.Paid).Select(c => c.Interval.Number).ToList();
            var restored = ZoneMarkets.FromSnapshot(MarketTestKit.EmptyBook(), ZoneMarkets.ToSnapshot(market));
            foreach (var restarted in new[] { market, restored })
            {
                var follows = ZoneMarkets.Resumed(restarted);
                Assert.All(follows, f => Assert.Equal(EffectKind.Then, f.Kind));
                var reads = follows.Select(f => Assert.IsType<ReadPayments>(f.Key)).ToList();
                Assert.Equal(awaiting, reads.Select(r => r.Settled.Interval));
                Assert.All(reads, r => Assert.Equal((r.Settled.Interval, false), (r.Cleared.Interval.Number, r.Cleared.Paid)));
            }
        });

    /// <summary>
    /// The play with the payments of some of its settled intervals closed (every <paramref name="paidEvery"/>-th, none when 0),
    /// as a market closes them when nothing was read: every due short.
    /// </summary>
    private static Played WithPayments(Played played, int paidEvery)
    {
        var (market, journal) = (played.Market, new List<object>(played.Journal));
        var settled = ZoneMarkets.AwaitingPayment(market).ToList();
        for (var i = 0; paidEvery > 0 && i < settled.Count; i += paidEvery)
        {
            var paid = MarketPayments.Of(settled[i].Interval, settled[i].Settlement).Close();
            journal.Add(paid);
            market = ZoneMarkets.Apply(market, paid);
        }
        return played with { Market = market, Journal = journal };
    }
}
