using Energy.Channels.Market;
using Energy.Channels.Primitives;
using Microsoft.Extensions.Configuration;

namespace Energy.Cluster.Market;

/// <summary>
/// The zones' market rules from a node's configuration (<c>Energy:Market:*</c>): the interval's length
/// (<c>IntervalMs</c>, five minutes by default, 1 s to 24 h), the gate closure (<c>GateClosureMs</c>, one minute by
/// default; at most the interval's length) and the imbalance penalty (<c>ImbalancePenaltyPercent</c>, 100 to 1,000).
/// Every node of a network must run the same. A market looks for closed gates every 5 s, or four times an interval
/// when intervals are shorter than 20 s, so that a scenario's short intervals clear on time.
/// </summary>
public static class MarketConfiguration
{
    public const string Section = "Energy:Market";

    public static EnergySettings Apply(EnergySettings settings, IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var interval = Bounded(section, "IntervalMs", settings.MarketRules.IntervalLength.Milliseconds, MarketInterval.MinLength.Milliseconds,
            MarketInterval.MaxLength.Milliseconds);
        var gate = Bounded(section, "GateClosureMs", Math.Min(settings.MarketRules.GateClosure.Milliseconds, interval), 0, interval);
        var penalty = (int)Bounded(section, "ImbalancePenaltyPercent", settings.MarketRules.ImbalancePenaltyPercent, 100, MarketRules.MaxPenaltyPercent);
        var rules = new MarketRules(new DurationMs(interval), new DurationMs(gate)) { ImbalancePenaltyPercent = penalty }.Check().Unwrap();
        var check = TimeSpan.FromMilliseconds(Math.Clamp(interval / 4, 250, (long)settings.MarketClearCheckInterval.TotalMilliseconds));
        return settings with { MarketRules = rules, MarketClearCheckInterval = check };
    }

    private static long Bounded(IConfigurationSection section, string key, long fallback, long min, long max)
    {
        var configured = section[key];
        if (string.IsNullOrWhiteSpace(configured)) return fallback;
        if (!long.TryParse(configured, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new InvalidOperationException($"{Section}:{key} is {configured}, not a whole number from {min} to {max}");
        return value;
    }
}
