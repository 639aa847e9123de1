using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Channels;

public sealed record ChannelNotFound(ChannelId ChannelId) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId} is not open";
}

public sealed record PartyRevoked(ChannelId ChannelId, PartyId Party) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: the key of {Party} is revoked";
}

public sealed record PartyQuarantined(ChannelId ChannelId, PartyId Party) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: {Party} is quarantined as a suspected clone; its payments are refused until it is released";
}

public sealed record PartyUnknown(ChannelId ChannelId, PartyId Party) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: {Party} is neither a registered device nor an operator";
}

/// <summary>The ledger confirmed a lock that is not this channel's (another escrow, account or amount): the channel does not open on it.</summary>
public sealed record EscrowLockMismatch(ChannelId ChannelId, EscrowId Escrow, string Expected, string Answered) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: expected the lock of {Expected} into {Escrow}; the ledger answered {Answered}";
}

/// <summary>The ledger answered a release with another escrow's or other payouts: the channel does not record it as its settlement.</summary>
public sealed record SettlementMismatch(ChannelId ChannelId, EscrowId Escrow, string Expected, string Answered) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: expected {Escrow} to pay out {Expected}; the ledger answered {Answered}";
}

/// <summary>A command that fits another phase of the channel's life than the one it is in.</summary>
public sealed record WrongPhase(ChannelId ChannelId, ChannelPhase Expected, ChannelPhase Actual) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId} is {Actual}, not {Expected}";
}
