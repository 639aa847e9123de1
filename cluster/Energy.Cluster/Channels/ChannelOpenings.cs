using Akka.Actor;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Channels;

/// <summary>
/// How a channel takes an opening, a streaming channel as a duplex one, asking its core (<see cref="IOpeningRules{TState, TOpening, TStarted}"/>)
/// at each step: an opening the channel already holds is answered without a lookup; another is read from its wire form,
/// its parties' keys are looked up (<see cref="OpeningLookups"/>: piped back, never awaited, bounded), and once they are
/// found the core decides on the channel's durable state as it stands then (another opening may have been taken
/// meanwhile), and the <see cref="ChannelShell"/> writes the opening and asks the ledger for its lock.
/// </summary>
public sealed class ChannelOpenings<TState, TOpening, TStarted>
    where TOpening : ISignable<TOpening> where TStarted : class
{
    private readonly OpeningLookups _lookups;
    private readonly ChannelShell _shell;
    private readonly Func<TState> _state;
    private readonly IOpeningRules<TState, TOpening, TStarted> _rules;

    /// <param name="state">The channel's durable state, read at each step.</param>
    public ChannelOpenings(OpeningLookups lookups, ChannelShell shell, Func<TState> state, IOpeningRules<TState, TOpening, TStarted> rules)
    {
        _lookups = lookups;
        _shell = shell;
        _state = state;
        _rules = rules;
    }

    /// <summary>An opening arrived for the channel <paramref name="requested"/>: answered, refused, or its parties looked up.</summary>
    public void Open(byte[] opening, ChannelId requested, IActorRef sender)
    {
        if (AnswerKnown(opening, sender)) return;
        var read = _rules.Read(opening, requested);
        if (!read.IsOk) { sender.Tell(Refusal.From(read.Error)); return; }
        var (first, second) = _rules.Parties(read.Value.Payload);
        _lookups.Start(opening, read.Value, sender, first, second);
    }

    /// <summary>The parties' keys were looked up: the opening is decided and, when taken, written.</summary>
    public void KeysFound(OpeningKeysFound<TOpening> found)
    {
        _lookups.Done();
        if (AnswerKnown(found.Opening, found.Sender)) return;
        _shell.Open(_rules.Decide(_state(), found.Opening, found.Signed, found.First, found.Second), found.Sender);
    }

    private bool AnswerKnown(byte[] opening, IActorRef sender) => _shell.AnswerKnownOpening(_rules.Known(_state(), opening), sender);
}
