using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Ledger;

public sealed record InsufficientFunds(PartyId Account, long BalanceMinorUnits, long RequestedMinorUnits) : ProtocolError
{
    public override string Describe() => $"account {Account} holds {BalanceMinorUnits}, {RequestedMinorUnits} was requested";
}

public sealed record NonPositiveAmount(string Operation, long MinorUnits) : ProtocolError
{
    public override string Describe() => $"{Operation} needs an amount above zero, got {MinorUnits}";
}

public sealed record EscrowNotFound(EscrowId Escrow, PartyId Holder) : ProtocolError
{
    public override string Describe() => $"no escrow {Escrow} is locked from {Holder}";
}

public sealed record EscrowAlreadyLocked(EscrowId Escrow, PartyId Account, long LockedMinorUnits, long RequestedMinorUnits) : ProtocolError
{
    public override string Describe() => $"escrow {Escrow} already locked {LockedMinorUnits} from {Account}; {RequestedMinorUnits} was requested";
}

public sealed record EscrowAlreadyReleased(EscrowId Escrow, PartyId Account, ulong ReleasedInBlock) : ProtocolError
{
    public override string Describe() => $"escrow {Escrow} of {Account} was released in block {ReleasedInBlock}; a released escrow is never locked again";
}

public sealed record PayoutsDoNotMatchEscrow(EscrowId Escrow, long EscrowMinorUnits, long PayoutsMinorUnits) : ProtocolError
{
    public override string Describe() => $"escrow {Escrow}: payouts sum to {PayoutsMinorUnits}, the escrow holds {EscrowMinorUnits}";
}

public sealed record WrongLedgerShard(PartyId Account, string ExpectedShard, string ThisShard) : ProtocolError
{
    public override string Describe() => $"account {Account} lives in {ExpectedShard}, not {ThisShard}";
}

public sealed record RequestIdReused(string RequestId, string Detail) : ProtocolError
{
    public override string Describe() => $"request id {RequestId} was already used for a different request: {Detail}";
}

public sealed record LedgerOverloaded(string Shard, int Pending, int Max) : ProtocolError
{
    public override string Describe() => $"ledger shard {Shard} has {Pending} entries waiting (bound {Max}); retry later";
}
