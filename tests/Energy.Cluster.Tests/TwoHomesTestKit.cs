using Akka.Actor;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Hosting;
using Energy.Cluster.Registry;
using Xunit.Abstractions;
using Energy.Lifecycles.Ledger;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Tests;

/// <summary>Two homes' meters (Alice and Bob) endorsed by one grid operator, funded on the ledger, and the duplex objects they co-sign.</summary>
public abstract class TwoHomesTestKit(NodeOptions node, ITestOutputHelper output) : ClusterTestKit(node, output)
{
    protected DeviceKeyPair AliceKey { get; } = DeviceKeyPair.Generate();
    protected DeviceKeyPair BobKey { get; } = DeviceKeyPair.Generate();
    protected DeviceKeyPair GridKey { get; } = DeviceKeyPair.Generate();
    protected static readonly OperatorId Grid = OperatorId.Of("grid-1");
    protected static readonly PartyId Alice = PartyId.Of("device:meter-alice");
    protected static readonly PartyId Bob = PartyId.Of("device:meter-bob");

    protected static Money Eur(long units) => new(units, Currency.Eur);

    protected object Ask(object message, IActorRef region)
    {
        region.Tell(message, TestActor);
        return ExpectMsg<object>(TimeSpan.FromSeconds(10));
    }

    protected void Setup(long aliceFunds, long bobFunds)
    {
        Assert.IsType<OperatorView>(Ask(TestAuthority.Admit(Grid, GridKey, OperatorRoles.GridOperator), Regions.Operators));
        foreach (var (party, key, funds) in new[] { (Alice, AliceKey, aliceFunds), (Bob, BobKey, bobFunds) })
        {
            var device = party.AsDevice();
            Assert.IsType<DeviceView>(Ask(new EndorseDevice(device, DeviceIdentity.Endorse(Network, Grid, GridKey, device, DeviceRole.Meter, key.PublicKey).Endorsement.ToArray()), Regions.Devices));
            if (funds > 0) Assert.IsType<LedgerCommitted>(Ask(new Mint(LedgerShards.For(party, Settings.LedgerShardCount), "fund-" + party, party, Eur(funds), TestAuthority.Bank), Regions.Ledger));
        }
    }

    /// <summary>A duplex opening from Alice (A) and Bob (B), signed by both (Bob's signature by <paramref name="signerB"/> when given).</summary>
    protected byte[] DuplexOpening(ChannelId channel, long depositA, long depositB, long windowMs = 30_000, DeviceKeyPair? signerB = null) =>
        Signing.DuplexOpening(channel, Alice, Bob, depositA, depositB, AliceKey, signerB ?? BobKey, windowMs);

    protected byte[] DuplexState(ChannelId channel, ulong version, long a, long b, bool isFinal = false) =>
        Signing.DuplexState(channel, version, a, b, AliceKey, BobKey, isFinal);

    protected override void Dispose(bool disposing)
    {
        GridKey.Dispose();
        AliceKey.Dispose();
        BobKey.Dispose();
        base.Dispose(disposing);
    }

    protected AccountView Account(PartyId party) =>
        Assert.IsType<AccountView>(Ask(new GetAccount(LedgerShards.For(party, Settings.LedgerShardCount), party), Regions.Ledger));
}
