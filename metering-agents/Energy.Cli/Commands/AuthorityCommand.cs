using System.CommandLine;
using System.Globalization;
using Energy.Agents;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Cli.Commands;

/// <summary>
/// <c>energy authority admit</c> and <c>admit-node</c>: the network authority admits an operator, or a node's key as a
/// signer of ledger blocks, signed by k of its n keys.
/// </summary>
public static class AuthorityCommand
{
    public static Command Create(ToolEnvironment environment) =>
        new("authority", "What the network authority signs: the admission of operators and of ledger nodes")
        {
            Admit(environment),
            AdmitNode(environment),
        };

    private static Option<string[]> AuthorityKeys() =>
        new("--authority-key")
        {
            Description = "A key file of the network authority; repeat it (with --index) when k of n keys must sign. "
                + "A node alone makes its own: <data directory>/authority.key",
            HelpName = "FILE",
            Required = true,
            Arity = new ArgumentArity(1, NetworkAuthority.MaxKeys),
        };

    private static Option<int[]> Indexes() =>
        new("--index")
        {
            Description = "The place of each --authority-key in the authority's list of keys, in the same order [default: 0, 1, 2, ...]",
            HelpName = "N",
            Arity = new ArgumentArity(0, NetworkAuthority.MaxKeys),
        };

    private static Command Admit(ToolEnvironment environment)
    {
        var authorityKeys = AuthorityKeys();
        var indexes = Indexes();
        var operatorId = ToolOptions.Operator("--operator", "The operator to admit");
        var roles = new Option<OperatorRoles>("--roles")
        {
            Description = $"Its roles, comma-separated: {ToolOptions.OperatorRoleNames}",
            HelpName = "ROLES",
            Required = true,
            CustomParser = result =>
            {
                var parsed = ToolOptions.ParseRoles(result.Tokens.Count > 0 ? result.Tokens[^1].Value : "");
                if (parsed.IsOk) return parsed.Value;
                result.AddError($"--roles: {parsed.Error!.Describe()}");
                return OperatorRoles.None;
            },
        };
        var publicKey = ToolOptions.PublicKey("--operator-public-key", "The operator's public key (hex), as `energy keys show` prints it");
        var operatorKey = ToolOptions.KeyFile("--operator-key", "Or: the operator's key file, to take its public key from", required: false);
        var issuanceLimit = new Option<long>("--issuance-limit")
        {
            Description = "For a settlement bank: how much money it may issue in all, in minor units [default: 0]",
            HelpName = "N",
            CustomParser = result =>
            {
                var parsed = ToolOptions.ParseMinorUnits(result.Tokens.Count > 0 ? result.Tokens[^1].Value : "0", minimum: 0);
                if (parsed.IsOk) return parsed.Value;
                result.AddError($"--issuance-limit: {parsed.Error!.Describe()}");
                return 0;
            },
        };
        var version = ToolOptions.OrderVersion("The admission's version: a higher one replaces a lower (a rotated key, changed roles) [default: 1]");
        var currency = ToolOptions.Currency();
        var node = new NodeOptions();
        var command = new Command("admit", "Admits an operator with its roles and key: signs the admission with the authority's keys and posts it to the node")
        {
            authorityKeys, indexes, operatorId, roles, publicKey, operatorKey, issuanceLimit, version, currency,
        };
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            var id = parse.GetRequiredValue(operatorId);
            var chosenRoles = parse.GetRequiredValue(roles);
            var limit = new Money(parse.GetValue(issuanceLimit), parse.GetRequiredValue(currency));
            if (limit.MinorUnits > 0 && (chosenRoles & OperatorRoles.SettlementBank) == 0)
                throw new ToolFailureException("IssuanceLimitWithoutBank", "only a settlement bank has an issuance limit: add settlementBank to --roles or leave out --issuance-limit");
            var key = OperatorPublicKey(parse, publicKey, operatorKey, environment);
            var admissionVersion = parse.GetValue(version) ?? 1;
            using var connection = node.Connect(parse, environment);
            using var authority = new NetworkAuthorityAgent(connection.Client, connection.Network, limit.Currency, SigningKeys(parse, authorityKeys, indexes, environment));
            var admission = authority.Admission(id, key, chosenRoles, limit, admissionVersion);
            environment.PrintJson(await connection.Client.AdmitOperatorAsync(id.Value, admission.Wire));
            environment.Note($"admitted operator:{id} as {chosenRoles}, version {admissionVersion}, key {key.Hex}");
        });
        return command;
    }

    /// <summary>
    /// The authority admits a node's key as a signer of ledger blocks (or withdraws it): the blocks that key signs
    /// then audit as intact on every node of the network.
    /// </summary>
    private static Command AdmitNode(ToolEnvironment environment)
    {
        var authorityKeys = AuthorityKeys();
        var indexes = Indexes();
        var publicKey = ToolOptions.PublicKey("--node-public-key", "The node's public key (hex), as its /health answer names it (\"node\")");
        var nodeKey = ToolOptions.KeyFile("--node-key", "Or: the node's key file (node.key in its data folder), to take its public key from", required: false);
        var withdraw = new Option<bool>("--withdraw") { Description = "Withdraw the key instead: the blocks it signs no longer audit as intact" };
        var version = ToolOptions.OrderVersion("The statement's version: each statement about a key needs a higher one than the last (a withdrawal after an admission: 2) [default: 1]");
        var node = new NodeOptions();
        var command = new Command("admit-node", "Admits a node's key as a signer of ledger blocks: signs the statement with the authority's keys and posts it to the node")
        {
            authorityKeys, indexes, publicKey, nodeKey, withdraw, version,
        };
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            var key = PublicKeyOf(parse, publicKey, nodeKey, environment, "NodeKeyMissing", "give the node's key once: --node-public-key HEX or --node-key FILE");
            var admitted = !parse.GetValue(withdraw);
            var statementVersion = parse.GetValue(version) ?? 1;
            using var connection = node.Connect(parse, environment);
            using var authority = new NetworkAuthorityAgent(connection.Client, connection.Network, Currency.Eur, SigningKeys(parse, authorityKeys, indexes, environment));
            environment.PrintJson(await authority.AdmitLedgerNodeAsync(key, admitted, statementVersion));
            environment.Note($"ledger node {key.Hex} {(admitted ? "admitted" : "withdrawn")}, version {statementVersion}");
        });
        return command;
    }

    private static DevicePublicKey OperatorPublicKey(ParseResult parse, Option<DevicePublicKey> publicKey, Option<string> keyFile, ToolEnvironment environment) =>
        PublicKeyOf(parse, publicKey, keyFile, environment, "OperatorKeyMissing", "give the operator's key once: --operator-public-key HEX or --operator-key FILE");

    /// <summary>A public key given once: as hex, or from a key file whose public part is taken.</summary>
    private static DevicePublicKey PublicKeyOf(ParseResult parse, Option<DevicePublicKey> publicKey, Option<string> keyFile, ToolEnvironment environment,
        string missingCode, string missingMessage)
    {
        var hex = parse.GetValue(publicKey);
        var file = parse.GetValue(keyFile);
        if ((hex is null) == (file is null)) throw new ToolFailureException(missingCode, missingMessage);
        if (hex is not null) return hex;
        using var key = KeyFile.Load(file!, environment.Error);
        return key.PublicKey;
    }

    /// <summary>The authority's keys, each with its place in the authority's list.</summary>
    private static List<(byte Index, DeviceKeyPair Key)> SigningKeys(ParseResult parse, Option<string[]> files, Option<int[]> indexes, ToolEnvironment environment)
    {
        var paths = parse.GetRequiredValue(files);
        var places = parse.GetValue(indexes) is { Length: > 0 } given ? given : Enumerable.Range(0, paths.Length).ToArray();
        if (places.Length != paths.Length)
            throw new ToolFailureException("AuthorityIndexMismatch", $"{paths.Length} --authority-key but {places.Length} --index: give one index per key, in the same order");
        if (places.Any(place => place is < 0 or >= NetworkAuthority.MaxKeys) || places.Distinct().Count() != places.Length)
            throw new ToolFailureException("AuthorityIndexMismatch", $"indexes must be distinct, from 0 to {NetworkAuthority.MaxKeys - 1}: {string.Join(',', places.Select(p => p.ToString(CultureInfo.InvariantCulture)))}");
        return paths.Select((path, i) => ((byte)places[i], KeyFile.Load(path, environment.Error))).ToList();
    }
}
