using Energy.Lifecycles.Registry;

namespace Energy.Lifecycles;

/// <summary>What an entity does once a decision is taken or its event is durable; its shell carries the effects out in order.</summary>
public enum EffectKind
{
    /// <summary>Whoever asked hears <see cref="Effect.Message"/> (nobody, when nobody asked).</summary>
    Reply,

    /// <summary><see cref="Effect.Message"/>, a <see cref="DeviceEvent"/>, goes to its device's connection.</summary>
    Push,

    /// <summary><see cref="Effect.Message"/> goes to <see cref="Effect.To"/>.</summary>
    Tell,

    /// <summary>What operators watch: <see cref="Effect.Message"/> is the durable event, <see cref="Effect.Key"/> what it is about.</summary>
    Publish,

    /// <summary><see cref="Effect.Message"/> comes back to the entity after <see cref="Effect.After"/>, under the timer <see cref="Effect.Key"/>.</summary>
    StartTimer,

    /// <summary>The entity goes on with step <see cref="Effect.Key"/>, which needs its shell (a lookup, a write).</summary>
    Then,

    /// <summary>
    /// The entity writes <see cref="Effect.Message"/>, an event its core decided, and carries out what follows once it is
    /// durable. Nobody waits for it: whoever asked is answered by the effects around it.
    /// </summary>
    Persist,

    /// <summary>The timer <see cref="Effect.Key"/> is no longer wanted: its message, if still to come, does not.</summary>
    CancelTimer,
}

/// <summary>Whom an entity tells, besides whoever asked.</summary>
public enum Peer
{
    None,

    /// <summary>The devices' twins.</summary>
    Devices,

    /// <summary>The OCPP charge points.</summary>
    ChargePoints,

    /// <summary>The toll operators' offices.</summary>
    TollOffices,

    /// <summary>The zones whose traffic prices tolls; a zone answers whoever told it.</summary>
    Zones,
}

/// <summary>
/// One effect a core decided: a small value, so that a decision's effects are one array and nothing more. The
/// closed set of <see cref="EffectKind"/>s is what the cluster's shells know how to carry out.
/// </summary>
public readonly record struct Effect(EffectKind Kind, object? Message, object? Key = null, TimeSpan After = default, Peer To = Peer.None)
{
    public static Effect Reply(object answer) => new(EffectKind.Reply, answer);

    public static Effect Push(DeviceEvent notice) => new(EffectKind.Push, notice);

    public static Effect Tell(Peer to, object message) => new(EffectKind.Tell, message, To: to);

    public static Effect Publish(object durable, object? about = null) => new(EffectKind.Publish, durable, about);

    public static Effect StartTimer(object key, TimeSpan after) => new(EffectKind.StartTimer, key, key, after);

    public static Effect Then(object step) => new(EffectKind.Then, null, step);

    public static Effect Persist(object e) => new(EffectKind.Persist, e);

    public static Effect CancelTimer(object key) => new(EffectKind.CancelTimer, null, key);
}
