using Energy.Channels.Primitives;
using Energy.Wire;

namespace Energy.Lifecycles.Registry;

/// <summary>
/// An event pushed to a device through its gateway connection, as the gateway frame the device will
/// read (UTF-8 JSON: op, device, event, body), encoded once where the event arises.
/// </summary>
[Manifest("gateway.device-event.v2")]
public sealed record DeviceEvent(DeviceId Device, string Event, byte[] Frame) : IEnergyMessage;

/// <summary>Events for devices, each framed once, where it arises, as the frame the device reads.</summary>
public static class DeviceEvents
{
    /// <summary>An event of the wire contract: its record names the event and spells its body.</summary>
    public static DeviceEvent Of<TEvent>(DeviceId device, TEvent body) where TEvent : IGatewayEvent =>
        new(device, TEvent.Name, GatewayFrameWriter.Event(device, body));

    /// <summary>An event named by its entity with a body the entity shaped (a JSON element, or an object written with its own names).</summary>
    public static DeviceEvent Of(DeviceId device, string name, object body) => new(device, name, GatewayFrameWriter.Event(device, name, body));
}
