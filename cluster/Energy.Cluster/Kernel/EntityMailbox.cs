using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace Energy.Cluster.Kernel;

/// <summary>
/// The mailbox of the network's entities. A node holds one entity per device, channel and charge point it serves, tens
/// of thousands after a fleet reconnects, and most of them wait for their next message with an empty mailbox. Akka's
/// mailbox for actors that stash (every persistent actor does) is a concurrent queue whose first segment holds 32
/// envelopes, about 1.1 KB an actor with its wrappers, made whether the actor ever holds one message or thirty.
/// <see cref="EntityMessageQueue"/> starts empty and grows with what waits, about 150 bytes an idle entity.
/// </summary>
public sealed class EntityMailbox : MailboxType, IProducesMessageQueue<EntityMessageQueue>
{
    /// <summary>The mailbox's configuration path, which <see cref="Hosting.EnergyConfig"/> binds to this type.</summary>
    public const string Id = "energy-entity-mailbox";

    public EntityMailbox(Settings settings, Config config) : base(settings, config)
    {
    }

    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new EntityMessageQueue();

    /// <summary>The entity's props, with this mailbox.</summary>
    public static Props For(Props props) => props.WithMailbox(Id);
}

/// <summary>
/// A double-ended queue of envelopes under a lock: any thread appends, the entity's own thread takes from the front and
/// puts back at the front (unstashing). Its ring starts empty, doubles when full, and is let go once a burst has drained,
/// so that an entity that once held many messages does not keep their room.
/// </summary>
public sealed class EntityMessageQueue : IMessageQueue, IUnboundedDequeBasedMessageQueueSemantics
{
    /// <summary>The ring's first size; a drained ring larger than <see cref="KeptCapacity"/> is let go.</summary>
    private const int FirstCapacity = 4;
    private const int KeptCapacity = 16;

    private readonly Lock _gate = new();
    private Envelope[] _ring = [];
    private int _head;
    private int _count;

    public bool HasMessages => Volatile.Read(ref _count) > 0;

    public int Count => Volatile.Read(ref _count);

    public void Enqueue(IActorRef receiver, Envelope envelope)
    {
        lock (_gate)
        {
            if (_count == _ring.Length) Grow();
            _ring[(_head + _count) % _ring.Length] = envelope;
            Volatile.Write(ref _count, _count + 1);
        }
    }

    public void EnqueueFirst(Envelope envelope)
    {
        lock (_gate)
        {
            if (_count == _ring.Length) Grow();
            _head = (_head - 1 + _ring.Length) % _ring.Length;
            _ring[_head] = envelope;
            Volatile.Write(ref _count, _count + 1);
        }
    }

    public bool TryDequeue(out Envelope envelope)
    {
        lock (_gate)
        {
            if (_count == 0)
            {
                envelope = default;
                return false;
            }
            envelope = _ring[_head];
            _ring[_head] = default;
            _head = (_head + 1) % _ring.Length;
            Volatile.Write(ref _count, _count - 1);
            if (_count == 0)
            {
                _head = 0;
                if (_ring.Length > KeptCapacity) _ring = [];
            }
            return true;
        }
    }

    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (TryDequeue(out var envelope)) deadletters.Enqueue(owner, envelope);
    }

    private void Grow()
    {
        var grown = new Envelope[Math.Max(FirstCapacity, _ring.Length * 2)];
        for (var i = 0; i < _count; i++) grown[i] = _ring[(_head + i) % _ring.Length];
        _ring = grown;
        _head = 0;
    }
}
