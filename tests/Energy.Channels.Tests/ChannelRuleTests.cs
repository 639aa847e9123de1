using Energy.Channels.Duplex;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using static Energy.Channels.Tests.TestParties;

namespace Energy.Channels.Tests;

/// <summary>The rules as they should work: opening, paying, disputes and settlement.</summary>
public sealed class ChannelRuleTests : IDisposable
{
    private readonly TestParties _p = new();

    public void Dispose() => _p.Dispose();

    [Fact]
    public void The_payee_closes_at_once_with_its_best_voucher()
    {
        var channel = StreamingChannels.AcceptVoucher(_p.OpenStreaming(1_000), _p.Voucher(3, 640), Now).Value.Channel;
        var closed = StreamingChannels.RequestClose(channel, _p.Close(PayeeId, _p.PayeeKey), Now).Value;
        Assert.Equal(ChannelStatus.Closed, closed.Status);
        Assert.Equal((360L, 640L), (closed.Settlement!.PayoutA.MinorUnits, closed.Settlement.PayoutB.MinorUnits));
    }

    [Fact]
    public void During_the_challenge_window_a_newer_voucher_wins()
    {
        var channel = StreamingChannels.AcceptVoucher(_p.OpenStreaming(1_000), _p.Voucher(1, 100), Now).Value.Channel;
        var closing = StreamingChannels.RequestClose(channel, _p.Close(PayerId, _p.PayerKey), Now).Value;
        var challenged = StreamingChannels.AcceptVoucher(closing, _p.Voucher(2, 700), At(30_000)).Value.Channel;
        var settled = StreamingChannels.FinalizeClose(challenged, At(60_000)).Value;
        Assert.Equal(700, settled.Settlement!.PayoutB.MinorUnits);
        Assert.Equal(300, settled.Settlement.PayoutA.MinorUnits);
    }

    [Fact]
    public void A_duplex_channel_moves_both_ways_and_closes_cooperatively()
    {
        var channel = _p.OpenDuplex(500, 500);
        channel = DuplexChannels.Update(channel, _p.State(1, 300, 700), Now).Value;
        channel = DuplexChannels.Update(channel, _p.State(2, 650, 350), Now).Value;
        var closed = DuplexChannels.CloseCooperatively(channel, _p.State(3, 600, 400, isFinal: true), Now).Value;
        Assert.Equal((600L, 400L), (closed.Settlement!.PayoutA.MinorUnits, closed.Settlement.PayoutB.MinorUnits));
    }

    [Fact]
    public void In_a_duplex_dispute_the_higher_version_wins()
    {
        var channel = DuplexChannels.Update(_p.OpenDuplex(), _p.State(1, 900, 100), Now).Value;
        // A closes with the stale state that favours it; B answers with version 2 inside the window.
        var closing = DuplexChannels.RequestClose(channel, _p.Close(PayerId, _p.PayerKey), Now).Value;
        var challenged = DuplexChannels.Update(closing, _p.State(2, 200, 800), At(10_000)).Value;
        Assert.IsType<ChallengeWindowStillOpen>(DuplexChannels.FinalizeClose(challenged, At(59_999)).Error);
        var settled = DuplexChannels.FinalizeClose(challenged, At(60_000)).Value;
        Assert.Equal((200L, 800L, 2UL), (settled.Settlement!.PayoutA.MinorUnits, settled.Settlement.PayoutB.MinorUnits, settled.Settlement.FinalVersion));
    }

    [Fact]
    public void A_duplex_channel_closed_alone_without_updates_returns_the_deposits()
    {
        var closing = DuplexChannels.RequestClose(_p.OpenDuplex(250, 750), _p.Close(PayeeId, _p.PayeeKey), Now).Value;
        var settled = DuplexChannels.FinalizeClose(closing, At(60_000)).Value;
        Assert.Equal((250L, 750L), (settled.Settlement!.PayoutA.MinorUnits, settled.Settlement.PayoutB.MinorUnits));
    }

    [Theory]
    [InlineData(1_000, 35, 35)]    // 1 kWh at 0.35
    [InlineData(1, 35, 0)]         // 0.035 rounds down
    [InlineData(15, 35, 1)]        // 0.525 rounds half up
    [InlineData(14, 35, 0)]        // 0.49 rounds down
    [InlineData(43_500, 35, 1_523)] // 1522.5 rounds half up
    [InlineData(0, 35, 0)]
    public void Energy_is_priced_at_the_tariff_rounded_half_up(long wh, long tariffPerKwh, long expected)
    {
        var price = new EnergyWh(wh).PriceAt(new Tariff(Eur(tariffPerKwh))).Value;
        Assert.Equal(expected, price.MinorUnits);
        var exact = wh * tariffPerKwh / 1000.0;
        Assert.True(Math.Abs(price.MinorUnits - exact) <= 0.5, $"{price.MinorUnits} is more than half a unit from {exact}");
    }

    [Fact]
    public void Meter_readings_are_accepted_in_order_from_the_registered_meter()
    {
        using var meterKey = DeviceKeyPair.Generate();
        var meter = DeviceId.Of("meter-1");
        MeterReading? last = null;
        for (ulong i = 1; i <= 5; i++)
        {
            var reading = Energy.Channels.Encoding.Signed<MeterReading>.Sign(new MeterReading(Network, meter, i, At((long)i * 1_000), new EnergyWh((long)i * 250)), meterKey);
            last = MeterReadings.Accept(reading, Network, meter, meterKey.PublicKey, last).Value;
        }
        Assert.Equal(1_250, last!.Register.WattHours);
    }

    [Theory]
    [InlineData("vehicle-1", true)]
    [InlineData("a.b_c:d-e", true)]
    [InlineData("", false)]
    [InlineData("Vehicle", false)]
    [InlineData("with space", false)]
    [InlineData("ü", false)]
    public void Identifiers_follow_one_spelling(string value, bool valid)
    {
        Assert.Equal(valid, DeviceId.Parse(value).IsOk);
        Assert.Equal(valid, IdentifierRules.IsValid(value));
    }

    [Fact]
    public void An_identifier_of_65_characters_is_refused()
    {
        Assert.IsType<MalformedValue>(ChannelId.Parse(new string('a', 65)).Error);
        Assert.True(ChannelId.Parse(new string('a', 64)).IsOk);
    }

    [Theory]
    [InlineData("EUR", true)]
    [InlineData("eur", false)]
    [InlineData("EU", false)]
    [InlineData("EURO", false)]
    public void Currencies_are_three_upper_case_letters(string code, bool valid)
    {
        Assert.Equal(valid, Currency.Parse(code).IsOk);
    }

    [Fact]
    public void Money_in_different_currencies_does_not_add()
    {
        Assert.IsType<CurrencyMismatch>(Eur(1).Add(new Money(1, Currency.Usd)).Error);
    }

    [Fact]
    public void A_key_survives_export_and_import_of_its_seed()
    {
        using var key = DeviceKeyPair.Generate();
        using var again = DeviceKeyPair.FromSeed(key.ExportSeed()).Value;
        Assert.Equal(key.PublicKey, again.PublicKey);
        var signature = again.Sign([1, 2, 3]);
        Assert.True(key.PublicKey.Verifies([1, 2, 3], signature));
    }
}
