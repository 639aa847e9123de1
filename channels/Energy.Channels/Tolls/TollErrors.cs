using Energy.Channels.Primitives;

namespace Energy.Channels.Tolls;

/// <summary>
/// The gantry asked its old price: congestion moved the zone's price before the gantry heard. The gantry
/// learns the current one and asks again at it.
/// </summary>
public sealed record TollPriceChanged(DeviceId Gantry, Money Current, Money Asked) : ProtocolError
{
    public override string Describe() => $"gantry {Gantry}: the toll is now {Current.MinorUnits} {Current.Currency}; the request asked {Asked.MinorUnits} {Asked.Currency}";
}
