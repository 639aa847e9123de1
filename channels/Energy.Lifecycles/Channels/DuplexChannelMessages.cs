using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Channels;

public interface IDuplexChannelCommand : IEnergyMessage, IWithEntityId
{
    ChannelId ChannelId { get; }
    string IWithEntityId.EntityId => ChannelId.Value;
}

/// <summary>Both parties' signed opening (wire form of <c>Signed&lt;DuplexOpening&gt;</c>).</summary>
[Manifest("duplex.open.v1")]
public sealed record OpenDuplexChannel(ChannelId ChannelId, byte[] Opening) : IDuplexChannelCommand;

/// <summary>A co-signed state (wire form of <c>Signed&lt;DuplexState&gt;</c>); final states close the channel at once.</summary>
[Manifest("duplex.submit-state.v1")]
public sealed record SubmitDuplexState(ChannelId ChannelId, byte[] State) : IDuplexChannelCommand, ITraced
{
    public string? TraceParent { get; init; }

    public ITraced WithTraceParent(string traceParent) => this with { TraceParent = traceParent };
}

/// <summary>One party's signed close request: the newest state stands unless a higher one arrives in the window.</summary>
[Manifest("duplex.close.v1")]
public sealed record CloseDuplexChannel(ChannelId ChannelId, byte[] CloseRequest) : IDuplexChannelCommand, ITraced
{
    public string? TraceParent { get; init; }

    public ITraced WithTraceParent(string traceParent) => this with { TraceParent = traceParent };
}

[Manifest("duplex.wake.v1")]
public sealed record WakeDuplexChannel(ChannelId ChannelId) : IDuplexChannelCommand;

[Manifest("duplex.get.v1")]
public sealed record GetDuplexChannel(ChannelId ChannelId) : IDuplexChannelCommand;

[Manifest("duplex.opened.v1")]
public sealed record DuplexChannelOpened(ChannelId ChannelId, PartyId PartyA, PartyId PartyB, Money DepositA, Money DepositB) : IEnergyMessage;

[Manifest("duplex.state-acknowledged.v1")]
public sealed record DuplexStateAcknowledged(ChannelId ChannelId, ulong Version) : IEnergyMessage;

[Manifest("duplex.view.v1")]
public sealed record DuplexChannelView(ChannelId ChannelId, string Status, ulong Version, Money? BalanceA, Money? BalanceB,
    Timestamp? ChallengeDeadline, ChannelSettled? Settlement) : IEnergyMessage
{
    public PartyId? PartyA { get; init; }

    public PartyId? PartyB { get; init; }
}

[Manifest("duplex.event.opening-started.v1")]
public sealed record DuplexOpeningStarted(byte[] Opening, string KeyAHex, string KeyBHex) : IEnergyMessage;

[Manifest("duplex.event.escrow-locked.v1")]
public sealed record DuplexEscrowLocked(PartyId Account) : IEnergyMessage;

/// <summary>
/// The ledger refused a lock for good. <see cref="Refusal"/> carries the refusal whole, with its named error, so that
/// a repeated opening hears the same error by type; events written before it was kept have only the code and the
/// sentence, and read back as a <see cref="Energy.Channels.RecordedError"/>.
/// </summary>
[Manifest("duplex.event.opening-refused.v1")]
public sealed record DuplexOpeningRefused(string Code, string Message) : IEnergyMessage
{
    public Refusal? Refusal { get; init; }

    /// <summary>The ledger's refusal: whole when the event kept it, else by its code and sentence.</summary>
    public Refusal ToRefusal() => Refusal ?? new Refusal(new Energy.Channels.RecordedError(Code, Message));
}

[Manifest("duplex.event.state-recorded.v1")]
public sealed record DuplexStateRecorded(byte[] State, Timestamp At) : IEnergyMessage;

[Manifest("duplex.event.close-recorded.v1")]
public sealed record DuplexCloseRecorded(byte[] CloseRequest, Timestamp At) : IEnergyMessage;

[Manifest("duplex.event.challenge-ended.v1")]
public sealed record DuplexChallengeEnded(Timestamp At) : IEnergyMessage;

[Manifest("duplex.event.escrow-released.v1")]
public sealed record DuplexEscrowReleased(EscrowReleasedRecord Release) : IEnergyMessage;

public sealed record EscrowReleasedRecord(PartyId Holder, IReadOnlyList<Energy.Lifecycles.Ledger.Payout> Payouts, string Shard, ulong BlockHeight);
