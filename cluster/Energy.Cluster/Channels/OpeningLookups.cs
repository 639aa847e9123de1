using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Channels;

/// <summary>The keys of an opening's two parties as their twins gave them (or why not), piped back to the channel with the opening.</summary>
public sealed record OpeningKeysFound<TOpening>(byte[] Opening, Signed<TOpening> Signed, IActorRef Sender,
    Result<DevicePublicKey> First, Result<DevicePublicKey> Second) where TOpening : ISignable<TOpening>;

/// <summary>
/// A channel's lookups of its parties' keys for the openings it was sent: both parties at once, the answer piped
/// back as an <see cref="OpeningKeysFound{TOpening}"/> while the channel goes on. At most
/// <see cref="MaxAtOnce"/> run at once; more openings are refused as busy.
/// </summary>
public sealed class OpeningLookups(IActorContext context, IActorRef devices, IActorRef operators, ChannelId channel, TimeSpan askTimeout)
{
    public const int MaxAtOnce = 64;

    private int _running;

    /// <summary>The refusal for one lookup more than the bound, or null while there is room.</summary>
    public ProtocolError? Busy => _running >= MaxAtOnce ? new ChannelBusy(channel, "looking up the parties of other openings") : null;

    /// <summary>Looks up both parties of an opening, or refuses it as busy (<see cref="Busy"/>) when the bound is reached.</summary>
    public void Start<TOpening>(byte[] opening, Signed<TOpening> signed, IActorRef sender, PartyId first, PartyId second) where TOpening : ISignable<TOpening>
    {
        if (Busy is { } busy) { sender.Tell(Refusal.From(busy)); return; }
        _running++;
        PartyKeys.ResolveBothAsync(devices, operators, channel, first, second, askTimeout)
            .PipeTo(context.Self, success: keys => new OpeningKeysFound<TOpening>(opening, signed, sender, keys.First, keys.Second),
                failure: _ => new OpeningKeysFound<TOpening>(opening, signed, sender, new PartyUnknown(channel, first), new PartyUnknown(channel, second)));
    }

    /// <summary>A lookup's answer arrived.</summary>
    public void Done() => _running--;
}
