using Energy.Channels;
using Energy.Channels.Market;

namespace Energy.Lifecycles.Market;

/// <summary>The interval has not cleared (or was never traded in this market): there is nothing to settle or show.</summary>
public sealed record MarketIntervalNotCleared(ZoneId Zone, long Interval, long LastCleared) : ProtocolError
{
    public override string Describe() => $"interval {Interval} of zone {Zone} is not cleared (the market cleared up to {LastCleared})";
}

/// <summary>The market keeps its most recent cleared intervals only; this one is older.</summary>
public sealed record MarketIntervalForgotten(ZoneId Zone, long Interval, int Kept) : ProtocolError
{
    public override string Describe() => $"interval {Interval} of zone {Zone} is older than the {Kept} cleared intervals the market keeps";
}

/// <summary>An interval settles once, under one grid operator: another operator's settlement of it is refused.</summary>
public sealed record MarketSettledByAnother(ZoneId Zone, long Interval, Energy.Channels.Primitives.OperatorId SettledBy) : ProtocolError
{
    public override string Describe() => $"interval {Interval} of zone {Zone} was settled by {SettledBy}";
}

/// <summary>The device that signs market orders or readings must be a registered meter.</summary>
public sealed record NotAMeter(Energy.Channels.Primitives.DeviceId Device, Energy.Channels.Identity.DeviceRole Role) : ProtocolError
{
    public override string Describe() => $"{Device} is a {Role}; only meters trade in a zone's market";
}

/// <summary>The index of active markets is full: the market still takes orders, but is not woken after a restart until one arrives.</summary>
public sealed record MarketIndexFull(ZoneId Zone, int Max) : ProtocolError
{
    public override string Describe() => $"the network already wakes {Max} zones' markets after a restart; zone {Zone} is not among them";
}

/// <summary>A participant's payment of an interval fell short of what was due when the payment window closed.</summary>
public sealed record MarketPaymentShort(ZoneId Zone, long Interval, Energy.Channels.Primitives.DeviceId Participant, bool ToOperator,
    Energy.Channels.Primitives.Money Due, Energy.Channels.Primitives.Money Paid) : ProtocolError
{
    public override string Describe() => ToOperator
        ? $"{Participant} paid {Paid.MinorUnits} of the {Due.MinorUnits} minor units it owes for interval {Interval} of zone {Zone}"
        : $"the market's operator paid {Participant} {Paid.MinorUnits} of the {Due.MinorUnits} minor units it is owed for interval {Interval} of zone {Zone}";
}

/// <summary>The settlement named no channel for a participant that owes or is owed money: nothing it paid or was paid can be counted.</summary>
public sealed record MarketPaymentChannelMissing(ZoneId Zone, long Interval, Energy.Channels.Primitives.DeviceId Participant) : ProtocolError
{
    public override string Describe() => $"no channel was named for {Participant}'s payment of interval {Interval} of zone {Zone}";
}

/// <summary>The channel named for a participant's payment is not between that participant and the market's operator, in the direction the money is due.</summary>
public sealed record MarketPaymentChannelOfOthers(ZoneId Zone, long Interval, Energy.Channels.Primitives.DeviceId Participant, Energy.Channels.Primitives.ChannelId Channel,
    Energy.Channels.Primitives.PartyId Payer, Energy.Channels.Primitives.PartyId Payee, Energy.Channels.Primitives.PartyId ExpectedPayer,
    Energy.Channels.Primitives.PartyId ExpectedPayee) : ProtocolError
{
    public override string Describe() =>
        $"channel {Channel} pays {Payer} to {Payee}; {Participant}'s payment of interval {Interval} of zone {Zone} is due from {ExpectedPayer} to {ExpectedPayee}";
}
