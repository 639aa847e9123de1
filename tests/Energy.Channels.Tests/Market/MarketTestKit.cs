using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Primitives;

namespace Energy.Channels.Tests.Market;

/// <summary>A zone's market in five-minute intervals with gates closing a minute ahead, and orders for it.</summary>
public static class MarketTestKit
{
    public static readonly ZoneId Zone = ZoneId.Of("zone-north");
    public static readonly ZoneId OtherZone = ZoneId.Of("zone-south");
    public static readonly DurationMs Length = DurationMs.FromMinutes(5);
    public static readonly MarketRules Rules = MarketRules.Default;

    /// <summary><see cref="TestParties.Now"/> starts interval 6,000,000; orders in the tests are for the next one.</summary>
    public static readonly MarketInterval Current = MarketInterval.Containing(Zone, TestParties.Now, Length);
    public static readonly MarketInterval Next = MarketInterval.Numbered(Zone, Current.Number + 1, Length);

    /// <summary>Before the next interval's gate closes (a minute before it starts).</summary>
    public static readonly Timestamp BeforeGate = TestParties.At(3 * 60_000);

    public static readonly DeviceId Seller = TestParties.MeterId;
    public static readonly DeviceId Buyer = TestParties.OtherMeterId;

    public static MarketBook EmptyBook(MarketRules? rules = null) =>
        MarketBooks.Create(TestParties.Network, Zone, Currency.Eur, rules ?? Rules).Unwrap();

    public static EnergyPrice Price(long minorUnitsPerKwh) => new(minorUnitsPerKwh, Currency.Eur);

    public static MarketOrder Order(MarketSide side, long wattHours, long price, ulong number = 1, DeviceId? device = null,
        MarketInterval? interval = null, NetworkId? network = null, Currency? currency = null) =>
        new(network ?? TestParties.Network, interval ?? Next, device ?? (side == MarketSide.Offer ? Seller : Buyer), side, number,
            new EnergyWh(wattHours), new EnergyPrice(price, currency ?? Currency.Eur));

    public static Signed<MarketOrder> Signed(MarketOrder order, DeviceKeyPair? signer = null) =>
        Signed<MarketOrder>.Sign(order, signer ?? (order.Device == Seller ? Keys.Meter : Keys.OtherMeter));

    public static DevicePublicKey KeyOf(DeviceId device) => device == Seller ? Keys.Meter.PublicKey : Keys.OtherMeter.PublicKey;

    /// <summary>Decides and applies, as the zone's entity does; the test fails if the market refuses.</summary>
    public static MarketBook Place(MarketBook book, MarketOrder order, Timestamp? now = null)
    {
        var accepted = MarketBooks.DecideOrder(book, Signed(order), KeyOf(order.Device), now ?? BeforeGate);
        Assert.True(accepted.IsOk, accepted.Error?.ToString());
        return MarketBooks.Apply(book, accepted.Value);
    }

    /// <summary>An order as accepted, for clearing without a book.</summary>
    public static AcceptedOrder Accepted(ulong sequence, MarketSide side, long wattHours, long price, string? device = null, ulong number = 1) =>
        new(Order(side, wattHours, price, number, device is null ? null : DeviceId.Of(device)), sequence);
}
