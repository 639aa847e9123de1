using Energy.Channels.Primitives;

namespace Energy.Channels.Market;

/// <summary>A grid zone: the area one energy market clears for. 1 to 64 characters of [a-z0-9._:-].</summary>
public readonly record struct ZoneId(string Value)
{
    public static Result<ZoneId> Parse(string? value) => IdentifierRules.Parse(value, "zone id", v => new ZoneId(v));
    public static ZoneId Of(string value) => Parse(value).Unwrap();
    public override string ToString() => Value;
}

/// <summary>Which side of the market an order is on. Stable byte values: they are signed inside every order.</summary>
public enum MarketSide : byte
{
    /// <summary>To buy energy, at most at the limit price.</summary>
    Bid = 1,

    /// <summary>To sell energy, at least at the limit price.</summary>
    Offer = 2,
}
