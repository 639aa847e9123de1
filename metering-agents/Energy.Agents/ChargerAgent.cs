using System.Collections.Concurrent;
using System.Text.Json;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Metering;
using Energy.Channels.Primitives;
using Energy.Wire;

namespace Energy.Agents;

/// <summary>
/// A charger with its meter: it keeps its own key, signs a meter reading for every increment of energy it
/// delivers, and delivers the next increment only while what the vehicle owes and has not paid stays
/// within the credit it grants; past that it suspends until the network reports the vehicle paid (or,
/// after a bounded wait, stops the session). A session ends with the network's charge record.
/// </summary>
public sealed class ChargerAgent : IDisposable
{
    private readonly DeviceKeyPair _key = DeviceKeyPair.Generate();
    private readonly SemaphoreSlim _sending = new(16);
    private readonly ConcurrentQueue<string> _refusals = new();
    private GatewayClient? _gateway;
    private ulong _sequence;
    private long _registerWh;
    private Timestamp _lastTime;

    // The session in progress: what the network last reported, and signals for the waits.
    private SessionId? _session;
    private long _paid;
    private bool _networkSuspended;
    private TaskCompletionSource<bool> _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<JsonElement> _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _paidChanged = new(0);

    public ChargerAgent(NetworkId network, DeviceId id, Currency currency, long registerWh = 0)
    {
        Network = network;
        Currency = currency;
        Id = id;
        _registerWh = registerWh;
    }

    public NetworkId Network { get; }
    public Currency Currency { get; }

    /// <summary>The grid zone of the charger's site, sent with each session (null: not said).</summary>
    public string? Zone { get; init; }
    public DeviceId Id { get; }
    public DevicePublicKey PublicKey => _key.PublicKey;
    public long RegisterWh => _registerWh;

    /// <summary>Times this charger held back energy because payment fell behind by more than its credit.</summary>
    public int Suspensions { get; private set; }

    /// <summary>Times the network told this charger to suspend.</summary>
    public int NetworkSuspensions { get; private set; }

    public IReadOnlyCollection<string> Refusals => _refusals;

    /// <summary>How long a suspended charger waits to be paid before it ends the session.</summary>
    public TimeSpan SuspendTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan AcceptTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan CompleteTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public async Task ConnectAsync(GatewayClient gateway)
    {
        _gateway = gateway;
        await gateway.AuthenticateAsync(Id, _key, OnEvent);
    }

    /// <summary>Signs a reading of this charger's meter, or in another meter's name (tests use it to replay or forge readings).</summary>
    public Signed<MeterReading> SignReading(ulong sequence, Timestamp time, long registerWh, DeviceId? meter = null) =>
        Signed<MeterReading>.Sign(new MeterReading(Network, meter ?? Id, sequence, time, new EnergyWh(registerWh)), _key);

    private Signed<MeterReading> NextReading()
    {
        var now = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        _lastTime = now > _lastTime ? now : _lastTime;
        return SignReading(++_sequence, _lastTime, _registerWh);
    }

    /// <summary>
    /// Charges a plugged-in vehicle: <paramref name="readings"/> increments of <paramref name="whPerReading"/>,
    /// one every <paramref name="interval"/>, at <paramref name="pricePerKwh"/> minor units, granting
    /// <paramref name="credit"/> minor units of unpaid energy. Returns the charge record.
    /// </summary>
    public async Task<JsonElement> ChargeAsync(SessionId session, DeviceId vehicle, int readings, long whPerReading, long pricePerKwh, long credit,
        TimeSpan interval, CancellationToken token = default)
    {
        _session = session;
        _paid = 0;
        _networkSuspended = false;
        _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = NextReading();
        var startRegister = _registerWh;
        await _gateway!.CallAsync(Id, new StartSessionCall(session, vehicle, pricePerKwh, credit, start.ToArray(), Zone is null ? null : SegmentId.Of(Zone)));
        var accepted = await _accepted.Task.WaitAsync(AcceptTimeout, token).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default);
        var tariff = new Tariff(new Money(pricePerKwh, Currency));
        for (var i = 0; accepted && i < readings; i++)
        {
            token.ThrowIfCancellationRequested();
            // Deliver the next increment only if what would then be unpaid stays within the credit.
            var owedAfter = new EnergyWh(_registerWh + whPerReading - startRegister).PriceAt(tariff).Unwrap().MinorUnits;
            if (owedAfter - Volatile.Read(ref _paid) > credit)
            {
                Suspensions++;
                if (!await WaitForPaymentAsync(owedAfter - credit, token)) break;
            }
            _registerWh += whPerReading;
            var reading = NextReading();
            await _sending.WaitAsync(token);
            _ = SendAsync(new SessionReadingCall(session, reading.ToArray()));
            if (interval > TimeSpan.Zero) await Task.Delay(interval, token);
        }
        // Every reading is answered before the end reading goes out.
        for (var i = 0; i < 16; i++) await _sending.WaitAsync(token);
        _sending.Release(16);
        var end = NextReading();
        await _gateway.CallAsync(Id, new StopSessionCall(session, end.ToArray()));
        return await _completed.Task.WaitAsync(CompleteTimeout, token);
    }

    private async Task<bool> WaitForPaymentAsync(long needed, CancellationToken token)
    {
        var deadline = DateTime.UtcNow + SuspendTimeout;
        while (Volatile.Read(ref _paid) < needed)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await _paidChanged.WaitAsync(left, token)) return Volatile.Read(ref _paid) >= needed;
        }
        return true;
    }

    private async Task SendAsync(SessionReadingCall reading)
    {
        try
        {
            // The answer to a reading says what is paid so far: while readings flow the network tells no more.
            var answer = WireJson.Read<SessionReply>(await _gateway!.CallAsync(Id, reading));
            if (answer.Session == _session && answer.Paid is { } paid) NotePaid(paid.MinorUnits);
        }
        catch (GatewayRefusedException refused)
        {
            _refusals.Enqueue(refused.Code);
        }
        finally
        {
            _sending.Release();
        }
    }

    private ValueTask OnEvent(string name, JsonElement body)
    {
        switch (name)
        {
            case GatewayEvents.SessionAccepted when IsCurrent(WireJson.Read<SessionAcceptedEvent>(body).Session):
                _accepted.TrySetResult(true);
                break;
            case GatewayEvents.SessionPaid when WireJson.Read<SessionPaidEvent>(body) is var paid && IsCurrent(paid.Session):
                NotePaid(paid.Paid);
                break;
            case GatewayEvents.SessionResume when WireJson.Read<SessionResumeEvent>(body) is var resumed && IsCurrent(resumed.Session):
                _networkSuspended = false;
                NotePaid(resumed.Paid);
                break;
            case GatewayEvents.SessionSuspend when IsCurrent(WireJson.Read<SessionSuspendEvent>(body).Session):
                _networkSuspended = true;
                NetworkSuspensions++;
                break;
            case GatewayEvents.SessionCompleted when IsCurrent(WireJson.Read<SessionCompletedEvent>(body).Session):
                // The charge record is kept whole, as the network wrote it.
                _completed.TrySetResult(body);
                break;
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Events of an earlier session (late, or repeated) change nothing in the one in progress.</summary>
    private bool IsCurrent(SessionId session) => session == _session;

    private void NotePaid(long paid)
    {
        var known = Volatile.Read(ref _paid);
        while (paid > known)
        {
            var seen = Interlocked.CompareExchange(ref _paid, paid, known);
            if (seen == known)
            {
                _paidChanged.Release();
                return;
            }
            known = seen;
        }
    }

    public bool SuspendedByNetwork => _networkSuspended;

    public void Dispose()
    {
        _key.Dispose();
        _sending.Dispose();
        _paidChanged.Dispose();
    }
}
