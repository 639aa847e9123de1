using System.Collections.Immutable;
using Energy.Channels;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Charging;
using Energy.Ocpp;

namespace Energy.Lifecycles.ChargePoints;

/// <summary>What a charge point is told about an idTag. The wire names are OCPP's.</summary>
public enum OcppAuthorization
{
    Accepted,
    Blocked,
    Invalid,
}

public static class OcppAuthorizationNames
{
    public static string ToWire(this OcppAuthorization authorization) => authorization switch
    {
        OcppAuthorization.Accepted => "Accepted",
        OcppAuthorization.Blocked => "Blocked",
        OcppAuthorization.Invalid => "Invalid",
        _ => throw new ArgumentOutOfRangeException(nameof(authorization), authorization, "no wire name"),
    };

    /// <summary>The authorization a wire name stands for; a name OCPP does not give here reads as Invalid.</summary>
    public static OcppAuthorization FromWire(string name) => name switch
    {
        "Accepted" => OcppAuthorization.Accepted,
        "Blocked" => OcppAuthorization.Blocked,
        _ => OcppAuthorization.Invalid,
    };
}

/// <summary>A charge point's transaction id: the network hands them out, from 1, each once.</summary>
public readonly record struct OcppTransactionId(int Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public sealed record TransactionIdsExhausted(string ChargePoint, int Last) : ProtocolError
{
    public override string Describe() => $"charge point {ChargePoint} has used every transaction id up to {Last}";
}

/// <summary>The OCPP transactions of one charge point, immutable; changed only by <see cref="ChargePointTransactions.Evolve"/>.</summary>
public sealed record ChargePointState(ImmutableDictionary<int, ChargingTransaction> Transactions, int LastTransactionId)
{
    public static readonly ChargePointState Empty = new(ImmutableDictionary<int, ChargingTransaction>.Empty, 0);

    public ChargingTransaction? Find(int transactionId) => Transactions.GetValueOrDefault(transactionId);
}

/// <summary>How a StopTransaction is answered: the idTag status to give, and the event to persist when there is one.</summary>
public readonly record struct StopDecision(OcppAuthorization Status, TransactionStopped? Stopped);

/// <summary>How a charge point's call is taken: the event to persist first (none when nothing changes), and the charger's answer.</summary>
public readonly record struct ChargePointDecision(IEnergyMessage? Event, ChargePointResponse Answer);

/// <summary>
/// The rules of a charge point's transactions, pure. Transaction messages are exactly-once: a repeated stop,
/// a stop below the start, a register going backwards or an unknown transaction each get a defined answer
/// and no event, so a charger is never pushed into a retry loop. Time comes only from the <c>now</c> passed in.
/// </summary>
public static class ChargePointTransactions
{
    /// <summary>
    /// What the network does with a call: the event to persist, if any, and the answer the charger gets once it is
    /// durable. <paramref name="authorization"/> is the idTag's, for a call that names one
    /// (<see cref="ChargePointCalls.IdTagToAuthorize"/>). A transaction call that changes nothing (a repeated stop, a
    /// register going backwards, an unknown transaction) still gets its defined CALLRESULT.
    /// </summary>
    public static ChargePointDecision Decide(ChargePointState state, string chargePoint, ChargePointCall call, OcppAuthorization authorization, Timestamp now)
    {
        switch (call)
        {
            case BootNotificationCall boot:
                return new(new ChargePointBooted(boot.Vendor, boot.Model, now), ChargePointCalls.Answer(ChargePointCalls.Booted(now)));
            case HeartbeatCall:
                return new(null, ChargePointCalls.Answer(ChargePointCalls.Heartbeat(now)));
            case AuthorizeCall:
                return new(null, ChargePointCalls.Answer(new AuthorizeConf(ChargePointCalls.IdTag(authorization))));
            case StartTransactionCall start:
                var started = DecideStart(state, chargePoint, start.ConnectorId, start.IdTag, authorization, start.MeterStartWh, now);
                return started.IsOk
                    ? new(started.Value, ChargePointCalls.Answer(new StartTransactionConf(started.Value.TransactionId, new IdTagInfo(started.Value.Authorization))))
                    : new(null, ChargePointCalls.Refused(started.Error));
            case MeterValuesCall values:
                return new(DecideMeterValue(state, values.TransactionId, values.RegisterWh, now), ChargePointCalls.Answer(EmptyConf.Instance));
            case StopTransactionCall stop:
                var (status, stopped) = DecideStop(state, stop.TransactionId, stop.MeterStopWh, stop.Reason, now);
                return new(stopped, ChargePointCalls.Answer(new StopTransactionConf(ChargePointCalls.IdTag(status))));
            case UnsupportedCall unsupported:
                return new(null, ChargePointCalls.NotImplemented(unsupported));
            default:
                // StatusNotification, and any call the network only acknowledges.
                return new(null, ChargePointCalls.Answer(EmptyConf.Instance));
        }
    }

    /// <summary>An idTag that is no device id is Invalid without asking the registry; one that is, is looked up.</summary>
    public static bool IsLookedUp(string idTag) => DeviceId.Parse(idTag).IsOk;

    /// <summary>The idTag is a vehicle's identity: a registered vehicle is Accepted, a revoked one Blocked, anything else Invalid.</summary>
    public static OcppAuthorization Authorize(object? registryAnswer) => registryAnswer switch
    {
        DeviceView { Revoked: true } => OcppAuthorization.Blocked,
        DeviceView { Role: DeviceRole.Vehicle } => OcppAuthorization.Accepted,
        _ => OcppAuthorization.Invalid,
    };

    /// <summary>
    /// A transaction with the next id, never one used before (ids are not reused even after a restart). The
    /// charger gets a transaction id even when the idTag is refused; it then stops the transaction itself.
    /// </summary>
    public static Result<TransactionStarted> DecideStart(ChargePointState state, string chargePoint, int connectorId, string idTag,
        OcppAuthorization authorization, long meterStartWh, Timestamp now)
    {
        if (state.LastTransactionId == int.MaxValue) return new TransactionIdsExhausted(chargePoint, state.LastTransactionId);
        return new TransactionStarted(state.LastTransactionId + 1, connectorId, idTag, authorization.ToWire(), meterStartWh, now);
    }

    /// <summary>A meter value of a running transaction, recorded only when its energy register moved forward.</summary>
    public static TransactionMeterValue? DecideMeterValue(ChargePointState state, int? transactionId, long? registerWh, Timestamp now)
    {
        if (transactionId is not { } id || state.Find(id) is not { MeterStopWh: null } transaction) return null;
        // No energy register, or one that went backwards or did not move: answered, not recorded.
        if (registerWh is not { } register || register <= transaction.LastRegisterWh) return null;
        return new TransactionMeterValue(id, register, now);
    }

    /// <summary>
    /// A stop of a transaction. An unknown one is Invalid; a repeated stop gets the same answer; a stop below
    /// what was metered is refused in the answer and recorded nowhere.
    /// </summary>
    public static StopDecision DecideStop(ChargePointState state, int transactionId, long meterStopWh, string? reason, Timestamp now)
    {
        if (state.Find(transactionId) is not { } transaction) return new StopDecision(OcppAuthorization.Invalid, null);
        var authorization = OcppAuthorizationNames.FromWire(transaction.Authorization);
        if (transaction.MeterStopWh is not null) return new StopDecision(authorization, null);
        if (meterStopWh < transaction.MeterStartWh || meterStopWh < transaction.LastRegisterWh) return new StopDecision(OcppAuthorization.Invalid, null);
        return new StopDecision(authorization, new TransactionStopped(transactionId, meterStopWh, reason, now));
    }

    /// <summary>A transaction that has not stopped: the network may ask its charger to stop it.</summary>
    public static bool IsRunning(ChargePointState state, int transactionId) => state.Find(transactionId) is { MeterStopWh: null };

    /// <summary>
    /// The network's call to stop a transaction whose vehicle did not consent (RemoteStopTransaction), or none when the
    /// transaction is not running (stopped already, or unknown).
    /// </summary>
    public static OcppOutgoingCall? DecideRemoteStop(ChargePointState state, StopUnconsentedTransaction command) =>
        IsRunning(state, command.TransactionId)
            ? new OcppOutgoingCall(Ocpp16Actions.RemoteStopTransaction, Ocpp16Json.ToElement(new RemoteStopTransactionReq(command.TransactionId)))
            : null;

    // Sessions: the network bills an accepted transaction through a witnessed charging session.

    /// <summary>Whether the network bills a transaction through a witnessed charging session.</summary>
    public static bool FeedsSession(string chargePoint, ChargingTransaction transaction) =>
        OcppAuthorizationNames.FromWire(transaction.Authorization) == OcppAuthorization.Accepted && DeviceId.Parse(chargePoint).IsOk
        && SessionId.IsValid(SessionId.OfTransaction(chargePoint, transaction.TransactionId).Value);

    /// <summary>
    /// What a durable transaction event tells the transaction's session (<paramref name="state"/> is the state
    /// after it): a start starts the session, a meter value and a stop are its witnessed readings. None when the
    /// network does not bill the transaction.
    /// </summary>
    public static ISessionCommand? ToSession(string chargePoint, ChargePointState state, IEnergyMessage e)
    {
        var transactionId = e switch
        {
            TransactionStarted s => s.TransactionId,
            TransactionMeterValue m => m.TransactionId,
            TransactionStopped t => t.TransactionId,
            _ => (int?)null,
        };
        if (transactionId is not { } id || state.Find(id) is not { } transaction || !FeedsSession(chargePoint, transaction)) return null;
        var session = SessionId.OfTransaction(chargePoint, id);
        return e switch
        {
            TransactionStarted s => new StartWitnessedSession(session, new DeviceId(chargePoint), new DeviceId(s.IdTag), s.MeterStartWh),
            TransactionMeterValue m => new WitnessedReading(session, m.RegisterWh, Final: false),
            TransactionStopped t => new WitnessedReading(session, t.MeterStopWh, Final: true),
            _ => null,
        };
    }

    /// <summary>The one way the state changes, live and in recovery alike.</summary>
    public static ChargePointState Evolve(ChargePointState state, IEnergyMessage e) => e switch
    {
        TransactionStarted s => state with
        {
            LastTransactionId = Math.Max(state.LastTransactionId, s.TransactionId),
            Transactions = state.Transactions.SetItem(s.TransactionId,
                new ChargingTransaction(s.TransactionId, s.ConnectorId, s.IdTag, s.Authorization, s.MeterStartWh, s.MeterStartWh, null)),
        },
        TransactionMeterValue m when state.Find(m.TransactionId) is { } running =>
            state with { Transactions = state.Transactions.SetItem(m.TransactionId, running with { LastRegisterWh = m.RegisterWh }) },
        TransactionStopped t when state.Find(t.TransactionId) is { } stopping =>
            state with { Transactions = state.Transactions.SetItem(t.TransactionId, stopping with { MeterStopWh = t.MeterStopWh, LastRegisterWh = t.MeterStopWh }) },
        _ => state,
    };
}
