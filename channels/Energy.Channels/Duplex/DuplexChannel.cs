using Energy.Channels.Encoding;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;

namespace Energy.Channels.Duplex;

public sealed record DuplexChannelTerms(
    NetworkId Network,
    ChannelId ChannelId,
    ChannelParty PartyA,
    Money DepositA,
    ChannelParty PartyB,
    Money DepositB,
    DurationMs ChallengeWindow)
{
    public Money TotalDeposit => DepositA.Add(DepositB).Value;
}

/// <summary>
/// A channel in both directions. Version 0 is the opening split (each side holds its deposit); every
/// later state is signed by both parties and has a strictly higher version.
/// </summary>
public sealed record DuplexChannel(
    DuplexChannelTerms Terms,
    ChannelStatus Status,
    Signed<DuplexState>? Latest,
    Timestamp? ChallengeDeadline,
    ChannelSettlement? Settlement)
{
    public ChannelId Id => Terms.ChannelId;
    public ulong Version => Latest?.Payload.Version ?? 0;
    public Money BalanceA => Latest?.Payload.BalanceA ?? Terms.DepositA;
    public Money BalanceB => Latest?.Payload.BalanceB ?? Terms.DepositB;
}

/// <summary>The rules of a duplex channel, as pure functions.</summary>
public static class DuplexChannels
{
    public static Result<DuplexChannel> Open(DuplexChannelTerms terms)
    {
        var id = terms.ChannelId;
        if (terms.PartyA.Id == terms.PartyB.Id || terms.PartyA.Key.Equals(terms.PartyB.Key))
            return new SamePartyOnBothSides(id, new DeviceId(terms.PartyA.Id.Value));
        if (terms.DepositA.Currency != terms.DepositB.Currency) return new CurrencyMismatch(terms.DepositA.Currency, terms.DepositB.Currency);
        if (terms.DepositA.IsNegative) return new NegativeAmount(id, "depositA", terms.DepositA.MinorUnits);
        if (terms.DepositB.IsNegative) return new NegativeAmount(id, "depositB", terms.DepositB.MinorUnits);
        var total = terms.DepositA.Add(terms.DepositB);
        if (!total.IsOk) return total.Error;
        if (total.Value.MinorUnits == 0) return new ZeroAmount(id, "total deposit");
        if (terms.ChallengeWindow.Milliseconds < 0 || terms.ChallengeWindow.Milliseconds > StreamingChannels.MaxChallengeWindow.Milliseconds)
            return new MalformedValue("challenge window", terms.ChallengeWindow.ToString(), $"0 to {StreamingChannels.MaxChallengeWindow}");
        return new DuplexChannel(terms, ChannelStatus.Open, null, null, null);
    }

    /// <summary>
    /// Takes a newer co-signed, non-final state. While closing and before the deadline this is the
    /// challenge: the higher version replaces the one the closer presented.
    /// </summary>
    public static Result<DuplexChannel> Update(DuplexChannel channel, Signed<DuplexState> signed, Timestamp now)
    {
        var error = CheckState(channel, signed, now);
        if (error is not null) return error;
        if (signed.Payload.IsFinal) return new FinalStateNotUpdatable(channel.Id, signed.Payload.Version);
        return channel with { Latest = signed };
    }

    /// <summary>Both parties signed a final state: the channel closes at once with that split.</summary>
    public static Result<DuplexChannel> CloseCooperatively(DuplexChannel channel, Signed<DuplexState> signed, Timestamp now)
    {
        if (channel.Status == ChannelStatus.Closed) return new ChannelNotOpen(channel.Id, channel.Status);
        if (!signed.Payload.IsFinal) return new FinalStateRequired(channel.Id, signed.Payload.Version);
        var error = CheckState(channel, signed, now);
        if (error is not null) return error;
        return Settle(channel with { Latest = signed }, now);
    }

    /// <summary>One party closes alone: the newest state it holds stands unless a higher version arrives before the deadline.</summary>
    public static Result<DuplexChannel> RequestClose(DuplexChannel channel, Signed<CloseRequest> signed, Timestamp now)
    {
        var terms = channel.Terms;
        var request = signed.Payload;
        var id = terms.ChannelId;
        if (request.Network != terms.Network) return new WrongNetwork(id, terms.Network, request.Network);
        if (request.ChannelKind != ChannelKind.Duplex) return new WrongChannelKind(id, ChannelKind.Duplex, request.ChannelKind);
        if (request.ChannelId != id) return new WrongChannel(id, request.ChannelId);
        if (channel.Status == ChannelStatus.Closed) return new ChannelNotOpen(id, channel.Status);
        ChannelParty closer;
        if (request.Closer == terms.PartyA.Id) closer = terms.PartyA;
        else if (request.Closer == terms.PartyB.Id) closer = terms.PartyB;
        else return new NotAParty(id, request.Closer.Value);
        if (!signed.IsSignedBy(closer.Key)) return new InvalidSignature(id, ObjectKind.CloseRequest, closer.Id.Value);
        if (channel.Status == ChannelStatus.Closing) return channel;
        var deadline = now.Plus(terms.ChallengeWindow);
        if (!deadline.IsOk) return deadline.Error;
        return channel with { Status = ChannelStatus.Closing, ChallengeDeadline = deadline.Value };
    }

    public static Result<DuplexChannel> FinalizeClose(DuplexChannel channel, Timestamp now)
    {
        if (channel.Status != ChannelStatus.Closing) return new ChannelNotOpen(channel.Id, channel.Status);
        var deadline = channel.ChallengeDeadline!.Value;
        if (now < deadline) return new ChallengeWindowStillOpen(channel.Id, deadline, now);
        return Settle(channel, now);
    }

    private static ProtocolError? CheckState(DuplexChannel channel, Signed<DuplexState> signed, Timestamp now)
    {
        var terms = channel.Terms;
        var state = signed.Payload;
        var id = terms.ChannelId;
        if (state.Network != terms.Network) return new WrongNetwork(id, terms.Network, state.Network);
        if (state.ChannelId != id) return new WrongChannel(id, state.ChannelId);
        var closed = StreamingChannels.CheckAcceptsUpdates(channel.Status, channel.ChallengeDeadline, id, now);
        if (closed is not null) return closed;
        var currency = terms.DepositA.Currency;
        if (state.BalanceA.Currency != currency) return new CurrencyMismatch(currency, state.BalanceA.Currency);
        if (state.BalanceB.Currency != currency) return new CurrencyMismatch(currency, state.BalanceB.Currency);
        if (state.Version <= channel.Version) return new StateNotNewer(id, channel.Version, state.Version);
        if (state.BalanceA.IsNegative) return new NegativeAmount(id, "balanceA", state.BalanceA.MinorUnits);
        if (state.BalanceB.IsNegative) return new NegativeAmount(id, "balanceB", state.BalanceB.MinorUnits);
        var sum = state.BalanceA.Add(state.BalanceB);
        if (!sum.IsOk) return sum.Error;
        if (sum.Value != terms.TotalDeposit)
            return new BalancesDoNotMatchDeposits(id, state.BalanceA.MinorUnits, state.BalanceB.MinorUnits, terms.TotalDeposit.MinorUnits);
        if (!signed.IsSignedBy(terms.PartyA.Key, 0)) return new InvalidSignature(id, ObjectKind.DuplexState, terms.PartyA.Id.Value);
        if (!signed.IsSignedBy(terms.PartyB.Key, 1)) return new InvalidSignature(id, ObjectKind.DuplexState, terms.PartyB.Id.Value);
        return null;
    }

    private static DuplexChannel Settle(DuplexChannel channel, Timestamp now)
    {
        var terms = channel.Terms;
        var settlement = new ChannelSettlement(terms.ChannelId, terms.PartyA.Id, channel.BalanceA, terms.PartyB.Id, channel.BalanceB, channel.Version, now);
        return channel with { Status = ChannelStatus.Closed, ChallengeDeadline = null, Settlement = settlement };
    }
}
