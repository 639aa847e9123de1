using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;

namespace Energy.Agents;

/// <summary>
/// An operator (charge point operator, fleet owner, toll operator, grid operator) as its back office plays
/// it: it holds the operator key, registers with the network, endorses its devices' public keys (the
/// devices keep their private keys), funds accounts and closes the channels it is paid on.
/// </summary>
public sealed class OperatorAgent : IDisposable
{
    private readonly DeviceKeyPair _key;

    public OperatorAgent(NodeClient node, NetworkId network, OperatorId id, DeviceKeyPair? key = null)
    {
        _key = key ?? DeviceKeyPair.Generate();
        Node = node.SignedBy(PartyId.From(id), _key, network);
        Network = network;
        Id = id;
    }

    public NodeClient Node { get; }
    public NetworkId Network { get; }
    public OperatorId Id { get; }
    public PartyId Party => PartyId.From(Id);

    /// <summary>The operator's key seed, as hex, for keeping it in a file (its back office's; never a browser's).</summary>
    public string ExportKeyHex() => Convert.ToHexStringLower(_key.ExportSeed());

    public DevicePublicKey PublicKey => _key.PublicKey;

    /// <summary>Signs a body with the operator's key, here in its back office (the vouchers it pays sellers with, for one).</summary>
    public byte[] Sign(byte[] body) => _key.Sign(body);

    /// <summary>Asks the authority for its admission in these roles (a settlement bank with an issuance limit).</summary>
    public Task AdmitAsync(NetworkAuthorityAgent authority, OperatorRoles roles, Money? issuanceLimit = null, ulong version = 1) =>
        authority.AdmitAsync(Id, _key.PublicKey, roles, issuanceLimit, version);

    /// <summary>Takes money out of this operator's own account.</summary>
    public Task<JsonElement> WithdrawAsync(Money amount, string requestId) =>
        Node.WithdrawAsync(Party.Value, Signed<WithdrawalOrder>.Sign(new WithdrawalOrder(Network, Party, amount, requestId), _key).ToArray());

    /// <summary>The object that sets the OCPP password of one of its charge points (only a salted hash leaves this agent).</summary>
    public ChargePointPassword PasswordFor(DeviceId chargePoint, string password, bool allowUnauthenticated = false, ulong version = 1,
        uint iterations = ChargePointPassword.DefaultIterations) =>
        ChargePointPassword.For(Network, Id, chargePoint, password, allowUnauthenticated, version, Now, iterations);

    public Signed<ChargePointPassword> Sign(ChargePointPassword password) => Signed<ChargePointPassword>.Sign(password, _key);

    /// <summary>
    /// Sets the password with which one of its chargers authenticates on OCPP (HTTP Basic, security profiles 1
    /// and 2); <paramref name="allowUnauthenticated"/> also lets it connect with none (profile 0). Each setting
    /// carries a higher version than the one before.
    /// </summary>
    public Task<JsonElement> SetChargePointPasswordAsync(DeviceId chargePoint, string password, bool allowUnauthenticated = false, ulong? version = null,
        uint iterations = ChargePointPassword.DefaultIterations) =>
        Node.SetChargePointPasswordAsync(chargePoint.Value,
            Sign(PasswordFor(chargePoint, password, allowUnauthenticated, version ?? NextOrderVersion(), iterations)).ToArray());

    /// <summary>Sets the OCPP password of one of its charge points on the network.</summary>
    public Task<JsonElement> SetPasswordAsync(ChargePointPassword password) =>
        Node.SetChargePointPasswordAsync(password.ChargePoint.Value, Signed<ChargePointPassword>.Sign(password, _key).ToArray());

    /// <summary>Endorses a key for this operator's dashboard (role viewer) until it expires.</summary>
    public Signed<ViewerKey> EndorseViewerKey(DevicePublicKey viewerKey, Timestamp expiresAt) =>
        Signed<ViewerKey>.Sign(new ViewerKey(Network, Id, viewerKey, expiresAt), _key);

    /// <summary>Has the network take a key for this operator's dashboard until it expires (the same key again renews it).</summary>
    public Task<JsonElement> AddViewerKeyAsync(DevicePublicKey viewerKey, Timestamp expiresAt) =>
        Node.AddViewerKeyAsync(Id.Value, EndorseViewerKey(viewerKey, expiresAt).ToArray());

    /// <summary>Endorses a device's public key for a role: the device is then known to the whole network.</summary>
    public Task<JsonElement> EndorseAsync(DeviceId device, DeviceRole role, DevicePublicKey deviceKey) =>
        Node.EndorseAsync(device.Value, DeviceIdentity.Endorse(Network, Id, _key, device, role, deviceKey).Endorsement.ToArray());

    public Task<JsonElement> RevokeAsync(DeviceId device) =>
        Node.RevokeAsync(device.Value, Signed<Revocation>.Sign(new Revocation(Network, Id, device, Now), _key).ToArray());

    public Task<JsonElement> FundAsync(PartyId account, Money amount, string requestId) =>
        Node.FundAsync(account.Value, Signed<FundingOrder>.Sign(new FundingOrder(Network, Id, account, amount, requestId), _key).ToArray());

    /// <summary>Closes a channel that pays this operator with the best voucher the network holds; returns the payouts.</summary>
    public Task<JsonElement> CloseChannelAsync(ChannelId channel) =>
        Node.CloseChannelAsync(channel.Value, Signed<CloseRequest>.Sign(new CloseRequest(Network, ChannelKind.Streaming, channel, Party, Now), _key).ToArray());

    /// <summary>Places and prices one of this operator's gantries (a higher version replaces the tariff).</summary>
    public Task SetTariffAsync(GantryTariff tariff) => Node.SetTariffAsync(tariff.Gantry.Value, Signed<GantryTariff>.Sign(tariff, _key).ToArray());

    /// <summary>Quarantines (or releases) a device suspected to be cloned: its payments are refused meanwhile.</summary>
    public Task<JsonElement> QuarantineAsync(DeviceId device, bool quarantined, ulong? version = null) =>
        Node.QuarantineAsync(device.Value, QuarantineOrder(device, quarantined, version ?? NextOrderVersion()).ToArray());

    public Signed<Quarantine> QuarantineOrder(DeviceId device, bool quarantined, ulong version) =>
        Signed<Quarantine>.Sign(new Quarantine(Network, Id, device, quarantined, version, Now), _key);

    /// <summary>Order versions from the clock, so that a later order of this operator always carries a higher one.</summary>
    public static ulong NextOrderVersion() => (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000 + (ulong)Interlocked.Increment(ref _orderSequence) % 1_000;

    private static long _orderSequence;

    private static Timestamp Now => Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);

    public void Dispose() => _key.Dispose();
}
