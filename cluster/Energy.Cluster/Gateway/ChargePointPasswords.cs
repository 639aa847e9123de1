using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Gateway;

public static class ChargePointPasswords
{
    /// <summary>
    /// A charge point operator's signed OCPP password for one of its chargers: checked against the charger's twin
    /// and the operator's current key here, then taken by the credential store if its version is newer. The
    /// answer names the version taken, never the salt or hash.
    /// </summary>
    public static async Task<object> SetAsync(EnergyNetwork network, DeviceId chargePoint, byte[] wire, CancellationToken token)
    {
        var decoded = Signed<ChargePointPassword>.Decode(wire);
        if (!decoded.IsOk) return Refusal.From(decoded.Error);
        var device = await network.Ask(new GetDevice(chargePoint), token) as DeviceView;
        var owner = device is null || decoded.Value.Payload.Operator != device.Operator ? null : await network.Ask(new GetOperator(device.Operator), token) as OperatorView;
        var verified = ChargePointCredentialRules.Verify(decoded.Value, chargePoint, network.Settings.Network, device, owner);
        if (!verified.IsOk) return Refusal.From(verified.Error);
        var answer = await network.AskRegionAsync(network.Regions.ChargePointCredentials,
            new RecordChargePointPassword(ChargePointCredentialStore.ShardOf(chargePoint), chargePoint, wire), token);
        // This node serves the charger at once, whichever node the store shard lives on.
        if (answer is ChargePointPasswordView) ChargePointCredentialTable.Get(network.System).Merge(verified.Value);
        return answer;
    }
}
