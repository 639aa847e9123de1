using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Node.Tests;

/// <summary>
/// The consortium's governance in the tests: the authority key the node made in its data folder, a grid
/// operator that sees everything (the API client reads as it), and a settlement bank that issues the
/// tests' money.
/// </summary>
public sealed class Governance : IDisposable
{
    public static readonly NetworkId Network = NetworkId.Of("energy-test");

    private Governance(NetworkAuthorityAgent authority, OperatorAgent grid, DeviceKeyPair gridKey, OperatorAgent bank)
    {
        Authority = authority;
        Grid = grid;
        GridKey = gridKey;
        Bank = bank;
    }

    public NetworkAuthorityAgent Authority { get; }
    public OperatorAgent Grid { get; }
    public DeviceKeyPair GridKey { get; }
    public OperatorAgent Bank { get; }

    public static async Task<Governance> StartAsync(NodeProcess node, NodeClient client, ApiClient api)
    {
        var authority = NetworkAuthorityAgent.FromKeyFile(client, Network, Currency.Eur, Path.Combine(node.DataDirectory, "authority.key"));
        var run = Guid.NewGuid().ToString("N")[..6];
        var gridKey = DeviceKeyPair.Generate();
        var grid = new OperatorAgent(client, Network, OperatorId.Of($"grid-{run}"), DeviceKeyPair.FromSeed(gridKey.ExportSeed()).Unwrap());
        await grid.AdmitAsync(authority, OperatorRoles.GridOperator);
        var bank = new OperatorAgent(client, Network, OperatorId.Of($"bank-{run}"));
        await bank.AdmitAsync(authority, OperatorRoles.SettlementBank, new Money(1_000_000_000_000, Currency.Eur));
        api.Caller = (grid.Party, gridKey);
        return new Governance(authority, grid, gridKey, bank);
    }

    /// <summary>An admission signed with the node's own authority key, in its wire form.</summary>
    public static byte[] Admission(NodeProcess node, OperatorId id, DevicePublicKey key, OperatorRoles roles, long issuanceLimit = 0, ulong version = 1)
    {
        using var authorityKey = DeviceKeyPair.FromSeed(File.ReadAllBytes(Path.Combine(node.DataDirectory, "authority.key"))).Unwrap();
        return AuthorityApproved<Admission>.Sign(new Admission(Network, id, roles, key, version, new Money(issuanceLimit, Currency.Eur),
            Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), [(0, authorityKey)]).ToArray();
    }

    /// <summary>Admits an operator agent in these roles.</summary>
    public async Task<OperatorAgent> AdmitAsync(OperatorAgent agent, OperatorRoles roles)
    {
        await agent.AdmitAsync(Authority, roles);
        return agent;
    }

    public void Dispose()
    {
        Authority.Dispose();
        Grid.Dispose();
        GridKey.Dispose();
        Bank.Dispose();
    }
}
