using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Registry;

/// <summary>The registered key of a party, looked up by its kind: a device's endorsed key (unless revoked) or an operator's admitted key.</summary>
public static class PartyKeys
{
    public enum Standing { Registered, Revoked, Unknown }

    public static async Task<(Standing Standing, DevicePublicKey? Key)> ResolveAsync(IActorRef devices, IActorRef operators, PartyId party, TimeSpan timeout)
    {
        try
        {
            if (party.IsDevice)
            {
                if (await devices.Ask<object>(new GetDevice(party.AsDevice()), timeout) is not DeviceView device) return (Standing.Unknown, null);
                if (device.Revoked) return (Standing.Revoked, null);
                var key = DevicePublicKey.FromHex(device.PublicKeyHex);
                return key.IsOk ? (Standing.Registered, key.Value) : (Standing.Unknown, null);
            }
            if (await operators.Ask<object>(new GetOperator(party.AsOperator()), timeout) is OperatorView op)
            {
                var key = DevicePublicKey.FromHex(op.PublicKeyHex);
                return key.IsOk ? (Standing.Registered, key.Value) : (Standing.Unknown, null);
            }
        }
        catch (AskTimeoutException)
        {
            // An unreachable registry counts as an unknown party: nothing is accepted on its behalf.
        }
        return (Standing.Unknown, null);
    }

    /// <summary>
    /// Both parties' keys of a channel, looked up at once, each as its key or the named error for its standing.
    /// Meant to be piped back to the entity that asks: it touches no actor's state.
    /// </summary>
    public static async Task<(Result<DevicePublicKey> First, Result<DevicePublicKey> Second)> ResolveBothAsync(
        IActorRef devices, IActorRef operators, ChannelId channel, PartyId first, PartyId second, TimeSpan timeout)
    {
        var firstLookup = ResolveAsync(devices, operators, first, timeout);
        var secondLookup = ResolveAsync(devices, operators, second, timeout);
        return (KeyOf(channel, first, await firstLookup), KeyOf(channel, second, await secondLookup));
    }

    private static Result<DevicePublicKey> KeyOf(ChannelId channel, PartyId party, (Standing Standing, DevicePublicKey? Key) found) => found.Standing switch
    {
        Standing.Registered => found.Key!,
        Standing.Revoked => new PartyRevoked(channel, party),
        _ => new PartyUnknown(channel, party),
    };
}
