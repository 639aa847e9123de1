using Akka.Actor;
using Energy.Cluster.Activity;
using Energy.Lifecycles;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Kernel;

/// <summary>
/// Carries out the effects an entity's core decided, in the order decided: answers, pushes to devices, messages to
/// the entity's peers, what the activity feed shows, timers, and the steps the entity goes on with. The entity says
/// once how it pushes, whom each peer is, how a durable event is shown on the feed, and what its steps do.
/// </summary>
public sealed class EntityEffects
{
    private readonly IWithTimers _owner;
    private readonly Action<DeviceEvent> _push;
    private readonly Func<Peer, IActorRef> _peer;
    private readonly Func<Effect, NetworkActivity?> _activity;
    private readonly Action<object, IActorRef?> _then;
    private readonly Action<object>? _persist;
    private readonly ActivityFeed _feed;

    /// <param name="owner">The entity whose timers run (they are given to it only once it is constructed).</param>
    /// <param name="activity">The feed's event for a <see cref="EffectKind.Publish"/>, or none.</param>
    /// <param name="then">Goes on with a step (<see cref="EffectKind.Then"/>), with whoever asked.</param>
    /// <param name="persist">Writes an event and carries out what follows once it is durable (<see cref="EffectKind.Persist"/>), nobody asking.</param>
    public EntityEffects(IActorContext context, IWithTimers owner, Action<DeviceEvent> push, Func<Peer, IActorRef> peer,
        Func<Effect, NetworkActivity?> activity, Action<object, IActorRef?> then, Action<object>? persist = null)
    {
        (_owner, _push, _peer, _activity, _then, _persist) = (owner, push, peer, activity, then, persist);
        _feed = ActivityFeed.Get(context.System);
    }

    /// <summary>
    /// The effects of an entity that pushes to no device and tells no peer: what follows its events is answers, the activity
    /// feed, timers and its own steps. A push or a tell decided by its core is a mistake in the core and fails loudly.
    /// </summary>
    public static EntityEffects WithoutPeers(IActorContext context, IWithTimers owner, Func<Effect, NetworkActivity?> activity, Action<object, IActorRef?> then) =>
        new(context, owner, notice => throw new InvalidOperationException($"no device to push {notice} to"),
            peer => throw new InvalidOperationException($"no peer {peer} to tell"), activity, then);

    /// <summary>Carries out <paramref name="effects"/> in order; a reply goes to <paramref name="replyTo"/> (none when nobody asked).</summary>
    public void Run(Effect[] effects, IActorRef? replyTo)
    {
        foreach (var effect in effects) Run(effect, replyTo);
    }

    private void Run(in Effect effect, IActorRef? replyTo)
    {
        switch (effect.Kind)
        {
            case EffectKind.Reply: replyTo?.Tell(effect.Message); break;
            case EffectKind.Push: _push((DeviceEvent)effect.Message!); break;
            case EffectKind.Tell: _peer(effect.To).Tell(effect.Message); break;
            case EffectKind.Publish: if (_activity(effect) is { } happened) _feed.Publish(happened); break;
            case EffectKind.StartTimer: _owner.Timers.StartSingleTimer(effect.Key!, effect.Message!, effect.After); break;
            case EffectKind.Then: _then(effect.Key!, replyTo); break;
            case EffectKind.Persist when _persist is not null: _persist(effect.Message!); break;
            case EffectKind.CancelTimer: _owner.Timers.Cancel(effect.Key!); break;
            default: throw new InvalidOperationException($"no way to carry out an effect of kind {effect.Kind}");
        }
    }
}
