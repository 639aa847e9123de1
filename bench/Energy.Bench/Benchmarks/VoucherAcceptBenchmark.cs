using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using NSec.Cryptography;

namespace Energy.Bench.Benchmarks;

/// <summary>
/// The cost of accepting a voucher (decode, check, verify, next state) against a raw NSec Ed25519
/// verify of a message of the same size, measured in the same run, on one core.
/// </summary>
public sealed class VoucherAcceptBenchmark : IBenchmark
{
    private const double TargetRatio = 0.87;

    public string Name => "voucher-accept";
    public string Description => "sign, verify, encode, decode and accept a voucher vs a raw Ed25519 verify";

    public Task<BenchResult> RunAsync(BenchOptions options, Progress progress)
    {
        var network = NetworkId.Of("energy-bench");
        var channelId = ChannelId.Of("bench-channel");
        using var payer = DeviceKeyPair.Generate();
        using var payee = DeviceKeyPair.Generate();
        var terms = new StreamingChannelTerms(network, channelId,
            new ChannelParty(PartyId.Of("device:vehicle-1"), payer.PublicKey),
            new ChannelParty(PartyId.Of("operator:cpo-1"), payee.PublicKey),
            new Money(long.MaxValue / 2, Currency.Eur), DurationMs.FromSeconds(60));
        var now = new Timestamp(1_800_000_000_000);
        var session = PaymentPurpose.ForSession("bench-session").Unwrap();

        // Vouchers for the accept path are signed ahead: each accept needs a newer one.
        var voucherCount = options.Quick ? 20_000 : 60_000;
        progress.Report($"signing {voucherCount:N0} vouchers for the accept runs");
        var wires = new byte[voucherCount][];
        for (var i = 0; i < voucherCount; i++)
        {
            // Each voucher pays one more unit for a charging session: the hot path counts it for its purpose.
            var voucher = new Voucher(network, channelId, (ulong)i + 1, new Money(i + 1, Currency.Eur), new Money(1, Currency.Eur), session);
            wires[i] = Signed<Voucher>.Sign(voucher, payer).ToArray();
        }
        var sample = Signed<Voucher>.Decode(wires[0]).Value;
        var body = sample.Body.ToArray();
        var signature = sample.SignatureAt(0).ToArray();
        var nsecKey = PublicKey.Import(SignatureAlgorithm.Ed25519, payer.PublicKey.Raw, KeyBlobFormat.RawPublicKey);
        var sampleVoucher = sample.Payload;

        var raw = new List<double>();
        var accept = new List<double>();
        var sign = new List<double>();
        var verify = new List<double>();
        var encode = new List<double>();
        var decode = new List<double>();
        for (var run = 1; run <= options.Runs; run++)
        {
            progress.Report($"run {run}/{options.Runs}");
            raw.Add(Measure.RatePerSecond(_ =>
            {
                if (!SignatureAlgorithm.Ed25519.Verify(nsecKey, body, signature)) throw new InvalidOperationException("raw verify failed");
            }, options.RunDuration));

            var channel = StreamingChannels.Open(terms).Value;
            accept.Add(Measure.RatePerSecond(i =>
            {
                var decoded = Signed<Voucher>.Decode(wires[i]);
                var result = StreamingChannels.AcceptVoucher(channel, decoded.Value, now);
                channel = result.Value.Channel;
            }, options.RunDuration, voucherCount));

            sign.Add(Measure.RatePerSecond(_ => Signed<Voucher>.Sign(sampleVoucher, payer), options.RunDuration));
            verify.Add(Measure.RatePerSecond(_ =>
            {
                if (!sample.IsSignedBy(payer.PublicKey)) throw new InvalidOperationException("verify failed");
            }, options.RunDuration));
            encode.Add(Measure.RatePerSecond(_ => Signed<Voucher>.EncodeBody(sampleVoucher), options.RunDuration));
            decode.Add(Measure.RatePerSecond(i => Signed<Voucher>.Decode(wires[i % voucherCount]), options.RunDuration));
        }

        var ratios = raw.Zip(accept, (r, a) => a / r).ToArray();
        var ratio = Measure.Median(ratios);
        var rows = new List<BenchRow>
        {
            new("raw Ed25519 verify (NSec)", Measure.Median(raw), "ops/s", raw),
            new("accept voucher (end to end)", Measure.Median(accept), "ops/s", accept),
            new("ratio accept / raw verify", ratio, "x", ratios),
            new("sign voucher", Measure.Median(sign), "ops/s", sign),
            new("verify voucher", Measure.Median(verify), "ops/s", verify),
            new("encode voucher", Measure.Median(encode), "ops/s", encode),
            new("decode voucher", Measure.Median(decode), "ops/s", decode),
        };
        var figures = new Dictionary<string, object>
        {
            ["accept_per_s"] = Math.Round(Measure.Median(accept)),
            ["verify_per_s"] = Math.Round(Measure.Median(raw)),
            ["ratio"] = Math.Round(ratio, 3),
            ["sign_per_s"] = Math.Round(Measure.Median(sign)),
            ["encode_per_s"] = Math.Round(Measure.Median(encode)),
            ["decode_per_s"] = Math.Round(Measure.Median(decode)),
            ["runs"] = options.Runs,
        };
        var verdict = ratio >= TargetRatio
            ? $"PASS: accepting a voucher runs at {ratio:0.00} of a raw verify (target >= {TargetRatio})"
            : $"FAIL: accepting a voucher runs at {ratio:0.00} of a raw verify (target >= {TargetRatio})";
        return Task.FromResult(new BenchResult(rows, figures, verdict));
    }
}
