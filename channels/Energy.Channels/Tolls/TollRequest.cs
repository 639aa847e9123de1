using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Channels.Tolls;

/// <summary>A gantry's signed demand: this vehicle passed this segment at this time and owes this price.</summary>
public sealed record TollRequest(NetworkId Network, DeviceId Gantry, DeviceId Vehicle, SegmentId Segment, Timestamp Time, Money Price)
    : ISignable<TollRequest>
{
    public static ObjectKind Kind => ObjectKind.TollRequest;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Gantry.Value);
        writer.WriteIdentifier(Vehicle.Value);
        writer.WriteIdentifier(Segment.Value);
        writer.WriteInt64(Time.UnixMilliseconds);
        writer.WriteMoney(Price);
    }

    public static TollRequest Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var gantry = reader.ReadIdentifier("gantry");
        var vehicle = reader.ReadIdentifier("vehicle");
        var segment = reader.ReadIdentifier("segment");
        var time = reader.ReadInt64();
        var price = reader.ReadMoney("price");
        return reader.Failed
            ? null!
            : new TollRequest(network, new DeviceId(gantry), new DeviceId(vehicle), new SegmentId(segment), new Timestamp(time), price);
    }
}

public static class TollRequests
{
    /// <summary>What a vehicle checks before paying: the request names it, comes from the gantry's key, and asks a sane price.</summary>
    public static Result<TollRequest> Verify(Signed<TollRequest> signed, NetworkId network, DeviceId vehicle, DevicePublicKey gantryKey, Money maxPrice)
    {
        var request = signed.Payload;
        if (request.Network != network) return new WrongNetwork(ChannelId.None, network, request.Network);
        if (request.Vehicle != vehicle) return new TollRequestMismatch(request.Gantry, "vehicle", vehicle.Value, request.Vehicle.Value);
        if (request.Price.Currency != maxPrice.Currency) return new CurrencyMismatch(maxPrice.Currency, request.Price.Currency);
        if (request.Price.IsNegative) return new NegativeAmount(ChannelId.None, "price", request.Price.MinorUnits);
        if (request.Price > maxPrice)
            return new TollRequestMismatch(request.Gantry, "price", $"at most {maxPrice.MinorUnits}", request.Price.MinorUnits.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!signed.IsSignedBy(gantryKey)) return new InvalidSignature(ChannelId.None, ObjectKind.TollRequest, request.Gantry.Value);
        return request;
    }
}
