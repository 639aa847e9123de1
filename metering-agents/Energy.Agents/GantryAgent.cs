using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Channels.Tolls;
using Energy.Wire;

namespace Energy.Agents;

/// <summary>
/// A free-flow gantry: it keeps its own key, learns its price from the network (time band, congestion),
/// and for each vehicle it sees signs a toll request and waits for the network to confirm the payment
/// or record the violation.
/// </summary>
public sealed class GantryAgent(NetworkId network, DeviceId id, Currency currency) : IDisposable
{
    private readonly DeviceKeyPair _key = DeviceKeyPair.Generate();
    private readonly ConcurrentDictionary<PassId, TaskCompletionSource<PassOutcome>> _outcomes = new();
    private GatewayClient? _gateway;
    private long _price;
    private SegmentId _segment;

    public NetworkId Network { get; } = network;
    public DeviceId Id { get; } = id;
    public DevicePublicKey PublicKey => _key.PublicKey;
    public long Price => Interlocked.Read(ref _price);

    /// <summary>How long the gantry waits for the network's verdict on a pass.</summary>
    public TimeSpan VerdictTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public sealed record PassOutcome(PassId Pass, bool Paid, long PaidMinorUnits, string? Violation, TimeSpan Latency);

    /// <summary>Authenticates and reads its tariff's current price and segment.</summary>
    public async Task ConnectAsync(GatewayClient gateway)
    {
        _gateway = gateway;
        await gateway.AuthenticateAsync(Id, _key, OnEvent);
        var view = WireJson.Read<GantryReply>(await gateway.CallAsync(Id, new GetGantryCall()));
        if (view.Segment is not { } segment || view.Price is not { } price) throw new InvalidOperationException($"{Id} has no tariff: its operator configures it first");
        _segment = segment;
        Interlocked.Exchange(ref _price, price.MinorUnits);
    }

    /// <summary>Signs a toll request for a vehicle, in this gantry's name or another's (tests use it to forge or replay requests).</summary>
    public Signed<TollRequest> SignRequest(DeviceId vehicle, Timestamp at, long price, SegmentId? segment = null, DeviceId? gantry = null) =>
        Signed<TollRequest>.Sign(new TollRequest(Network, gantry ?? Id, vehicle, segment ?? _segment, at, new Money(price, currency)), _key);

    /// <summary>A vehicle passes: request, then the network's verdict. The latency runs from detection to the verdict.</summary>
    public async Task<PassOutcome> PassAsync(DeviceId vehicle, Timestamp? seenAt = null)
    {
        var clock = Stopwatch.StartNew();
        var at = seenAt ?? Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        var price = Price;
        JsonElement pass;
        try
        {
            pass = await _gateway!.CallAsync(Id, new TollPassCall(SignRequest(vehicle, at, price).ToArray()));
        }
        catch (GatewayRefusedException refused) when (ErrorCodes.Is<TollPriceChanged>(refused.Code))
        {
            // The price moved (congestion) before this gantry heard: the network tells it the new one; ask again once at that price.
            await WaitForPriceOtherThanAsync(price, TimeSpan.FromSeconds(2));
            pass = await _gateway!.CallAsync(Id, new TollPassCall(SignRequest(vehicle, at, Price).ToArray()));
        }
        var passId = WireJson.Read<TollPassReply>(pass).Pass;
        var outcome = _outcomes.GetOrAdd(passId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            var verdict = await outcome.Task.WaitAsync(VerdictTimeout);
            return verdict with { Latency = clock.Elapsed };
        }
        finally
        {
            _outcomes.TryRemove(passId, out _);
        }
    }

    private TaskCompletionSource _priceChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task WaitForPriceOtherThanAsync(long price, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Price == price && DateTime.UtcNow < deadline)
        {
            var changed = Volatile.Read(ref _priceChanged).Task;
            if (Price != price) return;
            await Task.WhenAny(changed, Task.Delay(deadline - DateTime.UtcNow));
        }
    }

    private ValueTask OnEvent(string name, JsonElement body)
    {
        switch (name)
        {
            case GatewayEvents.TollPrice:
                Interlocked.Exchange(ref _price, WireJson.Read<TollPriceEvent>(body).Price);
                Interlocked.Exchange(ref _priceChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                break;
            case GatewayEvents.TollConfirmed:
                var confirmed = WireJson.Read<TollConfirmedEvent>(body);
                Verdict(confirmed.Pass, new PassOutcome(confirmed.Pass, true, confirmed.Paid, null, default));
                break;
            case GatewayEvents.TollViolation:
                var violation = WireJson.Read<TollViolationEvent>(body);
                Verdict(violation.Pass, new PassOutcome(violation.Pass, false, 0, violation.Cause, default));
                break;
        }
        return ValueTask.CompletedTask;
    }

    // The verdict can arrive before the answer to the pass itself: whichever comes first creates the waiter.
    private void Verdict(PassId pass, PassOutcome outcome) =>
        _outcomes.GetOrAdd(pass, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(outcome);

    public void Dispose() => _key.Dispose();
}
