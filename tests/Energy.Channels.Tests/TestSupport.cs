using System.Globalization;
using System.Numerics;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Market;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;

namespace Energy.Channels.Tests;

/// <summary>
/// Keys shared by every test. Signing is thread-safe and the keys never change, so one set for the
/// whole run keeps the tests fast; they live as long as the test process.
/// </summary>
public static class Keys
{
    public static readonly DeviceKeyPair Payer = DeviceKeyPair.Generate();
    public static readonly DeviceKeyPair Payee = DeviceKeyPair.Generate();
    public static readonly DeviceKeyPair Stranger = DeviceKeyPair.Generate();
    public static readonly DeviceKeyPair Operator = DeviceKeyPair.Generate();
    public static readonly DeviceKeyPair OtherOperator = DeviceKeyPair.Generate();
    public static readonly DeviceKeyPair Meter = DeviceKeyPair.Generate();
    public static readonly DeviceKeyPair OtherMeter = DeviceKeyPair.Generate();
    public static readonly DeviceKeyPair Gantry = DeviceKeyPair.Generate();

    /// <summary>A pool for generated objects that need some key.</summary>
    public static readonly DeviceKeyPair[] Pool = [Payer, Payee, Stranger, Operator, OtherOperator, Meter, OtherMeter, Gantry];
}

/// <summary>Names, terms and signed objects the protocol tests share.</summary>
public static class TestParties
{
    public static readonly NetworkId Network = NetworkId.Of("energy-test");
    public static readonly NetworkId OtherNetwork = NetworkId.Of("energy-other");
    public static readonly ChannelId Channel = ChannelId.Of("ch-1");
    public static readonly ChannelId OtherChannel = ChannelId.Of("ch-2");
    public static readonly Timestamp Now = new(1_800_000_000_000);
    public static readonly PartyId PayerId = PartyId.Of("device:vehicle-1");
    public static readonly PartyId PayeeId = PartyId.Of("operator:cpo-1");
    public static readonly PartyId StrangerId = PartyId.Of("device:mallory");
    public static readonly OperatorId OperatorName = OperatorId.Of("cpo-1");
    public static readonly DeviceId MeterId = DeviceId.Of("meter-1");
    public static readonly DeviceId OtherMeterId = DeviceId.Of("meter-2");
    public static readonly DeviceId GantryId = DeviceId.Of("gantry-1");
    public static readonly DeviceId VehicleId = DeviceId.Of("vehicle-1");
    public static readonly DeviceId OtherVehicleId = DeviceId.Of("vehicle-2");
    public static readonly SegmentId Segment = SegmentId.Of("a1-km12");

    public const long WindowMs = 60_000;

    public static Money Eur(long minorUnits) => new(minorUnits, Currency.Eur);

    public static Money Usd(long minorUnits) => new(minorUnits, Currency.Usd);

    public static Timestamp At(long offsetMs) => new(Now.UnixMilliseconds + offsetMs);

    public static ChannelParty Payer => new(PayerId, Keys.Payer.PublicKey);

    public static ChannelParty Payee => new(PayeeId, Keys.Payee.PublicKey);

    // Streaming

    public static StreamingChannelTerms StreamingTerms(long deposit = 1_000, long windowMs = WindowMs) =>
        new(Network, Channel, Payer, Payee, Eur(deposit), new DurationMs(windowMs));

    public static StreamingChannel OpenStreaming(long deposit = 1_000) => StreamingChannels.Open(StreamingTerms(deposit)).Value;

    /// <summary>An open channel that has accepted one voucher.</summary>
    public static StreamingChannel Paid(long cumulative, ulong sequence = 1, long deposit = 1_000) =>
        StreamingChannels.AcceptVoucher(OpenStreaming(deposit), Voucher(sequence, cumulative), Now).Value.Channel;

    /// <summary>A channel the payer started to close at <see cref="Now"/>, after paying <paramref name="cumulative"/>.</summary>
    public static StreamingChannel PayerClosing(long cumulative = 100, ulong sequence = 1) =>
        StreamingChannels.RequestClose(Paid(cumulative, sequence), Close(PayerId, Keys.Payer), Now).Value;

    /// <summary>A voucher; its increment is the whole cumulative unless told (right for a channel's first voucher).</summary>
    public static Signed<Voucher> Voucher(ulong sequence, long cumulative, DeviceKeyPair? signer = null, ChannelId? channel = null,
        NetworkId? network = null, Currency? currency = null, long? increment = null, PaymentPurpose purpose = default) =>
        Signed<Voucher>.Sign(new Voucher(network ?? Network, channel ?? Channel, sequence, new Money(cumulative, currency ?? Currency.Eur),
            new Money(increment ?? cumulative, currency ?? Currency.Eur), purpose), signer ?? Keys.Payer);

    /// <summary>A close request for a streaming channel.</summary>
    public static Signed<CloseRequest> Close(PartyId closer, DeviceKeyPair signer, ChannelId? channel = null, NetworkId? network = null) =>
        Signed<CloseRequest>.Sign(new CloseRequest(network ?? Network, ChannelKind.Streaming, channel ?? Channel, closer, Now), signer);

    /// <summary>A close request for a duplex channel.</summary>
    public static Signed<CloseRequest> DuplexClose(PartyId closer, DeviceKeyPair signer, ChannelId? channel = null, NetworkId? network = null) =>
        Signed<CloseRequest>.Sign(new CloseRequest(network ?? Network, ChannelKind.Duplex, channel ?? Channel, closer, Now), signer);

    // Duplex

    public static DuplexChannelTerms DuplexTerms(long depositA = 500, long depositB = 500) =>
        new(Network, Channel, Payer, Eur(depositA), Payee, Eur(depositB), new DurationMs(WindowMs));

    public static DuplexChannel OpenDuplex(long depositA = 500, long depositB = 500) => DuplexChannels.Open(DuplexTerms(depositA, depositB)).Value;

    public static Signed<DuplexState> State(ulong version, long balanceA, long balanceB, bool isFinal = false,
        DeviceKeyPair? signerA = null, DeviceKeyPair? signerB = null, ChannelId? channel = null, NetworkId? network = null,
        Currency? currency = null) =>
        CoSign(new DuplexState(network ?? Network, channel ?? Channel, version,
            new Money(balanceA, currency ?? Currency.Eur), new Money(balanceB, currency ?? Currency.Eur), isFinal),
            signerA ?? Keys.Payer, signerB ?? Keys.Payee);

    /// <summary>Each party signs the canonical body on its own device; the signatures are then put together.</summary>
    public static Signed<T> CoSign<T>(T payload, DeviceKeyPair first, DeviceKeyPair second) where T : ISignable<T>
    {
        var body = Signed<T>.EncodeBody(payload);
        return Signed<T>.Assemble(payload, first.Sign(body), second.Sign(body));
    }

    // Meter readings and tolls

    public static Signed<MeterReading> Reading(ulong sequence, long registerWh, long offsetMs = -1, DeviceKeyPair? signer = null,
        DeviceId? meter = null, NetworkId? network = null) =>
        Signed<MeterReading>.Sign(
            new MeterReading(network ?? Network, meter ?? MeterId, sequence, At(offsetMs >= 0 ? offsetMs : (long)sequence * 1_000), new EnergyWh(registerWh)),
            signer ?? Keys.Meter);

    public static Signed<TollRequest> Toll(long price, DeviceId? vehicle = null, DeviceKeyPair? signer = null, NetworkId? network = null,
        Currency? currency = null) =>
        Signed<TollRequest>.Sign(
            new TollRequest(network ?? Network, GantryId, vehicle ?? VehicleId, Segment, Now, new Money(price, currency ?? Currency.Eur)),
            signer ?? Keys.Gantry);

    public static Signed<Endorsement> Endorsement(DeviceRole role = DeviceRole.Meter, DeviceKeyPair? operatorKey = null, NetworkId? network = null) =>
        DeviceIdentity.Endorse(network ?? Network, OperatorName, operatorKey ?? Keys.Operator, MeterId, role, Keys.Meter.PublicKey).Endorsement;
}

/// <summary>One valid signed object of a kind, with its decoder and verifier erased to bytes, so a test can run over every kind.</summary>
public sealed record KindSample(
    string Name,
    ObjectKind Kind,
    int SignatureCount,
    byte[] Wire,
    int BodyLength,
    Func<byte[], Result<byte[]>> Decode,
    Func<byte[], bool> VerifiesBySigners)
{
    public override string ToString() => Name;

    /// <summary>Bytes beside the body and the signatures: an authority's approval count and key indexes.</summary>
    public int FramingBytes { get; init; }

    /// <summary>Where signature <paramref name="index"/> starts in the wire form (the framing comes before the signatures).</summary>
    public int SignatureStart(int index) => BodyLength + FramingBytes + index * Ed25519Signatures.SignatureBytes;

    public static KindSample Of<T>(Signed<T> signed, params DevicePublicKey[] signers) where T : ISignable<T> =>
        new(typeof(T).Name, T.Kind, T.SignatureCount, signed.ToArray(), signed.BodyLength,
            wire => Signed<T>.Decode(wire).Then<byte[]>(decoded => decoded.ToArray()),
            wire =>
            {
                var decoded = Signed<T>.Decode(wire);
                if (!decoded.IsOk) return false;
                for (var i = 0; i < signers.Length; i++)
                    if (!decoded.Value.IsSignedBy(signers[i], i)) return false;
                return true;
            });
}

/// <summary>A valid object of every signed kind.</summary>
public static class TollTariffs
{
    /// <summary>Day 300, night 150 from 22:00, congestion above 10 vehicles: +5 % each, at most +100 %.</summary>
    public static GantryTariff Sample(ulong version = 1) => new(TestParties.Network, TestParties.OperatorName, DeviceId.Of("gantry-1"), SegmentId.Of("a1-km-12"),
        SegmentId.Of("zone-north"), 12_000, -350, version, Currency.Eur, [new TollBand(0, 150), new TollBand(6 * 60, 300), new TollBand(22 * 60, 150)], 10, 5, 200);
}

public static partial class Samples
{
    public static IReadOnlyList<KindSample> All { get; } = Build();

    public static IEnumerable<object[]> Names => All.Select(sample => new object[] { sample.Name });

    public static KindSample Named(string name) => All.Single(sample => sample.Name == name);

    private static List<KindSample> Build()
    {
        var network = TestParties.Network;
        var now = TestParties.Now;
        var hash = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();
        return
        [
            KindSample.Of(TestParties.Endorsement(), Keys.Operator.PublicKey),
            KindSample.Of(TestParties.Voucher(7, 1_234), Keys.Payer.PublicKey),
            KindSample.Of(TestParties.Close(TestParties.PayeeId, Keys.Payee), Keys.Payee.PublicKey),
            KindSample.Of(TestParties.State(3, 100, 900, isFinal: true), Keys.Payer.PublicKey, Keys.Payee.PublicKey),
            KindSample.Of(TestParties.Reading(9, 42_000), Keys.Meter.PublicKey),
            KindSample.Of(TestParties.Toll(150), Keys.Gantry.PublicKey),
            KindSample.Of(Signed<AuthenticationChallenge>.Sign(
                new AuthenticationChallenge(network, PartyId.From(TestParties.VehicleId), hash, now), Keys.Payer), Keys.Payer.PublicKey),
            KindSample.Of(Signed<SettlementBlockHeader>.Sign(
                new SettlementBlockHeader(network, "shard-3", 12, hash, hash.Reverse().ToArray(), now), Keys.Operator), Keys.Operator.PublicKey),
            KindSample.Of(Signed<Revocation>.Sign(new Revocation(network, TestParties.OperatorName, TestParties.MeterId, now), Keys.Operator),
                Keys.Operator.PublicKey),
            KindSample.Of(Signed<StreamingOpening>.Sign(new StreamingOpening(network, TestParties.Channel, TestParties.PayerId,
                TestParties.PayeeId, TestParties.Eur(5_000), DurationMs.FromSeconds(30)), Keys.Payer), Keys.Payer.PublicKey),
            KindSample.Of(Signed<FundingOrder>.Sign(new FundingOrder(network, TestParties.OperatorName, TestParties.PayerId,
                TestParties.Eur(10_000), "req-1"), Keys.Operator), Keys.Operator.PublicKey),
            KindSample.Of(Signed<WithdrawalOrder>.Sign(new WithdrawalOrder(network, TestParties.PayerId, TestParties.Eur(2_500), "req-2"),
                Keys.Payer), Keys.Payer.PublicKey),
            KindSample.Of(TestParties.CoSign(new DuplexOpening(network, TestParties.Channel, TestParties.PayerId, TestParties.PayeeId,
                TestParties.Eur(500), TestParties.Eur(700), DurationMs.FromMinutes(1)), Keys.Payer, Keys.Payee),
                Keys.Payer.PublicKey, Keys.Payee.PublicKey),
            KindSample.Of(Signed<GantryTariff>.Sign(TollTariffs.Sample(), Keys.Operator), Keys.Operator.PublicKey),
            KindSample.Of(Signed<Quarantine>.Sign(new Quarantine(network, TestParties.OperatorName, TestParties.VehicleId, true, 1, now), Keys.Operator),
                Keys.Operator.PublicKey),
            ApprovedSample(new Admission(network, TestParties.OperatorName, OperatorRoles.ChargePointOperator, Keys.Payee.PublicKey, 1, TestParties.Eur(0), now)),
            KindSample.Of(Signed<ChargePointPassword>.Sign(new ChargePointPassword(network, TestParties.OperatorName, DeviceId.Of("charger-1"),
                new byte[ChargePointPassword.SaltBytes], hash, ChargePointPassword.MinIterations, false, 1, now), Keys.Operator), Keys.Operator.PublicKey),
            KindSample.Of(Signed<ViewerKey>.Sign(new ViewerKey(network, TestParties.OperatorName, Keys.Stranger.PublicKey, now), Keys.Operator),
                Keys.Operator.PublicKey),
            KindSample.Of(Signed<ApiRequest>.Sign(new ApiRequest(network, TestParties.PayeeId, now, new byte[ApiRequest.NonceBytes], hash), Keys.Payee),
                Keys.Payee.PublicKey),
            ApprovedSample(new LedgerNodeAdmission(network, Keys.Stranger.PublicKey, true, 1, now)),
            KindSample.Of(Signed<MarketOrder>.Sign(new MarketOrder(network, MarketInterval.Numbered(ZoneId.Of("zone-north"), 6_000_001, DurationMs.FromMinutes(5)),
                TestParties.MeterId, MarketSide.Offer, 1, new EnergyWh(1_500), new EnergyPrice(21, Currency.Eur)), Keys.Meter), Keys.Meter.PublicKey),
        ];
    }
}

public static partial class Samples
{
    /// <summary>A statement approved by a one-key authority (an admission of an operator or of a ledger node): body, a count byte, then key index and signature.</summary>
    private static KindSample ApprovedSample<T>(T payload) where T : ISignable<T>
    {
        var authority = NetworkAuthority.Create([Keys.Operator.PublicKey], 1).Unwrap();
        var approved = AuthorityApproved<T>.Sign(payload, [(0, Keys.Operator)]);
        return new KindSample(typeof(T).Name, T.Kind, 1, approved.ToArray(), approved.Body.Length,
            wire => AuthorityApproved<T>.Decode(wire).Then<byte[]>(decoded => decoded.ToArray()),
            wire => AuthorityApproved<T>.Decode(wire) is { IsOk: true } decoded && authority.Verify(decoded.Value, decoded.Value.Payload.Network).IsOk)
        {
            FramingBytes = 2,
        };
    }
}

/// <summary>Byte-level tools for building hostile wire forms and keys.</summary>
public static class Curve25519
{
    /// <summary>p = 2^255 - 19.</summary>
    public static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;

    /// <summary>The order of the prime-order subgroup, L = 2^252 + 27742317777372353535851937790883648493.</summary>
    public static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493", CultureInfo.InvariantCulture);

    /// <summary>d = -121665 / 121666 mod p.</summary>
    public static readonly BigInteger D = Mod(-121665 * BigInteger.ModPow(121666, P - 2, P));

    /// <summary>The encodings of all eight points of small order (orders 1, 2, 4 and 8), each with its canonical sign bit.</summary>
    public static readonly string[] SmallOrderPoints =
    [
        "0100000000000000000000000000000000000000000000000000000000000000", // order 1: (0, 1)
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2: (0, -1)
        "0000000000000000000000000000000000000000000000000000000000000000", // order 4: (+sqrt(-1), 0)
        "0000000000000000000000000000000000000000000000000000000000000080", // order 4: (-sqrt(-1), 0)
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
    ];

    public static BigInteger Mod(BigInteger value) => ((value % P) + P) % P;

    /// <summary>Every encoding whose y (the low 255 bits) is p or above, with either sign bit: 19 values of y, 38 encodings.</summary>
    public static IEnumerable<byte[]> NonCanonicalYEncodings()
    {
        for (var y = P; y < BigInteger.Pow(2, 255); y++)
        {
            var raw = LittleEndian32(y);
            yield return raw;
            var negative = (byte[])raw.Clone();
            negative[31] |= 0x80;
            yield return negative;
        }
    }

    /// <summary>Whether some x satisfies -x^2 + y^2 = 1 + d x^2 y^2, i.e. x^2 = (y^2 - 1) / (d y^2 + 1) is a square mod p.</summary>
    public static bool IsOnCurve(BigInteger y)
    {
        var u = Mod(y * y - 1);
        var v = Mod(D * y * y + 1);
        var x2 = Mod(u * BigInteger.ModPow(v, P - 2, P));
        return x2.IsZero || BigInteger.ModPow(x2, (P - 1) / 2, P).IsOne;
    }

    /// <summary>The y of an encoded point: the low 255 bits, little-endian.</summary>
    public static BigInteger Y(ReadOnlySpan<byte> encoding)
    {
        var bytes = encoding.ToArray();
        bytes[31] &= 0x7f;
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: false);
    }

    /// <summary>The smallest y >= 2 that is not the y of any curve point, canonically encoded.</summary>
    public static byte[] OffCurveEncoding()
    {
        var y = new BigInteger(2);
        while (IsOnCurve(y)) y++;
        return LittleEndian32(y);
    }

    public static byte[] LittleEndian32(BigInteger value)
    {
        var bytes = new byte[32];
        value.ToByteArray(isUnsigned: true, isBigEndian: false).CopyTo(bytes, 0);
        return bytes;
    }

    /// <summary>The same signature with S replaced by S + L: the same group element, a second encoding of it.</summary>
    public static byte[] WithNonCanonicalS(ReadOnlySpan<byte> wire, int signatureOffset)
    {
        var copy = wire.ToArray();
        var sOffset = signatureOffset + 32;
        var s = new BigInteger(copy.AsSpan(sOffset, 32), isUnsigned: true, isBigEndian: false);
        var malleated = s + L;
        if (malleated >= BigInteger.Pow(2, 256)) throw new InvalidOperationException("S + L does not fit 32 bytes");
        LittleEndian32(malleated).CopyTo(copy, sOffset);
        return copy;
    }
}

public static class Bytes
{
    public static byte[] Flip(ReadOnlySpan<byte> wire, int index, byte mask = 0x01)
    {
        var copy = wire.ToArray();
        copy[index] ^= mask == 0 ? (byte)1 : mask;
        return copy;
    }

    public static byte[] Set(ReadOnlySpan<byte> wire, int index, byte value)
    {
        var copy = wire.ToArray();
        copy[index] = value;
        return copy;
    }

    public static byte[] Append(ReadOnlySpan<byte> wire, params byte[] extra) => [.. wire, .. extra];
}
