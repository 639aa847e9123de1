using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Energy.Lifecycles.ChargePoints;
using Energy.Cluster.Kernel;
using Energy.Cluster.Network;
using Energy.Ocpp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Energy.Cluster.Gateway;

/// <summary>
/// OCPP 1.6J over WebSocket at /ocpp/{chargePointId}. The subprotocol ocpp1.6 is required and echoed.
/// The charge point authenticates before the upgrade (<see cref="OcppAuthenticator"/>): HTTP Basic with its
/// id and the password its operator set (security profile 1; profile 2 is the same over the node's TLS
/// port), or nothing where its operator allows that (profile 0). A refusal is an HTTP status, never an
/// upgrade. Every frame is bounded and validated against the 1.6 schemas before it reaches the charge
/// point's entity; anything else is answered with the CALLERROR code for what is wrong.
/// </summary>
public static class OcppEndpoint
{
    public const int MaxChargePointIdLength = 48;

    /// <summary>Each connection's own read buffer: most OCPP messages are a few hundred bytes; a longer one borrows from the pool while it is read.</summary>
    private const int SmallMessageBytes = 4 * 1024;

    public static IEndpointRouteBuilder MapOcpp(this IEndpointRouteBuilder app)
    {
        app.Map("/ocpp/{chargePointId}", HandleAsync);
        return app;
    }

    public static bool IsValidChargePointId(string id) =>
        id.Length is > 0 and <= MaxChargePointIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-');

    private static async Task HandleAsync(HttpContext context, string chargePointId, EnergyNetwork network, OcppAuthenticator authenticator, HeldCalls held,
        IHostApplicationLifetime lifetime)
    {
        if (!context.WebSockets.IsWebSocketRequest || !IsValidChargePointId(chargePointId))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("an OCPP 1.6J WebSocket connection to /ocpp/{chargePointId} is expected");
            return;
        }
        if (!context.WebSockets.WebSocketRequestedProtocols.Contains(Ocpp16.Subprotocol))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"the {Ocpp16.Subprotocol} subprotocol is required");
            return;
        }
        if (held.Busy)
        {
            // Busy waking entities: a new connection comes back later rather than adding to what the node holds.
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = ((int)held.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await context.Response.WriteAsync("the node is busy; connect again after Retry-After seconds");
            return;
        }
        if (!await AuthenticateAsync(context, chargePointId, authenticator)) return;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(Ocpp16.Subprotocol);
        // Answers and the network's own calls share the socket: one send at a time.
        using var sending = new SemaphoreSlim(1, 1);
        using var served = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        // A stopping node says goodbye (1001, going away) rather than keeping the charger until the host gives up waiting.
        using var stopping = lifetime.ApplicationStopping.Register(() =>
            _ = OcppConnection.CloseAsync(socket, sending, served, WebSocketCloseStatus.EndpointUnavailable, "the node is stopping"));
        using var answers = new ChargePointAnswers(network.System, served.Token);
        using var connection = new OcppConnection(network.System, chargePointId, socket, sending, served);
        var path = connection.Address;
        network.Regions.ChargePoints.Tell(new ChargePointConnected(chargePointId, path, network.Settings.Clock.Now.UnixMilliseconds));
        EnergyMetrics.OcppConnections.Add(1);
        try
        {
            await ServeAsync(chargePointId, socket, sending, network, held, answers, served.Token);
        }
        catch (OperationCanceledException) when (served.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            // Replaced by a newer connection of the same charge point, or the node is stopping: the charger was told so.
        }
        finally
        {
            EnergyMetrics.OcppConnections.Add(-1);
            network.Regions.ChargePoints.Tell(new ChargePointDisconnected(chargePointId, path));
        }
    }

    private static async Task ServeAsync(string chargePointId, WebSocket socket, SemaphoreSlim sending, EnergyNetwork network, HeldCalls held,
        ChargePointAnswers answers, CancellationToken served)
    {
        var message = new MessageBuffer(OcppFrames.MaxMessageBytes, SmallMessageBytes);
        // Each call is a trace of its own (see AnswerAsync), not a part of the upgrade request's that the connection is.
        System.Diagnostics.Activity.Current = null;
        try
        {
            while (socket.State == WebSocketState.Open && !served.IsCancellationRequested)
            {
                var kind = await message.ReceiveAsync(socket, served);
                if (kind == WebSocketMessageType.Close) break;
                if (message.TooLarge)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.MessageTooBig, "message over 64 KiB", CancellationToken.None);
                    break;
                }
                if (kind == WebSocketMessageType.Binary)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.InvalidMessageType, "OCPP-J messages are text", CancellationToken.None);
                    break;
                }
                var reply = await AnswerAsync(chargePointId, message.Content, network, held, answers, served);
                message.Shrink();
                if (reply is null) continue;
                await sending.WaitAsync(served);
                try { await socket.SendAsync(Encoding.UTF8.GetBytes(reply), WebSocketMessageType.Text, true, served); }
                finally { sending.Release(); }
            }
        }
        finally
        {
            message.Shrink();
        }
    }

    /// <summary>Answers a refused upgrade with its status and returns false; the body says no more than the status.</summary>
    private static async Task<bool> AuthenticateAsync(HttpContext context, string chargePointId, OcppAuthenticator authenticator)
    {
        var admission = await authenticator.AdmitAsync(chargePointId, context.Request.Headers.Authorization.ToString(), context.Connection.RemoteIpAddress,
            context.RequestAborted);
        var retryAfter = ((int)Math.Ceiling(admission.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        switch (admission.Outcome)
        {
            case OcppAdmissionOutcome.Accepted:
                return true;
            case OcppAdmissionOutcome.LockedOut:
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = retryAfter;
                await context.Response.WriteAsync("too many failed authentications; try again later");
                return false;
            case OcppAdmissionOutcome.NotReady:
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = retryAfter;
                await context.Response.WriteAsync("the node is starting");
                return false;
            case OcppAdmissionOutcome.Busy:
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = retryAfter;
                await context.Response.WriteAsync("the node is busy checking passwords; connect again after Retry-After seconds");
                return false;
            default:
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"OCPP\", charset=\"UTF-8\"";
                await context.Response.WriteAsync("authenticate with the charge point's id and the password its operator set");
                return false;
        }
    }

    /// <summary>
    /// The text to send back for one message, or null for none (answers to our own calls). A call is held for its entity's
    /// answer up to <see cref="EnergySettings.DeviceCallHold"/>, asked through the connection's <paramref name="answers"/>.
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<string?> AnswerAsync(string chargePointId, ReadOnlyMemory<byte> message, EnergyNetwork network, HeldCalls held,
        ChargePointAnswers answers, CancellationToken token)
    {
        var parsed = OcppFrames.ParseInPlace(message);
        if (parsed.Error is not null) return OcppFrames.CallError(parsed.UniqueId ?? "-1", parsed.Error);
        if (parsed.Frame is not OcppCall call) return null;
        var invalid = Ocpp16.Validate(call);
        if (invalid is not null) return OcppFrames.CallError(call.UniqueId, invalid);
        // A call is a trace of its own, not a part of the connection's; its action is one the schemas know. (The connection's
        // loop has let go of its request's already: setting it again would make an execution context per call.)
        if (System.Diagnostics.Activity.Current is not null) System.Diagnostics.Activity.Current = null;
        using var span = EnergyTracing.Source.StartActivity("ocpp.call", System.Diagnostics.ActivityKind.Server);
        if (span is not null)
        {
            span.DisplayName = "ocpp " + call.Action;
            span.SetTag("energy.ocpp.action", call.Action);
        }
        if (call.Action == Ocpp16Actions.BootNotification && held.Busy)
        {
            // OCPP's own "busy, retry": the charger boots again after the interval, and until then sends nothing else.
            span?.SetTag("energy.ocpp.pending", true);
            return OcppFrames.CallResult(call.UniqueId, Ocpp16Json.ToElement(ChargePointCalls.Pending(network.Settings.Clock.Now, held.RetryAfter)));
        }
        try
        {
            using var holding = held.Hold();
            var response = await answers.AskAsync(network.Regions.ChargePoints, chargePointId, call.Action, call.Payload, network.Settings.DeviceCallHold);
            if (response.ErrorCode is not null) span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, response.ErrorCode);
            return response.ErrorCode is not null
                ? OcppFrames.CallError(call.UniqueId, new OcppError(response.ErrorCode, response.ErrorDescription ?? ""))
                : OcppFrames.CallResult(call.UniqueId, response.Payload!.Value);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "Timeout");
            return OcppFrames.CallError(call.UniqueId, new OcppError(OcppErrorCode.InternalError, "the network did not answer in time"));
        }
    }
}

/// <summary>
/// One charge point's live OCPP connection, as the cluster reaches it (<see cref="RegisteredActorRef"/>): writes the
/// network's calls (OCPP-J CALL frames with a fresh unique id) on the socket, one after another in the order they came, at
/// most <see cref="MaxPendingCalls"/> waiting. Their answers come back through the socket's reader, which takes CALLRESULTs
/// and CALLERRORs to its calls without answering them. When the charge point connects again (its network dropped while
/// this socket still looked open), its entity tells this one that it was replaced: it sends a close frame saying so and
/// stops serving, so the network's calls go only to the new socket.
/// </summary>
public sealed class OcppConnection : RegisteredActorRef
{
    /// <summary>How long a replaced connection waits for the charge point to answer its close frame.</summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    /// <summary>The network's calls that may wait for the socket; one more is dropped (the charger stops its transaction itself when its idTag expires).</summary>
    public const int MaxPendingCalls = 16;

    private readonly string _chargePointId;
    private readonly WebSocket _socket;
    private readonly SemaphoreSlim _sending;
    private readonly CancellationTokenSource _served;
    private readonly Lock _gate = new();
    private Task _calls = Task.CompletedTask;
    private int _pending;
    private long _nextCall;

    public OcppConnection(ActorSystem system, string chargePointId, WebSocket socket, SemaphoreSlim sending, CancellationTokenSource served) : base(system)
    {
        _chargePointId = chargePointId;
        _socket = socket;
        _sending = sending;
        _served = served;
    }

    protected override void TellInternal(object message, IActorRef sender)
    {
        if (IsDisposed) return;
        switch (message)
        {
            // Only this charge point's replacement closes it: one naming another charge point changes nothing.
            case ConnectionReplaced replaced when replaced.Device == _chargePointId:
                _ = CloseAsync(_socket, _sending, _served, WebSocketCloseStatus.PolicyViolation, "replaced by a newer connection of this charge point");
                break;
            case OcppOutgoingCall call:
                lock (_gate)
                {
                    if (_pending == MaxPendingCalls) return;
                    _pending++;
                    _calls = SendAfterAsync(_calls, call);
                }
                break;
        }
    }

    protected override void Ended() { }

    /// <summary>The network's calls taken and not yet written or given up.</summary>
    internal int Pending
    {
        get { lock (_gate) return _pending; }
    }

    private async Task SendAfterAsync(Task previous, OcppOutgoingCall call)
    {
        await previous;
        try
        {
            var frame = JsonSerializer.SerializeToUtf8Bytes(new object[] { 2, $"n-{Interlocked.Increment(ref _nextCall)}", call.Action, call.Payload });
            if (_socket.State != WebSocketState.Open || !await _sending.WaitAsync(TimeSpan.FromSeconds(10))) return;
            try { await _socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None); }
            finally { _sending.Release(); }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
        {
            // The charger is gone; it learns nothing more on this connection.
        }
        finally
        {
            lock (_gate) _pending--;
        }
    }

    /// <summary>
    /// Sends a close frame saying why (after the send in progress, if any) and stops serving the connection once the
    /// charger has had <see cref="CloseGrace"/> to answer it.
    /// </summary>
    public static async Task CloseAsync(WebSocket socket, SemaphoreSlim sending, CancellationTokenSource served, WebSocketCloseStatus status, string reason)
    {
        try
        {
            if (socket.State == WebSocketState.Open && await sending.WaitAsync(CloseGrace))
            {
                try { await socket.CloseOutputAsync(status, reason, CancellationToken.None); }
                finally { sending.Release(); }
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Gone already.
        }
        try { served.CancelAfter(CloseGrace); }
        catch (ObjectDisposedException) { }
    }
}
