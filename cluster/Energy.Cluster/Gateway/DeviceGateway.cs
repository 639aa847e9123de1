using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Channels;
using Energy.Cluster.Charging;
using Energy.Cluster.Hosting;
using Energy.Cluster.Registry;
using Energy.Cluster.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Energy.Cluster.Gateway;

/// <summary>
/// The device gateway: a WebSocket at /gateway through which device agents reach the network. One
/// connection carries one capable device or many constrained ones: each device says hello, gets a fresh
/// challenge, and signs it with its registered key; only then do its calls reach an entity, and the
/// entity is told which device the gateway authenticated, never a name taken from the frame. Frames are
/// JSON text, at most <see cref="MaxFrameBytes"/>; each error has a named code. Calls are pipelined (at
/// most <see cref="MaxCallsInFlight"/> per connection) and answered by id; events the network pushes to
/// a device arrive on the same connection. Under <see cref="BatchingSubprotocol"/> a WebSocket message
/// may also carry a JSON array of frames, in both directions: a busy connection then pays for one
/// message, not one per frame; each frame in a batch is handled and answered as if it came alone.
/// A stranger's cost is bounded: a challenge is issued only for a registered, unrevoked device, at most
/// <see cref="MaxChallengesPerConnection"/> outstanding on a connection and
/// <see cref="EnergySettings.MaxGatewayChallenges"/> on the node; a connection on which no device has
/// authenticated within <see cref="EnergySettings.GatewayAuthenticationTimeout"/> is closed.
/// </summary>
public static class DeviceGateway
{
    public const string Subprotocol = "energy.gateway.v1";
    public const string BatchingSubprotocol = "energy.gateway.v2";
    public const int MaxFrameBytes = 16 * 1024;
    public const int MaxFramesPerBatch = 256;
    public const int MaxBatchBytes = 64 * 1024;
    public const int MaxDevicesPerConnection = 10_000;
    public const int MaxChallengesPerConnection = 16;
    public const int MaxCallsInFlight = 512;
    public const int MaxQueuedFrames = 8_192;
    public static readonly TimeSpan ChallengeLifetime = TimeSpan.FromSeconds(60);

    /// <summary>How long a connection closed for want of authentication waits for the client's close before it is cut.</summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapDeviceGateway(this IEndpointRouteBuilder app)
    {
        app.Map("/gateway", HandleAsync);
        return app;
    }

    private static async Task HandleAsync(HttpContext context, EnergyNetwork network, GatewayChallengeBudget budget)
    {
        var requested = context.WebSockets.WebSocketRequestedProtocols;
        var subprotocol = requested.Contains(BatchingSubprotocol) ? BatchingSubprotocol : requested.Contains(Subprotocol) ? Subprotocol : null;
        if (!context.WebSockets.IsWebSocketRequest || subprotocol is null)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"a WebSocket connection with the {BatchingSubprotocol} or {Subprotocol} subprotocol is expected");
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync(subprotocol);
        using var session = new Connection(socket, network, budget, subprotocol == BatchingSubprotocol, context.RequestAborted);
        await session.RunAsync();
    }

    /// <summary>One WebSocket: a reader that answers frames, a writer that drains a bounded queue.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly WebSocket _socket;
        private readonly EnergyNetwork _network;
        private readonly CancellationTokenSource _stop;
        private readonly Channel<byte[]> _outgoing = System.Threading.Channels.Channel.CreateBounded<byte[]>(
            new BoundedChannelOptions(MaxQueuedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        private readonly SemaphoreSlim _inFlight = new(MaxCallsInFlight);
        private readonly ConcurrentDictionary<DeviceId, byte> _authenticated = new();
        private readonly Dictionary<DeviceId, AuthenticationChallenge> _challenges = [];
        private readonly IActorRef _actor;
        private readonly string _path;
        private readonly bool _batching;
        private readonly GatewayChallengeBudget _budget;
        private bool _everAuthenticated;
        private bool _closingUnauthenticated;

        public Connection(WebSocket socket, EnergyNetwork network, GatewayChallengeBudget budget, bool batching, CancellationToken aborted)
        {
            _socket = socket;
            _network = network;
            _budget = budget;
            _batching = batching;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            _actor = network.System.ActorOf(GatewayConnection.Props(network.Regions.Devices, _outgoing.Writer, () => _stop.Cancel()));
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
        /// client that does not answer the close within <see cref="CloseGrace"/> is cut off.
        /// </summary>
        private async Task CloseIfUnauthenticatedAsync()
        {
            try { await Task.Delay(_network.Settings.GatewayAuthenticationTimeout, _stop.Token); }
            catch (OperationCanceledException) { return; }
            if (Volatile.Read(ref _everAuthenticated)) return;
            Volatile.Write(ref _closingUnauthenticated, true);
            _outgoing.Writer.TryComplete();
        }

        private async Task FinishWritingAsync()
        {
            if (!Volatile.Read(ref _closingUnauthenticated)) return;
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                var seconds = _network.Settings.GatewayAuthenticationTimeout.TotalSeconds;
                await _socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, $"AuthenticationTimeout: no device authenticated within {seconds:0.###} s", _stop.Token);
            }
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
            var batch = new FrameBatch(MaxBatchBytes, MaxFramesPerBatch);
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
            var buffer = new byte[MaxFrameBytes + 1];
            while (_socket.State == WebSocketState.Open && !_stop.IsCancellationRequested)
            {
                var (length, kind) = await ReceiveAsync(buffer);
                if (kind == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }
                if (length > MaxFrameBytes)
                {
                    await SendAsync(Error(null, null, "FrameTooLarge", $"a frame is at most {MaxFrameBytes} bytes"));
                    continue;
                }
                if (kind == WebSocketMessageType.Binary)
                {
                    await SendAsync(Error(null, null, "MalformedFrame", "frames are JSON text"));
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
            foreach (var read in ReadMessage(message, _batching))
            {
                if (read.Frame is { } frame) await OnFrameAsync(frame);
                else await SendAsync(Error(read.Error!.Id, read.Error.Device, read.Error.Code, read.Error.Message));
            }
        }

        private async Task OnFrameAsync(Frame parsed)
        {
            switch (parsed.Op)
            {
                case "hello":
                    await SendAsync(await HelloAsync(parsed));
                    break;
                case "auth":
                    await SendAsync(await AuthenticateAsync(parsed));
                    break;
                case "call":
                    if (!_authenticated.ContainsKey(parsed.Device))
                    {
                        await SendAsync(Error(parsed.Id, parsed.Device, "NotAuthenticated", $"{parsed.Device} has not authenticated on this connection"));
                        return;
                    }
                    if (RevocationList.Get(_network.System).IsRevoked(parsed.Device))
                    {
                        _authenticated.TryRemove(parsed.Device, out _);
                        _actor.Tell(new GatewayConnection.Forget(parsed.Device));
                        await SendAsync(Error(parsed.Id, parsed.Device, "DeviceIsRevoked", $"the key of {parsed.Device} is revoked"));
                        return;
                    }
                    // Bounded pipelining: the reader waits when too many calls are in flight.
                    await _inFlight.WaitAsync(_stop.Token);
                    _ = CallAsync(parsed);
                    break;
                default:
                    await SendAsync(Error(parsed.Id, parsed.Device, "UnknownOp", $"op '{parsed.Op}' is not hello, auth or call"));
                    break;
            }
        }

        /// <summary>
        /// A challenge for a registered, unrevoked device: the registry is asked first, and a device it does not
        /// know gets a named error and nothing is kept. Bounded per connection and per node; expired challenges
        /// are dropped first.
        /// </summary>
        private async Task<byte[]> HelloAsync(Frame frame)
        {
            if (_authenticated.ContainsKey(frame.Device))
                return Encode(new { op = "welcome", device = frame.Device.Value });
            if (_authenticated.Count >= MaxDevicesPerConnection)
                return Error(null, frame.Device, "TooManyDevices", $"a connection carries at most {MaxDevicesPerConnection} devices");
            DropExpiredChallenges(_network.Settings.Clock.Now);
            var replacing = _challenges.ContainsKey(frame.Device);
            if (!replacing && _challenges.Count >= MaxChallengesPerConnection)
                return Error(null, frame.Device, "TooManyChallenges",
                    $"a connection holds at most {MaxChallengesPerConnection} unanswered challenges: answer them, or wait {ChallengeLifetime.TotalSeconds:0} s");
            object answer;
            try { answer = await _network.Ask(new GetDevice(frame.Device), _network.Settings.AskTimeout); }
            catch (AskTimeoutException) { return Error(null, frame.Device, "Timeout", "the registry did not answer in time"); }
            if (answer is not DeviceView device) return Error(null, frame.Device, "DeviceNotFound", $"{frame.Device} is not registered");
            if (device.Revoked || RevocationList.Get(_network.System).IsRevoked(frame.Device))
                return Error(null, frame.Device, "DeviceIsRevoked", $"the key of {frame.Device} is revoked");
            // Only this reader changes the connection's challenges: the counts checked before the registry's answer still hold.
            if (!replacing && !_budget.TryTake())
                return Error(null, frame.Device, "GatewayBusy", $"{_budget.Max} devices are authenticating on this node; try again shortly");
            var challenge = new AuthenticationChallenge(_network.Settings.Network, PartyId.From(frame.Device), RandomNumberGenerator.GetBytes(AuthenticationChallenge.NonceBytes),
                _network.Settings.Clock.Now);
            _challenges[frame.Device] = challenge;
            return Encode(new { op = "challenge", device = frame.Device.Value, challenge = Convert.ToBase64String(Signed<AuthenticationChallenge>.EncodeBody(challenge)) });
        }

        private void DropExpiredChallenges(Timestamp now)
        {
            foreach (var (device, challenge) in _challenges)
                if (now.UnixMilliseconds - challenge.IssuedAt.UnixMilliseconds > (long)ChallengeLifetime.TotalMilliseconds && _challenges.Remove(device))
                    _budget.Return(1);
        }

        private async Task<byte[]> AuthenticateAsync(Frame frame)
        {
            // A challenge is used once, whatever the outcome: only this connection could answer it.
            if (!_challenges.Remove(frame.Device, out var issued))
                return Error(null, frame.Device, "NoChallenge", $"say hello for {frame.Device} first: there is no challenge to answer");
            _budget.Return(1);
            var decoded = Signed<AuthenticationChallenge>.Decode(frame.Signed);
            if (!decoded.IsOk) return Error(null, frame.Device, decoded.Error!.Code, decoded.Error.Describe());
            if (!decoded.Value.Payload.Equals(issued))
                return Error(null, frame.Device, "ChallengeMismatch", "the signed challenge is not the one issued");
            if (_network.Settings.Clock.Now.UnixMilliseconds - issued.IssuedAt.UnixMilliseconds > (long)ChallengeLifetime.TotalMilliseconds)
                return Error(null, frame.Device, "ChallengeExpired", $"a challenge must be answered within {ChallengeLifetime.TotalSeconds} s");
            object answer;
            try { answer = await _network.Ask(new GetDevice(frame.Device), _network.Settings.AskTimeout); }
            catch (AskTimeoutException) { return Error(null, frame.Device, "Timeout", "the registry did not answer in time"); }
            if (answer is not DeviceView device) return Error(null, frame.Device, "DeviceNotFound", $"{frame.Device} is not registered");
            if (device.Revoked || RevocationList.Get(_network.System).IsRevoked(frame.Device))
                return Error(null, frame.Device, "DeviceIsRevoked", $"the key of {frame.Device} is revoked");
            var key = DevicePublicKey.FromHex(device.PublicKeyHex);
            if (!key.IsOk || !decoded.Value.IsSignedBy(key.Value))
                return Error(null, frame.Device, "InvalidSignature", $"the challenge is not signed by the registered key of {frame.Device}");
            _authenticated[frame.Device] = 0;
            Volatile.Write(ref _everAuthenticated, true);
            _actor.Tell(new GatewayConnection.Authenticated(frame.Device));
            return Encode(new { op = "welcome", device = frame.Device.Value, role = device.Role.ToString(), @operator = device.Operator.Value });
        }

        private async Task CallAsync(Frame frame)
        {
            try
            {
                object answer;
                try
                {
                    var command = Command(frame, _network.Settings.Currency, _path);
                    var asked = command switch
                    {
                        ISessionCommand c => _network.Ask(c, _stop.Token),
                        IChannelCommand c => _network.Ask(c, _stop.Token),
                        Tolls.IGantryCommand c => _network.Ask(c, _stop.Token),
                        _ => throw new FrameException(frame.Id, frame.Device, "UnknownAction", $"action '{frame.Action}' is not known"),
                    };
                    // The answer completes on the entity's thread: move off it before encoding and sending.
                    answer = await asked.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                }
                catch (FrameException e)
                {
                    answer = new Refusal(e.Code, e.Message);
                }
                catch (TaskCanceledException) when (!_stop.IsCancellationRequested)
                {
                    answer = new Refusal("Timeout", "the network did not answer in time");
                }
                var reply = answer is Refusal refusal
                    ? Error(frame.Id, frame.Device, refusal.Code, refusal.Message)
                    : GatewayFrames.Result(frame.Id!.Value, frame.Device, answer);
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

    /// <summary>
    /// Reads one WebSocket message into its frames, in order: each is a frame, or the error to answer in
    /// its place. Pure: it touches no connection, and whatever the bytes, it answers rather than throws.
    /// </summary>
    internal static IReadOnlyList<FrameRead> ReadMessage(ReadOnlyMemory<byte> message, bool batching)
    {
        JsonElement root;
        try
        {
            // A frame nests at most 8 deep; a batch adds its array.
            using var document = JsonDocument.Parse(message, new JsonDocumentOptions { MaxDepth = batching ? 9 : 8 });
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return [FrameRead.Refused(new FrameError(null, null, "MalformedFrame", e.Message))];
        }
        if (!batching || root.ValueKind != JsonValueKind.Array) return [Read(root)];
        if (root.GetArrayLength() > MaxFramesPerBatch)
            return [FrameRead.Refused(new FrameError(null, null, "MalformedFrame", $"a batch holds at most {MaxFramesPerBatch} frames"))];
        // An empty batch asks nothing, but a sender waiting on it must still learn that it was read and refused.
        if (root.GetArrayLength() == 0) return [FrameRead.Refused(new FrameError(null, null, "MalformedFrame", "a batch holds at least one frame"))];
        return [.. root.EnumerateArray().Select(Read)];
    }

    private static FrameRead Read(JsonElement frame)
    {
        try
        {
            return new FrameRead(Frame.Parse(frame), null);
        }
        catch (FrameException e)
        {
            return FrameRead.Refused(e.Error);
        }
    }

    /// <summary>
    /// The command for a call, with the authenticated device filled in by the gateway. Pure: a field that
    /// is missing or malformed throws <see cref="FrameException"/>, answered as a refusal, and nothing else.
    /// </summary>
    internal static object Command(Frame frame, Currency currency, string replyPath)
    {
        var device = frame.Device;
        return frame.Action switch
        {
            "session.start" => new StartSession(frame.Session(), device, frame.DeviceArg("vehicle"), frame.Money("pricePerKwh", currency),
                frame.Money("credit", currency), frame.Bytes("reading"), replyPath) { Zone = frame.OptionalZone() },
            "session.accept" => new AcceptSession(frame.Session(), device, frame.Channel("channel"), replyPath),
            "session.reading" => new SubmitSessionReading(frame.Session(), device, frame.Bytes("reading"), replyPath),
            "session.pay" => new PayForSession(frame.Session(), device, frame.Bytes("voucher"), replyPath),
            "session.stop" => new StopSession(frame.Session(), device, frame.Bytes("reading"), replyPath),
            "session.get" => new GetSession(frame.Session()),
            "toll.pass" => new Tolls.TollPass(device, frame.Bytes("request"), replyPath),
            "toll.pay" => new Tolls.PayToll(frame.GantryOfPass(), frame.Text("pass"), device, frame.Bytes("voucher"), replyPath),
            "toll.decline" => new Tolls.DeclineToll(frame.GantryOfPass(), frame.Text("pass"), device, frame.Text("reason")),
            "toll.gantry" => new Tolls.GetGantry(device),
            "channel.voucher" => new SubmitVoucher(frame.Channel("channel"), frame.Bytes("voucher")),
            "channel.get" => new GetChannel(frame.Channel("channel")),
            _ => throw new FrameException(frame.Id, device, "UnknownAction", $"action '{frame.Action}' is not known"),
        };
    }

    private static byte[] Encode(object frame) => JsonSerializer.SerializeToUtf8Bytes(frame);

    internal static byte[] Error(long? id, DeviceId? device, string code, string message) =>
        Encode(new { op = "error", id, device = device?.Value, code, message });

    /// <summary>A refused frame: the id and device to answer to, when they could be read, and the named error.</summary>
    internal sealed record FrameError(long? Id, DeviceId? Device, string Code, string Message);

    /// <summary>One frame of a message as read: the frame, or the error to answer in its place.</summary>
    internal readonly record struct FrameRead(Frame? Frame, FrameError? Error)
    {
        public static FrameRead Refused(FrameError error) => new(null, error);
    }

    internal sealed class FrameException(long? id, DeviceId? device, string code, string message) : Exception(message)
    {
        public long? Id { get; } = id;
        public DeviceId? Device { get; } = device;
        public string Code { get; } = code;
        public FrameError Error => new(Id, Device, Code, Message);
    }

    /// <summary>A client frame: op, device, and for calls an id, an action and arguments. Every field is checked where it is read.</summary>
    internal sealed class Frame
    {
        private JsonElement _args;

        public string Op { get; private init; } = "";
        public DeviceId Device { get; private init; }
        public long? Id { get; private init; }
        public string Action { get; private init; } = "";

        /// <summary>For an auth, the signed challenge it answers with.</summary>
        public byte[] Signed { get; private init; } = [];
        private JsonElement Root { get; init; }

        public static Frame Parse(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object) throw new FrameException(null, null, "MalformedFrame", "a frame is a JSON object");
            // Past this check every string and name in the frame can be read, looked up included, and each name has one value.
            if (InteroperableJson.FindViolation(root) is { } violation) throw new FrameException(RawId(root), null, "MalformedFrame", violation);
            long? id = root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.Number && i.TryGetInt64(out var n) ? n : null;
            var op = root.TryGetProperty("op", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()! : throw new FrameException(id, null, "MalformedFrame", "op is missing");
            var deviceText = root.TryGetProperty("device", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : throw new FrameException(id, null, "MalformedFrame", "device is missing");
            var device = DeviceId.Parse(deviceText);
            if (!device.IsOk) throw new FrameException(id, null, "MalformedFrame", device.Error!.Describe());
            var frame = new Frame { Op = op, Device = device.Value, Id = id, Root = root };
            // An auth's signed challenge is read here, where a refusal is answered, not where the connection authenticates.
            if (op == "auth") return new Frame { Op = op, Device = device.Value, Id = id, Root = root, Signed = frame.Bytes("signed") };
            if (op != "call") return frame;
            if (id is null) throw new FrameException(null, device.Value, "MalformedFrame", "a call needs a numeric id");
            var action = root.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : throw new FrameException(id, device.Value, "MalformedFrame", "action is missing");
            var args = root.TryGetProperty("args", out var g) && g.ValueKind == JsonValueKind.Object ? g : throw new FrameException(id, device.Value, "MalformedFrame", "args is missing");
            return new Frame { Op = op, Device = device.Value, Id = id, Action = action, Root = root, _args = args };
        }

        /// <summary>
        /// The id of a frame that is not well-formed, so its refusal can still be matched to the call: found
        /// by its raw name, as looking a name up can throw when another name in the object is ill-formed.
        /// </summary>
        private static long? RawId(JsonElement root)
        {
            foreach (var property in root.EnumerateObject())
            {
                if (JsonMarshal.GetRawUtf8PropertyName(property).SequenceEqual("id"u8))
                    return property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt64(out var id) ? id : null;
            }
            return null;
        }

        private JsonElement Field(string name, JsonValueKind kind)
        {
            var source = Op == "call" ? _args : Root;
            if (!source.TryGetProperty(name, out var value)) throw new FrameException(Id, Device, "MissingField", $"{name} is missing");
            if (value.ValueKind != kind) throw new FrameException(Id, Device, "MalformedFrame", $"{name} must be a JSON {kind.ToString().ToLowerInvariant()}");
            return value;
        }

        public string Text(string name) => Field(name, JsonValueKind.String).GetString()!;

        public byte[] Bytes(string name)
        {
            try { return Convert.FromBase64String(Text(name)); }
            catch (FormatException) { throw new FrameException(Id, Device, "MalformedFrame", $"{name} is not base64"); }
        }

        public string Session()
        {
            var session = Text("session");
            return ChargingSessionEntity.IsValidId(session) ? session : throw new FrameException(Id, Device, nameof(InvalidSessionId), new InvalidSessionId(session).Describe());
        }

        public DeviceId DeviceArg(string name)
        {
            var parsed = DeviceId.Parse(Text(name));
            return parsed.IsOk ? parsed.Value : throw new FrameException(Id, Device, "MalformedFrame", parsed.Error!.Describe());
        }

        /// <summary>The gantry a pass belongs to: a pass id is the gantry's id, a dot, and the pass's number.</summary>
        public DeviceId GantryOfPass()
        {
            var pass = Text("pass");
            var dot = pass.LastIndexOf('.');
            var gantry = dot > 0 ? DeviceId.Parse(pass[..dot]) : DeviceId.Parse("");
            return gantry.IsOk ? gantry.Value : throw new FrameException(Id, Device, "MalformedFrame", $"pass '{pass}' is not a gantry id, a dot and a number");
        }

        public SegmentId? OptionalZone()
        {
            var source = Op == "call" ? _args : Root;
            if (!source.TryGetProperty("zone", out var zone) || zone.ValueKind == JsonValueKind.Null) return null;
            var parsed = zone.ValueKind == JsonValueKind.String ? SegmentId.Parse(zone.GetString()) : SegmentId.Parse(null);
            return parsed.IsOk ? parsed.Value : throw new FrameException(Id, Device, "MalformedFrame", "zone must be a zone id");
        }

        public ChannelId Channel(string name)
        {
            var parsed = ChannelId.Parse(Text(name));
            return parsed.IsOk ? parsed.Value : throw new FrameException(Id, Device, "MalformedFrame", parsed.Error!.Describe());
        }

        public Money Money(string name, Currency currency)
        {
            var value = Field(name, JsonValueKind.Number);
            return value.TryGetInt64(out var minor) ? new Money(minor, currency) : throw new FrameException(Id, Device, "MalformedFrame", $"{name} must be an integer of minor units");
        }
    }
}

/// <summary>
/// The gateway challenges outstanding on this node, over every connection. Each connection takes one per
/// challenge it issues and gives it back when the challenge is answered, expires or the connection ends,
/// so that many connections together hold at most <see cref="Max"/>.
/// </summary>
public sealed class GatewayChallengeBudget(int max)
{
    private int _outstanding;

    public int Max => max;

    public int Outstanding => Volatile.Read(ref _outstanding);

    public bool TryTake()
    {
        while (true)
        {
            var current = Volatile.Read(ref _outstanding);
            if (current >= max) return false;
            if (Interlocked.CompareExchange(ref _outstanding, current + 1, current) == current) return true;
        }
    }

    public void Return(int count)
    {
        if (count <= 0) return;
        var left = Interlocked.Add(ref _outstanding, -count);
        // Given back more than was taken is a bug in a caller: fail loudly rather than let the bound drift.
        if (left < 0) throw new InvalidOperationException($"gateway challenges went below zero ({left})");
    }
}
