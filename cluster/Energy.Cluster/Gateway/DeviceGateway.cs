using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using Akka.Actor;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Charging;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Energy.Cluster.Serialization;
using Energy.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Energy.Lifecycles.Channels;
using Energy.Lifecycles.Registry;
using Energy.Lifecycles.Charging;
using Energy.Lifecycles.Tolls;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The device gateway: a WebSocket at /gateway through which device agents reach the network. One
/// connection carries one capable device or many constrained ones: each device says hello, gets a fresh
/// challenge, and signs it with its registered key; only then do its calls reach an entity, and the
/// entity is told which device the gateway authenticated, never a name taken from the frame. The frames,
/// their names, bounds and bodies are the wire contract of Energy.Wire (<see cref="GatewayProtocol"/>,
/// <see cref="GatewayCodec"/>); each error is a named <see cref="GatewayError"/>. Calls are pipelined (at
/// most <see cref="GatewayProtocol.MaxCallsInFlight"/> per connection) and answered by id; events the network pushes to
/// a device arrive on the same connection. Under <see cref="GatewayProtocol.BatchingSubprotocol"/> a WebSocket message
/// may also carry a JSON array of frames, in both directions: a busy connection then pays for one
/// message, not one per frame; each frame in a batch is handled and answered as if it came alone.
/// A stranger's cost is bounded: a challenge is issued only for a registered, unrevoked device, at most
/// <see cref="GatewayProtocol.MaxChallengesPerConnection"/> outstanding on a connection and
/// <see cref="EnergySettings.MaxGatewayChallenges"/> on the node; a connection on which no device has
/// authenticated within <see cref="EnergySettings.GatewayAuthenticationTimeout"/> is closed.
/// </summary>
public static class DeviceGateway
{
    /// <summary>Frames waiting for the socket on one connection: past it the connection waits (answers) or is cut (pushed events).</summary>
    public const int MaxQueuedFrames = 8_192;

    /// <summary>How long a connection closed for want of authentication waits for the client's close before it is cut.</summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapDeviceGateway(this IEndpointRouteBuilder app)
    {
        app.Map(GatewayProtocol.Path, HandleAsync);
        return app;
    }

    private static async Task HandleAsync(HttpContext context, EnergyNetwork network, GatewayChallengeBudget budget, IHostApplicationLifetime lifetime)
    {
        var requested = context.WebSockets.WebSocketRequestedProtocols;
        var subprotocol = requested.Contains(GatewayProtocol.BatchingSubprotocol) ? GatewayProtocol.BatchingSubprotocol
            : requested.Contains(GatewayProtocol.Subprotocol) ? GatewayProtocol.Subprotocol : null;
        if (!context.WebSockets.IsWebSocketRequest || subprotocol is null)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"a WebSocket connection with the {GatewayProtocol.BatchingSubprotocol} or {GatewayProtocol.Subprotocol} subprotocol is expected");
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync(subprotocol);
        using var session = new Connection(socket, network, budget, subprotocol == GatewayProtocol.BatchingSubprotocol, context.RequestAborted);
        using var stopping = lifetime.ApplicationStopping.Register(session.NodeStopping);
        EnergyMetrics.GatewayConnections.Add(1);
        try { await session.RunAsync(); }
        finally { EnergyMetrics.GatewayConnections.Add(-1); }
    }

    /// <summary>One WebSocket: a reader that answers frames, a writer that drains a bounded queue.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly WebSocket _socket;
        private readonly EnergyNetwork _network;
        private readonly CancellationTokenSource _stop;
        private readonly Channel<byte[]> _outgoing = System.Threading.Channels.Channel.CreateBounded<byte[]>(
            new BoundedChannelOptions(MaxQueuedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        private readonly SemaphoreSlim _inFlight = new(GatewayProtocol.MaxCallsInFlight);
        private readonly ConcurrentDictionary<DeviceId, byte> _authenticated = new();
        private readonly Dictionary<DeviceId, AuthenticationChallenge> _challenges = [];
        private readonly IActorRef _actor;
        private readonly string _path;
        private readonly bool _batching;
        private readonly GatewayChallengeBudget _budget;
        private bool _everAuthenticated;
        private bool _closingUnauthenticated;
        private bool _closingReplaced;
        private bool _closingStopping;
        private long _networkTicks;
        private int _networkAsks;

        public Connection(WebSocket socket, EnergyNetwork network, GatewayChallengeBudget budget, bool batching, CancellationToken aborted)
        {
            _socket = socket;
            _network = network;
            _budget = budget;
            _batching = batching;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            _actor = network.System.ActorOf(GatewayConnection.Props(network.Regions.Devices, _outgoing.Writer, () => _stop.Cancel(), Replaced));
            _path = GatewayConnection.PathOf(_actor, network.System);
        }

        public async Task RunAsync()
        {
            var writer = WriteAsync();
            var idle = CloseIfUnauthenticatedAsync();
            try
            {
                await ReadAsync();
            }
            catch (OperationCanceledException)
            {
            }
            catch (WebSocketException)
            {
            }
            _outgoing.Writer.TryComplete();
            await _stop.CancelAsync();
            try { await writer; } catch (OperationCanceledException) { } catch (WebSocketException) { }
            await idle;
        }

        /// <summary>
        /// A connection that has not authenticated a single device within the bound is closed: its queue is
        /// completed, the writer sends what is left and then a close frame naming AuthenticationTimeout, and a
        /// client that does not answer the close within <see cref="CloseGrace"/> is cut off. The bound is the
        /// client's time, not the node's: the time this connection's hellos and authentications waited for the
        /// network (a registry entity waking after a restart) is not counted, and none is closed while one waits.
        /// </summary>
        private async Task CloseIfUnauthenticatedAsync()
        {
            var opened = Stopwatch.GetTimestamp();
            var bound = _network.Settings.GatewayAuthenticationTimeout;
            while (true)
            {
                var clientTime = Stopwatch.GetElapsedTime(opened) - TimeSpan.FromTicks(Volatile.Read(ref _networkTicks));
                var left = bound - clientTime;
                if (left <= TimeSpan.Zero && Volatile.Read(ref _networkAsks) == 0) break;
                try { await Task.Delay(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(100), _stop.Token); }
                catch (OperationCanceledException) { return; }
                if (Volatile.Read(ref _everAuthenticated)) return;
            }
            if (Volatile.Read(ref _everAuthenticated)) return;
            Volatile.Write(ref _closingUnauthenticated, true);
            _outgoing.Writer.TryComplete();
        }

        /// <summary>Asks the registry for a device, the wait counted as the network's time, not the client's.</summary>
        private async Task<object> AskRegistryAsync(DeviceId device)
        {
            var started = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _networkAsks);
            try { return await _network.AskForDevice(new GetDevice(device), _stop.Token); }
            finally
            {
                Interlocked.Add(ref _networkTicks, Stopwatch.GetElapsedTime(started).Ticks);
                Interlocked.Decrement(ref _networkAsks);
            }
        }

        /// <summary>
        /// The device authenticated again on a newer connection: calls for it here are refused as NotAuthenticated from
        /// now on, and once no device is left, the socket is closed with a close frame saying ConnectionReplaced.
        /// </summary>
        /// <summary>The node is stopping: what is queued goes out, then a close frame saying NodeStopping (1001, going away).</summary>
        public void NodeStopping()
        {
            Volatile.Write(ref _closingStopping, true);
            _outgoing.Writer.TryComplete();
        }

        private void Replaced(DeviceId device)
        {
            _authenticated.TryRemove(device, out _);
            if (!_authenticated.IsEmpty) return;
            Volatile.Write(ref _closingReplaced, true);
            _outgoing.Writer.TryComplete();
        }

        private async Task FinishWritingAsync()
        {
            var reason = Volatile.Read(ref _closingStopping) ? "NodeStopping: the node is stopping; connect again"
                : Volatile.Read(ref _closingUnauthenticated)
                ? $"AuthenticationTimeout: no device authenticated within {_network.Settings.GatewayAuthenticationTimeout.TotalSeconds:0.###} s"
                : Volatile.Read(ref _closingReplaced) ? "ConnectionReplaced: every device of this connection authenticated on a newer one" : null;
            if (reason is null) return;
            var status = Volatile.Read(ref _closingStopping) ? WebSocketCloseStatus.EndpointUnavailable : WebSocketCloseStatus.PolicyViolation;
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await _socket.CloseOutputAsync(status, reason, _stop.Token);
            _stop.CancelAfter(CloseGrace);
        }

        public void Dispose()
        {
            _budget.Return(_challenges.Count);
            _challenges.Clear();
            _actor.Tell(PoisonPill.Instance);
            _stop.Dispose();
            _inFlight.Dispose();
        }

        private async Task WriteAsync()
        {
            if (!_batching)
            {
                await foreach (var frame in _outgoing.Reader.ReadAllAsync(_stop.Token))
                    await _socket.SendAsync(frame, WebSocketMessageType.Text, true, _stop.Token);
                await FinishWritingAsync();
                return;
            }
            // Whatever queued up while the last message was being sent goes out as one message.
            var batch = new FrameBatch(GatewayProtocol.MaxBatchBytes, GatewayProtocol.MaxFramesPerBatch);
            byte[]? carried = null;
            while (carried is not null || await _outgoing.Reader.WaitToReadAsync(_stop.Token))
            {
                batch.Clear();
                if (carried is not null) batch.TryAdd(carried);
                carried = null;
                while (_outgoing.Reader.TryRead(out var frame))
                {
                    if (batch.TryAdd(frame)) continue;
                    carried = frame;
                    break;
                }
                if (batch.Count > 0) await _socket.SendAsync(batch.Seal(), WebSocketMessageType.Text, true, _stop.Token);
            }
            await FinishWritingAsync();
        }

        private async Task ReadAsync()
        {
            var buffer = new byte[GatewayProtocol.MaxFrameBytes + 1];
            while (_socket.State == WebSocketState.Open && !_stop.IsCancellationRequested)
            {
                var (length, kind) = await ReceiveAsync(buffer);
                if (kind == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }
                if (length > GatewayProtocol.MaxFrameBytes)
                {
                    await SendAsync(Error(new GatewayError.FrameTooLarge(GatewayProtocol.MaxFrameBytes)));
                    continue;
                }
                if (kind == WebSocketMessageType.Binary)
                {
                    await SendAsync(Error(new GatewayError.BinaryMessage()));
                    continue;
                }
                await OnMessageAsync(buffer.AsMemory(0, length));
            }
        }

        private async Task<(int Length, WebSocketMessageType Kind)> ReceiveAsync(byte[] buffer)
        {
            var length = 0;
            while (true)
            {
                // Past the bound the rest of the frame is read and dropped: one frame never grows memory.
                var target = length < buffer.Length ? buffer.AsMemory(length) : new byte[4096].AsMemory();
                var result = await _socket.ReceiveAsync(target, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close) return (0, WebSocketMessageType.Close);
                length = Math.Min(buffer.Length, length + result.Count);
                if (result.EndOfMessage) return (length, result.MessageType);
            }
        }

        /// <summary>One WebSocket message: a frame, or (when batching) an array of frames handled in order.</summary>
        private async Task OnMessageAsync(ReadOnlyMemory<byte> message)
        {
            foreach (var read in GatewayCodec.ReadMessage(message, _batching))
            {
                if (read.Frame is { } frame) await OnFrameAsync(frame);
                else await SendAsync(Error(read.Error!));
            }
        }

        private async Task OnFrameAsync(GatewayFrame parsed)
        {
            switch (parsed.Op)
            {
                case GatewayOps.Hello:
                    await SendAsync(await HelloAsync(parsed));
                    break;
                case GatewayOps.Auth:
                    await SendAsync(await AuthenticateAsync(parsed));
                    break;
                case GatewayOps.Call:
                    if (!_authenticated.ContainsKey(parsed.Device))
                    {
                        await SendAsync(Error(new GatewayError.NotAuthenticated(parsed.Id, parsed.Device)));
                        return;
                    }
                    if (RevocationList.Get(_network.System).IsRevoked(parsed.Device))
                    {
                        _authenticated.TryRemove(parsed.Device, out _);
                        _actor.Tell(new GatewayConnection.Forget(parsed.Device));
                        await SendAsync(Error(new GatewayError.DeviceIsRevoked(parsed.Id, parsed.Device)));
                        return;
                    }
                    // Bounded pipelining: the reader waits when too many calls are in flight.
                    await _inFlight.WaitAsync(_stop.Token);
                    _ = CallAsync(parsed);
                    break;
                default:
                    await SendAsync(Error(new GatewayError.UnknownOp(parsed.Id, parsed.Device, parsed.Op)));
                    break;
            }
        }

        /// <summary>
        /// A challenge for a registered, unrevoked device: the registry is asked first, and a device it does not
        /// know gets a named error and nothing is kept. Bounded per connection and per node; expired challenges
        /// are dropped first.
        /// </summary>
        private async Task<byte[]> HelloAsync(GatewayFrame frame)
        {
            if (_authenticated.ContainsKey(frame.Device))
                return GatewayFrameWriter.Welcome(frame.Device);
            if (_authenticated.Count >= GatewayProtocol.MaxDevicesPerConnection)
                return Error(new GatewayError.TooManyDevices(frame.Device, GatewayProtocol.MaxDevicesPerConnection));
            DropExpiredChallenges(_network.Settings.Clock.Now);
            var replacing = _challenges.ContainsKey(frame.Device);
            if (!replacing && _challenges.Count >= GatewayProtocol.MaxChallengesPerConnection)
                return Error(new GatewayError.TooManyChallenges(frame.Device, GatewayProtocol.MaxChallengesPerConnection, GatewayProtocol.ChallengeLifetime));
            object answer;
            try { answer = await AskRegistryAsync(frame.Device); }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested) { return Error(new GatewayError.Timeout(null, frame.Device, "registry")); }
            if (answer is not DeviceView device) return Error(new GatewayError.DeviceNotFound(frame.Device));
            if (device.Revoked || RevocationList.Get(_network.System).IsRevoked(frame.Device))
                return Error(new GatewayError.DeviceIsRevoked(null, frame.Device));
            // Only this reader changes the connection's challenges: the counts checked before the registry's answer still hold.
            if (!replacing && !_budget.TryTake())
                return Error(new GatewayError.GatewayBusy(frame.Device, _budget.Max));
            var challenge = new AuthenticationChallenge(_network.Settings.Network, PartyId.From(frame.Device), RandomNumberGenerator.GetBytes(AuthenticationChallenge.NonceBytes),
                _network.Settings.Clock.Now);
            _challenges[frame.Device] = challenge;
            return GatewayFrameWriter.Challenge(frame.Device, Signed<AuthenticationChallenge>.EncodeBody(challenge));
        }

        private void DropExpiredChallenges(Timestamp now)
        {
            foreach (var (device, challenge) in _challenges)
                if (now.UnixMilliseconds - challenge.IssuedAt.UnixMilliseconds > (long)GatewayProtocol.ChallengeLifetime.TotalMilliseconds && _challenges.Remove(device))
                    _budget.Return(1);
        }

        private async Task<byte[]> AuthenticateAsync(GatewayFrame frame)
        {
            // A challenge is used once, whatever the outcome: only this connection could answer it.
            if (!_challenges.Remove(frame.Device, out var issued))
                return Error(new GatewayError.NoChallenge(frame.Device));
            _budget.Return(1);
            var decoded = Signed<AuthenticationChallenge>.Decode(frame.Signed);
            if (!decoded.IsOk) return Error(new GatewayError.Protocol(null, frame.Device, decoded.Error));
            if (!decoded.Value.Payload.Equals(issued))
                return Error(new GatewayError.ChallengeMismatch(frame.Device));
            if (_network.Settings.Clock.Now.UnixMilliseconds - issued.IssuedAt.UnixMilliseconds > (long)GatewayProtocol.ChallengeLifetime.TotalMilliseconds)
                return Error(new GatewayError.ChallengeExpired(frame.Device, GatewayProtocol.ChallengeLifetime));
            object answer;
            try { answer = await AskRegistryAsync(frame.Device); }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested) { return Error(new GatewayError.Timeout(null, frame.Device, "registry")); }
            if (answer is not DeviceView device) return Error(new GatewayError.DeviceNotFound(frame.Device));
            if (device.Revoked || RevocationList.Get(_network.System).IsRevoked(frame.Device))
                return Error(new GatewayError.DeviceIsRevoked(null, frame.Device));
            var key = DevicePublicKey.FromHex(device.PublicKeyHex);
            if (!key.IsOk || !decoded.Value.IsSignedBy(key.Value))
                return Error(new GatewayError.InvalidSignature(frame.Device));
            _authenticated[frame.Device] = 0;
            Volatile.Write(ref _everAuthenticated, true);
            _actor.Tell(new GatewayConnection.Authenticated(frame.Device, _network.Settings.Clock.Now.UnixMilliseconds));
            return GatewayFrameWriter.Welcome(frame.Device, device.Role.ToString(), device.Operator.Value);
        }

        private async Task CallAsync(GatewayFrame frame)
        {
            // A call is a trace of its own, not a part of the connection's (which may last for days); the entity's span is its child.
            System.Diagnostics.Activity.Current = null;
            using var span = EnergyTracing.Source.StartActivity("gateway.call", ActivityKind.Server);
            try
            {
                byte[] reply;
                var read = GatewayCommands.Of(frame, _network.Settings.Currency, _path);
                if (span is not null) Describe(span, frame, read.IsOk ? null : read.Error!.Code);
                if (!read.IsOk)
                {
                    reply = Error(read.Error!);
                }
                else
                {
                    try
                    {
                        var asked = _network.AskForDevice(read.Value!, _stop.Token);
                        // The answer completes on the entity's thread: move off it before encoding and sending.
                        var answer = await asked.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                        if (answer is Refusal refused) span?.SetStatus(ActivityStatusCode.Error, refused.Code);
                        reply = answer is Refusal refusal
                            ? Error(new GatewayError.Refused(frame.Id, frame.Device, refusal.Error))
                            : GatewayFrameWriter.Result(frame.Id!.Value, frame.Device, answer, EnergyJson.Options);
                    }
                    catch (TaskCanceledException) when (!_stop.IsCancellationRequested)
                    {
                        span?.SetStatus(ActivityStatusCode.Error, "Timeout");
                        reply = Error(new GatewayError.Timeout(frame.Id, frame.Device, "network"));
                    }
                }
                await SendAsync(reply);
            }
            catch (OperationCanceledException)
            {
            }
            catch (ChannelClosedException)
            {
            }
            finally
            {
                _inFlight.Release();
            }
        }


        /// <summary>Names a call's span by its action (only an action the gateway knows: a frame's text is never a name).</summary>
        private static void Describe(System.Diagnostics.Activity span, GatewayFrame frame, string? refused)
        {
            if (refused is not null) { span.SetStatus(ActivityStatusCode.Error, refused); return; }
            span.DisplayName = "gateway " + frame.Action;
            span.SetTag("energy.gateway.action", frame.Action);
        }

        private async Task SendAsync(byte[] frame)
        {
            try
            {
                await _outgoing.Writer.WriteAsync(frame, _stop.Token);
            }
            catch (ChannelClosedException)
            {
            }
        }
    }

    internal static byte[] Error(GatewayError error) => GatewayFrameWriter.Error(error);
}
