using System.CommandLine;
using Energy.Channels.Encoding;
using Energy.Channels.Ledger;
using Energy.Channels.Primitives;

namespace Energy.Cli.Commands;

/// <summary><c>energy money fund|withdraw</c>: money into the network (by a settlement bank) and out of it (by the owner).</summary>
public static class MoneyCommand
{
    public static Command Create(ToolEnvironment environment) =>
        new("money", "Money into the network (a settlement bank funds an account) and out of it (the owner withdraws)")
        {
            Fund(environment),
            Withdraw(environment),
        };

    private static Command Fund(ToolEnvironment environment)
    {
        var bank = new OperatorSignerOptions("bank", "settlement bank");
        var account = ToolOptions.Party("--account", "The account to fund");
        var amount = ToolOptions.Amount();
        var requestId = ToolOptions.RequestId();
        var currency = ToolOptions.Currency();
        var node = new NodeOptions();
        var command = new Command("fund", "A settlement bank funds an account (it issues the money, within its issuance limit)")
        {
            account, amount, requestId, currency,
        };
        bank.AddTo(command);
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            using var connection = node.Connect(parse, environment);
            using var agent = bank.Agent(parse, environment, connection);
            var party = parse.GetRequiredValue(account);
            var money = new Money(parse.GetValue(amount), parse.GetRequiredValue(currency));
            environment.PrintJson(await agent.FundAsync(party, money, parse.GetRequiredValue(requestId)));
            environment.Note($"funded {party} with {money.MinorUnits} minor units of {money.Currency} by operator:{agent.Id}");
        });
        return command;
    }

    private static Command Withdraw(ToolEnvironment environment)
    {
        var owner = ToolOptions.Party("--owner", "The account's owner, who signs the withdrawal");
        var key = ToolOptions.KeyFile("--key", "The owner's key file");
        var amount = ToolOptions.Amount();
        var requestId = ToolOptions.RequestId();
        var currency = ToolOptions.Currency();
        var node = new NodeOptions();
        var command = new Command("withdraw", "The owner of an account takes money out of the network")
        {
            owner, key, amount, requestId, currency,
        };
        node.AddTo(command);
        command.Runs(environment, async (parse, _) =>
        {
            var party = parse.GetRequiredValue(owner);
            var money = new Money(parse.GetValue(amount), parse.GetRequiredValue(currency));
            using var ownerKey = KeyFile.Load(parse.GetRequiredValue(key), environment.Error);
            using var connection = node.Connect(parse, environment);
            var order = Signed<WithdrawalOrder>.Sign(new WithdrawalOrder(connection.Network, party, money, parse.GetRequiredValue(requestId)), ownerKey);
            environment.PrintJson(await connection.Client.WithdrawAsync(party.Value, order.ToArray()));
            environment.Note($"withdrew {money.MinorUnits} minor units of {money.Currency} from {party}");
        });
        return command;
    }
}
