using Energy.Channels.Identity;
using Energy.Channels.Primitives;

namespace Energy.Channels;

/// <summary>
/// Every rejection the protocol makes. Each failure has its own type, carrying the channel (where there
/// is one) and the offending values, so callers match on the type and people read <see cref="Describe"/>.
/// </summary>
public abstract record ProtocolError
{
    /// <summary>The stable, machine-readable name of this error (the type name, unless the error says otherwise).</summary>
    public virtual string Code => GetType().Name;

    public abstract string Describe();

    public override string ToString() => $"{Code}: {Describe()}";
}

/// <summary>
/// An error known only by its code and sentence: written as text in an event recorded before errors were
/// carried whole, or sent by a node that knows an error this one does not.
/// </summary>
public sealed record RecordedError(string RecordedCode, string Message) : ProtocolError
{
    public override string Code => RecordedCode;

    public override string Describe() => Message;
}

/// <summary>What the answer depended on (the registry, a channel, the network) did not answer within its bound; the caller may retry.</summary>
public sealed record NotAnsweredInTime(string Silent) : ProtocolError
{
    public override string Code => "Timeout";

    public override string Describe() => $"the {Silent} did not answer in time";
}

// Values and arithmetic

public sealed record MalformedValue(string Field, string Value, string Expected) : ProtocolError
{
    public override string Describe() => $"{Field} '{Value}' is malformed; expected {Expected}";
}

public sealed record CurrencyMismatch(Currency Expected, Currency Actual) : ProtocolError
{
    public override string Describe() => $"expected currency {Expected}, got {Actual}";
}

public sealed record AmountOverflow(string Operation, long Left, long Right) : ProtocolError
{
    public override string Describe() => $"{Operation} of {Left} and {Right} overflows 64 bits";
}

public sealed record NegativeAmount(ChannelId ChannelId, string Field, long Value) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: {Field} is negative ({Value})";
}

public sealed record ZeroAmount(ChannelId ChannelId, string Field) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: {Field} must be above zero";
}

// Encoding

public sealed record Truncated(ObjectKind Kind, int Needed, int Available) : ProtocolError
{
    public override string Describe() => $"{Kind}: needed {Needed} more bytes, {Available} available";
}

public sealed record TrailingBytes(ObjectKind Kind, int Count) : ProtocolError
{
    public override string Describe() => $"{Kind}: {Count} bytes after the end of the object";
}

public sealed record NotAnEnergyObject(byte First, byte Second) : ProtocolError
{
    public override string Describe() => $"bytes start with 0x{First:x2}{Second:x2}, not the Energy magic";
}

public sealed record UnknownKind(byte Tag) : ProtocolError
{
    public override string Describe() => $"object kind tag 0x{Tag:x2} is not known";
}

public sealed record WrongKind(ObjectKind Expected, ObjectKind Actual) : ProtocolError
{
    public override string Describe() => $"expected a {Expected}, got a {Actual}";
}

public sealed record UnsupportedVersion(ObjectKind Kind, byte Version, byte Supported) : ProtocolError
{
    public override string Describe() => $"{Kind} version {Version} is not supported (this build speaks {Supported})";
}

public sealed record UnsupportedVoucherVersion(byte Tag, byte SupportedTag) : ProtocolError
{
    public override string Describe() =>
        $"a voucher of kind tag 0x{Tag:x2} names neither its increment nor what it pays for and is no longer accepted; sign kind 0x{SupportedTag:x2}";
}

public sealed record LengthOutOfBounds(ObjectKind Kind, string Field, int Length, int Max) : ProtocolError
{
    public override string Describe() => $"{Kind}.{Field}: length {Length} is outside 0..{Max}";
}

public sealed record NonCanonicalEncoding(ObjectKind Kind, string Field, string Reason) : ProtocolError
{
    public override string Describe() => $"{Kind}.{Field} is not in canonical form: {Reason}";
}

public sealed record EncodingTooLarge(int Length, int Max) : ProtocolError
{
    public override string Describe() => $"{Length} bytes exceeds the bound of {Max} for any signed object";
}

// Keys, signatures and identities

public sealed record InvalidSignature(ChannelId ChannelId, ObjectKind Kind, string Signer) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: the {Kind} signature of {Signer} does not verify";
}

public sealed record WeakPublicKey(string Reason) : ProtocolError
{
    public override string Describe() => $"public key refused: {Reason}";
}

public sealed record EndorsementMismatch(DeviceId DeviceId, string Field, string Expected, string Actual) : ProtocolError
{
    public override string Describe() => $"endorsement of {DeviceId}: {Field} is {Actual}, expected {Expected}";
}

public sealed record RoleMismatch(DeviceId DeviceId, DeviceRole Expected, DeviceRole Actual) : ProtocolError
{
    public override string Describe() => $"device {DeviceId} is a {Actual}, a {Expected} is required";
}

// Channels

public sealed record WrongNetwork(ChannelId ChannelId, NetworkId Expected, NetworkId Actual) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: object is for network {Actual}, this is {Expected}";
}

public sealed record WrongChannel(ChannelId Expected, ChannelId Actual) : ProtocolError
{
    public override string Describe() => $"object is for channel {Actual}, not {Expected}";
}

public sealed record SamePartyOnBothSides(ChannelId ChannelId, DeviceId Party) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: {Party} cannot pay itself";
}

public sealed record VoucherNotNewer(ChannelId ChannelId, ulong LastSequence, ulong OfferedSequence) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: voucher sequence {OfferedSequence} is not above the accepted {LastSequence}";
}

public sealed record CumulativeAmountDecreased(ChannelId ChannelId, long LastMinorUnits, long OfferedMinorUnits) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: cumulative amount {OfferedMinorUnits} is below the accepted {LastMinorUnits}";
}

public sealed record IncrementMismatch(ChannelId ChannelId, ulong Sequence, long PreviousCumulativeMinorUnits, long CumulativeMinorUnits, long IncrementMinorUnits) : ProtocolError
{
    public override string Describe() =>
        $"channel {ChannelId}: voucher {Sequence} says it adds {IncrementMinorUnits}, but its cumulative {CumulativeMinorUnits} is {CumulativeMinorUnits - PreviousCumulativeMinorUnits} above the accepted {PreviousCumulativeMinorUnits}";
}

public sealed record TooManyPurposes(ChannelId ChannelId, int Max, string Purpose) : ProtocolError
{
    public override string Describe() =>
        $"channel {ChannelId} already counts payments for {Max} purposes; a voucher for {Purpose} is refused (close this channel and pay on a new one)";
}

public sealed record AmountExceedsDeposit(ChannelId ChannelId, long DepositMinorUnits, long OfferedMinorUnits) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: amount {OfferedMinorUnits} exceeds the deposit {DepositMinorUnits}";
}

public sealed record ChannelNotOpen(ChannelId ChannelId, ChannelStatus Status) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId} is {Status}";
}

/// <summary>An opening for a channel id the network already holds with other terms; the same opening again is answered as the first.</summary>
public sealed record ChannelAlreadyExists(ChannelId ChannelId) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId} exists with other terms";
}

/// <summary>The channel cannot take the command yet (it is starting, or looking up its parties); the caller may retry.</summary>
public sealed record ChannelBusy(ChannelId ChannelId, string Phase) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId} is {Phase}; try again when it is done";
}

public sealed record ChallengeWindowStillOpen(ChannelId ChannelId, Timestamp Deadline, Timestamp Now) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: challenge window runs until {Deadline}; now is {Now}";
}

public sealed record ChallengeWindowOver(ChannelId ChannelId, Timestamp Deadline, Timestamp Now) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: challenge window ended at {Deadline}; now is {Now}";
}

public sealed record NotAParty(ChannelId ChannelId, string Signer) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: {Signer} is not a party to it";
}

public sealed record StateNotNewer(ChannelId ChannelId, ulong CurrentVersion, ulong OfferedVersion) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: state version {OfferedVersion} is not above {CurrentVersion}";
}

public sealed record BalancesDoNotMatchDeposits(ChannelId ChannelId, long BalanceA, long BalanceB, long TotalDeposit) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: balances {BalanceA} + {BalanceB} do not sum to the deposits {TotalDeposit}";
}

public sealed record FinalStateRequired(ChannelId ChannelId, ulong Version) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: state {Version} is not marked final; a cooperative close needs a final state";
}

public sealed record FinalStateNotUpdatable(ChannelId ChannelId, ulong Version) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: state {Version} is final; close with it instead";
}

public sealed record WrongChannelKind(ChannelId ChannelId, ChannelKind Expected, ChannelKind Actual) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId} is a {Expected} channel; the object was signed for a {Actual} channel";
}

public sealed record ChallengeWindowTooShort(ChannelId ChannelId, DurationMs Chosen, DurationMs Minimum) : ProtocolError
{
    public override string Describe() => $"channel {ChannelId}: a challenge window of {Chosen} is below the network's minimum of {Minimum}";
}

// Meter readings and tolls

public sealed record ReadingFromWrongMeter(DeviceId Expected, DeviceId Actual) : ProtocolError
{
    public override string Describe() => $"reading is from meter {Actual}, expected {Expected}";
}

public sealed record ReadingNotNewer(DeviceId MeterId, ulong LastSequence, ulong OfferedSequence) : ProtocolError
{
    public override string Describe() => $"meter {MeterId}: reading sequence {OfferedSequence} is not above {LastSequence}";
}

public sealed record RegisterWentBackwards(DeviceId MeterId, long LastWh, long OfferedWh) : ProtocolError
{
    public override string Describe() => $"meter {MeterId}: register {OfferedWh} Wh is below the last {LastWh} Wh";
}

public sealed record ReadingTimeWentBackwards(DeviceId MeterId, Timestamp Last, Timestamp Offered) : ProtocolError
{
    public override string Describe() => $"meter {MeterId}: reading time {Offered} is before the last {Last}";
}

public sealed record TollRequestMismatch(DeviceId GantryId, string Field, string Expected, string Actual) : ProtocolError
{
    public override string Describe() => $"toll request from {GantryId}: {Field} is {Actual}, expected {Expected}";
}

// The network authority and its members

/// <summary>A device endorsed already, with another key or by another endorsement; the same endorsement again is answered as the first.</summary>
public sealed record DeviceAlreadyEndorsed(DeviceId Device, string KeyHex) : ProtocolError
{
    public override string Describe() => $"device {Device} is already endorsed with key {KeyHex}";
}

/// <summary>An admission whose version was already given to the operator with other terms; the same admission again is taken once.</summary>
public sealed record AdmissionVersionReused(OperatorId Operator, ulong Version) : ProtocolError
{
    public override string Describe() => $"operator {Operator}: admission version {Version} was already given with other terms";
}

public sealed record UnknownAuthorityKey(ObjectKind Kind, int Index, int KeyCount) : ProtocolError
{
    public override string Describe() => $"{Kind}: authority key {Index} does not exist (the authority has {KeyCount})";
}

public sealed record AuthorityThresholdNotMet(ObjectKind Kind, int Signatures, int Threshold) : ProtocolError
{
    public override string Describe() => $"{Kind}: {Signatures} authority signatures, {Threshold} are required";
}
