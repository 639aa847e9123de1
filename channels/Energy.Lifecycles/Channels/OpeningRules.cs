using Energy.Channels;
using Energy.Channels.Duplex;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Lifecycles.Channels;

/// <summary>
/// What a channel's core says about an opening, for the shell that must look up its two parties' keys before it can
/// decide: what an opening it already holds hears, how one is read from its wire form, whose keys are looked up (in the
/// order their lookups are judged), and the decision once they are found.
/// </summary>
public interface IOpeningRules<in TState, TOpening, TStarted> where TOpening : ISignable<TOpening>
{
    /// <summary>What <paramref name="opening"/> hears without a lookup; null when the channel holds no opening yet.</summary>
    KnownAnswer? Known(TState state, byte[] opening);

    /// <summary>The opening decoded and checked as far as it can be without its parties' keys.</summary>
    Result<Signed<TOpening>> Read(byte[] opening, ChannelId requested);

    /// <summary>The parties whose keys are looked up: the first one's failed lookup is the refusal named, if both fail.</summary>
    (PartyId First, PartyId Second) Parties(TOpening opening);

    /// <summary>The opening taken, as its parties' keys were looked up (or why not), or the named refusal.</summary>
    Result<TStarted> Decide(TState state, byte[] opening, Signed<TOpening> signed, Result<DevicePublicKey> first, Result<DevicePublicKey> second);
}

/// <summary>A streaming channel's openings under its network's rules: the payer signs alone, so its key is looked up first.</summary>
public sealed class StreamingOpeningRules(ChannelId channel, ChannelRules rules, Func<PartyId, bool> revokedHere)
    : IOpeningRules<StreamingChannelState, StreamingOpening, ChannelOpeningStarted>
{
    public KnownAnswer? Known(StreamingChannelState state, byte[] opening) => StreamingChannelLifecycle.KnownOpening(state, channel, opening);

    public Result<Signed<StreamingOpening>> Read(byte[] opening, ChannelId requested) =>
        StreamingChannelLifecycle.ReadOpening(opening, requested, channel, rules, revokedHere);

    public (PartyId First, PartyId Second) Parties(StreamingOpening opening) => (opening.Payer, opening.Payee);

    public Result<ChannelOpeningStarted> Decide(StreamingChannelState state, byte[] opening, Signed<StreamingOpening> signed,
        Result<DevicePublicKey> first, Result<DevicePublicKey> second) =>
        StreamingChannelLifecycle.Open(state, channel, opening, signed, first, second);
}

/// <summary>
/// A duplex channel's openings under its network's rules: party A's key is looked up first, then B's, and a party this
/// node knows revoked is refused whatever its twin said. A duplex opening names no channel apart from its own.
/// </summary>
public sealed class DuplexOpeningRules(ChannelId channel, ChannelRules rules, Func<PartyId, bool> revokedHere)
    : IOpeningRules<DuplexChannelState, DuplexOpening, DuplexOpeningStarted>
{
    public KnownAnswer? Known(DuplexChannelState state, byte[] opening) => DuplexChannelLifecycle.KnownOpening(state, channel, opening);

    public Result<Signed<DuplexOpening>> Read(byte[] opening, ChannelId requested) => DuplexChannelLifecycle.ReadOpening(opening, channel, rules);

    public (PartyId First, PartyId Second) Parties(DuplexOpening opening) => (opening.PartyA, opening.PartyB);

    public Result<DuplexOpeningStarted> Decide(DuplexChannelState state, byte[] opening, Signed<DuplexOpening> signed,
        Result<DevicePublicKey> first, Result<DevicePublicKey> second) =>
        DuplexChannelLifecycle.Open(state, channel, opening, signed, first, second, revokedHere);
}
