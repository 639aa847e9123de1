using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;
using Energy.Wire;
using System.Text.Json.Serialization;
using Energy.Lifecycles.Tolls;

namespace Energy.Lifecycles.Charging;

/// <summary>Where a charging session stands. The wire names are what devices and the HTTP API read.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SessionStatus>))]
public enum SessionStatus
{
    [JsonStringEnumMemberName("awaiting-vehicle")] AwaitingVehicle,
    [JsonStringEnumMemberName("charging")] Charging,
    [JsonStringEnumMemberName("suspended")] Suspended,
    [JsonStringEnumMemberName("stopping")] Stopping,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("unconsented")] Unconsented,
}

public static class SessionStatusNames
{
    public static string ToWire(this SessionStatus status) => status switch
    {
        SessionStatus.AwaitingVehicle => "awaiting-vehicle",
        SessionStatus.Charging => "charging",
        SessionStatus.Suspended => "suspended",
        SessionStatus.Stopping => "stopping",
        SessionStatus.Completed => "completed",
        SessionStatus.Unconsented => "unconsented",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "no wire name"),
    };
}

/// <summary>The bounds the network puts on a session's terms.</summary>
public readonly record struct SessionLimits(Currency Currency, long MaxPricePerKwh, long MaxCredit);

/// <summary>
/// The state of one charging session, immutable. It is changed only by <see cref="ChargingSession.Evolve"/>,
/// the same function live and in recovery. What is owed is derived from the readings, never stored, so it
/// cannot drift from them.
/// </summary>
public sealed record ChargingSessionState
{
    public static readonly ChargingSessionState Empty = new();

    public SessionStarted? Started { get; init; }
    public Signed<MeterReading>? Start { get; init; }
    public DevicePublicKey? MeterKey { get; init; }
    public Signed<MeterReading>? Latest { get; init; }
    public Signed<MeterReading>? End { get; init; }
    public ChannelId? Channel { get; init; }

    /// <summary>The sum of the increments of the acknowledged vouchers that name this session.</summary>
    public Money Paid { get; init; }

    public Signed<Voucher>? BestVoucher { get; init; }
    public bool Suspended { get; init; }
    public int Suspensions { get; init; }
    public ChargeRecord? Record { get; init; }
    public bool Unconsented { get; init; }

    public bool IsStarted => Started is not null;

    /// <summary>The newest reading the session holds: the end once stopped, else the latest, else the start.</summary>
    public Signed<MeterReading>? LastReading => End ?? Latest ?? Start;

    public long DeliveredWh => Start is null ? 0 : LastReading!.Payload.Register.WattHours - Start.Payload.Register.WattHours;

    /// <summary>The session's energy times the tariff, rounded on the running total so rounding never accumulates.</summary>
    public Money Owed => Started is null ? default : new EnergyWh(DeliveredWh).PriceAt(new Tariff(Started.PricePerKwh)).Unwrap();

    /// <summary>What is owed and not paid, in minor units; negative never happens (payments above owed are refused).</summary>
    public long UnpaidMinorUnits => Owed.MinorUnits - Paid.MinorUnits;

    public bool IsSettled => Channel is null || Paid >= Owed;

    public SessionStatus Status =>
        Unconsented ? SessionStatus.Unconsented
        : Record is not null ? SessionStatus.Completed
        : End is not null ? SessionStatus.Stopping
        : Channel is null ? SessionStatus.AwaitingVehicle
        : Suspended ? SessionStatus.Suspended
        : SessionStatus.Charging;

    /// <summary>
    /// An OCPP charger starts a transaction on an idTag alone: its session waits for the vehicle to accept it
    /// where it is plugged in, and bills nothing without that.
    /// </summary>
    public bool AwaitsConsent => Started is { Witnessed: true } && Channel is null && !Unconsented && Record is null && End is null;

    /// <summary>Started, and its vehicle has not accepted it yet, nor can it no more: an offer is still worth making.</summary>
    public bool AwaitsVehicle => Started is not null && Channel is null && Record is null && !Unconsented;

    /// <summary>Stopped, not completed, and its end reading paid (or nothing to pay it on): the charge record is due.</summary>
    public bool ReadyToComplete => End is not null && Record is null && IsSettled;

    /// <summary>Stopped and not completed: the vehicle has a bounded time to pay the end reading, then the record is made with what it paid.</summary>
    public bool AwaitsSettlement => End is not null && Record is null;
}

/// <summary>
/// A reading taken, a voucher acknowledged by the channel, or what the channel says is paid: progress that a
/// session takes at once and persists in batches (one <see cref="SessionProgressed"/> carries the newest of
/// each). Nobody is answered about it before that batch is durable.
/// </summary>
public sealed record ProgressTaken(Signed<MeterReading>? Reading, Signed<Voucher>? Voucher, Money Paid);

/// <summary>What a command asks of the session when it is answered without a new event.</summary>
public enum SessionDecision
{
    /// <summary>The command goes ahead: the session decides (or asks) further.</summary>
    Proceed,

    /// <summary>The same command again (a retry): it is answered with where the session stands.</summary>
    Repeat,
}

/// <summary>
/// The rules of a charging session, pure: each <c>Decide*</c> takes the state and a command and returns the
/// event to persist, a <see cref="SessionDecision"/>, or a named error, and changes nothing; <see cref="Evolve"/>
/// is the only way state changes. Time comes only from the <c>now</c> passed in.
/// </summary>
public static partial class ChargingSession
{
    // Starting

    /// <summary>Whether a start may go ahead: its reading must be readable; the same start again is a repeat, other terms are refused.</summary>
    public static Result<SessionDecision> CheckStart(ChargingSessionState state, SessionId session, StartSession command, SessionLimits limits)
    {
        var reading = Signed<MeterReading>.Decode(command.Reading);
        if (!reading.IsOk) return reading.Error;
        if (state.Started is { } started)
            return started.Charger == command.Charger && started.StartReading.AsSpan().SequenceEqual(command.Reading)
                ? SessionDecision.Repeat
                : new SessionAlreadyStarted(session);
        var terms = CheckTerms(session, command.PricePerKwh, command.Credit, limits);
        return terms is null ? SessionDecision.Proceed : terms;
    }

    /// <summary>
    /// What a start is answered without looking up its parties: its refusal, or where the session stands when it is the
    /// same start again. None when the start goes ahead and its charger and vehicle are to be looked up.
    /// </summary>
    public static object? KnownStart(ChargingSessionState state, SessionId session, StartSession command, SessionLimits limits) =>
        Known(state, session, CheckStart(state, session, command, limits));

    /// <summary>What the answer to a command is without a new event: its refusal, or, for a repeat, where the session stands; none when it goes ahead.</summary>
    private static object? Known(ChargingSessionState state, SessionId session, Result<SessionDecision> check) =>
        !check.IsOk ? Refusal.From(check.Error) : check.Value == SessionDecision.Repeat ? View(state, session) : null;

    public static ProtocolError? CheckTerms(SessionId session, Money price, Money credit, SessionLimits limits)
    {
        if (price.Currency != limits.Currency) return new CurrencyMismatch(limits.Currency, price.Currency);
        if (credit.Currency != limits.Currency) return new CurrencyMismatch(limits.Currency, credit.Currency);
        if (price.IsNegative || price.MinorUnits > limits.MaxPricePerKwh)
            return new InvalidSessionTerms(session, $"a price of {price.MinorUnits} per kWh is outside 0..{limits.MaxPricePerKwh}");
        if (credit.IsNegative || credit.MinorUnits > limits.MaxCredit)
            return new InvalidSessionTerms(session, $"a credit of {credit.MinorUnits} is outside 0..{limits.MaxCredit}");
        return null;
    }

    /// <summary>
    /// The twins' answers about a session's charger and vehicle (null when a twin did not answer): the charger must
    /// be registered as a charger or a meter and the vehicle as a vehicle, neither revoked (by its twin, or as this
    /// node already knows). The charger's registration is what the session goes on with.
    /// </summary>
    public static Result<DeviceView> CheckParties(DeviceId charger, object? chargerAnswer, DeviceId vehicle, object? vehicleAnswer,
        Func<DeviceId, bool> revokedHere, Timestamp now)
    {
        var checkedCharger = CheckDevice(charger, chargerAnswer, revokedHere(charger), now, DeviceRole.Charger, DeviceRole.Meter);
        if (!checkedCharger.IsOk) return checkedCharger;
        var checkedVehicle = CheckDevice(vehicle, vehicleAnswer, revokedHere(vehicle), now, DeviceRole.Vehicle);
        return checkedVehicle.IsOk ? checkedCharger : checkedVehicle;
    }

    /// <summary>A twin's answer about a device: registered, not revoked, in one of the roles asked.</summary>
    public static Result<DeviceView> CheckDevice(DeviceId device, object? answer, bool revokedHere, Timestamp now, params DeviceRole[] roles)
    {
        if (answer is not DeviceView view) return new DeviceNotFound(device);
        if (view.Revoked || revokedHere) return new DeviceIsRevoked(device, view.RevokedAt ?? now);
        if (!roles.Contains(view.Role)) return new DeviceRoleRefused(device, view.Role.ToString(), string.Join(" or ", roles));
        return view;
    }

    /// <summary>Starts a session once its parties' twins answered: both registered in their roles, the start reading the charger's meter's.</summary>
    public static Result<SessionStarted> DecideStart(StartSession command, NetworkId network, object? chargerAnswer, object? vehicleAnswer,
        Func<DeviceId, bool> revokedHere, Timestamp now)
    {
        var charger = CheckParties(command.Charger, chargerAnswer, command.Vehicle, vehicleAnswer, revokedHere, now);
        if (!charger.IsOk) return charger.Error;
        var reading = Signed<MeterReading>.Decode(command.Reading);
        return reading.IsOk ? DecideStart(command, reading.Value, network, charger.Value, now) : reading.Error;
    }

    /// <summary>Starts a session once its charger is known: the start reading must be the charger's meter's.</summary>
    public static Result<SessionStarted> DecideStart(StartSession command, Signed<MeterReading> reading, NetworkId network, DeviceView charger, Timestamp now)
    {
        var meterKey = DevicePublicKey.FromHex(charger.PublicKeyHex);
        if (!meterKey.IsOk) return meterKey.Error;
        var accepted = MeterReadings.Accept(reading, network, command.Charger, meterKey.Value, null);
        if (!accepted.IsOk) return accepted.Error;
        return new SessionStarted(command.Charger, command.Vehicle, PartyId.From(charger.Operator), charger.PublicKeyHex, false, command.PricePerKwh,
            command.Credit, command.Reading, now) { Zone = command.Zone };
    }

    /// <summary>Whether an OCPP transaction's session is still to be started: its charge point tells it once, but may be told again after a restart.</summary>
    public static bool TakesWitnessedStart(ChargingSessionState state) => !state.IsStarted;

    /// <summary>
    /// A session for an OCPP transaction once its parties' twins answered (as <see cref="CheckParties"/> checks them):
    /// the charger's operator is paid, and the node witnesses the meter and signs the start reading.
    /// </summary>
    public static Result<SessionStarted> DecideWitnessedStart(StartWitnessedSession command, NetworkId network, object? chargerAnswer, object? vehicleAnswer,
        Func<DeviceId, bool> revokedHere, DeviceKeyPair nodeKey, Money price, Money credit, Timestamp now)
    {
        var charger = CheckParties(command.Charger, chargerAnswer, command.Vehicle, vehicleAnswer, revokedHere, now);
        if (!charger.IsOk) return charger.Error;
        return DecideWitnessedStart(command, network, PartyId.From(charger.Value.Operator), nodeKey, price, credit, now);
    }

    /// <summary>A session for an OCPP transaction: the node witnesses the meter and signs the start reading.</summary>
    public static Result<SessionStarted> DecideWitnessedStart(StartWitnessedSession command, NetworkId network, PartyId payee,
        DeviceKeyPair nodeKey, Money price, Money credit, Timestamp now)
    {
        if (command.MeterStartWh < 0) return new InvalidSessionTerms(command.Session, $"a meter start of {command.MeterStartWh} Wh is negative");
        var reading = Signed<MeterReading>.Sign(new MeterReading(network, command.Charger, 1, now, new EnergyWh(command.MeterStartWh)), nodeKey);
        return new SessionStarted(command.Charger, command.Vehicle, payee, nodeKey.PublicKey.Hex, true, price, credit, reading.ToArray(), now);
    }

    /// <summary>How long a witnessed session still waits for its vehicle's consent, counted from its start (none once the time is up).</summary>
    public static TimeSpan ConsentLeft(ChargingSessionState state, TimeSpan consentTimeout, Timestamp now)
    {
        var elapsed = TimeSpan.FromMilliseconds(Math.Max(0, now.UnixMilliseconds - state.Started!.At.UnixMilliseconds));
        var left = consentTimeout - elapsed;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>The vehicle had its time to accept a witnessed session and did not: nothing of it is billed.</summary>
    public static SessionConsentExpired? DecideConsentExpiry(ChargingSessionState state, Timestamp now) =>
        state.AwaitsConsent ? new SessionConsentExpired(now) : null;

    /// <summary>Once the vehicle's consent expired, the charger is told to stop the session's transaction; none for a session of no transaction.</summary>
    public static StopUnconsentedTransaction? UnconsentedStop(SessionId session) =>
        session.Transaction is { } transaction ? new StopUnconsentedTransaction(transaction.ChargePoint, transaction.TransactionId) : null;

    // Accepting

    /// <summary>Whether the vehicle may bind a channel: the same channel again is a repeat; the channel is asked next.</summary>
    public static Result<SessionDecision> CheckAccept(ChargingSessionState state, SessionId session, DeviceId vehicle, ChannelId channel)
    {
        if (state.Started is not { } started) return new SessionNotFound(session);
        if (vehicle != started.Vehicle) return new NotSessionParty(session, vehicle, "vehicle");
        if (state.Channel is { } bound)
            return bound == channel ? SessionDecision.Repeat : new ChannelNotUsable(session, channel, $"is not the session's channel {bound}");
        if (state.Record is not null || state.Unconsented) return new SessionEnded(session, state.Status);
        return SessionDecision.Proceed;
    }

    /// <summary>
    /// What an acceptance is answered without asking its channel: its refusal, or where the session stands when it names the
    /// bound channel again. None when the channel is to be asked.
    /// </summary>
    public static object? KnownAccept(ChargingSessionState state, SessionId session, AcceptSession command) =>
        Known(state, session, CheckAccept(state, session, command.Vehicle, command.Channel));

    /// <summary>The refusal of a payment or an acceptance whose channel did not answer in time.</summary>
    public static ChannelNotUsable ChannelUnanswered(SessionId session, ChannelId channel) => new(session, channel, "did not answer");

    /// <summary>
    /// Binds the channel the channel entity described (null: it did not answer), if it is open, from the vehicle,
    /// to the charger's operator, in the tariff's currency.
    /// </summary>
    public static Result<SessionChannelBound> DecideBind(ChargingSessionState state, SessionId session, ChannelId channel, object? answer)
    {
        var started = state.Started!;
        var problem = answer switch
        {
            null => "did not answer",
            ChannelView v when ChannelPhases.FromWire(v.Status) != ChannelPhase.Open => $"is {v.Status}, not open",
            ChannelView v when v.Payer != PartyId.From(started.Vehicle) => $"is paid from {v.Payer}, not from the vehicle",
            ChannelView v when v.Payee != started.Payee => $"pays {v.Payee}, not the charger's operator {started.Payee}",
            ChannelView v when v.Deposit!.Value.Currency != started.PricePerKwh.Currency => $"is in {v.Deposit.Value.Currency}",
            ChannelView => null,
            _ => "is not open",
        };
        if (problem is not null) return new ChannelNotUsable(session, channel, problem);
        return new SessionChannelBound(channel, ((ChannelView)answer!).Paid!.Value);
    }

    // Readings

    /// <summary>Whether <paramref name="device"/> is the session's charger (or vehicle): a party's connection is kept for pushes, whatever its command asks.</summary>
    public static bool IsParty(ChargingSessionState state, DeviceId device, bool isCharger) =>
        state.Started is { } started && device == (isCharger ? started.Charger : started.Vehicle);

    /// <summary>
    /// Refuses a command from a device that is not the session's charger (or vehicle), or one that comes after
    /// the end; a vehicle may still pay while the session is stopping.
    /// </summary>
    public static ProtocolError? CheckParty(ChargingSessionState state, SessionId session, DeviceId device, bool isCharger, bool allowStopping = false)
    {
        if (state.Started is not { } started) return new SessionNotFound(session);
        if (device != (isCharger ? started.Charger : started.Vehicle)) return new NotSessionParty(session, device, isCharger ? "charger" : "vehicle");
        if (state.Record is not null || (state.End is not null && !allowStopping)) return new SessionEnded(session, state.Status);
        return null;
    }

    /// <summary>A reading from the charger: signed by its meter, after the last one in sequence, time and register.</summary>
    public static Result<ProgressTaken> DecideReading(ChargingSessionState state, SessionId session, DeviceId charger, byte[] wire, NetworkId network)
    {
        var refused = CheckParty(state, session, charger, isCharger: true);
        if (refused is not null) return refused;
        var decoded = Signed<MeterReading>.Decode(wire);
        if (!decoded.IsOk) return decoded.Error;
        var accepted = MeterReadings.Accept(decoded.Value, network, state.Started!.Charger, state.MeterKey!, state.LastReading!.Payload);
        if (!accepted.IsOk) return accepted.Error;
        return ReadingTaken(state, decoded.Value);
    }

    /// <summary>
    /// A reading from the charger, refused with <paramref name="full"/> (the shell's bound on answers waiting for a write, none
    /// while there is room) when its party may send it but its answer could not wait: a reading taken is always answered once durable.
    /// </summary>
    public static Result<ProgressTaken> DecideReading(ChargingSessionState state, SessionId session, SubmitSessionReading command, NetworkId network,
        ProtocolError? full)
    {
        var refused = CheckParty(state, session, command.Charger, isCharger: true) ?? full;
        return refused is not null ? refused : DecideReading(state, session, command.Charger, command.Reading, network);
    }

    public static ProgressTaken ReadingTaken(ChargingSessionState state, Signed<MeterReading> reading) => new(reading, null, state.Paid);

    /// <summary>
    /// A meter value the node witnessed for an OCPP charger, signed by the node. A register below the last is
    /// ignored, and so is the same register again unless it is the final one. The reading's time never goes
    /// back, whatever the clock says.
    /// </summary>
    public static Signed<MeterReading>? DecideWitnessedReading(ChargingSessionState state, WitnessedReading reading, NetworkId network, DeviceKeyPair nodeKey, Timestamp now)
    {
        if (state.Started is not { Witnessed: true } started || state.Record is not null || state.End is not null || state.Unconsented) return null;
        var last = state.LastReading!.Payload;
        if (reading.RegisterWh < last.Register.WattHours || (reading.RegisterWh == last.Register.WattHours && !reading.Final)) return null;
        return Signed<MeterReading>.Sign(new MeterReading(network, started.Charger, last.Sequence + 1, now > last.Time ? now : last.Time,
            new EnergyWh(reading.RegisterWh)), nodeKey);
    }

    /// <summary>
    /// What a witnessed meter value is to the session: the final one stops it with that reading; any other is
    /// progress taken at once. None when the value is ignored (see <see cref="DecideWitnessedReading"/>).
    /// </summary>
    public static object? DecideWitnessed(ChargingSessionState state, WitnessedReading reading, NetworkId network, DeviceKeyPair nodeKey, Timestamp now)
    {
        if (DecideWitnessedReading(state, reading, network, nodeKey, now) is not { } signed) return null;
        return reading.Final ? new SessionStopRequested(signed.ToArray(), now) : ReadingTaken(state, signed);
    }

    // Payments

    /// <summary>
    /// A voucher the session may hand to its channel: on the session's channel, naming this session, and not
    /// paying the session more than it owes. The channel verifies the signature and persists it.
    /// </summary>
    public static Result<Signed<Voucher>> DecidePayment(ChargingSessionState state, SessionId session, DeviceId vehicle, byte[] wire)
    {
        var refused = CheckParty(state, session, vehicle, isCharger: false, allowStopping: true);
        if (refused is not null) return refused;
        if (state.Channel is not { } channel) return new SessionNotAccepted(session);
        var decoded = Signed<Voucher>.Decode(wire);
        if (!decoded.IsOk) return decoded.Error;
        var voucher = decoded.Value.Payload;
        if (voucher.ChannelId != channel) return new ChannelNotUsable(session, voucher.ChannelId, $"is not the session's channel {channel}");
        // Only a voucher that names this session pays it: its increment then counts for nothing else.
        if (session.Purpose.IsNone || voucher.Purpose != session.Purpose) return new VoucherForAnotherPurpose(session, voucher.Purpose.ToString());
        var paid = state.Paid.Add(voucher.Increment);
        if (!paid.IsOk) return paid.Error;
        var owed = state.Owed;
        if (paid.Value > owed) return new PaymentAboveOwed(session, paid.Value.MinorUnits, owed.MinorUnits);
        return decoded.Value;
    }

    /// <summary>
    /// What the channel's acknowledgement of a voucher adds: the channel's sum for this session (answers may
    /// arrive out of order; sums only grow) and the voucher, if it is the newest.
    /// </summary>
    public static ProgressTaken? DecideAcknowledged(ChargingSessionState state, SessionId session, Signed<Voucher> voucher, VoucherAcknowledged ack)
    {
        var paid = ack.Purpose == session.Purpose && ack.PaidForPurpose is { } sum ? sum : state.Paid;
        return Progress(state, null, voucher, paid);
    }

    /// <summary>What the channel's answer to a voucher adds: what an acknowledgement adds (<see cref="DecideAcknowledged"/>); nothing for a refusal or no answer.</summary>
    public static ProgressTaken? DecideVoucherAnswered(ChargingSessionState state, SessionId session, Signed<Voucher> voucher, object answer) =>
        answer is VoucherAcknowledged ack ? DecideAcknowledged(state, session, voucher, ack) : null;

    /// <summary>
    /// After a restart, what the session asks its channel before anything else: what the vouchers naming it paid (the
    /// channel holds them durably; the session writes them with its next reading). None without a channel, or once completed.
    /// </summary>
    public static GetPurposePaid? PaidToAsk(ChargingSessionState state, SessionId session) =>
        state.Channel is { } channel && state.Record is null ? new GetPurposePaid(channel, session.Purpose) : null;

    /// <summary>After a restart, what the channel says is durably paid for the session, if it is more than the session's own.</summary>
    public static ProgressTaken? DecideAdopt(ChargingSessionState state, SessionId session, PurposePaid? answer)
    {
        if (answer is null || answer.ChannelId != state.Channel || answer.Purpose != session.Purpose) return null;
        var voucher = answer.Voucher is not null && Signed<Voucher>.Decode(answer.Voucher) is { IsOk: true } decoded ? decoded.Value : null;
        var paid = answer.Paid.Currency == state.Paid.Currency ? answer.Paid : state.Paid;
        return Progress(state, null, voucher, paid);
    }

    /// <summary>A progress event for what is newer than the state holds, or none when nothing is.</summary>
    private static ProgressTaken? Progress(ChargingSessionState state, Signed<MeterReading>? reading, Signed<Voucher>? voucher, Money paid)
    {
        var newerVoucher = IsNewer(state, voucher) ? voucher : null;
        var morePaid = IsMore(state, paid);
        if (reading is null && newerVoucher is null && !morePaid) return null;
        return new ProgressTaken(reading, newerVoucher, morePaid ? paid : state.Paid);
    }

    private static bool IsNewer(ChargingSessionState state, Signed<Voucher>? voucher) =>
        voucher is not null && voucher.Payload.Sequence > (state.BestVoucher?.Payload.Sequence ?? 0);

    private static bool IsMore(ChargingSessionState state, Money paid) => paid.Currency == state.Paid.Currency && paid > state.Paid;

    /// <summary>The durable form of the state's progress: its newest reading and voucher and what is paid.</summary>
    public static SessionProgressed ToProgressed(ChargingSessionState state) =>
        new(state.Latest?.ToArray(), state.BestVoucher?.ToArray(), state.Paid);

    /// <summary>
    /// Suspends when what is owed and unpaid exceeds the credit, and resumes once it no longer does. A stopping
    /// session is not suspended anew: its charger has stopped already.
    /// </summary>
    public static object? DecideCredit(ChargingSessionState state, Timestamp now)
    {
        if (state.Started is not { } started) return null;
        var overCredit = state.UnpaidMinorUnits > started.Credit.MinorUnits;
        if (!state.Suspended && overCredit && state.End is null) return new SessionSuspended(state.Owed, state.Paid, now);
        if (state.Suspended && !overCredit) return new SessionResumed(state.Owed, state.Paid, now);
        return null;
    }

    // Stopping

    /// <summary>
    /// The charger's end reading. The same stop again is a repeat, answered without a new event (none is
    /// returned); the last reading again may end the session.
    /// </summary>
    public static Result<SessionStopRequested?> DecideStop(ChargingSessionState state, SessionId session, StopSession command, NetworkId network, Timestamp now)
    {
        if (state.Started is { } started && state.End is not null && command.Charger == started.Charger && state.End.Wire.SequenceEqual(command.Reading))
            return (SessionStopRequested?)null;
        var refused = CheckParty(state, session, command.Charger, isCharger: true);
        if (refused is not null) return refused;
        var decoded = Signed<MeterReading>.Decode(command.Reading);
        if (!decoded.IsOk) return decoded.Error;
        var last = state.LastReading!;
        if (!decoded.Value.Wire.SequenceEqual(last.Wire))
        {
            var accepted = MeterReadings.Accept(decoded.Value, network, state.Started!.Charger, state.MeterKey!, last.Payload);
            if (!accepted.IsOk) return accepted.Error;
        }
        return new SessionStopRequested(decoded.Value.ToArray(), now);
    }

    /// <summary>The charge record, once the session is stopped and not yet completed.</summary>
    public static SessionCompleted? DecideCompletion(ChargingSessionState state, SessionId session, Timestamp now)
    {
        if (state.Record is not null || state.End is null) return null;
        var started = state.Started!;
        var owed = state.Owed;
        var paid = state.Paid;
        var outstanding = owed.Subtract(paid).Unwrap() is { IsNegative: false } rest ? rest : Money.Zero(owed.Currency);
        return new SessionCompleted(new ChargeRecord(session, started.Charger, started.Vehicle, state.Channel, started.StartReading,
            state.End.ToArray(), state.DeliveredWh, started.PricePerKwh, owed, paid, outstanding, state.BestVoucher?.ToArray(),
            state.Suspensions, started.At, now));
    }

    // What the session's parties and callers are told

    /// <summary>
    /// What the session's parties are told once <paramref name="e"/> is taken (<paramref name="state"/> is the state
    /// after it), each event framed for the device it goes to. The charger hears that the vehicle accepted and
    /// whether to suspend or resume; the vehicle hears each reading once it accepted (and, as it accepts, the
    /// newest one before), and the end; both get the charge record, written with the network's JSON options
    /// (<paramref name="json"/>: the shell's, which spell identifiers and money as every other body does).
    /// </summary>
    public static IReadOnlyList<DeviceEvent> Notices(ChargingSessionState state, SessionId session, object e, System.Text.Json.JsonSerializerOptions json)
    {
        if (state.Started is not { } started) return [];
        return e switch
        {
            SessionChannelBound b when state.Latest is { } latest =>
                [DeviceEvents.Of(started.Charger, new SessionAcceptedEvent(session, b.Channel)), DeviceEvents.Of(started.Vehicle, ReadingEvent(state, session, latest))],
            SessionChannelBound b => [DeviceEvents.Of(started.Charger, new SessionAcceptedEvent(session, b.Channel))],
            ProgressTaken { Reading: { } reading } when state.Channel is not null => [DeviceEvents.Of(started.Vehicle, ReadingEvent(state, session, reading))],
            SessionSuspended s => [DeviceEvents.Of(started.Charger, new SessionSuspendEvent(session, s.Owed.MinorUnits, s.Paid.MinorUnits, started.Credit.MinorUnits))],
            SessionResumed r => [DeviceEvents.Of(started.Charger, new SessionResumeEvent(session, r.Owed.MinorUnits, r.Paid.MinorUnits))],
            SessionStopRequested when state.Channel is not null => [DeviceEvents.Of(started.Vehicle, ReadingEvent(state, session, state.End!))],
            SessionCompleted c => RecordFor(started, c.Record, json),
            _ => [],
        };
    }

    /// <summary>The charge record as both parties get it: the network's JSON of the record.</summary>
    private static DeviceEvent[] RecordFor(SessionStarted started, ChargeRecord record, System.Text.Json.JsonSerializerOptions json)
    {
        var body = System.Text.Json.JsonSerializer.SerializeToElement(record, json);
        return [DeviceEvents.Of(started.Charger, GatewayEvents.SessionCompleted, body), DeviceEvents.Of(started.Vehicle, GatewayEvents.SessionCompleted, body)];
    }

    /// <summary>
    /// What the charger is told of a payment: nothing while an answer to a reading of its own waits to be sent (that
    /// answer says what is paid), else what is owed and paid now.
    /// </summary>
    public static DeviceEvent? PaidNotice(ChargingSessionState state, SessionId session, bool readingAnswerWaiting) =>
        readingAnswerWaiting || state.Started is not { } started ? null
            : DeviceEvents.Of(started.Charger, new SessionPaidEvent(session, state.Owed.MinorUnits, state.Paid.MinorUnits));

    public static SessionOfferEvent Offer(ChargingSessionState state, SessionId session)
    {
        var started = state.Started!;
        return new SessionOfferEvent(session, started.Charger, started.Payee, started.MeterKeyHex, started.Witnessed, started.PricePerKwh.MinorUnits,
            started.Credit.MinorUnits, started.PricePerKwh.Currency, started.StartReading);
    }

    /// <summary>A reading passed to the vehicle with the session's energy up to it, and what is owed and paid now.</summary>
    public static SessionReadingEvent ReadingEvent(ChargingSessionState state, SessionId session, Signed<MeterReading> reading) =>
        new(session, reading.Wire.ToArray(), reading.Payload.Register.WattHours - state.Start!.Payload.Register.WattHours, state.Owed.MinorUnits,
            state.Paid.MinorUnits, state.End is not null);

    /// <summary>What a session is answered when asked about: where it stands, or that there is none of its id.</summary>
    public static object Get(ChargingSessionState state, SessionId session) => state.IsStarted ? View(state, session) : Refusal.From(new SessionNotFound(session));

    public static SessionProgress Progress(ChargingSessionState state, SessionId session) =>
        new(session, state.Status, state.DeliveredWh, state.Owed, state.Paid);

    public static SessionView View(ChargingSessionState state, SessionId session)
    {
        var started = state.Started!;
        return new(session, state.Status, started.Charger, started.Vehicle, state.Channel, started.PricePerKwh, started.Credit,
            state.DeliveredWh, state.Owed, state.Paid, state.Suspensions, state.Record);
    }

    // Evolving

    /// <summary>The one way a session's state changes, live and in recovery alike.</summary>
    public static ChargingSessionState Evolve(ChargingSessionState state, object e) => e switch
    {
        SessionStarted s => state with
        {
            Started = s,
            Start = Signed<MeterReading>.Decode(s.StartReading).Unwrap(),
            MeterKey = DevicePublicKey.FromHex(s.MeterKeyHex).Unwrap(),
            Paid = Money.Zero(s.PricePerKwh.Currency),
        },
        SessionChannelBound b => state with { Channel = b.Channel },
        ProgressTaken p => Progressed(state, p.Reading, p.Voucher, p.Paid),
        SessionProgressed p => Progressed(state,
            p.Reading is null ? null : Signed<MeterReading>.Decode(p.Reading).Unwrap(),
            p.Voucher is null ? null : Signed<Voucher>.Decode(p.Voucher).Unwrap(),
            p.Paid),
        SessionSuspended => state with { Suspended = true, Suspensions = state.Suspensions + 1 },
        SessionResumed => state with { Suspended = false },
        SessionStopRequested stop => state with { End = Signed<MeterReading>.Decode(stop.EndReading).Unwrap() },
        SessionCompleted c => state with { Record = c.Record, Suspended = false },
        SessionConsentExpired => state with { Unconsented = true },
        _ => state,
    };

    /// <summary>
    /// Takes a reading, a voucher and what is paid, the voucher and the sum only if newer than the state's:
    /// answers of the channel may arrive out of order, and what is paid never shrinks.
    /// </summary>
    private static ChargingSessionState Progressed(ChargingSessionState state, Signed<MeterReading>? reading, Signed<Voucher>? voucher, Money paid) => state with
    {
        Latest = reading ?? state.Latest,
        BestVoucher = IsNewer(state, voucher) ? voucher : state.BestVoucher,
        Paid = IsMore(state, paid) ? paid : state.Paid,
    };
}
