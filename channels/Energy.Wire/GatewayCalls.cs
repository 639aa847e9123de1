using Energy.Channels.Primitives;

namespace Energy.Wire;

/// <summary>The arguments of one action: the record names the action, so a call cannot be sent under another's name.</summary>
public interface IGatewayCall
{
    static abstract string Action { get; }
}

// The arguments of every call, in the order their fields are checked. Money is in minor units of the
// network's currency; signed objects travel as their wire bytes (base64 in JSON).

/// <summary>A charger starts a session for a plugged-in vehicle, with the signed start reading.</summary>
public readonly record struct StartSessionCall(SessionId Session, DeviceId Vehicle, long PricePerKwh, long Credit, byte[] Reading, SegmentId? Zone) : IGatewayCall
{
    public static string Action => GatewayActions.SessionStart;
}

/// <summary>A vehicle consents to a session it was offered and names the channel it pays on.</summary>
public readonly record struct AcceptSessionCall(SessionId Session, ChannelId Channel) : IGatewayCall
{
    public static string Action => GatewayActions.SessionAccept;
}

public readonly record struct SessionReadingCall(SessionId Session, byte[] Reading) : IGatewayCall
{
    public static string Action => GatewayActions.SessionReading;
}

public readonly record struct PaySessionCall(SessionId Session, byte[] Voucher) : IGatewayCall
{
    public static string Action => GatewayActions.SessionPay;
}

public readonly record struct StopSessionCall(SessionId Session, byte[] Reading) : IGatewayCall
{
    public static string Action => GatewayActions.SessionStop;
}

public readonly record struct GetSessionCall(SessionId Session) : IGatewayCall
{
    public static string Action => GatewayActions.SessionGet;
}

/// <summary>A gantry asks for a toll with a request it signed.</summary>
public readonly record struct TollPassCall(byte[] Request) : IGatewayCall
{
    public static string Action => GatewayActions.TollPass;
}

/// <summary>A vehicle pays a pass (its id is the gantry's id, a dot and a number).</summary>
public readonly record struct PayTollCall(PassId Pass, byte[] Voucher) : IGatewayCall
{
    public static string Action => GatewayActions.TollPay;
}

/// <summary>A vehicle says at once that it will not pay a pass, rather than let the gantry wait; <see cref="TollDeclineReasons"/> names why.</summary>
public readonly record struct DeclineTollCall(PassId Pass, string Reason) : IGatewayCall
{
    public static string Action => GatewayActions.TollDecline;
}

/// <summary>The reasons a vehicle declines a toll for which the network records that cause; any other is an invalid answer.</summary>
public static class TollDeclineReasons
{
    public const string NoChannel = "NoChannel";
    public const string DepositExhausted = "DepositExhausted";
}

/// <summary>A gantry reads its own tariff: segment and current price.</summary>
public readonly record struct GetGantryCall : IGatewayCall
{
    public static string Action => GatewayActions.TollGantry;
}

public readonly record struct SubmitVoucherCall(ChannelId Channel, byte[] Voucher) : IGatewayCall
{
    public static string Action => GatewayActions.ChannelVoucher;
}

public readonly record struct GetChannelCall(ChannelId Channel) : IGatewayCall
{
    public static string Action => GatewayActions.ChannelGet;
}

/// <summary>
/// What the receiver of calls makes of each (the gateway: the entity's command). A struct implements it,
/// so decoding a call allocates nothing beyond what the receiver makes.
/// </summary>
public interface IGatewayCallHandler<out TResult>
{
    TResult StartSession(in StartSessionCall call);
    TResult AcceptSession(in AcceptSessionCall call);
    TResult SessionReading(in SessionReadingCall call);
    TResult PaySession(in PaySessionCall call);
    TResult StopSession(in StopSessionCall call);
    TResult GetSession(in GetSessionCall call);
    TResult TollPass(in TollPassCall call);

    TResult PayToll(in PayTollCall call);
    TResult DeclineToll(in DeclineTollCall call);
    TResult GetGantry(in GetGantryCall call);
    TResult SubmitVoucher(in SubmitVoucherCall call);
    TResult GetChannel(in GetChannelCall call);
}

/// <summary>A call decoded: what its handler made of it, or the named error to answer.</summary>
public readonly record struct CallRead<TResult>(TResult? Value, GatewayError? Error)
{
    public bool IsOk => Error is null;
}

public static class GatewayCalls
{
    /// <summary>
    /// Reads a call's arguments by its action and hands them to <paramref name="handler"/>. Pure: an action
    /// that is not known or an argument that is missing or malformed is the named error, nothing else.
    /// </summary>
    public static CallRead<TResult> Read<THandler, TResult>(GatewayFrame frame, THandler handler) where THandler : struct, IGatewayCallHandler<TResult>
    {
        try
        {
            return new CallRead<TResult>(Dispatch<THandler, TResult>(frame, handler), null);
        }
        catch (FrameRefusedException e)
        {
            return new CallRead<TResult>(default, e.Error);
        }
    }

    // C# evaluates arguments left to right: each field is checked in the order the records list them, so
    // the first bad field is the one named.
    private static TResult Dispatch<THandler, TResult>(GatewayFrame frame, THandler handler) where THandler : struct, IGatewayCallHandler<TResult> =>
        frame.Action switch
        {
            GatewayActions.SessionStart => handler.StartSession(new StartSessionCall(frame.Session(), frame.DeviceArg("vehicle"),
                frame.MinorUnits("pricePerKwh"), frame.MinorUnits("credit"), frame.Bytes("reading"), frame.OptionalZone())),
            GatewayActions.SessionAccept => handler.AcceptSession(new AcceptSessionCall(frame.Session(), frame.Channel("channel"))),
            GatewayActions.SessionReading => handler.SessionReading(new SessionReadingCall(frame.Session(), frame.Bytes("reading"))),
            GatewayActions.SessionPay => handler.PaySession(new PaySessionCall(frame.Session(), frame.Bytes("voucher"))),
            GatewayActions.SessionStop => handler.StopSession(new StopSessionCall(frame.Session(), frame.Bytes("reading"))),
            GatewayActions.SessionGet => handler.GetSession(new GetSessionCall(frame.Session())),
            GatewayActions.TollPass => handler.TollPass(new TollPassCall(frame.Bytes("request"))),
            GatewayActions.TollPay => handler.PayToll(new PayTollCall(frame.Pass(), frame.Bytes("voucher"))),
            GatewayActions.TollDecline => handler.DeclineToll(new DeclineTollCall(frame.Pass(), frame.Text("reason"))),
            GatewayActions.TollGantry => handler.GetGantry(default),
            GatewayActions.ChannelVoucher => handler.SubmitVoucher(new SubmitVoucherCall(frame.Channel("channel"), frame.Bytes("voucher"))),
            GatewayActions.ChannelGet => handler.GetChannel(new GetChannelCall(frame.Channel("channel"))),
            _ => throw new FrameRefusedException(new GatewayError.UnknownAction(frame.Id, frame.Device, frame.Action)),
        };
}
