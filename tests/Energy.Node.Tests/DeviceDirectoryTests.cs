using System.Net.WebSockets;
using System.Text.Json;
using Energy.Channels;
using Energy.Channels.Encoding;
using Energy.Channels.Identity;
using Energy.Channels.Primitives;
using Energy.Lifecycles.Registry;

namespace Energy.Node.Tests;

/// <summary>
/// A restarted node answers a device's hello from the registrations it read from the journal at start, without waking
/// the device's twin, and that reading keeps every refusal the twin would give: a device revoked before the restart is
/// refused, a stranger gets no challenge, and only the registered key is welcomed.
/// </summary>
public sealed class DeviceDirectoryTests
{
    private static readonly NetworkId Network = NetworkId.Of("energy-test");

    [Fact]
    public async Task After_a_restart_a_registered_device_is_welcomed_a_revoked_one_and_a_stranger_are_refused_and_a_forger_is_not_welcomed()
    {
        using var cpoKey = DeviceKeyPair.Generate();
        using var vehicleKey = DeviceKeyPair.Generate();
        using var stolenKey = DeviceKeyPair.Generate();
        using var forgerKey = DeviceKeyPair.Generate();
        var cpo = OperatorId.Of("fleet-directory");
        var vehicle = DeviceId.Of("vehicle-directory");
        var stolen = DeviceId.Of("vehicle-directory-stolen");
        string data;
        using (var first = new NodeProcess())
        {
            await first.StartAsync();
            data = first.DataDirectory;
            using var api = new ApiClient(first);
            Assert.True((await api.PostSignedAsync($"/api/operators/{cpo}/admission", Governance.Admission(first, cpo, cpoKey.PublicKey, OperatorRoles.FleetOwner))).Ok);
            api.Caller = (PartyId.From(cpo), cpoKey);
            foreach (var (device, key) in new[] { (vehicle, vehicleKey), (stolen, stolenKey) })
                Assert.True((await api.PostSignedAsync($"/api/devices/{device}/endorsement",
                    DeviceIdentity.Endorse(Network, cpo, cpoKey, device, DeviceRole.Vehicle, key.PublicKey).Endorsement.ToArray())).Ok);
            Assert.True((await api.PostSignedAsync($"/api/devices/{stolen}/revocation",
                Signed<Revocation>.Sign(new Revocation(Network, cpo, stolen, Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow)), cpoKey).ToArray())).Ok);
            await first.StopAsync(TimeSpan.FromSeconds(20));
        }

        using var node = new NodeProcess(data);
        await node.StartAsync();
        using (var http = new HttpClient { BaseAddress = node.Url })
        {
            // Ready means read; a stranger asking is not told how many devices there are.
            using var ready = JsonDocument.Parse(await http.GetStringAsync("/health/ready"));
            var check = ready.RootElement.GetProperty("checks").GetProperty("device-directory");
            Assert.Equal(("Healthy", "the devices' registrations are read"), (check.GetProperty("status").GetString(), check.GetProperty("description").GetString()));
        }

        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("energy.gateway.v1");
        await socket.ConnectAsync(new UriBuilder(node.Url) { Scheme = "ws", Path = "/gateway" }.Uri, CancellationToken.None);

        // A forger who knows the device's name but not its key is not welcomed.
        var forged = await HelloAsync(socket, vehicle);
        Assert.Equal("challenge", Op(forged));
        Assert.Equal(("error", "InvalidSignature"), Refusal(await AnswerAsync(socket, vehicle, forgerKey, forged)));
        var challenge = await HelloAsync(socket, vehicle);
        Assert.Equal("challenge", Op(challenge));
        var welcome = await AnswerAsync(socket, vehicle, vehicleKey, challenge);
        Assert.Equal("welcome", Op(welcome));
        Assert.Equal(cpo.Value, welcome.GetProperty("operator").GetString());

        Assert.Equal(("error", "DeviceIsRevoked"), Refusal(await HelloAsync(socket, stolen)));
        Assert.Equal(("error", "DeviceNotFound"), Refusal(await HelloAsync(socket, DeviceId.Of("vehicle-directory-stranger"))));
    }

    private static async Task<JsonElement> HelloAsync(ClientWebSocket socket, DeviceId device)
    {
        await SendAsync(socket, new { op = "hello", device = device.Value });
        return await FrameAsync(socket);
    }

    private static async Task<JsonElement> AnswerAsync(ClientWebSocket socket, DeviceId device, DeviceKeyPair key, JsonElement challengeFrame)
    {
        var body = Convert.FromBase64String(challengeFrame.GetProperty("challenge").GetString()!);
        var challenge = Signed<AuthenticationChallenge>.Decode([.. body, .. new byte[Ed25519Signatures.SignatureBytes]]).Unwrap().Payload;
        await SendAsync(socket, new { op = "auth", device = device.Value, signed = Convert.ToBase64String(Signed<AuthenticationChallenge>.Sign(challenge, key).Wire) });
        return await FrameAsync(socket);
    }

    private static Task SendAsync(ClientWebSocket socket, object frame) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<JsonElement> FrameAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
            Assert.False(result.MessageType == WebSocketMessageType.Close, $"the node closed the connection: {socket.CloseStatus} {socket.CloseStatusDescription}");
            length += result.Count;
            if (result.EndOfMessage) return JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone();
        }
    }

    private static string? Op(JsonElement frame) => frame.GetProperty("op").GetString();

    private static (string?, string?) Refusal(JsonElement frame) =>
        (Op(frame), frame.TryGetProperty("code", out var code) ? code.GetString() : null);
}
