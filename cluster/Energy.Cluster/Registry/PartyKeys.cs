using Akka.Actor;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cluster.Registry;

/// <summary>The registered key of a party: a device (unless revoked) or an operator.</summary>
public static class PartyKeys
{
    public enum Standing { Registered, Revoked, Unknown }

    public static async Task<(Standing Standing, DevicePublicKey? Key)> ResolveAsync(IActorRef devices, IActorRef operators, PartyId party, TimeSpan timeout)
    {
        try
        {
            if (await devices.Ask<object>(new GetDevice(new DeviceId(party.Value)), timeout) is DeviceView device)
            {
                if (device.Revoked) return (Standing.Revoked, null);
                var key = DevicePublicKey.FromHex(device.PublicKeyHex);
                return key.IsOk ? (Standing.Registered, key.Value) : (Standing.Unknown, null);
            }
            if (await operators.Ask<object>(new GetOperator(new OperatorId(party.Value)), timeout) is OperatorView op)
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
