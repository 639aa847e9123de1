using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Charging;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Charging;

/// <summary>
/// What a charging session asks of others before its core decides, and what it hands them. A start waits for its charger's
/// and vehicle's twins, an acceptance for its channel, a restarted session for what its channel holds paid for it: each
/// answer is piped back, never awaited, and everything else the session receives waits meanwhile (<see cref="AwaitedAnswers"/>),
/// so the core decides on the <paramref name="state"/> as the answer finds it. What the core accepts goes to
/// <paramref name="record"/> (the session's persist, its sender waiting for it); what it refuses is told to the sender by name.
/// A payment is handed to the channel (<see cref="ChannelPayments"/>); an offer goes to the vehicle where it is connected,
/// looked up in its twin when it is not known, and a party's connection is remembered from its commands (<see cref="DevicePush"/>). The <paramref name="owner"/>'s stash is given to it
/// only once it is constructed.
/// </summary>
public sealed class SessionLookups(IActorContext context, IActorStash owner, SessionId session, EnergySettings settings, IActorRef devices, IActorRef channels,
    DevicePush push, Func<ChargingSessionState> state, Action<object, IActorRef?> record)
{
    private readonly SessionLimits _limits = new(settings.Currency, settings.MaxPricePerKwh, settings.MaxSessionCredit);

    private Timestamp Now => settings.Clock.Now;

    /// <summary>How a session reaches its parties: the vehicle is looked for while the session waits for it, a minute, once a second.</summary>
    public static DevicePush Push(IActorContext context, IWithTimers owner, IActorRef devices, EnergySettings settings) =>
        new(context, owner, devices, settings.Clock, settings.AskTimeout,
            new DevicePushBounds(MaxConnections: 2, MaxResolved: 8, KeepFor: null, MaxLookups: 60, LookAgainAfter: TimeSpan.FromSeconds(1)));

    /// <summary>A start: answered at once when the core knows the answer, else decided once its charger's and vehicle's twins answered.</summary>
    public void Start(StartSession command, IActorRef sender)
    {
        if (ChargingSession.KnownStart(state(), session, command, _limits) is { } known) { sender.Tell(known); return; }
        Parties(command.Charger, command.Vehicle, (charger, vehicle) =>
            Decided(ChargingSession.DecideStart(command, settings.Network, charger, vehicle, IsRevoked, Now), sender, started =>
            {
                push.Pin(command.Charger, command.Connection);
                record(started, sender);
            }));
    }

    /// <summary>The session of an OCPP transaction, at the network's witnessed terms, once its parties' twins answered; nobody waits for it.</summary>
    public void StartWitnessed(StartWitnessedSession command)
    {
        if (!ChargingSession.TakesWitnessedStart(state())) return;
        var (price, credit) = (new Money(settings.WitnessedPricePerKwh, settings.Currency), new Money(settings.WitnessedCredit, settings.Currency));
        Parties(command.Charger, command.Vehicle, (charger, vehicle) => Decided(ChargingSession.DecideWitnessedStart(command, settings.Network, charger, vehicle,
            IsRevoked, settings.NodeKey, price, credit, Now), ActorRefs.Nobody, started => record(started, null)));
    }

    /// <summary>The vehicle's acceptance: answered at once when the core knows the answer, else decided once its channel described itself.</summary>
    public void Accept(AcceptSession command, IActorRef sender)
    {
        if (ChargingSession.IsParty(state(), command.Vehicle, isCharger: false)) push.Pin(command.Vehicle, command.Connection);
        if (ChargingSession.KnownAccept(state(), session, command) is { } known) { sender.Tell(known); return; }
        AwaitedAnswers.Ask(context, owner.Stash, channels, new GetChannel(command.Channel), settings.AskTimeout, answer =>
            Decided(ChargingSession.DecideBind(state(), session, command.Channel, answer), sender, bound => record(bound, sender)));
    }

    /// <summary>After a restart, asks the channel what it holds paid for the session and has the session <paramref name="adopt"/> what is more than its own.</summary>
    public void Paid(Action<ProgressTaken?> adopt)
    {
        if (ChargingSession.PaidToAsk(state(), session) is not { } ask) return;
        AwaitedAnswers.Ask(context, owner.Stash, channels, ask, settings.AskTimeout, answer => adopt(ChargingSession.DecideAdopt(state(), session, answer as PurposePaid)));
    }

    /// <summary>
    /// A payment: refused by name unless the core allows it, else handed to the session's channel, which persists the voucher
    /// before it answers; the answer comes back as a <see cref="VoucherAnswered{TFor}"/>.
    /// </summary>
    public void Pay(PayForSession command, IActorRef sender)
    {
        Pin(command.Vehicle, command.Connection, isCharger: false, allowStopping: true);
        Decided(ChargingSession.DecidePayment(state(), session, command.Vehicle, command.Voucher), sender, voucher =>
        {
            var channel = state().Channel!.Value;
            ChannelPayments.Submit(context, channels, channel, command.Voucher, settings.AskTimeout, voucher, sender,
                EnergyTracing.StartHandling("session.pay", command.TraceParent), ChargingSession.ChannelUnanswered(session, channel));
        });
    }

    /// <summary>Remembers where one of the session's parties called from, for pushes, unless the session refuses it as a party.</summary>
    public void Pin(DeviceId device, string? connection, bool isCharger, bool allowStopping = false)
    {
        if (ChargingSession.CheckParty(state(), session, device, isCharger, allowStopping) is null) push.Pin(device, connection);
    }

    /// <summary>Offers the session to its vehicle while it waits for it; the vehicle's connection is looked up in its twin when it is not known yet.</summary>
    public void Offer()
    {
        if (state().AwaitsVehicle && push.Reaches(Vehicle, "offer")) push.Push(Vehicle, ChargingSession.Offer(state(), session));
    }

    /// <summary>The vehicle's twin said where it is connected: the offer goes there while the session still waits for it.</summary>
    public void Found(DeviceConnectionFound found)
    {
        if (push.Found(found, wanted: push.ConnectionOf(Vehicle) is null && state().AwaitsVehicle) is not null) push.Push(Vehicle, ChargingSession.Offer(state(), session));
    }

    private DeviceId Vehicle => state().Started!.Vehicle;

    private void Parties(DeviceId charger, DeviceId vehicle, Action<object?, object?> then) =>
        AwaitedAnswers.AskBoth(context, owner.Stash, (devices, new GetDevice(charger)), (devices, new GetDevice(vehicle)), settings.AskTimeout, then);

    private bool IsRevoked(DeviceId device) => RevocationList.Get(context.System).IsRevoked(device);

    private static void Decided<T>(Result<T> decided, IActorRef sender, Action<T> accepted)
    {
        if (decided.IsOk) accepted(decided.Value);
        else sender.Tell(Refusal.From(decided.Error));
    }
}
