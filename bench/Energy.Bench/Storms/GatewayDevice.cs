using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Wire;

namespace Energy.Bench.Storms;

/// <summary>
/// A simulated device for gateway storms: a capable device on a WebSocket of its own (the gateway's plain
/// subprotocol, one frame a message). It connects, says hello, signs the challenge with its key, and once welcomed
/// makes its first call: it reads its payment channel (channel.get), as a vehicle does when it comes back. Every step
/// is timed out after <see cref="CallTimeout"/>. The gateway's "busy, retry" answers are honoured and counted apart from
/// errors: an HTTP 503 with Retry-After at the upgrade, and GatewayBusy to a hello (after its retryAfter, or
/// <see cref="BusyWait"/> when it names none). Events the network pushes meanwhile are read and passed over.
/// A device keeps its key's seed and opens the key only when it is about to sign: an open key lives in guarded memory
/// that takes four memory mappings, and the benchmark's 40,000 devices would pass the process's limit (65,530 on Linux).
/// A storm opens its devices' keys before its first arrival (<see cref="OpenKeyAhead"/>) and closes them after it:
/// opening and closing a key maps, protects and unmaps memory, calls that serialize on the process's address space,
/// and at a thousand a second from the pool's threads they took most of the client's processor time and held its
/// threads from reading the node's answers (which the storm would have counted as the node's time).
/// </summary>
public sealed class GatewayDevice
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan BusyWait = TimeSpan.FromSeconds(1);
    public const int MaxRetries = 30;

    /// <summary>The series of the time from the start of the upgrade to the welcome, and to the first call's result.</summary>
    public const string Authenticated = "authenticated";
    public const string FirstAnswer = "first answer";

    private readonly byte[] _seed;
    private StormSocket? _socket;
    private DeviceKeyPair? _key;

    public GatewayDevice(DeviceId id, ChannelId channel)
    {
        Id = id;
        Channel = channel;
        using var key = DeviceKeyPair.Generate();
        _seed = key.ExportSeed();
        PublicKey = key.PublicKey;
    }

    public DeviceId Id { get; }
    public DevicePublicKey PublicKey { get; }
    public ChannelId Channel { get; }

    /// <summary>The device's key, to sign with and dispose of.</summary>
    public DeviceKeyPair OpenKey() => DeviceKeyPair.FromSeed(_seed).Unwrap();

    /// <summary>Opens the key now, for the next connection to sign with, until <see cref="CloseKey"/>.</summary>
    public void OpenKeyAhead() => _key ??= OpenKey();

    public void CloseKey()
    {
        _key?.Dispose();
        _key = null;
    }

    /// <summary>Connects, authenticates and makes the first call; served at its answer. False (the error recorded) when it could not.</summary>
    public async Task<bool> WakeAsync(Uri node, int index, StormRecorder recorder, Stopwatch storm)
    {
        var clock = Stopwatch.StartNew();
        if (!await UpgradeAsync(node, recorder)) return false;
        using var timeout = new CancellationTokenSource(CallTimeout);
        try
        {
            var challenge = await HelloAsync(recorder, timeout.Token);
            if (challenge is null) return false;
            var step = Stopwatch.StartNew();
            Signed<AuthenticationChallenge> signed;
            if (_key is { } open) signed = Signed<AuthenticationChallenge>.Sign(challenge, open);
            else using (var key = OpenKey()) signed = Signed<AuthenticationChallenge>.Sign(challenge, key);
            await _socket!.SendAsync(GatewayFrameWriter.Auth(Id, signed.Wire), timeout.Token);
            var welcome = await ReplyAsync(id: null, timeout.Token);
            recorder.Record(StormRecorder.Answers, step.Elapsed.TotalMilliseconds);
            if (welcome.Op != GatewayOps.Welcome) return Fail(recorder, $"auth: {Describe(welcome)}");
            recorder.Record(Authenticated, clock.Elapsed.TotalMilliseconds);

            step.Restart();
            await _socket.SendAsync(GatewayFrameWriter.Call(1, Id, new GetChannelCall(Channel)), timeout.Token);
            var answer = await ReplyAsync(id: 1, timeout.Token);
            recorder.Record(StormRecorder.Answers, step.Elapsed.TotalMilliseconds);
            if (answer.Op != GatewayOps.Result) return Fail(recorder, $"channel.get: {Describe(answer)}");
            recorder.Record(FirstAnswer, clock.Elapsed.TotalMilliseconds);
            recorder.Served(index, storm.Elapsed.TotalMilliseconds);
            return true;
        }
        catch (OperationCanceledException)
        {
            return Fail(recorder, $"timeout ({CallTimeout.TotalSeconds:0} s)");
        }
        catch (WebSocketException e)
        {
            return Fail(recorder, $"connection lost ({e.WebSocketErrorCode})");
        }
        catch (ConnectionClosedException e)
        {
            return Fail(recorder, $"connection closed by the gateway ({e.Message})");
        }
    }

    /// <summary>Hello until a challenge comes, honouring GatewayBusy; null when refused otherwise (recorded).</summary>
    private async Task<AuthenticationChallenge?> HelloAsync(StormRecorder recorder, CancellationToken token)
    {
        for (var attempt = 0; ; attempt++)
        {
            var step = Stopwatch.StartNew();
            await _socket!.SendAsync(GatewayFrameWriter.Hello(Id), token);
            var reply = await ReplyAsync(id: null, token);
            recorder.Record(StormRecorder.Answers, step.Elapsed.TotalMilliseconds);
            if (reply.Op == GatewayOps.Challenge)
            {
                var body = JsonSerializer.Deserialize<ChallengeReply>(_socket.Message.Span, WireJson.Options)!.Challenge;
                return Signed<AuthenticationChallenge>.Decode([.. body, .. new byte[Ed25519Signatures.SignatureBytes]]).Unwrap().Payload;
            }
            if (reply.Op == GatewayOps.Error && Error() is { Code: nameof(GatewayError.GatewayBusy) } busy && attempt < MaxRetries)
            {
                recorder.AskedToRetry("hello GatewayBusy");
                await Task.Delay(busy.RetryAfter is { } seconds ? TimeSpan.FromSeconds(seconds) : BusyWait, token);
                continue;
            }
            Fail(recorder, $"hello: {Describe(reply)}");
            return null;
        }
    }

    private async Task<bool> UpgradeAsync(Uri node, StormRecorder recorder)
    {
        var uri = new UriBuilder(node) { Scheme = "ws", Path = GatewayProtocol.Path }.Uri;
        for (var attempt = 0; ; attempt++)
        {
            var upgrade = await StormSocket.ConnectAsync(uri, GatewayProtocol.Subprotocol, authorization: null);
            if (upgrade.Socket is not null)
            {
                _socket = upgrade.Socket;
                return true;
            }
            if (upgrade.RetryAfter is { } wait && attempt < MaxRetries)
            {
                recorder.AskedToRetry("upgrade 503 Retry-After");
                await Task.Delay(wait);
                continue;
            }
            recorder.Error(upgrade.Refusal ?? "upgrade 503 beyond the retries");
            return false;
        }
    }

    /// <summary>The next frame for this device that is not an event: a handshake answer (no id) or the answer to call <paramref name="id"/>.</summary>
    private async Task<GatewayReply> ReplyAsync(long? id, CancellationToken token)
    {
        while (true)
        {
            if (!await _socket!.ReceiveAsync(token)) throw new ConnectionClosedException(CloseReasonCode(_socket.CloseReason));
            using var frame = JsonDocument.Parse(_socket.Message);
            var reply = GatewayReply.Read(frame.RootElement);
            if (reply.Op == GatewayOps.Event) continue;
            if (id is not null && reply.Id is not null && reply.Id != id) continue;
            return reply with { Body = default };
        }
    }

    /// <summary>The gateway's close reasons start with their code ("AuthenticationTimeout: ..."): the code names the error kind.</summary>
    private static string CloseReasonCode(string reason) => reason.Split(':', 2)[0];

    private ErrorReply? Error() => JsonSerializer.Deserialize<ErrorReply>(_socket!.Message.Span, WireJson.Options);

    private string? ErrorCode() => Error()?.Code;

    private string Describe(GatewayReply reply) => reply.Op == GatewayOps.Error ? $"error {ErrorCode()}" : $"unexpected {reply.Op}";

    private bool Fail(StormRecorder recorder, string error)
    {
        recorder.Error(error);
        _socket?.Dispose();
        _socket = null;
        return false;
    }

    public async Task CloseAsync()
    {
        if (_socket is null) return;
        await _socket.CloseAsync();
        _socket = null;
    }

    public void Drop()
    {
        _socket?.Dispose();
        _socket = null;
    }

    private sealed class ConnectionClosedException(string message) : Exception(message);
}
