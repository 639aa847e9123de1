using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Market;
using Energy.Channels.Metering;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Energy.Channels.Tests.Properties;

/// <summary>
/// For every signed kind and random values in every field: decode(encode(x)) == x, the decoded object
/// re-encodes byte for byte, and signing the decoded payload again gives the same wire form.
/// </summary>
public class EncodingProperties
{
    private const int Runs = 60;

    private static void RoundTrip<T>(T payload, Func<T, T, bool> equal) where T : ISignable<T>
    {
        var key = Keys.Pool[Math.Abs(payload.GetHashCode() % Keys.Pool.Length)];
        var signed = T.SignatureCount == 1 ? Signed<T>.Sign(payload, key) : TestParties.CoSign(payload, key, Keys.Stranger);

        // Messages name the wire form, not the payload: a Timestamp far from today cannot print itself (see MoneyTests).
        var decoded = Signed<T>.Decode(signed.Wire);
        if (!decoded.IsOk) Assert.Fail($"{Convert.ToHexStringLower(signed.Wire)} did not decode: {decoded.Error}");
        if (!equal(payload, decoded.Value.Payload)) Assert.Fail($"{Convert.ToHexStringLower(signed.Wire)} decoded to a different payload");
        Assert.Equal(signed.Wire.ToArray(), decoded.Value.Wire.ToArray());
        Assert.Equal(signed.Body.ToArray(), Signed<T>.EncodeBody(decoded.Value.Payload));
        Assert.True(decoded.Value.IsSignedBy(key.PublicKey));
        if (T.SignatureCount == 1) Assert.Equal(signed, Signed<T>.Sign(decoded.Value.Payload, key));
    }

    private static void RoundTrip<T>(T payload) where T : ISignable<T>, IEquatable<T> => RoundTrip(payload, (a, b) => a.Equals(b));

    [Property(MaxTest = Runs)]
    public Property Market_orders_round_trip() => Prop.ForAll(Gens.MarketOrder.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Vouchers_round_trip() => Prop.ForAll(Gens.Voucher.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Close_requests_round_trip() => Prop.ForAll(Gens.CloseRequest.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Duplex_states_round_trip() => Prop.ForAll(Gens.DuplexState.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Meter_readings_round_trip() => Prop.ForAll(Gens.MeterReading.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Toll_requests_round_trip() => Prop.ForAll(Gens.TollRequest.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Endorsements_round_trip() => Prop.ForAll(Gens.Endorsement.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Revocations_round_trip() => Prop.ForAll(Gens.Revocation.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Streaming_openings_round_trip() => Prop.ForAll(Gens.StreamingOpening.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Duplex_openings_round_trip() => Prop.ForAll(Gens.DuplexOpening.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Funding_orders_round_trip() => Prop.ForAll(Gens.FundingOrder.ToArbitrary(), RoundTrip);

    [Property(MaxTest = Runs)]
    public Property Withdrawal_orders_round_trip() => Prop.ForAll(Gens.WithdrawalOrder.ToArbitrary(), RoundTrip);

    /// <summary>Compared field by field: the record's own == compares the nonce array by reference (see EncodingTests).</summary>
    [Property(MaxTest = Runs)]
    public Property Authentication_challenges_round_trip() =>
        Prop.ForAll(Gens.AuthenticationChallenge.ToArbitrary(), challenge => RoundTrip(challenge, (a, b) =>
            a.Network == b.Network && a.Party == b.Party && a.IssuedAt == b.IssuedAt && a.Nonce.AsSpan().SequenceEqual(b.Nonce)));

    /// <summary>Compared field by field: the record's own == compares the hash arrays by reference (see EncodingTests).</summary>
    [Property(MaxTest = Runs)]
    public Property Settlement_block_headers_round_trip() =>
        Prop.ForAll(Gens.SettlementBlockHeader.ToArbitrary(), header => RoundTrip(header, (a, b) =>
            a.Network == b.Network && a.Shard == b.Shard && a.Height == b.Height && a.CommittedAt == b.CommittedAt
            && a.PreviousHash.AsSpan().SequenceEqual(b.PreviousHash) && a.EntriesHash.AsSpan().SequenceEqual(b.EntriesHash)));

    /// <summary>Two different payloads of a kind never share an encoding: the encoding is injective.</summary>
    [Property(MaxTest = 200)]
    public Property Different_vouchers_encode_differently() =>
        Prop.ForAll(Gens.Voucher.ToArbitrary(), Gens.Voucher.ToArbitrary(), (a, b) =>
            a.Equals(b) == Signed<Voucher>.EncodeBody(a).AsSpan().SequenceEqual(Signed<Voucher>.EncodeBody(b)));
}
