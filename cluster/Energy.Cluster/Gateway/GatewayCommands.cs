using Energy.Channels.Primitives;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Charging;
using Energy.Wire;

namespace Energy.Cluster.Gateway;

/// <summary>A device's call as the command of the entity that answers it.</summary>
public static class GatewayCommands
{
    /// <summary>
    /// The command for a call, with the authenticated device and the connection to answer filled in by the
    /// gateway; or the named error the wire contract refused its arguments with.
    /// </summary>
    internal static CallRead<object> Of(GatewayFrame frame, Currency currency, string replyPath) =>
        GatewayCalls.Read<CommandOf, object>(frame, new CommandOf(frame.Device, currency, replyPath));

    /// <summary>Each call's arguments as the command of the entity that answers it. A struct: reading a call allocates only the command.</summary>
    private readonly record struct CommandOf(DeviceId Device, Currency Currency, string ReplyPath) : IGatewayCallHandler<object>
    {
        public object StartSession(in StartSessionCall call) =>
            new StartSession(call.Session, Device, call.Vehicle, new Money(call.PricePerKwh, Currency), new Money(call.Credit, Currency), call.Reading, ReplyPath) { Zone = call.Zone };

        public object AcceptSession(in AcceptSessionCall call) => new AcceptSession(call.Session, Device, call.Channel, ReplyPath);

        public object SessionReading(in SessionReadingCall call) => new SubmitSessionReading(call.Session, Device, call.Reading, ReplyPath);

        public object PaySession(in PaySessionCall call) => new PayForSession(call.Session, Device, call.Voucher, ReplyPath);

        public object StopSession(in StopSessionCall call) => new StopSession(call.Session, Device, call.Reading, ReplyPath);

        public object GetSession(in GetSessionCall call) => new GetSession(call.Session);

        public object TollPass(in TollPassCall call) => new Energy.Lifecycles.Tolls.TollPass(Device, call.Request, ReplyPath);

        public object PayToll(in PayTollCall call) => new Energy.Lifecycles.Tolls.PayToll(call.Pass.Gantry, call.Pass, Device, call.Voucher, ReplyPath);

        public object DeclineToll(in DeclineTollCall call) => new Energy.Lifecycles.Tolls.DeclineToll(call.Pass.Gantry, call.Pass, Device, call.Reason);

        public object GetGantry(in GetGantryCall call) => new Energy.Lifecycles.Tolls.GetGantry(Device);

        public object SubmitVoucher(in SubmitVoucherCall call) => new SubmitVoucher(call.Channel, call.Voucher);

        public object GetChannel(in GetChannelCall call) => new GetChannel(call.Channel);
    }
}
