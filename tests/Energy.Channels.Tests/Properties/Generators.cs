using System.Buffers.Binary;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Market;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using FsCheck;
using FsCheck.Fluent;

namespace Energy.Channels.Tests.Properties;

/// <summary>Generators of field values and of every signed kind, with random values in every field.</summary>
public static class Gens
{
    private const string IdentifierAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789._:-";

    public static Gen<byte[]> Bytes(int count) => Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i), count);

    /// <summary>Any long, with the edges and small values more often than chance would give them.</summary>
    public static readonly Gen<long> AnyLong = Gen.Frequency(
        (1, Gen.Elements(long.MinValue, long.MaxValue, 0L, -1L, 1L, long.MinValue + 1, long.MaxValue - 1)),
        (2, Gen.Choose(-100_000, 100_000).Select(i => (long)i)),
        (4, Bytes(8).Select(b => BinaryPrimitives.ReadInt64BigEndian(b))));

    public static readonly Gen<ulong> AnyULong = AnyLong.Select(l => unchecked((ulong)l));

    public static readonly Gen<bool> AnyBool = Gen.Elements(true, false);

    public static readonly Gen<string> Identifier =
        from length in Gen.Frequency((6, Gen.Choose(1, 12)), (2, Gen.Choose(13, 63)), (1, Gen.Constant(64)))
        from chars in Gen.ArrayOf(Gen.Elements(IdentifierAlphabet.ToCharArray()), length)
        select new string(chars);

    public static readonly Gen<NetworkId> Network = Identifier.Select(v => NetworkId.Of(v));
    public static readonly Gen<ChannelId> Channel = Identifier.Select(v => ChannelId.Of(v));
    public static readonly Gen<PartyId> Party =
        from id in Identifier
        from isOperator in Gen.Elements(true, false)
        select isOperator ? PartyId.From(OperatorId.Of(id)) : PartyId.From(DeviceId.Of(id));
    public static readonly Gen<DeviceId> Device = Identifier.Select(v => DeviceId.Of(v));
    public static readonly Gen<OperatorId> Operator = Identifier.Select(v => OperatorId.Of(v));
    public static readonly Gen<SegmentId> Segment = Identifier.Select(v => SegmentId.Of(v));

    public static readonly Gen<Currency> AnyCurrency = Gen.Frequency(
        (2, Gen.Elements(Currency.Eur, Currency.Usd, Currency.Cny)),
        (1, Gen.ArrayOf(Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZ".ToCharArray()), 3).Select(c => Currency.Of(new string(c)))));

    public static readonly Gen<Money> AnyMoney = from currency in AnyCurrency from units in AnyLong select new Money(units, currency);

    public static readonly Gen<Timestamp> AnyTime = AnyLong.Select(t => new Timestamp(t));

    public static readonly Gen<DeviceRole> Role = Gen.Elements(DeviceRole.Vehicle, DeviceRole.Charger, DeviceRole.Meter, DeviceRole.Gantry);

    public static readonly Gen<DeviceKeyPair> Key = Gen.Elements(Keys.Pool);

    // Every kind's payload

    public static readonly Gen<PaymentPurpose> Purpose = Gen.OneOf(
        Gen.Constant(PaymentPurpose.None),
        Channel.Select(c => PaymentPurpose.ForSession(c.Value).Unwrap()),
        from gantry in Channel from number in AnyULong where number > 0 select PaymentPurpose.ForTollPass(new DeviceId(gantry.Value), number),
        from zone in Channel from start in AnyLong select PaymentPurpose.ForMarketInterval(zone.Value, start == long.MinValue ? 0 : Math.Abs(start)).Unwrap());

    public static readonly Gen<Voucher> Voucher =
        from network in Network from channel in Channel from sequence in AnyULong from cumulative in AnyMoney
        from increment in AnyLong from purpose in Purpose
        select new Voucher(network, channel, sequence, cumulative, new Money(increment, cumulative.Currency), purpose);

    public static readonly Gen<CloseRequest> CloseRequest =
        from network in Network from kind in Gen.Elements(ChannelKind.Streaming, ChannelKind.Duplex) from channel in Channel from closer in Party from at in AnyTime
        select new CloseRequest(network, kind, channel, closer, at);

    public static readonly Gen<DuplexState> DuplexState =
        from network in Network from channel in Channel from version in AnyULong
        from a in AnyMoney from b in AnyLong from isFinal in AnyBool
        select new DuplexState(network, channel, version, a, new Money(b, a.Currency), isFinal);

    public static readonly Gen<MeterReading> MeterReading =
        from network in Network from meter in Device from sequence in AnyULong from time in AnyTime from register in AnyLong
        select new MeterReading(network, meter, sequence, time, new EnergyWh(register));

    public static readonly Gen<TollRequest> TollRequest =
        from network in Network from gantry in Device from vehicle in Device from segment in Segment from time in AnyTime from price in AnyMoney
        select new TollRequest(network, gantry, vehicle, segment, time, price);

    public static readonly Gen<Endorsement> Endorsement =
        from network in Network from operatorId in Operator from device in Device from role in Role from key in Key
        select new Endorsement(network, operatorId, device, role, key.PublicKey);

    public static readonly Gen<AuthenticationChallenge> AuthenticationChallenge =
        from network in Network from device in Device from nonce in Bytes(32) from at in AnyTime
        select new AuthenticationChallenge(network, PartyId.From(device), nonce, at);

    public static readonly Gen<SettlementBlockHeader> SettlementBlockHeader =
        from network in Network from shard in Identifier from height in AnyULong from previous in Bytes(32) from entries in Bytes(32) from at in AnyTime
        select new SettlementBlockHeader(network, shard, height, previous, entries, at);

    public static readonly Gen<Revocation> Revocation =
        from network in Network from operatorId in Operator from device in Device from at in AnyTime
        select new Revocation(network, operatorId, device, at);

    public static readonly Gen<StreamingOpening> StreamingOpening =
        from network in Network from channel in Channel from payer in Party from payee in Party from deposit in AnyMoney from window in AnyLong
        select new StreamingOpening(network, channel, payer, payee, deposit, new DurationMs(window));

    public static readonly Gen<FundingOrder> FundingOrder =
        from network in Network from operatorId in Operator from account in Party from amount in AnyMoney from request in Identifier
        select new FundingOrder(network, operatorId, account, amount, request);

    public static readonly Gen<WithdrawalOrder> WithdrawalOrder =
        from network in Network from account in Party from amount in AnyMoney from request in Identifier
        select new WithdrawalOrder(network, account, amount, request);

    public static readonly Gen<DuplexOpening> DuplexOpening =
        from network in Network from channel in Channel from a in Party from b in Party
        from depositA in AnyMoney from depositB in AnyMoney from window in AnyLong
        select new DuplexOpening(network, channel, a, b, depositA, depositB, new DurationMs(window));

    /// <summary>Orders within every bound a decoder checks (random values elsewhere), so each one decodes.</summary>
    public static readonly Gen<MarketOrder> MarketOrder =
        from network in Network from zone in Identifier from lengthSeconds in Gen.Choose(1, 24 * 60 * 60) from number in Gen.Choose(0, int.MaxValue)
        from device in Device from side in Gen.Elements(MarketSide.Bid, MarketSide.Offer) from orderNumber in AnyULong where orderNumber != 0
        from quantity in Gen.Frequency((3, Gen.Choose(1, 10_000)), (1, Gen.Elements(1, (int)global::Energy.Channels.Market.MarketOrder.MaxQuantityWh)))
        from price in Gen.Choose(0, (int)EnergyPrice.MaxMinorUnitsPerKwh) from currency in AnyCurrency
        let length = DurationMs.FromSeconds(lengthSeconds)
        let start = number % (MarketInterval.MaxEndUnixMilliseconds / length.Milliseconds) * length.Milliseconds
        select new MarketOrder(network, new MarketInterval(ZoneId.Of(zone), new Timestamp(start), length), device, side, orderNumber,
            new EnergyWh(quantity), new EnergyPrice(price, currency));

    // Signed objects of any kind, erased to bytes

    private static Gen<KindSample> Single<T>(Gen<T> payload) where T : ISignable<T> =>
        from p in payload from key in Key
        select KindSample.Of(Signed<T>.Sign(p, key), key.PublicKey);

    private static Gen<KindSample> Double<T>(Gen<T> payload) where T : ISignable<T> =>
        from p in payload from first in Key from second in Key
        select KindSample.Of(TestParties.CoSign(p, first, second), first.PublicKey, second.PublicKey);

    /// <summary>A random object of a random kind, signed by keys from the pool.</summary>
    public static readonly Gen<KindSample> AnySigned = Gen.OneOf(
        Single(Endorsement), Single(Voucher), Single(CloseRequest), Double(DuplexState), Single(MeterReading),
        Single(TollRequest), Single(AuthenticationChallenge), Single(SettlementBlockHeader), Single(Revocation),
        Single(StreamingOpening), Single(FundingOrder), Single(WithdrawalOrder), Double(DuplexOpening), Single(MarketOrder));
}
