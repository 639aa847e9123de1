using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Primitives;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;

namespace Energy.Cluster.Channels;

/// <summary>The twins' answers about a channel's device parties, piped back to the channel.</summary>
public sealed record PartiesStanding(IReadOnlyList<DeviceView> Devices);

/// <summary>A twin did not answer about a channel's party in time.</summary>
public sealed record PartiesStandingUnknown
{
    public static readonly PartiesStandingUnknown Instance = new();
}

/// <summary>
/// Whether this node knows the standing of a channel's parties. A party revoked or quarantined before a restart
/// is known on this node only once its twin runs: after a restart, the first payment asks the parties' twins
/// (piped back, never awaited) and payments wait, bounded, for the answer. The answer marks the node's
/// revocation list and the held payments go on; with no answer they are refused as busy (the sender tries
/// again), so nothing is taken unchecked.
/// </summary>
public sealed class PartyStanding<TCommand>
{
    private readonly List<(TCommand Command, IActorRef Sender)> _held = [];
    private readonly IActorContext _context;
    private readonly IActorRef _devices;
    private readonly RevocationList _revocations;
    private readonly ChannelId _channel;
    private readonly TimeSpan _askTimeout;
    private readonly int _maxHeld;
    private readonly string _checking;
    private readonly Func<IEnumerable<PartyId>> _parties;
    private readonly Action<TCommand, IActorRef> _submit;

    /// <param name="checking">What the channel is doing while it asks, as a refusal says it ("checking its payer's standing").</param>
    /// <param name="parties">The parties whose standing a payment depends on, as the channel's durable state names them.</param>
    /// <param name="submit">Takes a payment once the standing is known.</param>
    public PartyStanding(IActorContext context, IActorRef devices, RevocationList revocations, ChannelId channel, TimeSpan askTimeout, int maxHeld, string checking,
        Func<IEnumerable<PartyId>> parties, Action<TCommand, IActorRef> submit)
    {
        _context = context;
        _devices = devices;
        _revocations = revocations;
        _channel = channel;
        _askTimeout = askTimeout;
        _maxHeld = maxHeld;
        _checking = checking;
        _parties = parties;
        _submit = submit;
    }

    /// <summary>The standing of the parties is known on this node (or need not be).</summary>
    public bool Known { get; private set; } = true;

    /// <summary>After recovery: the standing is unknown while the channel takes payments from device parties.</summary>
    public void Recovered(bool takesPayments) => Known = !takesPayments || !_parties().Any(p => p.IsDevice);

    /// <summary>A payment arrived: taken at once while the standing is known or there is no open channel to pay into, else held.</summary>
    public void Arrived(TCommand command, IActorRef sender, bool channelOpen)
    {
        if (!Known && channelOpen) Hold(command, sender);
        else _submit(command, sender);
    }

    /// <summary>Holds a payment until the standing is known; the first one held asks the twins. Refused as busy beyond the bound.</summary>
    private void Hold(TCommand command, IActorRef sender)
    {
        if (_held.Count >= _maxHeld) { sender.Tell(Refusal.From(new ChannelBusy(_channel, "starting"))); return; }
        _held.Add((command, sender));
        if (_held.Count > 1) return;
        Task.WhenAll(_parties().Where(p => p.IsDevice).Select(p => _devices.Ask<object>(new GetDevice(p.AsDevice()), _askTimeout)))
            .PipeTo(_context.Self, success: answers => new PartiesStanding(answers.OfType<DeviceView>().ToList()), failure: _ => PartiesStandingUnknown.Instance);
    }

    /// <summary>The twins answered: their standing is marked on this node, and the held payments go on, in order.</summary>
    public void Answered(PartiesStanding standing)
    {
        foreach (var device in standing.Devices)
        {
            if (device.Revoked) _revocations.MarkRevoked(device.Device.Value);
            if (device.Quarantined) _revocations.SetQuarantined(device.Device.Value, true);
        }
        Known = true;
        var held = _held.ToList();
        _held.Clear();
        foreach (var (command, sender) in held) _submit(command, sender);
    }

    /// <summary>A twin did not answer: the held payments are refused, and the next one asks again.</summary>
    public void Unanswered()
    {
        foreach (var (_, sender) in _held) sender.Tell(Refusal.From(new ChannelBusy(_channel, _checking)));
        _held.Clear();
    }
}
