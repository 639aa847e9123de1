using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Agents;

/// <summary>
/// The network authority as its governance plays it: it holds some of the authority's keys (each with its
/// index in the authority's list) and admits operators and ledger nodes with statements signed by enough of them.
/// </summary>
public sealed class NetworkAuthorityAgent(NodeClient node, NetworkId network, Currency currency, IReadOnlyList<(byte Index, DeviceKeyPair Key)> keys) : IDisposable
{
    /// <summary>
    /// An authority of one key, kept in a file: the raw 32-byte seed a single node makes in its data folder, or the
    /// 64 hex digits <c>energy keys new</c> writes.
    /// </summary>
    public static NetworkAuthorityAgent FromKeyFile(NodeClient node, NetworkId network, Currency currency, string path)
    {
        var bytes = File.ReadAllBytes(path);
        var seed = bytes.Length == 32 ? bytes : SeedFromHex(System.Text.Encoding.ASCII.GetString(bytes).Trim())
            ?? throw new InvalidDataException($"{path} holds no Ed25519 key: expected its 32-byte seed, raw or as 64 hex digits");
        return new(node, network, currency, [(0, DeviceKeyPair.FromSeed(seed).Unwrap())]);
    }

    private static byte[]? SeedFromHex(string text) =>
        text.Length == 64 && text.All(char.IsAsciiHexDigit) ? Convert.FromHexString(text) : null;

    public Signed Admission(OperatorId id, DevicePublicKey key, OperatorRoles roles, Money? issuanceLimit = null, ulong version = 1) =>
        new(AuthorityApproved<Admission>.Sign(
            new Admission(network, id, roles, key, version, issuanceLimit ?? new Money(0, currency), Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), keys));

    public Task AdmitAsync(OperatorId id, DevicePublicKey key, OperatorRoles roles, Money? issuanceLimit = null, ulong version = 1) =>
        node.AdmitOperatorAsync(id.Value, Admission(id, key, roles, issuanceLimit, version).Wire);

    /// <summary>The authority's statement that a node's key signs ledger blocks (or, with <paramref name="admitted"/> false, no longer does).</summary>
    public AuthorityApproved<LedgerNodeAdmission> LedgerNodeAdmission(DevicePublicKey nodeKey, bool admitted = true, ulong version = 1) =>
        AuthorityApproved<LedgerNodeAdmission>.Sign(
            new LedgerNodeAdmission(network, nodeKey, admitted, version, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), keys);

    /// <summary>Admits (or withdraws) a ledger node's key: the blocks it signs then audit as intact on every node.</summary>
    public Task<System.Text.Json.JsonElement> AdmitLedgerNodeAsync(DevicePublicKey nodeKey, bool admitted = true, ulong version = 1) =>
        node.AdmitLedgerNodeAsync(nodeKey.Hex, LedgerNodeAdmission(nodeKey, admitted, version).ToArray());

    public void Dispose()
    {
        foreach (var (_, key) in keys) key.Dispose();
    }

    /// <summary>An admission in its wire form.</summary>
    public sealed record Signed(AuthorityApproved<Admission> Approved)
    {
        public byte[] Wire => Approved.ToArray();
    }
}
