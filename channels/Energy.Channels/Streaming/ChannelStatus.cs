using Energy.Channels.Primitives;

namespace Energy.Channels;

public enum ChannelStatus : byte
{
    Open = 1,

    /// <summary>A unilateral close is under way; the counterparty may still present a newer state until the deadline.</summary>
    Closing = 2,

    Closed = 3,
}

/// <summary>How a closed channel's deposits are split. Payouts always sum to the deposits.</summary>
public sealed record ChannelSettlement(ChannelId ChannelId, PartyId PartyA, Money PayoutA, PartyId PartyB, Money PayoutB, ulong FinalVersion, Timestamp ClosedAt);

/// <summary>A channel party: the owner of a ledger account and the key that signs for it.</summary>
public sealed record ChannelParty(PartyId Id, Identity.DevicePublicKey Key);
