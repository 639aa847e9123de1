using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Channels;

/// <summary>The standing of a channel's parties, as this node knows it, in rules both channel kinds share.</summary>
public static class ChannelParties
{
    /// <summary>
    /// A payment is refused when a party that signs or pays it is revoked (first) or quarantined as a suspected clone,
    /// the first such party named.
    /// </summary>
    public static ProtocolError? CheckStanding(ChannelId channel, IReadOnlyList<PartyId> parties, Func<PartyId, bool> revoked, Func<PartyId, bool> quarantined)
    {
        foreach (var party in parties)
        {
            if (revoked(party)) return new PartyRevoked(channel, party);
        }
        foreach (var party in parties)
        {
            if (quarantined(party)) return new PartyQuarantined(channel, party);
        }
        return null;
    }

    /// <summary>A party's key as its twin gave it, unless this node already knows the party is revoked.</summary>
    public static Result<DevicePublicKey> KnownKey(ChannelId channel, PartyId party, Result<DevicePublicKey> found, bool revokedHere) =>
        revokedHere ? new PartyRevoked(channel, party) : found;
}

/// <summary>
/// What a request hears that a channel answers without deciding anything: the reply now, or, when
/// <see cref="Reply"/> is null, a place among those who wait for the outcome it asks about.
/// </summary>
public sealed record KnownAnswer(object? Reply)
{
    public static readonly KnownAnswer Wait = new((object?)null);
}

/// <summary>
/// What a close comes to, as a channel's core decides it: an answer that writes nothing (<see cref="Answer"/>: a refusal,
/// the settlement, the running window, or a wait for the settlement), or <see cref="Event"/> to write, the channel
/// <see cref="Next"/> after it, and the <see cref="Window"/> its closer hears once it is durable (none when the close
/// settles the channel at once: then the closer waits for the settlement).
/// </summary>
public sealed record CloseOutcome<TChannel>(KnownAnswer? Answer, object? Event, TChannel? Next, ChannelClosing? Window) where TChannel : class
{
    public static CloseOutcome<TChannel> Answered(KnownAnswer answer) => new(answer, null, null, null);

    public static CloseOutcome<TChannel> Refused(ProtocolError error) => Answered(new KnownAnswer(Refusal.From(error)));

    public static CloseOutcome<TChannel> Write(object e, TChannel next, ChannelClosing? window) => new(null, e, next, window);
}
