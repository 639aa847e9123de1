using Akka.Actor;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Streaming;
using Energy.Cluster.Kernel;
using Energy.Lifecycles.Channels;

namespace Energy.Cluster.Channels;

/// <summary>
/// A streaming channel's vouchers on their way to the journal: the vouchers taken since the last write wait as one batch
/// (the newest voucher, with what every voucher of it paid per purpose), one write is in flight at a time, and each
/// acknowledgement goes out once the write that holds its voucher is durable. <paramref name="persist"/> writes an event
/// (the entity's <c>PersistAsync</c>); each durable write is <paramref name="evolve"/>d into the entity's state before its
/// acknowledgements go out, and then, unless a close follows it, the entity may <paramref name="snapshot"/>.
/// </summary>
public sealed class VoucherWrites(string entity, int maxHeld, Action<VoucherRecorded, Action<VoucherRecorded>> persist, Action<object> evolve, Action snapshot)
{
    private readonly BatchedWrites _writes = new(entity, maxHeld);
    private VoucherBatch? _batch;

    /// <summary>The refusal for one acknowledgement more than the bound, or null while there is room; asked before a voucher is taken.</summary>
    public ProtocolError? Full => _writes.Full;

    /// <summary>Every voucher taken is durable: nothing waits and nothing is in flight.</summary>
    public bool Idle => _writes.Idle;

    /// <summary>A voucher was taken: it joins the next write, and <paramref name="acknowledgement"/> goes out once that write is durable.</summary>
    public void Take(Signed<Voucher> voucher, VoucherAccepted accepted, IActorRef sender, object acknowledgement, PendingPayment payment)
    {
        _batch = VoucherBatch.Add(_batch, voucher, accepted.Increment);
        _writes.Taken();
        _writes.ReplyWhenDurable(sender, acknowledgement, payment);
        Write(beforeAClose: false);
    }

    /// <summary>Writes what waits now, even while another write is in flight: the close about to be written must follow every voucher it counted.</summary>
    public void WriteBeforeAClose() => Write(beforeAClose: true);

    private void Write(bool beforeAClose)
    {
        ulong write;
        if (beforeAClose) { if (!_writes.Waiting) return; write = _writes.Start(); }
        else if (!_writes.TryStart(out write)) return;
        var recorded = _batch!.ToEvent();
        _batch = null;
        persist(recorded, e =>
        {
            evolve(e);
            _writes.Written(write);
            if (!beforeAClose) snapshot();
            Write(beforeAClose: false);
        });
    }
}
