using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Channels.Streaming;
using Energy.Channels.Tolls;
using Energy.Wire;

namespace Energy.Agents;

/// <summary>
/// A vehicle: it keeps its own key, opens streaming channels to the operators it pays, and during a
/// charging session verifies every meter reading (signed by the meter the network named in the offer;
/// sequence, time and register only go up) and pays what the session's energy costs at the offered
/// tariff with a new cumulative voucher. It never pays for a reading it could not verify.
/// </summary>
public sealed class VehicleAgent : IDisposable
{
    private readonly DeviceKeyPair _key = DeviceKeyPair.Generate();
    private readonly ConcurrentDictionary<PartyId, PayingChannel> _channels = new();
    private readonly ConcurrentDictionary<SessionId, SessionState> _sessions = new();
    private readonly Channel<(string Event, JsonElement Body)> _events = Channel.CreateBounded<(string, JsonElement)>(1_024);
    private readonly SemaphoreSlim _paying = new(16);
    private GatewayClient? _gateway;
    private Task _loop = Task.CompletedTask;

    public VehicleAgent(NetworkId network, DeviceId id)
    {
        Network = network;
        Id = id;
    }

    public NetworkId Network { get; }
    public DeviceId Id { get; }
    public DevicePublicKey PublicKey => _key.PublicKey;
    public PartyId Party => PartyId.From(Id);

    /// <summary>A copy of the vehicle's key, for its own signed reads of the API (its channels, its account).</summary>
    public DeviceKeyPair ExportKey() => DeviceKeyPair.FromSeed(_key.ExportSeed()).Unwrap();

    /// <summary>When set, the vehicle stops paying after this many vouchers (a test plays a vehicle that does not pay).</summary>
    public int? StopPayingAfter { get; set; }

    public int Payments => _payments;

    /// <summary>Holds back payments (the newest voucher goes out on release: vouchers are cumulative).</summary>
    public void HoldPayments() => _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleasePayments() => _held?.TrySetResult();

    private TaskCompletionSource? _held;
    private int _payments;
    private int _signed;

    /// <summary>Readings and payments the vehicle or the network refused, with their error codes.</summary>
    public ConcurrentQueue<string> Refusals { get; } = new();

    /// <summary>The charge records of completed sessions.</summary>
    public ConcurrentDictionary<string, JsonElement> Records { get; } = new();

    /// <summary>Fires with each completed session's record.</summary>
    public event Action<SessionId, JsonElement>? Completed;

    public sealed class PayingChannel(ChannelId id, Money deposit)
    {
        public ChannelId Id { get; } = id;
        public Money Deposit { get; } = deposit;
        public Money Cumulative { get; set; } = Money.Zero(deposit.Currency);
        public ulong Sequence { get; set; }
        public object Gate { get; } = new();
    }

    private sealed record SessionState(SessionId Session, PaymentPurpose Purpose, PayingChannel Channel, DeviceId Meter, DevicePublicKey MeterKey, Tariff Tariff, MeterReading Start)
    {
        public MeterReading Last { get; set; } = Start;

        /// <summary>What the vouchers naming this session added in all (the channel also carries tolls and other sessions).</summary>
        public Money Paid { get; set; } = Money.Zero(Tariff.MinorUnitsPerKwh.Currency);
    }

    /// <summary>Opens a streaming channel to <paramref name="payee"/> with a deposit from the vehicle's funded account.</summary>
    public async Task<PayingChannel> OpenChannelAsync(NodeClient node, ChannelId channel, PartyId payee, Money deposit, DurationMs challengeWindow)
    {
        await node.OpenChannelAsync(channel.Value, Signed<StreamingOpening>.Sign(
            new StreamingOpening(Network, channel, Party, payee, deposit, challengeWindow), _key).ToArray());
        var paying = new PayingChannel(channel, deposit);
        _channels[payee] = paying;
        return paying;
    }

    public PayingChannel? ChannelTo(PartyId payee) => _channels.GetValueOrDefault(payee);

    /// <summary>Signs a voucher on a channel (tests use it to play a vehicle that signs what it should not).</summary>
    public byte[] SignVoucher(ChannelId channel, ulong sequence, Money cumulative, Money increment, PaymentPurpose purpose) =>
        Signed<Voucher>.Sign(new Voucher(Network, channel, sequence, cumulative, increment, purpose), _key).ToArray();

    /// <summary>Authenticates on a gateway connection and starts answering session events.</summary>
    public async Task ConnectAsync(GatewayClient gateway)
    {
        _gateway = gateway;
        await gateway.AuthenticateAsync(Id, _key, (name, body) => _events.Writer.WriteAsync((name, body)));
        _loop = Task.Run(ProcessAsync);
    }

    private async Task ProcessAsync()
    {
        await foreach (var (name, body) in _events.Reader.ReadAllAsync())
        {
            try
            {
                switch (name)
                {
                    case GatewayEvents.SessionOffer:
                        await OnOfferAsync(WireJson.Read<SessionOfferEvent>(body));
                        break;
                    case GatewayEvents.SessionReading:
                        await OnReadingAsync(WireJson.Read<SessionReadingEvent>(body));
                        break;
                    case GatewayEvents.TollRequest:
                        await OnTollAsync(WireJson.Read<TollRequestEvent>(body));
                        break;
                    case GatewayEvents.SessionCompleted:
                        // The charge record is kept whole, as the network wrote it.
                        var session = WireJson.Read<SessionCompletedEvent>(body).Session;
                        Records[session.Value] = body;
                        _sessions.TryRemove(session, out _);
                        Completed?.Invoke(session, body);
                        break;
                }
            }
            catch (GatewayRefusedException refused)
            {
                Refusals.Enqueue(refused.Code);
            }
            catch (JsonException)
            {
                // A body that is not the event's record is noted and skipped: the next event is still answered.
                Refusals.Enqueue("MalformedEvent");
            }
        }
    }

    private string? _pluggedInto;

    /// <summary>The charger the vehicle is plugged into: it consents only to sessions offered from there.</summary>
    public DeviceId? PluggedInto => Volatile.Read(ref _pluggedInto) is { } charger ? new DeviceId(charger) : null;

    /// <summary>The driver plugs the vehicle into a charger (the scenario tells the agent, as the car's own sensors would).</summary>
    public void PlugInto(DeviceId charger) => Volatile.Write(ref _pluggedInto, charger.Value);

    public void Unplug() => Volatile.Write(ref _pluggedInto, null);

    private async Task OnOfferAsync(SessionOfferEvent offer)
    {
        var session = offer.Session;
        // A vehicle pays only for a session it consented to: one offered by the charger it is plugged into.
        if (PluggedInto is not { } plug || plug != offer.Charger)
        {
            Refusals.Enqueue("NotPluggedIn");
            return;
        }
        var currency = offer.Currency;
        var channel = ChannelTo(offer.Payee);
        if (channel is null || channel.Deposit.Currency != currency)
        {
            Refusals.Enqueue("NoChannelToPayee");
            return;
        }
        var meterKey = DevicePublicKey.FromHex(offer.MeterKey);
        var start = Signed<MeterReading>.Decode(offer.StartReading);
        var meter = offer.Charger;
        if (!meterKey.IsOk || !start.IsOk)
        {
            Refusals.Enqueue(meterKey.Error?.Code ?? start.Error!.Code);
            return;
        }
        var accepted = MeterReadings.Accept(start.Value, Network, meter, meterKey.Value, null);
        if (!accepted.IsOk)
        {
            Refusals.Enqueue(accepted.Error!.Code);
            return;
        }
        _sessions[session] = new SessionState(session, session.Purpose, channel, meter, meterKey.Value,
            new Tariff(new Money(offer.PricePerKwh, currency)), accepted.Value);
        await _gateway!.CallAsync(Id, new AcceptSessionCall(session, channel.Id));
    }

    private async Task OnReadingAsync(SessionReadingEvent body)
    {
        var session = body.Session;
        if (!_sessions.TryGetValue(session, out var state)) return;
        var signed = Signed<MeterReading>.Decode(body.Reading);
        if (!signed.IsOk) { Refusals.Enqueue(signed.Error!.Code); return; }
        // The same reading again (the final one repeats the last) is verified already and owes nothing new.
        var accepted = signed.Value.Payload == state.Last
            ? (Result<MeterReading>)state.Last
            : MeterReadings.Accept(signed.Value, Network, state.Meter, state.MeterKey, state.Last);
        if (!accepted.IsOk) { Refusals.Enqueue(accepted.Error!.Code); return; }
        state.Last = accepted.Value;
        if (StopPayingAfter is { } limit && _signed >= limit) return;
        if (_held is { } held && !held.Task.IsCompleted)
        {
            // While held, later readings queue behind this one; on release the newest is paid after it.
            await held.Task;
        }
        var energy = accepted.Value.Register.Subtract(state.Start.Register).Unwrap();
        var owed = energy.PriceAt(state.Tariff).Unwrap();
        byte[] voucher;
        lock (state.Channel.Gate)
        {
            // The voucher adds what this session owes beyond what its own vouchers paid, and names the session.
            var increment = owed.Subtract(state.Paid).Unwrap();
            if (increment.MinorUnits <= 0) return;
            var cumulative = state.Channel.Cumulative.Add(increment).Unwrap();
            if (cumulative > state.Channel.Deposit) { Refusals.Enqueue("DepositExhausted"); return; }
            state.Channel.Sequence++;
            _signed++;
            state.Channel.Cumulative = cumulative;
            state.Paid = owed;
            voucher = SignVoucher(state.Channel.Id, state.Channel.Sequence, cumulative, increment, state.Purpose);
        }
        // Payments are pipelined (bounded): the next reading is verified while this voucher is on its way.
        await _paying.WaitAsync();
        _ = PayAsync(session, voucher);
    }

    private Task PayAsync(SessionId session, byte[] voucher) =>
        SendPaymentAsync(new PaySessionCall(session, voucher), () => Interlocked.Increment(ref _payments));

    /// <summary>Sends a payment (pipelined: the caller took a slot of <see cref="_paying"/>, released here) and notes a refusal.</summary>
    private async Task SendPaymentAsync<TCall>(TCall payment, Action onAcknowledged) where TCall : IGatewayCall
    {
        try
        {
            await _gateway!.CallAsync(Id, payment);
            onAcknowledged();
        }
        catch (GatewayRefusedException refused)
        {
            Refusals.Enqueue(refused.Code);
        }
        finally
        {
            _paying.Release();
        }
    }

    /// <summary>How this vehicle answers toll requests (tests play vehicles that misbehave).</summary>
    public TollAnswer Tolls { get; set; } = TollAnswer.Pay;

    public enum TollAnswer { Pay, Ignore, Underpay, PayWrongChannel }

    /// <summary>The highest toll this vehicle pays without its driver's say.</summary>
    public long MaxToll { get; set; } = 10_000;

    public int TollsPaid => _tollsPaid;
    private int _tollsPaid;

    /// <summary>
    /// A gantry asks for a toll: the vehicle checks the request (its own identity, the gantry's key, a sane
    /// price) and pays the price with the next voucher on its channel to the toll operator; with no
    /// channel, or not enough deposit left, it says so at once rather than let the gantry wait.
    /// </summary>
    private async Task OnTollAsync(TollRequestEvent body)
    {
        var pass = body.Pass;
        var signed = Signed<TollRequest>.Decode(body.Request);
        var gantryKey = DevicePublicKey.FromHex(body.GantryKey);
        if (!signed.IsOk || !gantryKey.IsOk) { Refusals.Enqueue(signed.Error?.Code ?? gantryKey.Error!.Code); return; }
        var currency = body.Currency;
        var verified = TollRequests.Verify(signed.Value, Network, Id, gantryKey.Value, new Money(MaxToll, currency));
        if (!verified.IsOk) { Refusals.Enqueue(verified.Error!.Code); return; }
        if (Tolls == TollAnswer.Ignore) return;
        var payee = body.Payee;
        var channel = Tolls == TollAnswer.PayWrongChannel ? _channels.Values.FirstOrDefault(c => c != ChannelTo(payee)) : ChannelTo(payee);
        if (channel is null)
        {
            await DeclineAsync(pass, TollDeclineReasons.NoChannel);
            return;
        }
        var price = new Money(verified.Value.Price.MinorUnits - (Tolls == TollAnswer.Underpay ? 1 : 0), currency);
        var purpose = pass.Purpose;
        byte[] voucher;
        lock (channel.Gate)
        {
            var cumulative = channel.Cumulative.Add(price);
            if (!cumulative.IsOk || cumulative.Value > channel.Deposit) voucher = [];
            else
            {
                channel.Sequence++;
                channel.Cumulative = cumulative.Value;
                // The voucher names the pass: its increment pays this pass and nothing else.
                voucher = SignVoucher(channel.Id, channel.Sequence, cumulative.Value, price, purpose);
            }
        }
        if (voucher.Length == 0)
        {
            await DeclineAsync(pass, TollDeclineReasons.DepositExhausted);
            return;
        }
        await _paying.WaitAsync();
        _ = PayTollAsync(pass, channel, voucher);
    }

    private async Task PayTollAsync(PassId pass, PayingChannel channel, byte[] voucher)
    {
        try
        {
            var answer = await _gateway!.CallAsync(Id, new PayTollCall(pass, voucher));
            Interlocked.Increment(ref _tollsPaid);
            if (!PassWasPaid(answer)) await ReadBackAsync(channel);
        }
        catch (GatewayRefusedException refused)
        {
            Refusals.Enqueue(refused.Code);
            await ReadBackAsync(channel);
        }
        finally
        {
            _paying.Release();
        }
    }

    private static bool PassWasPaid(JsonElement answer) =>
        answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.String
        && status.GetString() == "paid";

    /// <summary>
    /// A toll voucher that did not pay its pass may never have reached the channel (the pass resolved before it did),
    /// while this vehicle counted it: every later voucher would then build on an amount the channel never took and be
    /// refused. The channel's own paid amount and last sequence are read back, and the next voucher follows them. Should
    /// another voucher land meanwhile, the next one is refused once more and read back again: the channel never takes an
    /// amount twice, so reading back can only cost a pass, never pay one twice.
    /// </summary>
    private async Task ReadBackAsync(PayingChannel channel)
    {
        try
        {
            var view = await _gateway!.CallAsync(Id, new GetChannelCall(channel.Id));
            var paid = view.GetProperty("paid").GetProperty("minorUnits").GetInt64();
            var sequence = view.GetProperty("lastSequence").GetUInt64();
            lock (channel.Gate)
            {
                channel.Cumulative = new Money(paid, channel.Cumulative.Currency);
                channel.Sequence = Math.Max(channel.Sequence, sequence);
            }
        }
        catch (Exception unread) when (unread is GatewayRefusedException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            Refusals.Enqueue("ChannelNotReadBack");
        }
    }

    private async Task DeclineAsync(PassId pass, string reason)
    {
        try { await _gateway!.CallAsync(Id, new DeclineTollCall(pass, reason)); }
        catch (GatewayRefusedException refused) { Refusals.Enqueue(refused.Code); }
    }

    public void Dispose()
    {
        _events.Writer.TryComplete();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _key.Dispose();
        _paying.Dispose();
    }
}
