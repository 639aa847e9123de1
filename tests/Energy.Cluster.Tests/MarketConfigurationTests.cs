using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Hosting;
using Energy.Cluster.Market;
using Energy.Lifecycles.Market;
using Microsoft.Extensions.Configuration;

namespace Energy.Cluster.Tests;

/// <summary>The zones' market rules a node reads from Energy:Market: the defaults, a scenario's short intervals, and values out of bounds refused by name.</summary>
public sealed class MarketConfigurationTests
{
    private static EnergySettings Apply(params (string Key, string Value)[] values)
    {
        using var nodeKey = DeviceKeyPair.Generate();
        var settings = new EnergySettings(ClusterTestKit.Network, Currency.Eur, 4, nodeKey, new ManualClock(new Timestamp(1_800_000_000_000)));
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>($"{MarketConfiguration.Section}:{v.Key}", v.Value)))
            .Build();
        return MarketConfiguration.Apply(settings, configuration);
    }

    [Fact]
    public void Without_settings_a_node_runs_five_minute_intervals_closing_a_minute_ahead_and_looks_every_five_seconds()
    {
        var settings = Apply();

        Assert.Equal((300_000L, 60_000L, 150), (settings.MarketRules.IntervalLength.Milliseconds, settings.MarketRules.GateClosure.Milliseconds,
            settings.MarketRules.ImbalancePenaltyPercent));
        Assert.Equal(TimeSpan.FromSeconds(5), settings.MarketClearCheckInterval);
    }

    [Fact]
    public void A_scenario_s_four_second_intervals_are_looked_at_every_second()
    {
        var settings = Apply(("IntervalMs", "4000"), ("GateClosureMs", "1000"), ("ImbalancePenaltyPercent", "200"));

        Assert.Equal((4_000L, 1_000L, 200), (settings.MarketRules.IntervalLength.Milliseconds, settings.MarketRules.GateClosure.Milliseconds,
            settings.MarketRules.ImbalancePenaltyPercent));
        Assert.Equal(TimeSpan.FromSeconds(1), settings.MarketClearCheckInterval);
    }

    [Theory]
    [InlineData("IntervalMs", "999")]
    [InlineData("IntervalMs", "86400001")]
    [InlineData("IntervalMs", "-4000")]
    [InlineData("IntervalMs", "4 s")]
    [InlineData("GateClosureMs", "400000")]
    [InlineData("ImbalancePenaltyPercent", "99")]
    [InlineData("ImbalancePenaltyPercent", "1001")]
    public void A_value_out_of_bounds_stops_the_node_naming_the_setting(string key, string value)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => Apply((key, value)));

        Assert.Contains($"{MarketConfiguration.Section}:{key}", refused.Message, StringComparison.Ordinal);
    }
}
