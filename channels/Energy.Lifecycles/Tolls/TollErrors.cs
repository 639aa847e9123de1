using Energy.Channels;
using Energy.Channels.Primitives;

namespace Energy.Lifecycles.Tolls;

public sealed record GantryNotConfigured(DeviceId Gantry) : ProtocolError
{
    public override string Describe() => $"gantry {Gantry} has no tariff from its operator yet";
}

public sealed record TariffNotNewer(DeviceId Gantry, ulong Current, ulong Offered) : ProtocolError
{
    public override string Describe() => $"gantry {Gantry}: tariff version {Offered} is not newer than {Current}";
}

public sealed record TollRequestRefused(DeviceId Gantry, string Field, string Expected, string Actual) : ProtocolError
{
    public override string Describe() => $"gantry {Gantry}: the toll request's {Field} is {Actual}; expected {Expected}";
}

public sealed record PassNotFound(PassId Pass) : ProtocolError
{
    public override string Describe() => $"pass {Pass} is not known";
}

public sealed record PassAlreadyResolved(PassId Pass, PassStatus Status) : ProtocolError
{
    public override string Describe() => $"pass {Pass} is already {Status.ToWire()}";
}

public sealed record PassBeingPaid(PassId Pass) : ProtocolError
{
    public override string Describe() => $"pass {Pass} is being paid: a voucher for it is with its channel";
}

public sealed record NotPassVehicle(PassId Pass, DeviceId Vehicle) : ProtocolError
{
    public override string Describe() => $"pass {Pass} is not {Vehicle}'s";
}
