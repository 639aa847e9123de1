using Energy.Channels.Encoding;
using Energy.Channels.Primitives;

namespace Energy.Channels.Ledger;

/// <summary>An operator's signed order to fund an account. The request id makes a repeated order take effect once.</summary>
public sealed record FundingOrder(NetworkId Network, OperatorId Operator, PartyId Account, Money Amount, string RequestId)
    : ISignable<FundingOrder>
{
    public static ObjectKind Kind => ObjectKind.FundingOrder;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteIdentifier(Operator.Value);
        writer.WriteParty(Account);
        writer.WriteMoney(Amount);
        writer.WriteIdentifier(RequestId);
    }

    public static FundingOrder Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var operatorId = reader.ReadIdentifier("operator");
        var account = reader.ReadParty("account");
        var amount = reader.ReadMoney("amount");
        var requestId = reader.ReadIdentifier("requestId");
        return reader.Failed ? null! : new FundingOrder(network, new OperatorId(operatorId), account, amount, requestId);
    }
}

/// <summary>An account owner's signed order to take money out of the network.</summary>
public sealed record WithdrawalOrder(NetworkId Network, PartyId Account, Money Amount, string RequestId) : ISignable<WithdrawalOrder>
{
    public static ObjectKind Kind => ObjectKind.WithdrawalOrder;
    public static int SignatureCount => 1;

    public void Write(ref CanonicalWriter writer)
    {
        writer.WriteHeader(Kind, Network);
        writer.WriteParty(Account);
        writer.WriteMoney(Amount);
        writer.WriteIdentifier(RequestId);
    }

    public static WithdrawalOrder Read(ref CanonicalReader reader)
    {
        var network = reader.ReadHeader();
        var account = reader.ReadParty("account");
        var amount = reader.ReadMoney("amount");
        var requestId = reader.ReadIdentifier("requestId");
        return reader.Failed ? null! : new WithdrawalOrder(network, account, amount, requestId);
    }
}
