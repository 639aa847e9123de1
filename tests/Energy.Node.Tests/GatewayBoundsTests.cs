using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using Energy.Agents;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;

namespace Energy.Node.Tests;

/// <summary>A node whose gateway closes a connection that has authenticated no device within two seconds.</summary>
public sealed class GatewayBoundsNodeFixture() : AgentNodeFixture($"--Energy:GatewayAuthenticationMs={AuthenticationMs}")
{
    public const int AuthenticationMs = 2_000;
}

/// <summary>
/// What a stranger costs the device gateway: no challenge for a device the registry does not know, at most
/// sixteen unanswered challenges on a connection, and a connection that authenticates nobody is closed.
/// Played with a bare WebSocket, frame by frame.
/// </summary>
public sealed class GatewayBoundsTests(GatewayBoundsNodeFixture fixture) : AgentTest(fixture), IClassFixture<GatewayBoundsNodeFixture>
{
    private const int MaxChallengesPerConnection = 16;

    private async Task<ClientWebSocket> OpenAsync()
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("energy.gateway.v1");
        await socket.ConnectAsync(new UriBuilder(fixture.Node.Url) { Scheme = "ws", Path = "/gateway" }.Uri, CancellationToken.None);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, object frame) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The next frame; a close from the node comes back as its status and description.</summary>
    private static async Task<(JsonElement Frame, WebSocketCloseStatus? Closed, string? Reason)> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close) return (default, socket.CloseStatus, socket.CloseStatusDescription);
            length += result.Count;
            if (result.EndOfMessage) return (JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone(), null, null);
        }
    }

    private static async Task<JsonElement> FrameAsync(ClientWebSocket socket)
    {
        var (frame, closed, reason) = await ReceiveAsync(socket).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(closed is null, $"the node closed the connection: {closed} {reason}");
        return frame;
    }

    private static async Task<JsonElement> HelloAsync(ClientWebSocket socket, DeviceId device)
    {
        await SendAsync(socket, new { op = "hello", device = device.Value });
        return await FrameAsync(socket);
    }

    private static async Task<JsonElement> AnswerAsync(ClientWebSocket socket, Device device, JsonElement challengeFrame)
    {
        var body = Convert.FromBase64String(challengeFrame.GetProperty("challenge").GetString()!);
        var challenge = Signed<AuthenticationChallenge>.Decode([.. body, .. new byte[Ed25519Signatures.SignatureBytes]]).Unwrap().Payload;
        await SendAsync(socket, new { op = "auth", device = device.Id.Value, signed = Convert.ToBase64String(Signed<AuthenticationChallenge>.Sign(challenge, device.Key).Wire) });
        return await FrameAsync(socket);
    }

    private static string? Op(JsonElement frame) => frame.GetProperty("op").GetString();

    private static string? Code(JsonElement frame) => frame.TryGetProperty("code", out var code) ? code.GetString() : null;

    [Fact]
    public async Task An_unknown_or_revoked_device_gets_no_challenge_and_nothing_is_kept_for_it()
    {
        var (cpo, devices) = await ChargersAsync(2);
        await cpo.RevokeAsync(devices[1].Id);
        using var socket = await OpenAsync();
        // The known device authenticates first, so that the connection is not closed as idle on a loaded machine.
        var known = await HelloAsync(socket, devices[0].Id);
        Assert.Equal("challenge", Op(known));
        Assert.Equal("welcome", Op(await AnswerAsync(socket, devices[0], known)));

        var stranger = await HelloAsync(socket, DeviceId.Of($"stranger-{Run}"));
        Assert.Equal(("error", "DeviceNotFound"), (Op(stranger), Code(stranger)));
        await SendAsync(socket, new { op = "auth", device = $"stranger-{Run}", signed = "AAAA" });
        Assert.Equal("NoChallenge", Code(await FrameAsync(socket)));

        var revoked = await HelloAsync(socket, devices[1].Id);
        Assert.Equal(("error", "DeviceIsRevoked"), (Op(revoked), Code(revoked)));
    }

    [Fact]
    public async Task A_device_welcomed_before_its_revocation_is_refused_at_its_next_hello_on_any_connection()
    {
        // The node keeps what the registry said of a welcomed device, to answer its next hello without asking; a
        // revocation since is the node's revocation list's word, and the device's own key no longer opens the door.
        var (cpo, devices) = await ChargersAsync(2);
        using var socket = await OpenAsync();
        Assert.Equal("welcome", Op(await AnswerAsync(socket, devices[0], await HelloAsync(socket, devices[0].Id))));
        Assert.Equal("welcome", Op(await AnswerAsync(socket, devices[1], await HelloAsync(socket, devices[1].Id))));
        await cpo.RevokeAsync(devices[1].Id);

        using var again = await OpenAsync();
        var refused = await HelloAsync(again, devices[1].Id);
        Assert.Equal(("error", "DeviceIsRevoked"), (Op(refused), Code(refused)));
    }

    [Fact]
    public async Task A_device_revoked_after_its_challenge_was_issued_is_refused_when_it_answers_and_is_not_welcomed()
    {
        // The registry is asked once, at the hello; the revocation reaches the node before it is acknowledged, so the
        // answer that follows is refused although it is signed by the key the registry held for the device.
        var (cpo, devices) = await ChargersAsync(2);
        using var socket = await OpenAsync();
        // One device authenticates first, so that the connection is not closed as idle while the revocation is taken.
        Assert.Equal("welcome", Op(await AnswerAsync(socket, devices[0], await HelloAsync(socket, devices[0].Id))));
        var challenge = await HelloAsync(socket, devices[1].Id);
        Assert.Equal("challenge", Op(challenge));
        await cpo.RevokeAsync(devices[1].Id);

        var refused = await AnswerAsync(socket, devices[1], challenge);
        Assert.Equal(("error", "DeviceIsRevoked"), (Op(refused), Code(refused)));
        // The challenge was spent: the same answer again finds none, and the device is not served.
        Assert.Equal("NoChallenge", Code(await AnswerAsync(socket, devices[1], challenge)));
        await SendAsync(socket, new { op = "call", id = 1, device = devices[1].Id.Value, action = "channel.get", args = new { channel = "any" } });
        Assert.Equal("NotAuthenticated", Code(await FrameAsync(socket)));
    }

    [Fact]
    public async Task A_connection_holds_at_most_sixteen_unanswered_challenges()
    {
        var (_, devices) = await ChargersAsync(MaxChallengesPerConnection + 2);
        using var socket = await OpenAsync();
        // One device authenticates first, so that the connection is not closed as idle meanwhile.
        Assert.Equal("welcome", Op(await AnswerAsync(socket, devices[0], await HelloAsync(socket, devices[0].Id))));

        var challenges = new List<JsonElement>();
        for (var i = 1; i <= MaxChallengesPerConnection; i++)
        {
            var frame = await HelloAsync(socket, devices[i].Id);
            Assert.Equal("challenge", Op(frame));
            challenges.Add(frame);
        }
        var over = await HelloAsync(socket, devices[MaxChallengesPerConnection + 1].Id);
        Assert.Equal(("error", "TooManyChallenges"), (Op(over), Code(over)));
        // A hello again for a device already challenged replaces its challenge and takes no new place.
        Assert.Equal("challenge", Op(await HelloAsync(socket, devices[1].Id)));

        // Answering one makes room for the next device.
        Assert.Equal("welcome", Op(await AnswerAsync(socket, devices[2], challenges[1])));
        Assert.Equal("challenge", Op(await HelloAsync(socket, devices[MaxChallengesPerConnection + 1].Id)));
    }

    [Fact]
    public async Task A_connection_that_authenticates_no_device_is_closed_after_the_bound()
    {
        var (_, devices) = await ChargersAsync(1);
        var watch = Stopwatch.StartNew();
        using var idle = await OpenAsync();
        // Saying hello is not authenticating: an unanswered challenge does not keep the connection open.
        using var greeted = await OpenAsync();
        Assert.Equal("challenge", Op(await HelloAsync(greeted, devices[0].Id)));

        foreach (var socket in new[] { idle, greeted })
        {
            // A node that is behind (a machine busy with other tests) excuses up to 60 s of a connection's life.
            var (_, closed, reason) = await ReceiveAsync(socket).WaitAsync(TimeSpan.FromSeconds(90));
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, closed);
            Assert.StartsWith("AuthenticationTimeout", reason, StringComparison.Ordinal);
        }
        Assert.True(watch.ElapsedMilliseconds >= GatewayBoundsNodeFixture.AuthenticationMs - 100, $"closed after {watch.ElapsedMilliseconds} ms, before the bound");
    }

    [Fact]
    public async Task A_connection_with_an_authenticated_device_stays_open_past_the_bound()
    {
        var (_, devices) = await ChargersAsync(1);
        using var socket = await OpenAsync();
        Assert.Equal("welcome", Op(await AnswerAsync(socket, devices[0], await HelloAsync(socket, devices[0].Id))));

        var next = ReceiveAsync(socket);
        var waited = await Task.WhenAny(next, Task.Delay(3 * GatewayBoundsNodeFixture.AuthenticationMs));
        Assert.NotSame(next, waited);
        await SendAsync(socket, new { op = "hello", device = devices[0].Id.Value });
        var (frame, closed, _) = await next.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Null(closed);
        Assert.Equal("welcome", Op(frame));
    }

    [Fact]
    public async Task A_device_that_authenticates_on_a_newer_connection_is_served_there_and_the_older_connection_is_closed()
    {
        var (_, devices) = await ChargersAsync(2);
        using var older = await OpenAsync();
        Assert.Equal("welcome", Op(await AnswerAsync(older, devices[0], await HelloAsync(older, devices[0].Id))));
        using var shared = await OpenAsync();
        Assert.Equal("welcome", Op(await AnswerAsync(shared, devices[1], await HelloAsync(shared, devices[1].Id))));

        // The first device's network dropped while its socket still looks open: it connects again.
        using var newer = await OpenAsync();
        Assert.Equal("welcome", Op(await AnswerAsync(newer, devices[0], await HelloAsync(newer, devices[0].Id))));
        var (_, closed, reason) = await ReceiveAsync(older).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, closed);
        Assert.StartsWith("ConnectionReplaced", reason, StringComparison.Ordinal);

        // The connection that serves the second device takes the first one too: the newer connection had no other, and closes.
        Assert.Equal("welcome", Op(await AnswerAsync(shared, devices[0], await HelloAsync(shared, devices[0].Id))));
        (_, closed, reason) = await ReceiveAsync(newer).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal((WebSocketCloseStatus.PolicyViolation, true), (closed, reason?.StartsWith("ConnectionReplaced", StringComparison.Ordinal)));

        // A connection that still serves another device stays open, and refuses calls for the device it lost.
        using var latest = await OpenAsync();
        Assert.Equal("welcome", Op(await AnswerAsync(latest, devices[1], await HelloAsync(latest, devices[1].Id))));
        // The twin tells the shared connection after the latest one is welcomed: ask until it has heard (each answer paces the next ask).
        string? code = null;
        var deadline = Stopwatch.StartNew();
        for (var id = 1; code != "NotAuthenticated" && deadline.Elapsed < TimeSpan.FromSeconds(20); id++)
        {
            await SendAsync(shared, new { op = "call", id, device = devices[1].Id.Value, action = "channel.get", args = new { channel = $"none-{Run}" } });
            code = Code(await FrameAsync(shared));
        }
        Assert.Equal("NotAuthenticated", code);
        await SendAsync(shared, new { op = "call", id = 0, device = devices[0].Id.Value, action = "channel.get", args = new { channel = $"none-{Run}" } });
        Assert.NotEqual("NotAuthenticated", Code(await FrameAsync(shared)));
    }
}
