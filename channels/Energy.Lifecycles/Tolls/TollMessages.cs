using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Tolls;

public interface IGantryCommand : IEnergyMessage, IWithEntityId
{
    DeviceId Gantry { get; }
    string IWithEntityId.EntityId => Gantry.Value;
}

/// <summary>A toll operator's signed tariff for a gantry (wire form of <c>Signed&lt;GantryTariff&gt;</c>).</summary>
[Manifest("toll.configure-gantry.v1")]
public sealed record ConfigureGantry(DeviceId Gantry, byte[] Tariff) : IGantryCommand;

/// <summary>The gantry saw a vehicle: its signed toll request.</summary>
[Manifest("toll.pass.v1")]
public sealed record TollPass(DeviceId Gantry, byte[] Request, string? Connection) : IGantryCommand;

/// <summary>The vehicle pays a pass with a voucher on its channel to the toll operator, naming the pass as its purpose.</summary>
[Manifest("toll.pay.v1")]
public sealed record PayToll(DeviceId Gantry, PassId Pass, DeviceId Vehicle, byte[] Voucher, string? Connection) : IGantryCommand, ITraced
{
    public string? TraceParent { get; init; }

    public ITraced WithTraceParent(string traceParent) => this with { TraceParent = traceParent };
}

/// <summary>The vehicle says it cannot pay a pass (no channel to the operator, deposit exhausted).</summary>
[Manifest("toll.decline.v1")]
public sealed record DeclineToll(DeviceId Gantry, PassId Pass, DeviceId Vehicle, string Reason) : IGantryCommand;

[Manifest("toll.get-gantry.v1")]
public sealed record GetGantry(DeviceId Gantry) : IGantryCommand;

[Manifest("toll.violation-filed.v1")]
public sealed record ViolationFiled(DeviceId Gantry, string Violation) : IGantryCommand;

/// <summary>Why a pass was not paid. Each pass resolves once: paid, or one violation with one cause.</summary>
public enum ViolationCause
{
    NoChannel = 1,
    DepositExhausted = 2,
    InvalidAnswer = 3,
    Late = 4,
}

[Manifest("toll.violation.v1")]
public sealed record TollViolation(string Id, PassId Pass, DeviceId Gantry, DeviceId Vehicle, OperatorId Operator, SegmentId Segment, Money Price,
    ViolationCause Cause, string Detail, Timestamp PassedAt, Timestamp RecordedAt) : IEnergyMessage;

[Manifest("toll.pass-view.v1")]
public sealed record PassView(PassId Pass, DeviceId Gantry, DeviceId Vehicle, Money Price, PassStatus Status, long? PaidMinorUnits, ViolationCause? Violation) : IEnergyMessage;

[Manifest("toll.gantry-view.v1")]
public sealed record GantryView(DeviceId Gantry, OperatorId? Operator, SegmentId? Segment, SegmentId? Zone, ulong TariffVersion, Money? Price,
    long Passes, long Paid, long Violations, long PaidMinorUnits) : IEnergyMessage;

// The toll office of an operator: its violation records, filed by its gantries.

public interface ITollOfficeCommand : IEnergyMessage, IWithEntityId
{
    OperatorId Operator { get; }
    string IWithEntityId.EntityId => Operator.Value;
}

[Manifest("toll.file-violation.v1")]
public sealed record FileViolation(OperatorId Operator, TollViolation Violation) : ITollOfficeCommand;

[Manifest("toll.get-violations.v1")]
public sealed record GetViolations(OperatorId Operator) : ITollOfficeCommand;

[Manifest("toll.violations.v1")]
public sealed record ViolationList(OperatorId Operator, long Total, IReadOnlyList<TollViolation> Latest) : IEnergyMessage;

// Zones: live road statistics from gantry passes.

public interface IZoneCommand : IEnergyMessage, IWithEntityId
{
    SegmentId Zone { get; }
    string IWithEntityId.EntityId => Zone.Value;
}

[Manifest("zone.pass.v1")]
public sealed record ZonePass(SegmentId Zone, DeviceId Vehicle, Timestamp At, double? SpeedKmh) : IZoneCommand;

[Manifest("zone.get.v1")]
public sealed record GetZone(SegmentId Zone) : IZoneCommand;

[Manifest("zone.view.v1")]
public sealed record ZoneView(SegmentId Zone, int VehiclesLastMinute, int PassesLastMinute, double? AverageSpeedKmh, long PassesTotal) : IEnergyMessage;

// Events

[Manifest("toll.event.gantry-configured.v1")]
public sealed record GantryConfigured(byte[] Tariff, string GantryKeyHex) : IEnergyMessage;

[Manifest("toll.event.pass-recorded.v1")]
public sealed record PassRecorded(PassId Pass, byte[] Request, Timestamp At) : IEnergyMessage;

/// <summary>A voucher for the pass was handed to this channel; recorded first, so that a restart knows where to ask.</summary>
[Manifest("toll.event.pass-payment-submitted.v1")]
public sealed record PassPaymentSubmitted(PassId Pass, ChannelId Channel) : IEnergyMessage;

/// <summary>
/// The pass is paid: what the vouchers naming it paid, and the voucher that paid it (none when the gantry
/// found the payment after a restart by asking the channel, which holds the voucher).
/// </summary>
[Manifest("toll.event.pass-paid.v2")]
public sealed record PassPaid(PassId Pass, byte[]? Voucher, Money Paid, Timestamp At) : IEnergyMessage;

[Manifest("toll.event.violation-recorded.v1")]
public sealed record ViolationRecorded(TollViolation Violation) : IEnergyMessage;

[Manifest("toll.event.violation-filed.v1")]
public sealed record ViolationFiledRecorded(string Violation) : IEnergyMessage;

[Manifest("toll.event.office-violation.v1")]
public sealed record OfficeViolationRecorded(TollViolation Violation) : IEnergyMessage;
