using Akka.Actor;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

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
}
