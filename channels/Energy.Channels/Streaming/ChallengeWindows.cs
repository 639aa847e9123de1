using Energy.Channels.Primitives;

namespace Energy.Channels;

/// <summary>
/// The bound the network puts on a channel's challenge window. A window is the time a counterparty has
/// to answer a close with a newer state; a payer who chose it alone could choose none and close on an
/// old voucher before the payee can object. The network's minimum applies when a channel opens, never
/// again in recovery: a channel opened under an earlier minimum keeps the window it was opened with.
/// </summary>
public static class ChallengeWindows
{
    public static ProtocolError? CheckMinimum(ChannelId channel, DurationMs chosen, DurationMs minimum) =>
        chosen.Milliseconds < minimum.Milliseconds ? new ChallengeWindowTooShort(channel, chosen, minimum) : null;
}
