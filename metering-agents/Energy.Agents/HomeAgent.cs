using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Market;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Agents;

/// <summary>
/// A home's smart meter with its own key. A home with solar signs readings of its export register; its
/// neighbour verifies each reading and both sign the next state of the duplex channel between them,
/// moving what the delivered energy costs from the buyer to the seller. The network holds only the
/// newest co-signed state (it is the watchtower) and settles the final one.
/// </summary>
public sealed class HomeAgent(NetworkId network, DeviceId id) : IDisposable
{
    private readonly DeviceKeyPair _key = DeviceKeyPair.Generate();
    private ulong _sequence;
    private Timestamp _lastTime;

    public NetworkId Network { get; } = network;
    public DeviceId Id { get; } = id;
    public DevicePublicKey PublicKey => _key.PublicKey;
    public PartyId Party => PartyId.From(Id);

    /// <summary>The export register: energy this home has fed to its neighbour, in Wh.</summary>
    public long ExportWh { get; private set; }

    public Signed<MeterReading> Export(long wh)
    {
        ExportWh = checked(ExportWh + wh);
        var now = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        _lastTime = now > _lastTime ? now : _lastTime;
        return Signed<MeterReading>.Sign(new MeterReading(Network, Id, ++_sequence, _lastTime, new EnergyWh(ExportWh)), _key);
    }

    public byte[] Sign(byte[] body) => _key.Sign(body);

    /// <summary>Closes a streaming channel this home is paid on (the payee's close settles at once); returns the payouts.</summary>
    public Task<System.Text.Json.JsonElement> CloseChannelAsync(NodeClient node, ChannelId channel) =>
        node.CloseChannelAsync(channel.Value, Signed<CloseRequest>.Sign(
            new CloseRequest(Network, ChannelKind.Streaming, channel, Party, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), _key).ToArray());

    /// <summary>The import register: energy this home has taken from the zone, in Wh.</summary>
    public long ImportWh { get; private set; }

    /// <summary>The same node, with reads signed by this meter: it sees its own orders, fills and settlement.</summary>
    public NodeClient Reading(NodeClient node) => node.SignedBy(Party, _key, Network);

    /// <summary>Signs an order for the zone's market: an offer of its solar surplus, or a bid for energy.</summary>
    public Signed<MarketOrder> Order(MarketInterval interval, MarketSide side, ulong number, long wh, long pricePerKwh, Currency currency) =>
        Signed<MarketOrder>.Sign(new MarketOrder(Network, interval, Id, side, number, new EnergyWh(wh), new EnergyPrice(pricePerKwh, currency)), _key);

    /// <summary>Feeds energy into the zone (a seller's export register) or takes it (a buyer's import register).</summary>
    public void Meter(MarketSide side, long wh)
    {
        if (side == MarketSide.Offer) ExportWh = checked(ExportWh + wh);
        else ImportWh = checked(ImportWh + wh);
    }

    /// <summary>
    /// A signed reading of the register that proves this side's delivery (export for a seller, import for a buyer),
    /// taken at <paramref name="at"/>: an interval's start or end, once that instant has passed.
    /// </summary>
    public Signed<MeterReading> RegisterAt(MarketSide side, Timestamp at)
    {
        _lastTime = at > _lastTime ? at : _lastTime;
        var register = side == MarketSide.Offer ? ExportWh : ImportWh;
        return Signed<MeterReading>.Sign(new MeterReading(Network, Id, ++_sequence, _lastTime, new EnergyWh(register)), _key);
    }

    /// <summary>
    /// Sells <paramref name="intervals"/> increments of <paramref name="whPerInterval"/> to <paramref name="buyer"/> at
    /// <paramref name="pricePerKwh"/> over a new duplex channel the buyer funds with <paramref name="deposit"/>.
    /// Returns the energy delivered and what the buyer paid, as settled.
    /// </summary>
    public async Task<(long EnergyWh, long PaidMinorUnits)> SellAsync(NodeClient node, HomeAgent buyer, ChannelId channel, int intervals, long whPerInterval,
        Money pricePerKwh, Money deposit, CancellationToken token)
    {
        var currency = deposit.Currency;
        var opening = new DuplexOpening(Network, channel, buyer.Party, Party, deposit, Money.Zero(currency), DurationMs.FromSeconds(60));
        var openingBody = Signed<DuplexOpening>.EncodeBody(opening);
        await node.OpenDuplexChannelAsync(channel.Value, Signed<DuplexOpening>.Assemble(opening, buyer.Sign(openingBody), Sign(openingBody)).ToArray());
        var startRegister = ExportWh;
        MeterReading? last = null;
        var paid = Money.Zero(currency);
        ulong version = 0;
        for (var i = 1; i <= intervals; i++)
        {
            token.ThrowIfCancellationRequested();
            // The buyer pays only for what the seller's meter signed, checked against the seller's key and the last reading.
            var reading = MeterReadings.Accept(Export(whPerInterval), Network, Id, PublicKey, last).Unwrap();
            last = reading;
            paid = new EnergyWh(reading.Register.WattHours - startRegister).PriceAt(new Tariff(pricePerKwh)).Unwrap();
            var state = new DuplexState(Network, channel, ++version, deposit.Subtract(paid).Unwrap(), paid, i == intervals);
            var body = Signed<DuplexState>.EncodeBody(state);
            await node.SubmitDuplexStateAsync(channel.Value, Signed<DuplexState>.Assemble(state, buyer.Sign(body), Sign(body)).ToArray());
        }
        return (ExportWh - startRegister, paid.MinorUnits);
    }

    public void Dispose() => _key.Dispose();
}
