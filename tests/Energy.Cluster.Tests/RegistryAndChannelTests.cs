using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Hosting;
using Energy.Cluster.Registry;
using Xunit.Abstractions;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

public sealed class RegistryAndChannelsOnSqlite(ITestOutputHelper output) : RegistryAndChannelTests(TestStores.Sqlite(), output);

public sealed class RegistryAndChannelsOnPostgreSql(ITestOutputHelper output) : RegistryAndChannelTests(TestStores.PostgreSql(), output);

/// <summary>Operators, device twins and channels, hostile inputs included.</summary>
public abstract class RegistryAndChannelTests(NodeOptions node, ITestOutputHelper output) : ClusterTestKit(node, output)
{
    private readonly DeviceKeyPair _cpoKey = DeviceKeyPair.Generate();
    private readonly DeviceKeyPair _vehicleKey = DeviceKeyPair.Generate();
    private static readonly OperatorId Cpo = OperatorId.Of("cpo-1");
    private static readonly PartyId CpoParty = PartyId.From(Cpo);

    private object Ask(object message, IActorRef region)
    {
        region.Tell(message, TestActor);
        return ExpectMsg<object>(TimeSpan.FromSeconds(10));
    }

    private string RefusalCode(object message, IActorRef region) => Assert.IsType<Refusal>(Ask(message, region)).Code;

    private void RegisterCpo() => Assert.IsType<OperatorView>(Ask(TestAuthority.Admit(Cpo, _cpoKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner), Regions.Operators));

    private DeviceId Vehicle(string id, long funds)
    {
        var vehicle = DeviceId.Of(id);
        var endorsement = DeviceIdentity.Endorse(Network, Cpo, _cpoKey, vehicle, DeviceRole.Vehicle, _vehicleKey.PublicKey).Endorsement.ToArray();
        Assert.IsType<DeviceView>(Ask(new EndorseDevice(vehicle, endorsement), Regions.Devices));
        if (funds > 0)
        {
            var party = PartyId.From(vehicle);
            Assert.IsType<LedgerCommitted>(Ask(new Mint(LedgerShards.For(party, Settings.LedgerShardCount), "fund-" + id, party, new Money(funds, Currency.Eur), TestAuthority.Bank), Regions.Ledger));
        }
        return vehicle;
    }

    private ChannelId Open(DeviceId vehicle, string channelId, long deposit, long windowMs = 60_000)
    {
        var channel = ChannelId.Of(channelId);
        Assert.IsType<ChannelOpened>(Ask(new OpenChannel(channel, Signing.Opening(channel, PartyId.From(vehicle), CpoParty, deposit, _vehicleKey, windowMs)), Regions.Channels));
        return channel;
    }

    [Fact]
    public void An_operator_is_admitted_by_the_authority_once_per_version_and_a_higher_version_rotates_its_key()
    {
        RegisterCpo();
        RegisterCpo();
        using var other = DeviceKeyPair.Generate();
        Assert.Equal(nameof(AdmissionVersionReused), RefusalCode(TestAuthority.Admit(Cpo, other, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner), Regions.Operators));
        var rotated = Assert.IsType<OperatorView>(Ask(TestAuthority.Admit(Cpo, other, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner, version: 2), Regions.Operators));
        Assert.Equal((other.PublicKey.Hex, 2UL), (rotated.PublicKeyHex, rotated.Version));
        Assert.Equal(nameof(AdmissionSuperseded), RefusalCode(TestAuthority.Admit(Cpo, _cpoKey, OperatorRoles.ChargePointOperator | OperatorRoles.FleetOwner), Regions.Operators));
        Assert.Equal(nameof(OperatorNotFound), RefusalCode(new GetOperator(OperatorId.Of("nobody")), Regions.Operators));
    }

    [Fact]
    public void An_admission_not_signed_by_the_authority_is_refused_and_admits_nobody()
    {
        using var pretender = DeviceKeyPair.Generate();
        var stranger = OperatorId.Of("stranger");
        var forged = AuthorityApproved<Admission>.Sign(new Admission(Network, stranger, OperatorRoles.GridOperator | OperatorRoles.SettlementBank, pretender.PublicKey, 1,
            new Money(1_000_000, Currency.Eur), Clock.Now), [(0, pretender)]);
        Assert.Equal(nameof(InvalidSignature), RefusalCode(new AdmitOperator(stranger, forged.ToArray()), Regions.Operators));
        var otherIndex = AuthorityApproved<Admission>.Sign(forged.Payload, [(1, TestAuthority.Key)]);
        Assert.Equal(nameof(UnknownAuthorityKey), RefusalCode(new AdmitOperator(stranger, otherIndex.ToArray()), Regions.Operators));
        var otherNetwork = TestAuthority.Approve(stranger, pretender.PublicKey, OperatorRoles.GridOperator, network: NetworkId.Of("elsewhere"));
        Assert.Equal(nameof(WrongNetwork), RefusalCode(new AdmitOperator(stranger, otherNetwork.ToArray()), Regions.Operators));
        var forSomeoneElse = TestAuthority.Approve(OperatorId.Of("someone-else"), pretender.PublicKey, OperatorRoles.GridOperator);
        Assert.Equal(nameof(AdmissionMismatch), RefusalCode(new AdmitOperator(stranger, forSomeoneElse.ToArray()), Regions.Operators));
        Assert.Equal(nameof(OperatorNotFound), RefusalCode(new GetOperator(stranger), Regions.Operators));
    }

    [Fact]
    public void Device_twins_accept_only_endorsements_their_operator_signed()
    {
        RegisterCpo();
        using var stranger = DeviceKeyPair.Generate();
        var device = DeviceId.Of("meter-9");
        var forged = DeviceIdentity.Endorse(Network, Cpo, stranger, device, DeviceRole.Meter, _vehicleKey.PublicKey).Endorsement.ToArray();
        Assert.Equal(nameof(InvalidSignature), RefusalCode(new EndorseDevice(device, forged), Regions.Devices));
        var forAnother = DeviceIdentity.Endorse(Network, Cpo, _cpoKey, DeviceId.Of("meter-8"), DeviceRole.Meter, _vehicleKey.PublicKey).Endorsement.ToArray();
        Assert.Equal(nameof(DeviceIdMismatch), RefusalCode(new EndorseDevice(device, forAnother), Regions.Devices));
        var unknownOperator = DeviceIdentity.Endorse(Network, OperatorId.Of("ghost"), _cpoKey, device, DeviceRole.Meter, _vehicleKey.PublicKey).Endorsement.ToArray();
        Assert.Equal(nameof(OperatorNotFound), RefusalCode(new EndorseDevice(device, unknownOperator), Regions.Devices));
        Assert.Equal(nameof(Truncated), RefusalCode(new EndorseDevice(device, forged[..20]), Regions.Devices));
        Assert.Equal(nameof(DeviceNotFound), RefusalCode(new GetDevice(device), Regions.Devices));

        var genuine = DeviceIdentity.Endorse(Network, Cpo, _cpoKey, device, DeviceRole.Meter, _vehicleKey.PublicKey).Endorsement.ToArray();
        var view = Assert.IsType<DeviceView>(Ask(new EndorseDevice(device, genuine), Regions.Devices));
        Assert.Equal((DeviceRole.Meter, false), (view.Role, view.Revoked));
    }

    [Fact]
    public void A_revocation_refuses_the_device_everywhere_at_once()
    {
        RegisterCpo();
        var vehicle = Vehicle("vehicle-r", 5_000);
        var channel = Open(vehicle, "channel-r", 1_000);
        Assert.IsType<VoucherAcknowledged>(Ask(new SubmitVoucher(channel, Signing.Voucher(channel, 1, 100, 100, _vehicleKey)), Regions.Channels));

        using var stranger = DeviceKeyPair.Generate();
        var forged = Signed<Revocation>.Sign(new Revocation(Network, Cpo, vehicle, Clock.Now), stranger).ToArray();
        Assert.Equal(nameof(InvalidSignature), RefusalCode(new RevokeDevice(vehicle, forged), Regions.Devices));
        var otherOperator = Signed<Revocation>.Sign(new Revocation(Network, OperatorId.Of("cpo-2"), vehicle, Clock.Now), _cpoKey).ToArray();
        Assert.Equal(nameof(EndorsementMismatch), RefusalCode(new RevokeDevice(vehicle, otherOperator), Regions.Devices));
        Assert.False(RevocationList.Get(Sys).IsRevoked(vehicle));

        var revocation = Signed<Revocation>.Sign(new Revocation(Network, Cpo, vehicle, Clock.Now), _cpoKey).ToArray();
        Assert.True(Assert.IsType<DeviceView>(Ask(new RevokeDevice(vehicle, revocation), Regions.Devices)).Revoked);
        Assert.True(RevocationList.Get(Sys).IsRevoked(vehicle));

        Assert.Equal(nameof(PartyRevoked), RefusalCode(new SubmitVoucher(channel, Signing.Voucher(channel, 2, 200, 100, _vehicleKey)), Regions.Channels));
        var second = ChannelId.Of("channel-r2");
        Assert.Equal(nameof(PartyRevoked), RefusalCode(new OpenChannel(second, Signing.Opening(second, PartyId.From(vehicle), CpoParty, 100, _vehicleKey)), Regions.Channels));
        Assert.Equal(nameof(DeviceIsRevoked), RefusalCode(new EndorseDevice(vehicle,
            DeviceIdentity.Endorse(Network, Cpo, _cpoKey, vehicle, DeviceRole.Vehicle, _vehicleKey.PublicKey).Endorsement.ToArray()), Regions.Devices));
    }

    [Fact]
    public void A_channel_refuses_hostile_vouchers_and_a_deposit_without_funds()
    {
        RegisterCpo();
        var vehicle = Vehicle("vehicle-h", 1_000);
        var poor = ChannelId.Of("channel-poor");
        Assert.Equal(nameof(InsufficientFunds), RefusalCode(new OpenChannel(poor, Signing.Opening(poor, PartyId.From(vehicle), CpoParty, 1_001, _vehicleKey)), Regions.Channels));
        Assert.Equal(nameof(ChannelNotFound), RefusalCode(new SubmitVoucher(poor, Signing.Voucher(poor, 1, 1, 1, _vehicleKey)), Regions.Channels));
        using var stranger = DeviceKeyPair.Generate();
        var forged = ChannelId.Of("channel-forged");
        Assert.Equal(nameof(InvalidSignature), RefusalCode(new OpenChannel(forged, Signing.Opening(forged, PartyId.From(vehicle), CpoParty, 100, stranger)), Regions.Channels));
        var unknownPayee = ChannelId.Of("channel-nobody");
        Assert.Equal(nameof(PartyUnknown), RefusalCode(new OpenChannel(unknownPayee, Signing.Opening(unknownPayee, PartyId.From(vehicle), PartyId.Of("device:nobody"), 100, _vehicleKey)), Regions.Channels));

        var channel = Open(vehicle, "channel-h", 1_000);
        Assert.IsType<ChannelOpened>(Ask(new OpenChannel(channel, Signing.Opening(channel, PartyId.From(vehicle), CpoParty, 1_000, _vehicleKey)), Regions.Channels));
        Assert.Equal(nameof(ChannelAlreadyExists), RefusalCode(new OpenChannel(channel, Signing.Opening(channel, PartyId.From(vehicle), CpoParty, 999, _vehicleKey)), Regions.Channels));
        // Another party naming this channel for its own opening, properly signed by itself, takes nothing of it.
        var other = Vehicle("vehicle-h-other", 1_000);
        Assert.Equal(nameof(ChannelAlreadyExists), RefusalCode(new OpenChannel(channel, Signing.Opening(channel, PartyId.From(other), CpoParty, 1_000, _vehicleKey)), Regions.Channels));
        Assert.Equal(PartyId.From(vehicle), Assert.IsType<ChannelView>(Ask(new GetChannel(channel), Regions.Channels)).Payer);
        Assert.IsType<VoucherAcknowledged>(Ask(new SubmitVoucher(channel, Signing.Voucher(channel, 1, 100, 100, _vehicleKey)), Regions.Channels));
        Assert.Equal(nameof(VoucherNotNewer), RefusalCode(new SubmitVoucher(channel, Signing.Voucher(channel, 1, 100, 100, _vehicleKey)), Regions.Channels));
        Assert.Equal(nameof(InvalidSignature), RefusalCode(new SubmitVoucher(channel, Signing.Voucher(channel, 2, 200, 100, stranger)), Regions.Channels));
        Assert.Equal(nameof(AmountExceedsDeposit), RefusalCode(new SubmitVoucher(channel, Signing.Voucher(channel, 2, 1_001, 901, _vehicleKey)), Regions.Channels));
        Assert.Equal(nameof(WrongChannel), RefusalCode(new SubmitVoucher(channel, Signing.Voucher(poor, 2, 200, 100, _vehicleKey)), Regions.Channels));
        Assert.Equal(nameof(TrailingBytes), RefusalCode(new SubmitVoucher(channel, [.. Signing.Voucher(channel, 2, 200, 100, _vehicleKey), 0]), Regions.Channels));
        var view = Assert.IsType<ChannelView>(Ask(new GetChannel(channel), Regions.Channels));
        Assert.Equal((1UL, 100L), (view.LastSequence, view.Paid!.Value.MinorUnits));
    }

    [Fact]
    public void In_a_dispute_the_newer_voucher_wins_and_the_settlement_is_given_once()
    {
        RegisterCpo();
        var vehicle = Vehicle("vehicle-d", 2_000);
        var channel = Open(vehicle, "channel-d", 1_000, windowMs: 30_000);
        Assert.IsType<VoucherAcknowledged>(Ask(new SubmitVoucher(channel, Signing.Voucher(channel, 1, 100, 100, _vehicleKey)), Regions.Channels));
        var payerClose = Signing.Close(channel, PartyId.From(vehicle), _vehicleKey, Clock.Now);
        var closing = Assert.IsType<ChannelClosing>(Ask(new CloseChannel(channel, payerClose), Regions.Channels));
        Assert.Equal(Clock.Now.UnixMilliseconds + 30_000, closing.ChallengeDeadline.UnixMilliseconds);
        Assert.IsType<ChannelClosing>(Ask(new CloseChannel(channel, payerClose), Regions.Channels));

        // The payee (through its agent) presents the newer voucher it holds inside the window.
        Assert.IsType<VoucherAcknowledged>(Ask(new SubmitVoucher(channel, Signing.Voucher(channel, 2, 400, 300, _vehicleKey)), Regions.Channels));
        Clock.Advance(DurationMs.FromSeconds(31));
        Assert.Equal(nameof(ChallengeWindowOver), RefusalCode(new SubmitVoucher(channel, Signing.Voucher(channel, 3, 500, 100, _vehicleKey)), Regions.Channels));
        AwaitAssert(() =>
        {
            var view = Assert.IsType<ChannelView>(Ask(new GetChannel(channel), Regions.Channels));
            Assert.Equal("settled", view.Status);
            Assert.Contains(view.Settlement!.Payouts, p => p.Account == CpoParty && p.Amount.MinorUnits == 400);
        }, TimeSpan.FromSeconds(15));

        var first = Assert.IsType<ChannelSettled>(Ask(new CloseChannel(channel, payerClose), Regions.Channels));
        var second = Assert.IsType<ChannelSettled>(Ask(new CloseChannel(channel, Signing.Close(channel, CpoParty, _cpoKey, Clock.Now)), Regions.Channels));
        Assert.Equal(first, second);
        AwaitAssert(() =>
        {
            var account = Assert.IsType<AccountView>(Ask(new GetAccount(LedgerShards.For(CpoParty, Settings.LedgerShardCount), CpoParty), Regions.Ledger));
            Assert.Equal(400, account.Balance.MinorUnits);
        }, TimeSpan.FromSeconds(10));
    }

    protected override void Dispose(bool disposing)
    {
        _cpoKey.Dispose();
        _vehicleKey.Dispose();
        base.Dispose(disposing);
    }
}
