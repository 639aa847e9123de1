using System.Net.WebSockets;
using System.Security.Cryptography;
using Akka.Actor;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Cluster.Network;
using Energy.Cluster.Registry;
using Energy.Lifecycles.Gateway;
using Energy.Lifecycles.Registry;
using Energy.Wire;
using Energy.Cluster.Kernel;

namespace Energy.Cluster.Gateway;

/// <summary>
/// One gateway WebSocket and its devices. Each frame is a step of the handshake's rules (<see cref="GatewayHandshake"/>);
/// the connection does what the step says: sends its answer, looks the device up at its hello (this node's
/// <see cref="DeviceDirectory"/>, else the registry) and takes
/// the next step with what it said (the answer to the challenge is checked against that, without asking again), or
/// serves the call. The connection's actor reference (<see cref="GatewayConnection"/>) queues the
/// events pushed to its devices and hears when one of them authenticated on a newer connection.
/// </summary>
internal sealed class DeviceConnection : IDisposable
{
    private readonly GatewaySocket _socket;
    private readonly EnergyNetwork _network;
    private readonly GatewayChallengeBudget _budget;
    private readonly HeldCalls _held;
    private readonly RevocationList _revocations;
    private readonly DeviceDirectory _directory;
    private readonly AuthenticationDeadline _deadline;
    private readonly ReplyAddresses _answers;
    private readonly DeviceCalls _calls;
    private readonly CancellationTokenSource _stop;
    private readonly GatewayConnection _connection;
    private readonly bool _batching;
    // The reader takes the handshake's steps; the connection's reference takes one too when a device is replaced.
    private readonly Lock _gate = new();
    private GatewayHandshakeState _handshake = GatewayHandshakeState.Empty;
    private GatewayClose? _closing;

    public DeviceConnection(WebSocket socket, EnergyNetwork network, GatewayChallengeBudget budget, HeldCalls held, SchedulingDelay scheduling, bool batching, CancellationToken aborted)
    {
        _network = network;
        _budget = budget;
        _held = held;
        _batching = batching;
        _revocations = RevocationList.Get(network.System);
        _directory = DeviceDirectory.Get(network.System);
        _deadline = new AuthenticationDeadline(network.Settings.GatewayAuthenticationTimeout, () => held.Busy || scheduling.Behind, scheduling);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        _socket = new GatewaySocket(socket, batching, _stop);
        _connection = new GatewayConnection(network.System, network.Regions.Devices, _socket.Outgoing, CancelQuietly, Replaced);
        _answers = new ReplyAddresses(network.System, network.Settings.DeviceCallHold, _stop.Token);
        _calls = new DeviceCalls(network, _socket, held, _answers, _connection.Address, _stop.Token);
    }

    private Timestamp Now => _network.Settings.Clock.Now;

    /// <summary>Stops serving the socket; a connection that ended meanwhile has nothing left to stop.</summary>
    private void CancelQuietly()
    {
        try { _stop.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    public async Task RunAsync()
    {
        var writer = _socket.WriteAsync(() => Volatile.Read(ref _closing));
        var idle = CloseIfUnauthenticatedAsync();
        try { await _socket.ReadAsync(OnMessageAsync); }
        catch (OperationCanceledException) { }
        catch (WebSocketException) { }
        _socket.Complete();
        await _stop.CancelAsync();
        try { await writer; } catch (OperationCanceledException) { } catch (WebSocketException) { }
        await idle;
    }

    /// <summary>The node is stopping: what is queued goes out, then a close frame saying NodeStopping (1001, going away).</summary>
    public void NodeStopping() => Close(GatewayClose.NodeStopping);

    public void Dispose()
    {
        lock (_gate)
        {
            _budget.Return(_handshake.Challenges.Count);
            _handshake = _handshake with { Challenges = _handshake.Challenges.Clear() };
        }
        _connection.Dispose();
        _answers.Dispose();
        _deadline.Dispose();
        _stop.Dispose();
        _calls.Dispose();
    }

    /// <summary>
    /// A connection on which no device authenticated within the bound is closed: its queue is completed, the writer sends
    /// what is left and then a close frame naming AuthenticationTimeout, and a client that does not answer the close
    /// within <see cref="DeviceGateway.CloseGrace"/> is cut off.
    /// </summary>
    private async Task CloseIfUnauthenticatedAsync()
    {
        if (await _deadline.PassedUnauthenticatedAsync(() => Volatile.Read(ref _handshake).EverAuthenticated, _stop.Token))
            Close(GatewayClose.AuthenticationTimeout(_deadline.Bound));
    }

    /// <summary>A device authenticated again on a newer connection: once no device is left here, the socket is closed saying ConnectionReplaced.</summary>
    private void Replaced(DeviceId device)
    {
        HandshakeAnswer answer;
        lock (_gate) answer = Settle(GatewayHandshake.Replaced(_handshake, device));
        if (answer is HandshakeAnswer.Replaced) Close(GatewayClose.ConnectionReplaced);
    }

    /// <summary>Completes the queue, to be closed with the most pressing reason given: the node stopping, then the bound, then replacement.</summary>
    private void Close(GatewayClose reason)
    {
        lock (_gate) _closing = Rank(reason) < Rank(_closing) ? reason : _closing;
        _socket.Complete();
    }

    private static int Rank(GatewayClose? reason) => reason switch
    {
        null => int.MaxValue,
        _ when reason == GatewayClose.NodeStopping => 0,
        _ when reason == GatewayClose.ConnectionReplaced => 2,
        _ => 1,
    };

    /// <summary>
    /// Keeps a step of the handshake (under <see cref="_gate"/>). The node's challenge places this connection holds are as
    /// many as the challenges in its state: a place taken for the step and not used, and every challenge the step spent
    /// or dropped, is given back.
    /// </summary>
    private HandshakeAnswer Settle(HandshakeStep step, bool placeTaken = false)
    {
        var released = _handshake.Challenges.Count + (placeTaken ? 1 : 0) - step.State.Challenges.Count;
        if (released < 0) throw new InvalidOperationException($"{-released} gateway challenges were issued without a place on the node");
        _budget.Return(released);
        Volatile.Write(ref _handshake, step.State);
        return step.Answer;
    }

    /// <summary>One WebSocket message: a frame, or (when batching) an array of frames handled in order.</summary>
    private async Task OnMessageAsync(ReadOnlyMemory<byte> message)
    {
        foreach (var read in GatewayCodec.ReadMessage(message, _batching))
        {
            if (read.Frame is { } frame) await OnFrameAsync(frame);
            else await _socket.SendAsync(DeviceGateway.Error(read.Error!));
        }
    }

    private async Task OnFrameAsync(GatewayFrame frame)
    {
        var revoked = _revocations.IsRevoked(frame.Device);
        HandshakeAnswer answer;
        lock (_gate) answer = Settle(GatewayHandshake.Receive(_handshake, frame, Now, revoked));
        switch (answer)
        {
            case HandshakeAnswer.LookUpToChallenge hello:
                await _socket.SendAsync(await ChallengeAsync(hello));
                break;
            case HandshakeAnswer.Welcome { Registered: not null } welcome:
                _deadline.Authenticated();
                _connection.Authenticated(welcome.Device, Now.UnixMilliseconds);
                await _socket.SendAsync(FrameOf(welcome));
                break;
            case HandshakeAnswer.Serve serve:
                await _calls.StartAsync(serve.Call);
                break;
            case HandshakeAnswer.Revoked forgotten:
                _connection.Forget(forgotten.Device);
                await _socket.SendAsync(DeviceGateway.Error(forgotten.Error));
                break;
            default:
                await _socket.SendAsync(FrameOf(answer));
                break;
        }
    }

    /// <summary>A challenge for a registered, unrevoked device, in a place the node gives for it (none is taken for a device the registry does not admit).</summary>
    private async Task<byte[]> ChallengeAsync(HandshakeAnswer.LookUpToChallenge hello)
    {
        if (_held.Busy)
        {
            var behind = ChallengePlace.Behind(_budget.Max, (int)_held.RetryAfter.TotalSeconds);
            lock (_gate)
            {
                if (GatewayHandshake.Defer(_handshake, hello, behind) is { } deferred)
                {
                    // The client is to wait: its time to authenticate starts again after the wait.
                    _deadline.Defer(TimeSpan.FromSeconds(behind.RetryAfter!.Value));
                    return FrameOf(Settle(deferred));
                }
            }
        }
        var (registered, silent) = await LookUpAsync(hello.Device);
        if (silent is not null) return DeviceGateway.Error(silent);
        var revoked = _revocations.IsRevoked(hello.Device);
        var place = new ChallengePlace(hello.TakesPlace && GatewayHandshake.Admits(registered, revoked) && _budget.TryTake(), _budget.Max);
        var nonce = RandomNumberGenerator.GetBytes(AuthenticationChallenge.NonceBytes);
        lock (_gate) return FrameOf(Settle(GatewayHandshake.Challenge(_handshake, hello, registered, revoked, place, _network.Settings.Network, nonce, Now), place.Given));
    }

    /// <summary>
    /// What the registry holds for a device (null: not registered), or Timeout: from this node's directory when it holds
    /// the device (nothing is asked or woken), else from the device's twin, whose answer the directory keeps. The wait is
    /// the network's time, not the client's.
    /// </summary>
    private async Task<(DeviceView? Registered, GatewayError? Silent)> LookUpAsync(DeviceId device)
    {
        if (_directory.Find(device) is { } known) return (known, null);
        using var holding = _held.Hold();
        try
        {
            var lookup = new GetDevice(device);
            var registered = await _deadline.NetworkAsync(_answers.AskAsync(_network.RegionForDevice(lookup), EnergyTracing.Stamp(lookup)).AsTask()) as DeviceView;
            if (registered is not null) _directory.Remember(registered);
            return (registered, null);
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested) { return (null, new GatewayError.Timeout(null, device, "registry")); }
    }

    private static byte[] FrameOf(HandshakeAnswer answer) => answer switch
    {
        HandshakeAnswer.Refused refused => DeviceGateway.Error(refused.Error),
        HandshakeAnswer.Welcome { Registered: { } registered } welcome => GatewayFrameWriter.Welcome(welcome.Device, registered.Role.ToString(), registered.Operator.Value),
        HandshakeAnswer.Welcome welcome => GatewayFrameWriter.Welcome(welcome.Device),
        HandshakeAnswer.Challenge challenge => GatewayFrameWriter.Challenge(challenge.Device, Signed<AuthenticationChallenge>.EncodeBody(challenge.Issued)),
        _ => throw new InvalidOperationException($"{answer} is not answered with a frame"),
    };
}
