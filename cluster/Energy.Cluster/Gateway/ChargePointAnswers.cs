using Akka.Actor;
using Energy.Lifecycles.ChargePoints;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Gateway;

/// <summary>
/// Where a charge point's entity answers the calls of one OCPP connection: the connection asks one call at a time (OCPP-J
/// sends a call only once the last one is answered), numbers each, and takes only the answer carrying the number it
/// waits for, so an answer that comes after its call was given up never answers the next one. It is an actor reference
/// of its own for the connection's lifetime (<see cref="RegisteredActorRef"/>).
/// </summary>
/// <remarks>
/// An ask made a temporary actor per call, and the entity keeps a reference to the last sender it answered until its
/// next message, ten seconds later for a charger sending MeterValues: every young collection then copied one of those per
/// connection into an older generation. The entity holds this reference instead, which lives as long as the connection.
/// </remarks>
public sealed class ChargePointAnswers : RegisteredActorRef
{
    private readonly Timer _hold;
    private readonly CancellationTokenRegistration _served;
    private readonly CancellationToken _servedToken;
    // The entity answers on its own thread: the connection goes on on the thread pool, not on the entity's time.
    private readonly ReusableWait<ChargePointResponse> _answer = new(runContinuationsAsynchronously: true);
    private long _asked;
    // The number of the call waited for, 0 when none: whoever swaps it to 0 (the answer, the hold running out, the connection
    // ending) completes the call, once.
    private long _awaited;
    private long _heldUntil;

    /// <param name="system">The node's actor system.</param>
    /// <param name="served">Cancelled when the connection ends: a call waited for then ends cancelled.</param>
    public ChargePointAnswers(ActorSystem system, CancellationToken served) : base(system)
    {
        _hold = new Timer(static answers => ((ChargePointAnswers)answers!).HoldEnded(), this, Timeout.Infinite, Timeout.Infinite);
        _servedToken = served;
        _served = served.Register(static answers => ((ChargePointAnswers)answers!).End(new OperationCanceledException("the connection ended"), 0), this);
    }

    /// <summary>
    /// Asks <paramref name="request"/> of the charge points' region, numbered; ends with its entity's answer, or with an
    /// <see cref="OperationCanceledException"/> when it has not come within <paramref name="hold"/> or the connection ended.
    /// One call at a time: the next is asked once this one has ended.
    /// </summary>
    public ValueTask<ChargePointResponse> AskAsync(IActorRef chargePoints, string chargePoint, string action, System.Text.Json.JsonElement payload, TimeSpan hold)
    {
        if (Volatile.Read(ref _awaited) != 0) throw new InvalidOperationException("a connection asks one call at a time");
        _servedToken.ThrowIfCancellationRequested();
        var answer = _answer.Start();
        var call = ++_asked;
        Volatile.Write(ref _heldUntil, Environment.TickCount64 + (long)hold.TotalMilliseconds);
        Volatile.Write(ref _awaited, call);
        _hold.Change(hold, Timeout.InfiniteTimeSpan);
        // The connection may have ended between the check and the number being set: then the call ends now.
        if (_servedToken.IsCancellationRequested) End(new OperationCanceledException("the connection ended"), call);
        else chargePoints.Tell(new ChargePointRequest(chargePoint, action, payload) { Call = call }, this);
        return answer;
    }

    protected override void TellInternal(object message, IActorRef sender)
    {
        switch (message)
        {
            case ChargePointResponse answer when answer.Call != 0 && Interlocked.CompareExchange(ref _awaited, 0, answer.Call) == answer.Call:
                _hold.Change(Timeout.Infinite, Timeout.Infinite);
                _answer.SetResult(answer);
                break;
            case Status.Failure failure:
                // The region could not take the call (it is shutting down): the call waited for, if any, fails with it.
                End(failure.Cause ?? new InvalidOperationException("the call failed"), 0);
                break;
            // Anything else is an answer to a call already ended; it is dropped.
        }
    }

    private void HoldEnded()
    {
        // The timer is set again for every call: one that fires for a call already answered finds the next one's hold not run out.
        if (Environment.TickCount64 < Volatile.Read(ref _heldUntil)) return;
        End(new OperationCanceledException("the network did not answer in time"), 0);
    }

    /// <summary>Ends the call waited for (only <paramref name="call"/> when it is not 0) with <paramref name="error"/>.</summary>
    private void End(Exception error, long call)
    {
        var awaited = Volatile.Read(ref _awaited);
        if (awaited == 0 || (call != 0 && awaited != call)) return;
        if (Interlocked.CompareExchange(ref _awaited, 0, awaited) != awaited) return;
        _hold.Change(Timeout.Infinite, Timeout.Infinite);
        _answer.SetException(error);
    }

    protected override void Ended()
    {
        End(new OperationCanceledException("the connection ended"), 0);
        _served.Dispose();
        _hold.Dispose();
    }
}
